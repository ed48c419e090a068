"""Perceptual colorization metrics on an ImageNet classifier (EfficientNet-Lite0, from the [train] extra).

- semantic agreement: the share of images whose top-1 ImageNet class on the colorized image equals its top-1
  on the true image (Zhang, Isola and Efros 2016 scored colorizations by a classifier's accuracy on them;
  agreement with the truth's own prediction needs no labels);
- a Frechet distance between Gaussians fitted to the pooled 1280-d head features of the colorized and the
  true images. It has FID's form but is NOT comparable with published FID figures (those use Inception-v3
  features and 50,000 images): compare it only between models scored on the same images here.

Images are squashed to 224 x 224 (both sides of a pair alike), as the classifier was trained at that size.
`PerceptualScorer` raises `deepcolor.models.encoders.WeightsMissing` (one line naming the package) when the
weights package is not installed.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import torch
import torch.nn.functional as F

CLASSIFIER = "efficientnet-lite0"
INPUT_SIZE = 224


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to feature sets a (N, D) and b (M, D):
    |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)). Needs N, M >= 2."""
    from scipy import linalg

    if a.shape[0] < 2 or b.shape[0] < 2:
        raise ValueError(
            f"a Frechet distance needs at least 2 images per set. Got {a.shape[0]} and {b.shape[0]}"
        )
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with (
        warnings.catch_warnings()
    ):  # few images: a singular product is expected, its square root still exists
        warnings.simplefilter("ignore")
        root = np.real(linalg.sqrtm(s_a @ s_b))
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a + s_b - 2.0 * root))


@functools.lru_cache(maxsize=2)
def _classifier(device: str) -> torch.nn.Module:
    """The ImageNet classifier, loaded once per process and device (never trained here: eval mode)."""
    from deepcolor.models.encoders import EfficientNetLite

    net = EfficientNetLite(CLASSIFIER, classifier=True)
    net.load_pretrained()
    return net.eval().to(device)


class PerceptualScorer:
    """Collects classifier outputs for (colorized, truth) pairs; `result()` gives the metrics."""

    def __init__(self, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self.net = _classifier(str(self.device))
        self.features: dict[str, list[np.ndarray]] = {"pred": [], "truth": []}
        self.top1: dict[str, list[int]] = {"pred": [], "truth": []}

    @torch.no_grad()
    def _run(self, rgb: np.ndarray) -> tuple[np.ndarray, int]:
        t = (
            torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32))
            .permute(2, 0, 1)[None]
            .to(self.device)
        )
        t = F.interpolate(
            t, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", antialias=True, align_corners=False
        )
        pooled = self.net.pooled(t.clamp(0, 1))
        return pooled[0].cpu().numpy(), int(self.net._fc(pooled).argmax())

    def add(self, pred_rgb: np.ndarray, true_rgb: np.ndarray) -> bool:
        """One pair of (H, W, 3) float sRGB images in [0, 1]; returns whether their top-1 classes agree."""
        for key, rgb in (("pred", pred_rgb), ("truth", true_rgb)):
            feature, top = self._run(rgb)
            self.features[key].append(feature)
            self.top1[key].append(top)
        return self.top1["pred"][-1] == self.top1["truth"][-1]

    def result(self) -> dict[str, float]:
        """{"semantic_agreement": share in [0, 1], "frechet_lite0": distance (nan below 2 images)}."""
        n = len(self.top1["pred"])
        if n == 0:
            return {"semantic_agreement": float("nan"), "frechet_lite0": float("nan")}
        agree = float(np.mean(np.equal(self.top1["pred"], self.top1["truth"])))
        frechet = float("nan")
        if n >= 2:
            frechet = frechet_distance(np.stack(self.features["pred"]), np.stack(self.features["truth"]))
        return {"semantic_agreement": agree, "frechet_lite0": frechet}


def colorfulness_gap(pred_colorfulness: float, true_colorfulness: float) -> float:
    """|CF - CF_truth| (the colourfulness gap DDColor's tables report), per image or on means."""
    return abs(float(pred_colorfulness) - float(true_colorfulness))
