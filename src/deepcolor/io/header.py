"""An image's size from its header alone, before anything is decoded."""

from __future__ import annotations

import io
import os

from PIL import Image

from deepcolor.io.read import open_without_pillow_limit


def image_size(source: bytes | str | os.PathLike[str]) -> tuple[int, int] | None:
    """(width, height) read from the header of an encoded image (its bytes or its file), or None when Pillow
    cannot tell (not an image, a TIFF layout only tifffile reads): `deepcolor.io.read_image` then says what
    is wrong."""
    try:
        opened = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
        with open_without_pillow_limit(), Image.open(opened) as im:
            return im.size
    except Exception:  # noqa: BLE001 - any failure means "unknown"; read_image reports the real problem
        return None
