import io

import numpy as np
import pytest
from PIL import Image

from data.helpers import colour_image
from deepcolor.data.augment import (
    GREY_CHROMA_THRESHOLD,
    center_crop,
    decode,
    mean_chroma,
    random_resized_crop,
)
from deepcolor.io import ImageError, read_image


def test_random_resized_crop_shape_and_determinism():
    image = Image.fromarray(colour_image(1, 40))
    a = random_resized_crop(image, 16, np.random.default_rng([0, 0, 7]))
    b = random_resized_crop(image, 16, np.random.default_rng([0, 0, 7]))
    c = random_resized_crop(image, 16, np.random.default_rng([0, 1, 7]))
    assert a.shape == (16, 16, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_flip_happens_about_half_the_time():
    # a full-image crop (min_scale 1, square source) differs from the unflipped resize only by the flip
    image = Image.fromarray(colour_image(2, 16))
    flips = 0
    for k in range(40):
        out = random_resized_crop(image, 16, np.random.default_rng(k), min_scale=1.0)
        plain = np.asarray(image)
        if not np.array_equal(out, plain):
            np.testing.assert_array_equal(out, plain[:, ::-1])
            flips += 1
    assert 10 <= flips <= 30


def test_center_crop_resizes_shorter_side():
    image = Image.fromarray(np.zeros((30, 60, 3), np.uint8))
    assert center_crop(image, 20).shape == (20, 20, 3)


def test_mean_chroma_separates_grey_from_colour():
    grey = colour_image(3, 24, grey=True)
    colour = colour_image(3, 24)
    assert mean_chroma(grey) < 1.0 < GREY_CHROMA_THRESHOLD < mean_chroma(colour)
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    assert abs(mean_chroma(red) - 104.55) < 0.5  # sRGB red: a* 80.1, b* 67.2 -> chroma 104.6


# ------------------------------------------------------------------------------------------------ decoding


def _gamma_profile() -> bytes:
    """A linear-light RGB profile (sRGB primaries, gamma 1): not sRGB, so its pixels must be converted."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "io" / "io_helpers.py"
    spec = importlib.util.spec_from_file_location("deepcolor_test_io_helpers", path)
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)
    return helpers.gamma_rgb_profile(1.0)


def _jpeg(array: np.ndarray, **save) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=95, **save)
    return buffer.getvalue()


def _by_io(data: bytes) -> np.ndarray:
    return np.rint(read_image(data).rgb * 255).astype(np.uint8)


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_decode_applies_exif_orientation_as_at_inference(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _jpeg(colour_image(4, 24)[:, :16], exif=exif.tobytes())
    decoded = np.asarray(decode(data))
    assert decoded.shape == ((16, 24, 3) if orientation in (6, 8) else (24, 16, 3))
    np.testing.assert_array_equal(decoded, _by_io(data))


def test_decode_converts_an_icc_profile_to_srgb_as_at_inference():
    data = _jpeg(colour_image(5, 24), icc_profile=_gamma_profile())
    decoded = np.asarray(decode(data))
    np.testing.assert_array_equal(decoded, _by_io(data))
    plain = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert np.abs(decoded.astype(int) - plain).max() > 20  # linear light shown as sRGB: much brighter


@pytest.mark.parametrize("kind", ["grey jpeg", "png", "rgba png", "16-bit png", "cmyk jpeg"])
def test_other_files_decode_as_read_image_reads_them(kind):
    rgb = colour_image(6, 20)
    buffer = io.BytesIO()
    if kind == "grey jpeg":
        Image.fromarray(rgb[..., 0]).save(buffer, format="JPEG", quality=95)
    elif kind == "png":
        Image.fromarray(rgb).save(buffer, format="PNG")
    elif kind == "rgba png":
        Image.fromarray(np.dstack([rgb, rgb[..., :1]])).save(buffer, format="PNG")
    elif kind == "16-bit png":
        Image.fromarray(rgb[..., 0].astype(np.uint16) * 257).save(buffer, format="PNG")
    else:
        Image.fromarray(rgb).convert("CMYK").save(buffer, format="JPEG", quality=95)
    data = buffer.getvalue()
    decoded = decode(data)
    assert decoded.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(decoded), _by_io(data))


def test_decode_scales_large_jpegs_down_to_about_the_crop_size():
    data = _jpeg(np.asarray(Image.fromarray(colour_image(7, 24)).resize((200, 120))))
    # libjpeg's DCT scaling: the smallest of 1/1, 1/2, 1/4, 1/8 whose sides stay >= min_side
    assert decode(data, min_side=40).size == (100, 60)
    assert decode(data, min_side=25).size == (50, 30)
    assert decode(data, min_side=0).size == decode(data, min_side=200).size == (200, 120)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "empty (0 bytes)"),
        (b"plain text, not an image", "not an image (it looks like a text file)"),
        (bytes(range(256)), "not an image, or a format deepcolor cannot read"),
        (b"\xff\xd8\xff\xe0 truncated", "not a readable image"),
    ],
)
def test_bad_bytes_are_image_errors_naming_the_record(data, problem):
    with pytest.raises(ImageError) as caught:
        decode(data, name="shard.tar/x.jpg")
    assert str(caught.value).startswith(f"shard.tar/x.jpg: {problem}")
    assert "<_io." not in str(caught.value) and "\n" not in str(caught.value)


def test_a_huge_header_is_refused_with_deepcolor_io_wording_not_pillows():
    data = bytearray(_jpeg(colour_image(8, 16)))
    sof = data.index(b"\xff\xc0")  # baseline frame header: length (2), precision (1), height (2), width (2)
    data[sof + 5 : sof + 9] = (20000).to_bytes(2, "big") + (20000).to_bytes(2, "big")
    with pytest.raises(ImageError) as caught:
        decode(bytes(data), min_side=64, name="big.jpg")
    message = str(caught.value)
    assert message == "big.jpg: 20000 x 20000 pixels (400 MP) is over the limit of 100 MP"
    assert "decompression bomb" not in message.lower()
