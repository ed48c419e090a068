"""The training stream: an endless, deterministic, resumable sequence of augmented batches.

Layout of one epoch `e` (global record order `perm_e`, a permutation seeded by (seed, e)):

    rank r of R reads        perm_e[r::R]           (ranks never overlap)
    logical worker w of W    (rank's list)[w::W]    (workers never overlap)

Each logical worker batches its own records and moves on to the next epoch by itself, so the stream never
ends and the loader's round-robin over workers (batch k comes from worker k % W) holds for ever. Every batch
carries (worker, epoch, cursor): where that worker stands after it. The trainer keeps the latest position per
worker; `set_position` restarts each worker there, skipping consumed records without decoding them, and
rotates workers so that the first batch after a resume comes from the worker whose turn it is.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from deepcolor.data.augment import GREY_CHROMA_THRESHOLD, mean_chroma, random_resized_crop, read_record
from deepcolor.data.sources import ImageIndex
from deepcolor.io import ImageError


@dataclass
class StreamPosition:
    """Where a rank's stream stands: per logical worker (epoch, cursor), and batches delivered so far."""

    num_workers: int = 1
    positions: list[list[int]] = field(default_factory=list)  # [[epoch, cursor], ...] per logical worker
    batches: int = 0
    grey_dropped: int = 0
    unreadable: int = 0

    def update(self, batch: dict[str, Any]) -> None:
        if not self.positions:
            self.positions = [[0, 0] for _ in range(self.num_workers)]
        self.positions[int(batch["worker"])] = [int(batch["epoch"]), int(batch["cursor"])]
        self.batches += 1
        self.grey_dropped += int(batch["grey_dropped"])
        self.unreadable += int(batch["unreadable"])

    def state_dict(self) -> dict[str, Any]:
        return {
            "num_workers": self.num_workers,
            "positions": [list(p) for p in self.positions],
            "batches": self.batches,
            "grey_dropped": self.grey_dropped,
            "unreadable": self.unreadable,
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> StreamPosition:
        return cls(**state)

    def samples_epoch(self) -> float:
        """The mean epoch reached (for display)."""
        return max((p[0] for p in self.positions), default=0)


class ImageStream(IterableDataset):
    """Endless stream of batches: dicts {rgb: (B, size, size, 3) uint8, worker, epoch, cursor,
    grey_dropped, unreadable}.

    Args:
        index: the records (see `build_index`).
        size: training crop size in pixels.
        batch_size: images per batch (per rank).
        seed: the run's seed; the order and the augmentation follow from it.
        rank, world_size: this process's share (DDP).
        num_workers: the DataLoader workers that will read it (0 -> 1 logical worker in the main process).
        min_scale: smallest crop area fraction.
        grey_threshold: images with mean chroma below this (Lab units) are dropped and counted; 0 keeps all.
    """

    def __init__(
        self,
        index: ImageIndex,
        size: int,
        batch_size: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        num_workers: int = 0,
        min_scale: float = 0.35,
        grey_threshold: float = GREY_CHROMA_THRESHOLD,
    ) -> None:
        super().__init__()
        self.index = index
        self.size = size
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.logical_workers = max(1, num_workers)
        self.min_scale = min_scale
        self.grey_threshold = grey_threshold
        self.position = StreamPosition(num_workers=self.logical_workers)

    def set_position(self, position: StreamPosition) -> None:
        """Continue from a saved position (same number of workers)."""
        if position.num_workers != self.logical_workers:
            raise ValueError(
                f"the checkpoint's data position is for {position.num_workers} data workers; "
                f"resume with --num-workers {position.num_workers}"
            )
        self.position = position

    def _sequence(self, epoch: int, worker: int) -> np.ndarray:
        perm = np.random.default_rng([self.seed, epoch]).permutation(len(self.index))
        return perm[self.rank :: self.world_size][worker :: self.logical_workers]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = get_worker_info()
        physical, physical_count = (info.id, info.num_workers) if info else (0, 1)
        if physical_count != self.logical_workers:
            raise RuntimeError(
                f"ImageStream built for {self.logical_workers} workers, read by {physical_count}"
            )
        if info is not None:
            torch.set_num_threads(1)
        # rotate so that the first batch after a resume comes from the worker whose turn it is
        worker = (physical + self.position.batches) % self.logical_workers
        if self.position.positions:
            epoch, cursor = self.position.positions[worker]
        else:
            epoch, cursor = 0, 0
        yield from self._worker_batches(worker, epoch, cursor)

    def _worker_batches(self, worker: int, epoch: int, cursor: int) -> Iterator[dict[str, Any]]:
        sequence = self._sequence(epoch, worker)
        images: list[np.ndarray] = []
        grey = unreadable = 0
        empty_epochs = 0
        usable = 0  # images this epoch gave (an epoch whose images filled whole batches is not empty)
        while True:
            if cursor >= len(sequence):
                epoch, cursor = epoch + 1, 0
                sequence = self._sequence(epoch, worker)
                empty_epochs = empty_epochs + 1 if not usable else 0
                usable = 0
                if empty_epochs > 2 or not len(sequence):
                    raise RuntimeError("the training data yields no usable image (all grey or unreadable?)")
            record = int(sequence[cursor])
            cursor += 1
            try:
                image = read_record(self.index, record, self.size)
            except ImageError as e:  # a bad image: the line the commands print for it, counted, skipped
                print(f"deepcolor: {e}", file=sys.stderr)
                unreadable += 1
                continue
            rng = np.random.default_rng([self.seed, epoch, record])
            crop = random_resized_crop(image, self.size, rng, self.min_scale)
            if self.grey_threshold > 0 and mean_chroma(crop) < self.grey_threshold:
                grey += 1
                continue
            images.append(crop)
            usable += 1
            if len(images) == self.batch_size:
                yield {
                    "rgb": torch.from_numpy(np.stack(images)),
                    "worker": worker,
                    "epoch": epoch,
                    "cursor": cursor,
                    "grey_dropped": grey,
                    "unreadable": unreadable,
                }
                images, grey, unreadable = [], 0, 0


def make_loader(stream: ImageStream, num_workers: int) -> DataLoader:
    """A DataLoader over an `ImageStream` (batches are formed in the workers; order is deterministic)."""
    return DataLoader(
        stream,
        batch_size=None,
        num_workers=num_workers,
        persistent_workers=False,
        prefetch_factor=4 if num_workers else None,
        pin_memory=torch.cuda.is_available(),
    )


def rgb_batch_to_lab(
    rgb: torch.Tensor, device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, H, W, 3) uint8 sRGB -> (l_norm (B, 1, H, W), ab_norm (B, 2, H, W)) float32 on `device`.

    The Lab conversion runs on the batch, in torch, on the target device.
    """
    from deepcolor.color import rgb_to_lab
    from deepcolor.normalization import normalize_ab, normalize_l

    rgb = rgb.to(device, non_blocking=True).permute(0, 3, 1, 2).float().div_(255.0)
    lab = rgb_to_lab(rgb)
    return normalize_l(lab[:, :1]), normalize_ab(lab[:, 1:])
