"""The empirical ab-bin prior of the training data, for the `cnn` family's class rebalancing.

`deepcolor train --config configs/cnn.yaml --compute-prior prior.pt` writes it; the `prior` config key reads
it; without one, training computes it at the start and saves it in the run folder. The counts are taken
exactly as the loss sees the targets: training crops, ab area-downsampled to 1/4, nearest bin.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from deepcolor.data import ImageStream, build_index, make_loader, rgb_batch_to_lab
from deepcolor.models import ab_bins
from deepcolor.models.checkpoint import CheckpointError, write_model_file
from deepcolor.normalization import denormalize_ab
from deepcolor.train.config import TrainConfig


def compute_bin_prior(
    config: TrainConfig, centers: torch.Tensor, num_workers: int | None = None
) -> torch.Tensor:
    """Bin probabilities (Q,) over the first `config.prior_images` training crops of epoch 0."""
    index = build_index([config.resolve_path(p) for p in config.train_data])
    workers = config.num_workers if num_workers is None else num_workers
    batch = min(config.batch_size, max(1, config.prior_images))
    stream = ImageStream(
        index,
        config.image_size,
        batch,
        config.seed,
        num_workers=workers,
        min_scale=config.min_scale,
        grey_threshold=config.grey_threshold,
    )
    counts = torch.zeros(centers.shape[0], dtype=torch.float64)
    seen = 0
    for item in make_loader(stream, workers):
        _, ab_norm = rgb_batch_to_lab(item["rgb"])
        ab = denormalize_ab(F.adaptive_avg_pool2d(ab_norm, (config.image_size + 3) // 4))
        counts += torch.bincount(
            ab_bins.nearest_bin(ab, centers).flatten(), minlength=centers.shape[0]
        ).double()
        seen += ab.shape[0]
        if seen >= config.prior_images:
            break
    return (counts / counts.sum()).float()


def save_prior(prior: torch.Tensor, centers: torch.Tensor, path: str | Path, images: int) -> None:
    """Write the prior (Q,), its bins and the image count atomically; CheckpointError when it cannot."""
    import io

    buffer = io.BytesIO()
    torch.save({"prior": prior, "bin_centers": centers, "images": images}, buffer)
    write_model_file(Path(path), buffer.getvalue())


def load_prior(path: str | Path, centers: torch.Tensor) -> torch.Tensor:
    """Read a prior file; its bins must be the model's. Raises CheckpointError (one line) otherwise."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "no such prior file (make one with --compute-prior)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        prior, stored = state["prior"], state["bin_centers"]
    except Exception as e:
        raise CheckpointError(path, f"not a prior file ({type(e).__name__})") from None
    if stored.shape != centers.shape or not torch.allclose(stored, centers):
        raise CheckpointError(path, f"computed for other ab bins ({stored.shape[0]} vs {centers.shape[0]})")
    return prior
