"""Image quality metrics: colorization (PSNR, SSIM, CIEDE2000, colourfulness, AuC) and decolorization."""

from deepcolor.metrics.colorization import auc_ab as auc_ab
from deepcolor.metrics.colorization import ciede2000 as ciede2000
from deepcolor.metrics.colorization import colorfulness as colorfulness
from deepcolor.metrics.colorization import psnr as psnr
from deepcolor.metrics.colorization import quantize_8bit as quantize_8bit
from deepcolor.metrics.colorization import ssim as ssim
