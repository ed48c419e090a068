"""The colorizer on a pretrained encoder: EfficientNet-Lite features, a U-Net decoder, two heads.

    l_norm (B, 1, H, W) --folded grey stem--> EfficientNet-Lite --> features at strides 2..32
         hints (B, 3, H, W) ---stride-2 conv, added after the stem (zero-initialised)
         global_hints (B, Q + 3) ---MLP, added to the stride-32 map (zero-initialised)
    U-Net decoder --> stride 4: logits over Q ab bins (classification head)
                  --> stride 2: coarse ab --> upsampled, refined at full resolution with L and the hints
                      --> ab_norm (B, 2, H, W) in [-1, 1] (regression head)

Both heads are trained together (the loss weights are the training config's); `decode` picks which one
`predict_ab` returns: "regression" (the autoencoder and GAN families), "annealed_mean" over the bins
(Zhang et al. 2016), or "confident_mean" (the cnn family): the annealed mean where the bin distribution is
peaked, fading to the regression (the conditional median) where it is spread, by the weight
(1 - H)^confidence_power, H the distribution's entropy over log Q. The annealed mean alone is vivid but
guesses a saturated colour where the model does not know (BSD100: CIEDE2000 12.4 against grey's 11.9);
weighted by its confidence it keeps the colour where the model is sure. The bin distribution also gives the
model's uncertainty and its suggested colours at a point (`predict_distribution`).

Conditions (see deepcolor.models.conditions), all optional, zeros meaning "not given":
- `hints` (B, 3, H, W): ab_norm of each hinted pixel and a 0/1 mask (a mask of 1 with ab 0 is a grey hint);
- `global_hints` (B, Q + 3): a colour histogram over the Q ab bins, its given-flag, a mean chroma
  (ab_norm units) and its given-flag (the global hints of Zhang et al. 2017).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from deepcolor.models import ab_bins
from deepcolor.models.conditions import ConditionSpec
from deepcolor.models.decoder import UNetDecoder
from deepcolor.models.encoders.efficientnet_lite import EfficientNetLite
from deepcolor.models.hint_spreader import HintSpreader
from deepcolor.normalization import L_CENTER, L_SCALE, denormalize_ab, normalize_ab

DECODES = ("regression", "annealed_mean", "confident_mean")


class EncoderUNetColorizer(nn.Module):
    """Colorizer on an EfficientNet-Lite encoder; `forward` returns (ab_norm, logits), see the module.

    Args:
        encoder: "efficientnet-lite0", "-lite1" or "-lite2".
        decoder_widths: channels of the decoder steps (strides 16, 8, 4, 2).
        refine_width: channels of the full-resolution refinement.
        decode: "regression", "annealed_mean" or "confident_mean" (what `predict_ab` returns, see the module).
        grid: ab quantisation step of the bins (10 gives 261 bins).
        temperature: annealed-mean temperature.
        rebalance_lambda: mixing with the uniform distribution in the class-rebalancing weights.
        hint_inputs: accept the `hints` and `global_hints` conditions.
        annealed_mix: with decode "regression", the share of the annealed mean blended into the regressed
            ab (0: the regression alone; a remedy for its muted colour, chosen on the validation sets).
        hint_spread: channels of a learnt hint carrier at stride 4 (`deepcolor.models.hint_spreader`;
            0: none). Its correction is exactly zero without hints.
        hint_attention: with a carrier, channels of the keys by which each cell also hears the hinted cells
            most like it (`attend_hints`; 0: none).
        confidence_power: with decode "confident_mean", the exponent on the bin distribution's confidence
            1 - H / log Q (0: the annealed mean everywhere).
        saturation_width: channels of a saturation head (0: none): from the decoder's stride-2 map it
            predicts a per-pixel gain in [1 / max_saturation, max_saturation] on the regressed ab (the hue
            stays the regression's; zero-initialised, so a new head changes nothing). The gan family's
            adversary trains only this.
        max_saturation: the saturation head's largest gain.
        saturation_entropy: the saturation head also reads the bin distribution's normalised entropy (how
            unsure the model is), so that it can fade what the model does not know.
    """

    def __init__(
        self,
        encoder: str = "efficientnet-lite0",
        decoder_widths: tuple[int, ...] | list[int] = (128, 96, 64, 32),
        refine_width: int = 16,
        decode: str = "regression",
        grid: float = 10.0,
        temperature: float = 0.38,
        rebalance_lambda: float = 0.5,
        hint_inputs: bool = True,
        annealed_mix: float = 0.0,
        hint_spread: int = 0,
        hint_attention: int = 0,
        confidence_power: float = 0.5,
        saturation_width: int = 0,
        max_saturation: float = 2.0,
        saturation_entropy: bool = False,
    ) -> None:
        super().__init__()
        self._frozen: list[str] = []  # children kept in eval mode and out of training (freeze_except)
        self.init_kwargs = {
            "encoder": encoder,
            "decoder_widths": list(decoder_widths),
            "refine_width": refine_width,
            "decode": decode,
            "grid": grid,
            "temperature": temperature,
            "rebalance_lambda": rebalance_lambda,
            "hint_inputs": hint_inputs,
            "annealed_mix": annealed_mix,
            "hint_spread": hint_spread,
            "hint_attention": hint_attention,
            "confidence_power": confidence_power,
            "saturation_width": saturation_width,
            "max_saturation": max_saturation,
            "saturation_entropy": saturation_entropy,
        }
        if decode not in DECODES:
            raise ValueError(f"decode must be one of {DECODES}. Got {decode!r}")
        self.decode = decode
        self.temperature = float(temperature)
        self.annealed_mix = float(annealed_mix)
        self.confidence_power = float(confidence_power)
        self.rebalance_lambda = float(rebalance_lambda)
        self.encoder = EfficientNetLite(encoder, in_channels=1)
        info = self.encoder.feature_info
        self.decoder = UNetDecoder(info, tuple(decoder_widths))
        centers = ab_bins.in_gamut_bins(grid)
        q = centers.shape[0]
        self.register_buffer("bin_centers", centers)
        self.register_buffer("prior", torch.full((q,), 1.0 / q))
        self.register_buffer("class_weights", torch.ones(q))
        w4, w2 = self.decoder.widths[-2], self.decoder.widths[-1]
        self.class_head = nn.Conv2d(w4, q, 1)
        self.coarse_head = nn.Conv2d(w2, 2, 1)
        self.refine_proj = nn.Conv2d(w2, 8, 1)
        self.hint_inputs = bool(hint_inputs)
        c_hint = 3 if hint_inputs else 0
        self.refine = nn.Sequential(
            nn.Conv2d(1 + c_hint + 2 + 8, refine_width, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(refine_width, 2, 3, padding=1),
        )
        nn.init.zeros_(self.refine[-1].weight)
        nn.init.zeros_(self.refine[-1].bias)
        if hint_inputs:
            self.conditions = (
                ConditionSpec("hints", "sparse", 3, "ab_norm of hinted pixels + 0/1 mask"),
                ConditionSpec("global_hints", "vector", q + 3, "histogram, given, mean chroma, given"),
            )
            self.hint_stem = nn.Conv2d(3, 32, 3, stride=2, padding=1)
            nn.init.zeros_(self.hint_stem.weight)
            nn.init.zeros_(self.hint_stem.bias)
            c_deep = info[-1][0]
            self.global_mlp = nn.Sequential(
                nn.Linear(q + 3, 256), nn.ReLU(inplace=True), nn.Linear(256, c_deep)
            )
            nn.init.zeros_(self.global_mlp[-1].weight)
            nn.init.zeros_(self.global_mlp[-1].bias)
        else:
            self.conditions = ()
        if hint_spread and not hint_inputs:
            raise ValueError("hint_spread needs hint_inputs=True")
        if hint_attention and not hint_spread:
            raise ValueError("hint_attention needs a hint carrier (hint_spread > 0)")
        self.hint_spreader = HintSpreader(w4, int(hint_spread), int(hint_attention)) if hint_spread else None
        if max_saturation < 1.0:
            raise ValueError(f"max_saturation must be >= 1. Got {max_saturation}")
        self.max_log_gain = math.log(max_saturation)
        self.saturation = None
        self.saturation_entropy = bool(saturation_entropy)
        if saturation_width:
            self.saturation = nn.Sequential(
                nn.Conv2d(w2 + 2 + int(self.saturation_entropy), int(saturation_width), 3, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(int(saturation_width), 1, 3, padding=1),
            )
            nn.init.zeros_(self.saturation[-1].weight)
            nn.init.zeros_(self.saturation[-1].bias)

    @property
    def num_bins(self) -> int:
        return self.bin_centers.shape[0]

    def init_pretrained(self) -> None:
        """Load the encoder's ImageNet weights (training only: needs the weights package)."""
        self.encoder.load_pretrained()

    def freeze_except(self, children: list[str]) -> None:
        """Train only the named child modules (e.g. "hint_spreader"); every other child is frozen and stays
        in eval mode (its batch-norm statistics untouched) whatever `train()` is asked."""
        names = [name for name, _ in self.named_children()]
        unknown = [c for c in children if c not in names]
        if unknown:
            raise ValueError(f"no module {unknown[0]!r} to train; children: {', '.join(names)}")
        for name, parameter in self.named_parameters():
            parameter.requires_grad_(name.split(".")[0] in children)
        self._frozen = [n for n in names if n not in children]
        self.train(self.training)

    def train(self, mode: bool = True) -> EncoderUNetColorizer:
        super().train(mode)
        for name in self._frozen:
            getattr(self, name).eval()
        return self

    def encoder_parameters(self) -> list[nn.Parameter]:
        return list(self.encoder.parameters())

    def freeze_encoder_blocks(self, count: int) -> None:
        """Freeze the stem and the first `count` MBConv blocks (0: nothing frozen)."""
        if count <= 0:
            return
        for module in [self.encoder._conv_stem, self.encoder._bn0, *self.encoder._blocks[:count]]:
            for p in module.parameters():
                p.requires_grad_(False)

    def set_prior(self, prior: torch.Tensor) -> None:
        """Store the training data's bin prior (Q,) and derive the rebalancing weights."""
        if prior.shape != self.prior.shape:
            raise ValueError(f"prior must have shape {tuple(self.prior.shape)}. Got {tuple(prior.shape)}")
        prior = prior.to(self.prior) / prior.sum()
        self.prior.copy_(prior)
        self.class_weights.copy_(ab_bins.rebalancing_weights(prior, self.bin_centers, self.rebalance_lambda))

    def forward(
        self,
        l_norm: torch.Tensor,
        hints: torch.Tensor | None = None,
        global_hints: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """l_norm (B, 1, H, W) -> (ab_norm (B, 2, H, W) in [-1, 1], logits (B, Q, H/4, W/4))."""
        ab_norm, steps, logits = self._regress(l_norm, hints, global_hints)
        return ab_norm, self.class_head(steps[-2]) if logits is None else logits

    def _features(
        self,
        l_norm: torch.Tensor,
        hints: torch.Tensor | None = None,
        global_hints: torch.Tensor | None = None,
        steps: int | None = None,
    ) -> tuple[torch.Tensor | None, list[torch.Tensor]]:
        """The hint map the refinement reads (zeros when not given) and the decoder's first `steps` maps."""
        if l_norm.dim() != 4 or l_norm.shape[1] != 1:
            raise ValueError(f"Input size must have a shape of (B, 1, H, W). Got {tuple(l_norm.shape)}")
        b, _, h, w = l_norm.shape
        stem_extra = None
        if self.hint_inputs:
            if hints is None:  # "not given" is zeros, exactly as training and the predictors feed it
                hints = l_norm.new_zeros(b, 3, h, w)
            if global_hints is None:
                global_hints = l_norm.new_zeros(b, self.num_bins + 3)
            stem_extra = self.hint_stem(hints)
        grey = (l_norm * L_SCALE + L_CENTER) / 100.0  # L* / 100 in [0, 1]: the encoder's grey input
        features = self.encoder.features(grey, stem_extra)
        if self.hint_inputs:
            features[-1] = features[-1] + self.global_mlp(global_hints)[:, :, None, None]
        return hints, self.decoder(features, steps)

    def _regress(
        self,
        l_norm: torch.Tensor,
        hints: torch.Tensor | None = None,
        global_hints: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor | None]:
        """The regression head's ab_norm, the decoder's maps (the class head reads the stride-4 one) and the
        class head's logits where they were needed on the way (the saturation head reads their entropy),
        else None."""
        hints, steps = self._features(l_norm, hints, global_hints)
        size = tuple(l_norm.shape[-2:])
        coarse = self.coarse_head(steps[-1])
        coarse_up = F.interpolate(coarse, size=size, mode="bilinear", align_corners=False)
        detail = F.interpolate(self.refine_proj(steps[-1]), size=size, mode="bilinear", align_corners=False)
        parts = [l_norm, hints, coarse_up, detail] if self.hint_inputs else [l_norm, coarse_up, detail]
        pre = coarse_up + self.refine(torch.cat(parts, dim=1))
        # the carrier's output is zero without hints: skip its work then (a trace or an export keeps it)
        tracing = torch.jit.is_tracing() or torch.compiler.is_compiling()
        if self.hint_spreader is not None and (tracing or bool(hints[:, 2].any())):
            # to the stride-4 grid by fixed kernels (a trace keeps them right for every size)
            correction = self.hint_spreader(
                steps[-2],
                F.avg_pool2d(hints, 4, ceil_mode=True),
                F.avg_pool2d(coarse, 2, ceil_mode=True),
                F.avg_pool2d(l_norm, 4, ceil_mode=True),
            )
            pre = pre + F.interpolate(correction, size=size, mode="bilinear", align_corners=False)
        ab_norm = torch.tanh(pre)
        if self.saturation is None:
            return ab_norm, steps, None
        # a gain on the chroma only: the hue stays the regression's
        parts = [steps[-1], coarse]
        logits = self.class_head(steps[-2]) if self.saturation_entropy else None
        if logits is not None:
            entropy = ab_bins.normalized_entropy(torch.softmax(logits.float(), dim=1))
            parts.append(F.interpolate(entropy, size=coarse.shape[-2:], mode="bilinear", align_corners=False))
        raw = self.saturation(torch.cat([p.to(coarse.dtype) for p in parts], dim=1))
        gain = F.interpolate(
            torch.exp(self.max_log_gain * torch.tanh(raw)), size=size, mode="bilinear", align_corners=False
        )
        return (ab_norm * gain).clamp(-1.0, 1.0), steps, logits

    def predict_distribution(self, l_norm: torch.Tensor, **conditions: Any) -> torch.Tensor:
        """Per-pixel probabilities over the bins (B, Q, H/4, W/4), summing to 1 over Q. Runs the decoder only
        down to the class head's stride-4 map (no stride-2 step, no full-resolution refinement)."""
        _, steps = self._features(l_norm, **conditions, steps=len(self.decoder.blocks) - 1)
        return torch.softmax(self.class_head(steps[-1]).float(), dim=1)

    def predict_ab(self, l_norm: torch.Tensor, **conditions: Any) -> torch.Tensor:
        """The inference call: l_norm (B, 1, H, W) (+ optional conditions) -> ab_norm (B, 2, H, W)."""
        if self.decode == "regression" and self.annealed_mix <= 0:  # the class head is not needed
            return self._regress(l_norm, **conditions)[0]
        ab_norm, logits = self.forward(l_norm, **conditions)
        sharp = torch.softmax(logits.float() / self.temperature, dim=1)
        ab = torch.einsum("bqhw,qc->bchw", sharp, self.bin_centers.to(sharp.dtype))
        annealed = normalize_ab(
            F.interpolate(ab, size=l_norm.shape[-2:], mode="bilinear", align_corners=False)
        )
        if self.decode == "annealed_mean":
            return annealed
        if self.decode == "confident_mean":
            entropy = ab_bins.normalized_entropy(torch.softmax(logits.float(), dim=1))
            confidence = (1.0 - entropy).clamp(0.0, 1.0) ** self.confidence_power
            weight = F.interpolate(confidence, size=l_norm.shape[-2:], mode="bilinear", align_corners=False)
            return torch.lerp(ab_norm.float(), annealed, weight).to(ab_norm.dtype)
        return torch.lerp(ab_norm.float(), annealed, self.annealed_mix).to(ab_norm.dtype)

    def class_loss(
        self, logits: torch.Tensor, ab_norm: torch.Tensor, neighbors: int = 5, sigma: float = 5.0
    ) -> torch.Tensor:
        """Rebalanced soft cross-entropy of the bin logits (B, Q, h, w) against the truth (B, 2, H, W)."""
        ab = denormalize_ab(F.adaptive_avg_pool2d(ab_norm.float(), logits.shape[-2:]))
        with torch.no_grad():
            target = ab_bins.soft_encode(ab, self.bin_centers, neighbors, sigma)
            pixel_w = self.class_weights[target.argmax(dim=1)]
        ce = -(target * F.log_softmax(logits.float(), dim=1)).sum(dim=1)
        return (ce * pixel_w).mean()
