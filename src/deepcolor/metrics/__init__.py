"""Image quality metrics: colorization (PSNR, SSIM, CIEDE2000, colourfulness, AuC, false colour) and
decolorization."""

from deepcolor.metrics.colorization import auc_ab as auc_ab
from deepcolor.metrics.colorization import ciede2000 as ciede2000
from deepcolor.metrics.colorization import colorfulness as colorfulness
from deepcolor.metrics.colorization import false_colour as false_colour
from deepcolor.metrics.colorization import psnr as psnr
from deepcolor.metrics.colorization import quantize_8bit as quantize_8bit
from deepcolor.metrics.colorization import ssim as ssim
from deepcolor.metrics.decolorization import ccfr as ccfr
from deepcolor.metrics.decolorization import ccpr as ccpr
from deepcolor.metrics.decolorization import contrast_pairs as contrast_pairs
from deepcolor.metrics.decolorization import contrast_scores as contrast_scores
from deepcolor.metrics.decolorization import escore as escore
