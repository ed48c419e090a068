"""THE inference path, shared by the commands, the Python API, evaluation and the demo.

    from deepcolor.inference import Colorizer
    colorizer = Colorizer("default")                 # or a .safetensors / .pt / .onnx path, or an nn.Module
    ab = colorizer.predict_ab(l, render_size=160)     # (B, 1, H, W) L* -> (B, 2, H, W) a*b*, full resolution
    rgb = colorizer.colorize_array(grey_or_rgb)       # (H, W[, 3]) -> (H, W, 3) sRGB, original L* kept

    import deepcolor
    deepcolor.colorize("photo.jpg")                   # -> Path("photo_colorized.jpg")
    deepcolor.colorize(pil_image) / (array) / (tensor) # -> the same kind

Modules: `pipeline` (Colorizer: render size, model + conditions, guided upsampling, Lab -> sRGB in row
bands), `predictor` (the Predictor contract and its PyTorch form), `onnx` (export and the onnxruntime
predictor), `weights` (shipped weights, aliases, load_predictor), `images` (the one file / bytes pipeline),
`guidance` (colour hints, a reference photo, suggested colours, the uncertainty map), `api` (the
kinds-in = kinds-out functions), `enhance` (colour -> grey -> colour blend), `upsample` (fast guided filter),
`bands` (row bands and threads).
"""

from deepcolor.inference.api import colorize, enhance, suggest_colors
from deepcolor.inference.pipeline import DEFAULT_RENDER_SIZE, Colorizer, lightness, render_shape
from deepcolor.inference.weights import load_predictor, read_index, shipped_models

__all__ = [
    "DEFAULT_RENDER_SIZE",
    "Colorizer",
    "colorize",
    "enhance",
    "lightness",
    "load_predictor",
    "read_index",
    "render_shape",
    "shipped_models",
    "suggest_colors",
]
