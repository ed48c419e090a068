"""Colorization models, built by name.

    from deepcolor.models import create_model, list_models
    model = create_model("autoencoder", base_width=24, depth=3)
    ab_norm = model.predict_ab(l_norm)  # (B, 1, H, W) -> (B, 2, H, W)

Families (one file each): `cnn` (Zhang et al. bin classifier), `autoencoder` (U-Net regressor), `gan`
(the same U-Net as generator, trained with a PatchGAN discriminator).
"""

from __future__ import annotations

from deepcolor.models import autoencoder, cnn, gan  # noqa: F401  (registers the families)
from deepcolor.models.checkpoint import CheckpointError, load_model, save_weights
from deepcolor.models.registry import count_flops, count_parameters, create_model, describe_model, list_models

__all__ = [
    "CheckpointError",
    "count_flops",
    "count_parameters",
    "create_model",
    "describe_model",
    "list_models",
    "load_model",
    "save_weights",
]
