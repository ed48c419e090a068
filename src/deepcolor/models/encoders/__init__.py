"""Pretrained feature encoders for the colorizers (EfficientNet-Lite)."""

from deepcolor.models.encoders.efficientnet_lite import (
    VARIANTS,
    EfficientNetLite,
    WeightsMissing,
    fold_stem,
    load_pretrained_state,
)

__all__ = ["VARIANTS", "EfficientNetLite", "WeightsMissing", "fold_stem", "load_pretrained_state"]
