"""Training data: image folders and WebDataset-style tar shards, streamed, augmented, deterministic.

index = build_index("../shared/data/train/tiny64")          # tar shards, folders, globs
stream = ImageStream(index, size=64, batch_size=32, seed=0, num_workers=1)
for batch in make_loader(stream, num_workers=1):
    l_norm, ab_norm = rgb_batch_to_lab(batch["rgb"])         # (B, 1, H, W), (B, 2, H, W)
"""

from __future__ import annotations

from deepcolor.data.augment import GREY_CHROMA_THRESHOLD, mean_chroma
from deepcolor.data.sources import DataError, ImageIndex, build_index
from deepcolor.data.stream import ImageStream, StreamPosition, make_loader, rgb_batch_to_lab
from deepcolor.data.validation import load_validation_set

__all__ = [
    "GREY_CHROMA_THRESHOLD",
    "DataError",
    "ImageIndex",
    "ImageStream",
    "StreamPosition",
    "build_index",
    "load_validation_set",
    "make_loader",
    "mean_chroma",
    "rgb_batch_to_lab",
]
