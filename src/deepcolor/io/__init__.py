"""Image I/O: the only code in deepcolor that touches image files and PIL.

- `read_image(source, max_pixels=100_000_000) -> LoadedImage` (rgb (H, W, 3) float32 sRGB in [0, 1], alpha,
  icc, exif, bit_depth, is_gray, channels_equal, path, name, format, mode); `source` is a path, bytes or a
  binary file object; refuses bad input with `ImageError`.
- `write_image(path_or_stream, array, alpha=None, icc=None, exif=None, bit_depth=8, overwrite=True)`: atomic
  for files, format from the extension (or `format=`); `encode_image(array, "png" | "jpeg" | "webp" ...)`
  gives the bytes instead. `write_npy` writes arrays. `output_suffix` and `output_bit_depth`: the format and
  bit depth a result of a source is written with.
- `expand_inputs(inputs, recursive)`: files, folders and glob patterns -> `InputItem`s with output stems.
- Arrays: `split_alpha`, `join_alpha`, `unit_float`, `check_unit_range`, `from_unit_float`,
  `image_from_array`: the one place where image dtypes and alpha layouts are handled.
  `to_tensor` / `to_numpy`: (H, W, C) <-> (1, C, H, W).

Modules: `read` (read_image), `decode` (Pillow modes and bit depths -> floats), `icc` (profiles -> sRGB),
`metadata` (EXIF, JPEG quality, oversized PNG chunks), `source` (files, bytes, streams), `write`,
`arrays`, `loaded` (LoadedImage), `atomic`, `paths`, `tensor`, `errors`.
"""

from deepcolor.io.arrays import (
    UNIT_RANGE_SLACK,
    check_unit_range,
    from_unit_float,
    image_from_array,
    join_alpha,
    split_alpha,
    unit_float,
)
from deepcolor.io.atomic import atomic_write, atomic_write_bytes
from deepcolor.io.errors import ImageError, ImageWarning
from deepcolor.io.icc import srgb_profile
from deepcolor.io.loaded import DEFAULT_MAX_PIXELS, GRAY_TOLERANCE, LoadedImage, is_effectively_gray
from deepcolor.io.metadata import jpeg_quality
from deepcolor.io.paths import IMAGE_EXTENSIONS, InputItem, expand_inputs, is_image_name
from deepcolor.io.read import read_image
from deepcolor.io.source import MEMORY_NAME, ImageInput
from deepcolor.io.tensor import to_numpy, to_tensor
from deepcolor.io.write import (
    MEDIA_TYPES,
    WRITE_FORMATS,
    encode_image,
    image_format,
    output_bit_depth,
    output_suffix,
    write_image,
    write_npy,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "GRAY_TOLERANCE",
    "IMAGE_EXTENSIONS",
    "MEDIA_TYPES",
    "MEMORY_NAME",
    "UNIT_RANGE_SLACK",
    "WRITE_FORMATS",
    "ImageError",
    "ImageInput",
    "ImageWarning",
    "InputItem",
    "LoadedImage",
    "atomic_write",
    "atomic_write_bytes",
    "check_unit_range",
    "encode_image",
    "expand_inputs",
    "from_unit_float",
    "image_format",
    "image_from_array",
    "is_effectively_gray",
    "is_image_name",
    "join_alpha",
    "jpeg_quality",
    "output_bit_depth",
    "output_suffix",
    "read_image",
    "split_alpha",
    "srgb_profile",
    "to_numpy",
    "to_tensor",
    "unit_float",
    "write_image",
    "write_npy",
]
