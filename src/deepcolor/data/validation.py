"""A fixed validation set held in memory: the first N usable images of a source, centre-cropped."""

from __future__ import annotations

import sys

import numpy as np
import torch

from deepcolor.data.augment import GREY_CHROMA_THRESHOLD, center_crop, mean_chroma, read_record
from deepcolor.data.sources import build_index
from deepcolor.io import ImageError


def load_validation_set(
    source: str | list[str], count: int, size: int, grey_threshold: float = GREY_CHROMA_THRESHOLD
) -> tuple[torch.Tensor, int]:
    """The first `count` non-grey images of `source` in index order, each resized (shorter side) and
    centre-cropped to `size`.

    Returns:
        (rgb (N, size, size, 3) uint8, number of near-grey images skipped).
    """
    index = build_index(source)
    images: list[np.ndarray] = []
    grey = 0
    for i in range(len(index)):
        if len(images) == count:
            break
        try:
            image = read_record(index, i, size)
        except ImageError as e:  # the line the commands print for this file; skipped
            print(f"deepcolor: {e}", file=sys.stderr)
            continue
        crop = center_crop(image, size)
        if grey_threshold > 0 and mean_chroma(crop) < grey_threshold:
            grey += 1
            continue
        images.append(crop)
    if not images:
        raise ValueError(f"{source}: no usable validation image")
    return torch.from_numpy(np.stack(images)), grey
