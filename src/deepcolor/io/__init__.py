"""Image I/O: the only code in deepcolor that touches image files and PIL.

- `read_image(path, max_pixels=100_000_000) -> LoadedImage` (rgb (H, W, 3) float32 sRGB in [0, 1], alpha,
  icc, exif, bit_depth, is_gray, path, format, mode); refuses bad files with `ImageError`.
- `write_image(path, array, alpha=None, icc=None, exif=None, bit_depth=8, overwrite=True)`: atomic, format
  from the extension. `write_npy` does the same for arrays.
- `expand_inputs(inputs, recursive)`: files, folders and glob patterns -> `InputItem`s with output stems.
- `to_tensor` / `to_numpy`: (H, W, C) NumPy <-> (1, C, H, W) torch.
"""

from deepcolor.io.atomic import atomic_write, atomic_write_bytes
from deepcolor.io.errors import ImageError, ImageWarning
from deepcolor.io.image import (
    DEFAULT_MAX_PIXELS,
    GRAY_TOLERANCE,
    WRITE_FORMATS,
    LoadedImage,
    is_effectively_gray,
    jpeg_quality,
    read_image,
    srgb_profile,
    write_image,
    write_npy,
)
from deepcolor.io.paths import IMAGE_EXTENSIONS, InputItem, expand_inputs, is_image_name
from deepcolor.io.tensor import to_numpy, to_tensor

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "GRAY_TOLERANCE",
    "IMAGE_EXTENSIONS",
    "WRITE_FORMATS",
    "ImageError",
    "ImageWarning",
    "InputItem",
    "LoadedImage",
    "atomic_write",
    "atomic_write_bytes",
    "expand_inputs",
    "is_effectively_gray",
    "is_image_name",
    "jpeg_quality",
    "read_image",
    "srgb_profile",
    "to_numpy",
    "to_tensor",
    "write_image",
    "write_npy",
]
