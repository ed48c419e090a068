"""PNG metadata over Pillow's size limits: the pixels are read, the oversized chunk dropped with a warning
(an ICC profile up to deepcolor's own limit is kept and applied)."""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest
from io_helpers import _tags, build_icc, gamma_rgb_profile, linear_to_srgb, png_chunk, png_chunks
from PIL import Image, PngImagePlugin

from deepcolor.io import ImageWarning, read_image, srgb_profile, write_image
from deepcolor.io.metadata import MAX_ICC_BYTES, png_without_oversized_metadata

PIXELS = np.array([[[128, 64, 10], [255, 255, 255], [0, 0, 0], [20, 200, 240]]], np.uint8)


def _with_chunk(path, chunk: bytes, before: bytes = b"IDAT") -> None:
    """Insert `chunk` before the first chunk of type `before` of the PNG at `path`."""
    data = path.read_bytes()
    body, placed = [], False
    for kind, payload in png_chunks(data):
        if kind == before and not placed:
            body.append(chunk)
            placed = True
        body.append(png_chunk(kind, payload))
    path.write_bytes(data[:8] + b"".join(body))


def _ztxt(keyword: bytes, text: bytes) -> bytes:
    return png_chunk(b"zTXt", keyword + b"\0\0" + zlib.compress(text, 9))


def _itxt_xmp(text: bytes) -> bytes:
    return png_chunk(b"iTXt", b"XML:com.adobe.xmp\0\x01\x00\0\0" + zlib.compress(text, 9))


def _big_profile(size: int) -> bytes:
    """The linear-light test profile grown to `size` bytes by a private tag (LittleCMS skips it)."""
    linear = gamma_rgb_profile(1.0)
    tags = _tags(linear)
    tags[b"dcpd"] = b"dcpd" + bytes(size - len(linear))
    return build_icc(tags, linear[:128])


@pytest.mark.parametrize("where", [b"IDAT", b"IEND"])  # before the pixels, or after (read while decoding)
@pytest.mark.parametrize("kind", ["zTXt", "XMP"])
def test_large_compressed_text_is_dropped_with_a_warning(tmp_path, kind, where):
    path = tmp_path / "a.png"
    Image.fromarray(PIXELS).save(path)
    text = b"<x:xmpmeta>" + b" " * (3 << 20) + b"</x:xmpmeta>"  # 3 MB inflated, a few kB in the file
    _with_chunk(path, _ztxt(b"Comment", text) if kind == "zTXt" else _itxt_xmp(text), before=where)
    with pytest.warns(
        ImageWarning, match=r"a\.png: the [zi]TXt metadata chunk .* \(over 1 MB uncompressed\) dropped"
    ):
        image = read_image(path)
    np.testing.assert_array_equal(image.rgb, PIXELS / np.float32(255))
    with pytest.warns(ImageWarning, match=r"^<memory>: the"):  # from bytes too
        read_image(path.read_bytes())


def test_small_text_is_kept_and_no_warning(tmp_path):
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "x" * 1000, zip=True)
    path = tmp_path / "a.png"
    Image.fromarray(PIXELS).save(path, pnginfo=info)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_image(path)


def test_a_large_icc_profile_is_kept_and_applied(tmp_path):
    profile = _big_profile(2 << 20)  # over Pillow's 1 MB chunk limit, under deepcolor's
    path = tmp_path / "a.png"
    Image.fromarray(PIXELS).save(path, icc_profile=profile)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image = read_image(path)
    np.testing.assert_allclose(image.rgb, linear_to_srgb(PIXELS / 255.0), atol=1.0 / 255)
    assert image.icc == srgb_profile()


def test_an_oversized_icc_profile_is_dropped_with_a_warning(tmp_path):
    path = tmp_path / "a.png"
    Image.fromarray(PIXELS).save(path)
    too_big = b"\0" * (MAX_ICC_BYTES + 1)  # inflates past the limit; never parsed as a profile
    _with_chunk(path, png_chunk(b"iCCP", b"huge\0\0" + zlib.compress(too_big, 9)))
    with pytest.warns(
        ImageWarning, match=r"a\.png: the embedded ICC profile \(over 16 MB uncompressed\) dropped"
    ):
        image = read_image(path)
    np.testing.assert_array_equal(image.rgb, PIXELS / np.float32(255))
    assert image.icc is None


def test_16bit_png_with_large_text(tmp_path):
    """The two-pass 16-bit decoder opens the stream again: the cleaned one, not the file."""
    rgb = np.linspace(0, 1, 4 * 6 * 3, dtype=np.float32).reshape(4, 6, 3)
    path = write_image(tmp_path / "deep.png", rgb, bit_depth=16)
    _with_chunk(path, _ztxt(b"Comment", b"a" * (2 << 20)))
    with pytest.warns(ImageWarning, match="dropped"):
        image = read_image(path)
    assert image.bit_depth == 16
    np.testing.assert_allclose(image.rgb, rgb, atol=0.5 / 65535)


def test_the_filter_keeps_everything_else_byte_for_byte(tmp_path):
    path = write_image(tmp_path / "a.png", PIXELS, icc=srgb_profile())
    data = path.read_bytes()
    assert png_without_oversized_metadata(data, "a.png") == (data, None)
    broken = data[:-7]  # cut inside IEND: copied as it is
    assert png_without_oversized_metadata(broken, "a.png") == (broken, None)
