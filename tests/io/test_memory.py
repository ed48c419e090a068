"""read_image / write_image / encode_image on bytes and binary streams: the same checks, messages and pixels
as for files (what a web service that never touches the disk needs)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import png_with_header_size
from deepcolor.io import (
    MEDIA_TYPES,
    ImageError,
    ImageWarning,
    encode_image,
    image_format,
    read_image,
    write_image,
)


def _same(a, b) -> None:
    np.testing.assert_array_equal(a.rgb, b.rgb)
    assert (a.alpha is None) == (b.alpha is None)
    if a.alpha is not None:
        np.testing.assert_array_equal(a.alpha, b.alpha)
    assert (a.bit_depth, a.is_gray, a.format, a.mode, a.icc, a.exif) == (
        b.bit_depth,
        b.is_gray,
        b.format,
        b.mode,
        b.icc,
        b.exif,
    )


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("a.png", {}),
        ("a.jpg", {}),
        ("alpha.png", {"alpha": True}),
        ("deep.png", {"bit_depth": 16}),  # decoded in two passes: the bytes are read twice
        ("deep.tif", {"bit_depth": 16}),  # 16-bit colour TIFF: through tifffile
        ("deep_alpha.tif", {"bit_depth": 16, "alpha": True}),
        ("a.webp", {}),
    ],
)
def test_bytes_and_streams_read_as_the_file_does(tmp_path, rgb_image, name, kwargs):
    alpha = rgb_image[..., 1] if kwargs.pop("alpha", False) else None
    path = write_image(tmp_path / name, rgb_image, alpha=alpha, **kwargs)
    from_file = read_image(path)
    data = path.read_bytes()
    for source in (data, bytearray(data), memoryview(data), io.BytesIO(data)):
        image = read_image(source)
        _same(image, from_file)
        assert image.path is None and image.name == "<memory>"
    with open(path, "rb") as f:
        image = read_image(f)
    _same(image, from_file)
    assert image.name == str(path)
    assert from_file.name == str(path) and from_file.path == path


def test_memory_errors_are_one_line_and_name_the_source(tmp_path, bad_files):
    problems = {
        "empty.jpg": "empty (0 bytes)",
        "truncated.jpg": "truncated or corrupt",
        "text.jpg": "looks like a text file",
        "huge.png": "over the limit",
    }
    for file_name, problem in problems.items():
        data = bad_files[file_name].read_bytes()
        with pytest.raises(ImageError) as info:
            read_image(data)
        assert str(info.value).startswith("<memory>: ") and "\n" not in str(info.value)
        assert problem in info.value.problem
        with pytest.raises(ImageError, match=rf"^upload/{file_name}: "):
            read_image(io.BytesIO(data), name=f"upload/{file_name}")


def test_pixel_limit_on_bytes_is_checked_before_decoding():
    data = png_with_header_size(60000, 60000)  # a decompression bomb's header: decoding would need 10 GB
    with pytest.raises(ImageError, match=r"60000 x 60000 pixels \(3600 MP\) is over the limit of 100 MP"):
        read_image(data)
    with pytest.raises(ImageError, match="is over the limit of 10 pixels"):
        read_image(_png(np.zeros((4, 4, 3), np.uint8)), max_pixels=10)


def test_warnings_name_the_memory_source():
    frames = [Image.new("RGB", (6, 4), c) for c in [(255, 0, 0), (0, 0, 255)]]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    with pytest.warns(ImageWarning, match=r"^clip\.gif: has 2 frames; reading the first"):
        read_image(buffer.getvalue(), name="clip.gif")


def test_bad_source_types():
    with pytest.raises(TypeError, match="path, bytes or a binary file object"):
        read_image(12345)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="binary file object"):
        read_image(io.StringIO("text"))  # type: ignore[arg-type]


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------- writing


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp", "tiff", "bmp", "gif"])
def test_encode_image_gives_the_bytes_write_image_writes(tmp_path, rgb_image, fmt):
    data = encode_image(rgb_image, fmt, quality=90)
    ext = {"jpeg": ".jpg", "tiff": ".tif"}.get(fmt, f".{fmt}")
    written = write_image(tmp_path / f"a{ext}", rgb_image, quality=90)
    assert data == written.read_bytes()
    np.testing.assert_array_equal(read_image(data).rgb, read_image(written).rgb)
    assert read_image(data).format == image_format(fmt) and image_format(fmt) in MEDIA_TYPES


def test_encode_keeps_alpha_icc_exif_and_16_bits(rgb_image):
    from deepcolor.io import srgb_profile

    exif = Image.Exif()
    exif[0x010F] = "deepcolor-test"
    alpha = np.linspace(0, 1, 32, dtype=np.float32)[None, :].repeat(24, 0)
    data = encode_image(rgb_image, "png", alpha, srgb_profile(), exif.tobytes(), 16)
    image = read_image(data)
    assert image.bit_depth == 16 and image.icc == srgb_profile() and image.exif is not None
    np.testing.assert_allclose(image.alpha, alpha, atol=1 / 65535)


def test_write_image_to_a_stream(tmp_path, rgb_image):
    buffer = io.BytesIO()
    assert write_image(buffer, rgb_image, format="webp") is None
    assert buffer.getvalue()[8:12] == b"WEBP"
    with open(tmp_path / "named.png", "wb") as f:  # the format from the stream's name
        write_image(f, rgb_image)
    assert read_image(tmp_path / "named.png").format == "PNG"
    with pytest.raises(ImageError, match="^<memory>: no image format given"):
        write_image(io.BytesIO(), rgb_image)


def test_encode_errors(rgb_image):
    with pytest.raises(ImageError, match=r"^<memory>: unknown image format 'xyz'"):
        encode_image(rgb_image, "xyz")
    with pytest.raises(ImageError, match="^out: JPEG holds 8 bits per channel"):
        encode_image(rgb_image, "jpeg", bit_depth=16, name="out")
    with pytest.warns(ImageWarning, match="^<memory>: JPEG cannot store alpha"):
        encode_image(rgb_image, "jpg", alpha=rgb_image[..., 0])
    assert image_format(".JPG") == image_format("jpeg") == "JPEG" and image_format("exr") is None


def test_a_write_path_still_names_the_file(tmp_path, rgb_image):
    with pytest.raises(ImageError, match=r"a\.xyz: unknown image extension '\.xyz'"):
        write_image(tmp_path / "a.xyz", rgb_image)
    assert write_image(tmp_path / "b.dat", rgb_image, format="png") == Path(tmp_path / "b.dat")
    assert read_image(tmp_path / "b.dat").format == "PNG"
