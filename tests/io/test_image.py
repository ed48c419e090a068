"""read_image / write_image: formats, modes, bit depths, ICC, EXIF, alpha, bad inputs, atomic writes."""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from io_helpers import gamma_rgb_profile, linear_to_srgb, png_chunk, png_chunks
from PIL import Image, ImageFile, ImageOps

from deepcolor.io import (
    ImageError,
    ImageWarning,
    is_effectively_gray,
    read_image,
    srgb_profile,
    to_numpy,
    to_tensor,
    write_image,
    write_npy,
)

Q8 = 1.0 / 255.0


def q8(a: np.ndarray) -> np.ndarray:
    """What an 8-bit file stores for float values."""
    return np.round(np.clip(a, 0, 1) * 255.0) / 255.0


def q16(a: np.ndarray) -> np.ndarray:
    return np.round(np.clip(a, 0, 1) * 65535.0) / 65535.0


def no_leftovers(folder: Path) -> list[str]:
    """Names of temporary files that an atomic write must never leave behind."""
    return [p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]


# ------------------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("ext", [".png", ".tif", ".bmp"])
@pytest.mark.parametrize("grey", [False, True])
def test_lossless_8bit_round_trip_is_exact(tmp_path, rgb_image, ext, grey):
    array = rgb_image[..., 0] if grey else rgb_image
    write_image(tmp_path / f"a{ext}", array)
    image = read_image(tmp_path / f"a{ext}")
    expected = q8(np.repeat(array[..., None], 3, axis=2) if grey else array)
    assert image.rgb.dtype == np.float32 and image.rgb.shape == (24, 32, 3)
    np.testing.assert_allclose(image.rgb, expected, atol=1e-6)
    assert image.is_gray == grey
    assert image.bit_depth == 8
    assert image.alpha is None


@pytest.mark.parametrize("ext", [".png", ".tif", ".webp"])
@pytest.mark.parametrize("grey", [False, True])
def test_alpha_is_kept(tmp_path, rgb_image, ext, grey):
    alpha = np.linspace(0, 1, 24 * 32, dtype=np.float32).reshape(24, 32)
    write_image(tmp_path / f"a{ext}", rgb_image[..., 0] if grey else rgb_image, alpha=alpha)
    image = read_image(tmp_path / f"a{ext}")
    assert image.alpha is not None and image.alpha.dtype == np.float32
    np.testing.assert_allclose(image.alpha, q8(alpha), atol=1e-6 if ext != ".webp" else 1.5 * Q8)


@pytest.mark.parametrize("ext", [".jpg", ".webp"])
def test_lossy_round_trip_is_close(tmp_path, rgb_image, ext):
    write_image(tmp_path / f"a{ext}", rgb_image, quality=95)
    image = read_image(tmp_path / f"a{ext}")
    assert image.rgb.shape == rgb_image.shape
    assert np.abs(image.rgb - rgb_image).mean() < 0.03
    assert not image.is_gray


def test_gif_keeps_one_bit_alpha(tmp_path, rgb_image):
    alpha = np.zeros((24, 32), np.float32)
    alpha[:, 16:] = 1.0
    write_image(tmp_path / "a.gif", rgb_image, alpha=alpha)
    image = read_image(tmp_path / "a.gif")
    np.testing.assert_array_equal(image.alpha, alpha)
    assert np.abs(image.rgb[:, 16:] - rgb_image[:, 16:]).mean() < 0.03  # 255-colour palette


@pytest.mark.parametrize("ext", [".jpg", ".bmp"])
def test_alpha_dropped_with_a_warning_where_the_format_cannot_hold_it(tmp_path, rgb_image, ext):
    with pytest.warns(ImageWarning, match="cannot store alpha; the alpha channel was dropped"):
        write_image(tmp_path / f"a{ext}", rgb_image, alpha=np.full((24, 32), 0.5))
    image = read_image(tmp_path / f"a{ext}")
    assert image.alpha is None
    assert np.abs(image.rgb - rgb_image).mean() < 0.03  # colour written as it is, not composited


@pytest.mark.parametrize("ext", [".png", ".tif"])
@pytest.mark.parametrize("channels", ["grey", "grey+alpha", "rgb", "rgba"])
def test_16bit_round_trip_keeps_16bit_precision(tmp_path, ext, channels):
    # A ramp with 1/65535 steps: 8 bits would collapse it to a handful of levels.
    ramp = (np.arange(24 * 40, dtype=np.float32).reshape(24, 40) + 30000.0) / 65535.0
    rgb = np.stack([ramp, ramp[::-1], ramp[:, ::-1]], axis=-1)
    colour = ramp if channels.startswith("grey") else rgb
    alpha = ramp[::-1, ::-1].copy() if channels.endswith("alpha") or channels == "rgba" else None
    write_image(tmp_path / f"a{ext}", colour, alpha=alpha, bit_depth=16)
    image = read_image(tmp_path / f"a{ext}")
    assert image.bit_depth == 16
    expected = np.repeat(colour[..., None], 3, axis=2) if colour.ndim == 2 else colour
    np.testing.assert_allclose(image.rgb, q16(expected), atol=1e-7)
    assert len(np.unique(image.rgb[..., 0])) == 24 * 40
    if alpha is None:
        assert image.alpha is None
    else:
        np.testing.assert_allclose(image.alpha, q16(alpha), atol=1e-7)
    assert image.is_gray == (colour.ndim == 2)


def test_16bit_png_written_by_libpng_reads_exactly(tmp_path):
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:37, 0:53]
    values = np.stack([x * 1200 + y, y * 1700 + 5, rng.integers(0, 65536, (37, 53))], axis=-1)
    values = values.astype(np.uint16)  # smooth and noisy channels: libpng picks several row filters
    for name, data in [("rgb.png", values), ("rgba.png", np.dstack([values, values[..., :1] ^ 0x5A5A]))]:
        bgr = data.copy()
        bgr[..., :3] = data[..., 2::-1]
        assert cv2.imwrite(str(tmp_path / name), bgr)
        image = read_image(tmp_path / name)
        got = np.round(image.rgb * 65535).astype(np.uint16)
        np.testing.assert_array_equal(got, data[..., :3])
        if data.shape[2] == 4:
            np.testing.assert_array_equal(np.round(image.alpha * 65535).astype(np.uint16), data[..., 3])


def test_our_16bit_png_reads_exactly_in_libpng(tmp_path):
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(1)
    rgba = rng.random((19, 23, 4)).astype(np.float32)
    write_image(tmp_path / "a.png", rgba[..., :3], alpha=rgba[..., 3], bit_depth=16)
    back = cv2.imread(str(tmp_path / "a.png"), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back[..., [2, 1, 0, 3]], np.round(rgba * 65535).astype(np.uint16))


def test_16bit_grey_png_saved_by_pillow(image_file):
    values = (np.arange(12 * 9).reshape(12, 9) * 600 + 7).astype(np.uint16)
    image = read_image(image_file("g16.png", values))
    assert image.mode == "I;16" and image.bit_depth == 16 and image.is_gray
    np.testing.assert_allclose(image.rgb[..., 1], values / 65535.0, atol=1e-7)


def test_bit_depth_16_needs_png_or_tiff(tmp_path, rgb_image):
    with pytest.raises(ImageError, match=r"a\.jpg: JPEG holds 8 bits per channel"):
        write_image(tmp_path / "a.jpg", rgb_image, bit_depth=16)
    assert not (tmp_path / "a.jpg").exists()


# ------------------------------------------------------------------------------------------- modes


def test_cmyk_jpeg(image_file, rgb_image):
    cmyk = Image.fromarray((rgb_image * 255).astype(np.uint8)).convert("CMYK")
    path = image_file("cmyk.jpg", cmyk, quality=95)
    image = read_image(path)
    assert image.mode == "CMYK" and image.rgb.shape == (24, 32, 3)
    expected = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    np.testing.assert_allclose(image.rgb, expected, atol=1e-6)
    assert np.abs(image.rgb - rgb_image).mean() < 0.05  # and it is the picture that went in


def test_palette_png_with_transparency_gives_alpha(image_file):
    im = Image.new("P", (5, 3), 0)
    im.putpalette([200, 30, 10, 0, 0, 255] + [0] * 762)
    im.putpixel((4, 2), 1)
    image = read_image(image_file("pal.png", im, transparency=1))
    assert image.mode == "P"
    expected_alpha = np.ones((3, 5), np.float32)
    expected_alpha[2, 4] = 0.0
    np.testing.assert_array_equal(image.alpha, expected_alpha)
    np.testing.assert_allclose(image.rgb[0, 0], np.array([200, 30, 10]) / 255.0, atol=1e-6)


def test_palette_without_transparency_has_no_alpha(image_file, rgb_image):
    im = Image.fromarray((rgb_image * 255).astype(np.uint8)).quantize(16)
    image = read_image(image_file("pal.png", im))
    assert image.alpha is None and image.mode == "P"
    np.testing.assert_allclose(image.rgb, np.asarray(im.convert("RGB")) / 255.0, atol=1e-6)


@pytest.mark.parametrize("mode", ["1", "L", "LA"])
def test_grey_modes(image_file, mode):
    im = Image.fromarray((np.arange(6 * 7).reshape(6, 7) * 6).astype(np.uint8)).convert(mode)
    image = read_image(image_file(f"g_{mode}.png", im))
    assert image.is_gray and image.mode == mode
    assert (image.alpha is not None) == (mode == "LA")
    np.testing.assert_allclose(image.rgb[..., 0], np.asarray(im.convert("L")) / 255.0, atol=1e-6)
    assert image.bit_depth == (1 if mode == "1" else 8)


def test_int32_tiff_in_16bit_range(image_file):
    values = (np.arange(8 * 5).reshape(8, 5) * 1500).astype(np.int32)
    image = read_image(image_file("i.tif", Image.fromarray(values, mode="I")))
    assert image.mode == "I" and image.bit_depth == 32
    np.testing.assert_allclose(image.rgb[..., 0], values / 65535.0, atol=1e-6)


def test_float_tiff(image_file):
    values = np.linspace(0, 1, 40, dtype=np.float32).reshape(5, 8)
    image = read_image(image_file("f.tif", Image.fromarray(values)))
    assert image.mode == "F"
    np.testing.assert_allclose(image.rgb[..., 2], values, atol=1e-7)


def test_float_tiff_outside_unit_range_is_stretched_with_a_warning(image_file):
    values = np.linspace(-2, 6, 40, dtype=np.float32).reshape(5, 8)
    path = image_file("f.tif", Image.fromarray(values))
    with pytest.warns(ImageWarning, match=r"float values span \[-2, 6\]; stretched"):
        image = read_image(path)
    np.testing.assert_allclose(image.rgb[..., 0], (values + 2) / 8, atol=1e-6)


def test_animated_gif_reads_the_first_frame_with_a_warning(tmp_path):
    frames = [Image.new("RGB", (6, 4), c) for c in [(255, 0, 0), (0, 0, 255), (0, 255, 0)]]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=50)
    with pytest.warns(ImageWarning, match=r"anim\.gif: has 3 frames; reading the first"):
        image = read_image(tmp_path / "anim.gif")
    np.testing.assert_allclose(image.rgb, np.broadcast_to([1.0, 0.0, 0.0], (4, 6, 3)), atol=1e-6)
    assert image.format == "GIF"


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1)])
@pytest.mark.parametrize("ext", [".png", ".jpg", ".png16"])
def test_tiny_images(tmp_path, shape, ext):
    array = np.full((*shape, 3), 0.25, np.float32)
    array[..., 0] = np.linspace(0.1, 0.9, shape[0] * shape[1]).reshape(shape)
    path = tmp_path / ("a.png" if ext == ".png16" else f"a{ext}")
    write_image(path, array, bit_depth=16 if ext == ".png16" else 8)
    image = read_image(path)
    assert image.rgb.shape == (*shape, 3)
    np.testing.assert_allclose(image.rgb, array, atol=0.02 if ext == ".jpg" else Q8 / 2)


# ----------------------------------------------------------------------------------- grey detection


def test_is_gray_for_rgb_files_with_equal_channels(image_file, gray_image):
    grey_rgb = np.repeat(gray_image[..., None], 3, axis=2)
    assert read_image(image_file("g.png", grey_rgb)).is_gray
    assert read_image(image_file("g.jpg", grey_rgb, quality=80)).is_gray  # JPEG noise stays within tolerance
    tinted = grey_rgb.copy()
    tinted[5, 5, 0] += 0.05
    assert not read_image(image_file("t.png", tinted)).is_gray


def test_is_effectively_gray_tolerance():
    rgb = np.full((4, 4, 3), 0.5, np.float32)
    rgb[0, 0, 2] += 1.5 / 255
    assert is_effectively_gray(rgb)
    assert not is_effectively_gray(rgb, tolerance=1.0 / 255)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        is_effectively_gray(rgb[..., 0])


# ---------------------------------------------------------------------------------------------- EXIF


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_and_reset(image_file, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "deepcolor test camera"
    path = image_file("o.jpg", np.random.default_rng(orientation).random((6, 10, 3)), exif=exif, quality=95)
    image = read_image(path)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)), dtype=np.float32) / 255.0
    np.testing.assert_array_equal(image.rgb, expected)
    assert image.rgb.shape == ((10, 6, 3) if orientation >= 5 else (6, 10, 3))
    back = Image.Exif()
    back.load(image.exif)
    assert back.get(0x0112) == 1 and back.get(0x010F) == "deepcolor test camera"


def test_exif_orientation_in_png(image_file):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    a = np.zeros((2, 3, 3), np.float32)
    a[0, 0] = 1.0  # top-left is white
    image = read_image(image_file("o.png", a, exif=exif))
    assert image.rgb.shape == (3, 2, 3)
    assert image.rgb[0, 1].tolist() == [1.0, 1.0, 1.0]  # top-left went to top-right


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp", ".tif"])
def test_exif_and_icc_are_written(tmp_path, rgb_image, ext):
    exif = Image.Exif()
    exif[0x010F] = "deepcolor test camera"
    write_image(tmp_path / f"a{ext}", rgb_image, icc=srgb_profile(), exif=exif.tobytes())
    with Image.open(tmp_path / f"a{ext}") as im:
        assert im.info.get("icc_profile") == srgb_profile()
        assert im.getexif().get(0x010F) == "deepcolor test camera"


def test_exif_and_icc_are_written_to_16bit_png(tmp_path, rgb_image):
    exif = Image.Exif()
    exif[0x010F] = "deepcolor test camera"
    write_image(tmp_path / "a.png", rgb_image, icc=srgb_profile(), exif=exif.tobytes(), bit_depth=16)
    image = read_image(tmp_path / "a.png")
    assert image.icc == srgb_profile()
    back = Image.Exif()
    back.load(image.exif)
    assert back.get(0x010F) == "deepcolor test camera"


def test_rgb_profile_is_not_put_on_a_grey_output(tmp_path, gray_image):
    write_image(tmp_path / "g.png", gray_image, icc=srgb_profile())
    with Image.open(tmp_path / "g.png") as im:
        assert "icc_profile" not in im.info


# ------------------------------------------------------------------------------------------------ ICC


def test_icc_profile_is_converted_to_srgb(image_file):
    linear = np.array([[[128, 64, 10], [255, 255, 255], [0, 0, 0], [20, 200, 240]]], np.uint8)
    path = image_file("linear.png", linear, icc_profile=gamma_rgb_profile(1.0))
    image = read_image(path)
    np.testing.assert_allclose(image.rgb, linear_to_srgb(linear / 255.0), atol=1.0 * Q8)
    assert image.icc == srgb_profile()  # the pixels are sRGB now


def test_icc_profile_on_16bit_image_is_converted_without_banding(tmp_path):
    ramp = np.linspace(0.2, 0.21, 200, dtype=np.float32)[None, :].repeat(3, 0)  # < 3 codes at 8 bits
    rgb = np.stack([ramp, ramp * 0.5, ramp * 0.25], axis=-1)
    write_image(tmp_path / "a.png", rgb, icc=gamma_rgb_profile(1.0), bit_depth=16)
    image = read_image(tmp_path / "a.png")
    assert image.icc == srgb_profile()
    np.testing.assert_allclose(image.rgb, linear_to_srgb(q16(rgb)), atol=1.5 * Q8)
    assert len(np.unique(image.rgb[0, :, 0])) > 100  # smooth, not 8-bit steps
    assert np.all(np.diff(image.rgb[0, :, 0]) >= 0)


def test_srgb_profile_is_kept_and_pixels_untouched(image_file, rgb_image):
    image = read_image(image_file("s.png", rgb_image, icc_profile=srgb_profile()))
    np.testing.assert_allclose(image.rgb, q8(rgb_image), atol=1e-6)
    assert image.icc == srgb_profile()


def test_broken_icc_profile_is_ignored_with_a_warning(image_file, rgb_image):
    path = image_file("b.png", rgb_image, icc_profile=b"not a profile at all, just bytes" * 4)
    with pytest.warns(ImageWarning, match="embedded ICC profile not applied"):
        image = read_image(path)
    np.testing.assert_allclose(image.rgb, q8(rgb_image), atol=1e-6)


def test_srgb_profile_on_a_grey_image_needs_no_conversion(image_file):
    path = image_file("g.png", np.full((3, 3), 0.5), icc_profile=srgb_profile())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # sRGB profile: recognised by name, no conversion attempted
        image = read_image(path)
    assert image.is_gray


# ---------------------------------------------------------------------------------------- bad input


def test_bad_files_are_refused_with_one_line(bad_files):
    expected = {
        "empty.jpg": "empty file (0 bytes)",
        "truncated.jpg": "truncated or corrupt image data",
        "text.jpg": "not an image (it looks like a text file)",
        "huge.png": "60000 x 60000 pixels (3600 MP) is over the limit of 100 MP",
    }
    for name, problem in expected.items():
        with pytest.raises(ImageError) as info:
            read_image(bad_files[name])
        message = str(info.value)
        assert message.startswith(f"{bad_files[name]}: ") and problem in message, message
        assert "\n" not in message
        assert info.value.path == str(bad_files[name]) and problem in info.value.problem


def test_pixel_limit_is_checked_before_decoding(bad_files):
    start = time.perf_counter()
    with pytest.raises(ImageError, match="over the limit"):
        read_image(bad_files["huge.png"])  # decoding 3.6 gigapixels would take minutes and 10 GB
    assert time.perf_counter() - start < 1.0


def test_pixel_limit_is_configurable(image_file, rgb_image):
    path = image_file("a.png", rgb_image)  # 24 x 32 = 768 pixels
    with pytest.raises(ImageError, match=r"24 x 32 pixels|32 x 24 pixels"):
        read_image(path, max_pixels=767)
    assert read_image(path, max_pixels=768).rgb.shape == (24, 32, 3)
    assert read_image(path, max_pixels=None).rgb.shape == (24, 32, 3)


def test_limit_above_pillows_own_is_honoured(image_file):
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = 100  # pretend Pillow's bomb guard were tighter than ours
    try:
        image = read_image(image_file("a.png", np.zeros((20, 20, 3))), max_pixels=1000)
    finally:
        Image.MAX_IMAGE_PIXELS = saved
    assert image.rgb.shape == (20, 20, 3)
    assert Image.MAX_IMAGE_PIXELS == saved


def test_truncated_png(tmp_path, rgb_image):
    write_image(tmp_path / "a.png", np.random.default_rng(0).random((64, 64, 3)))
    data = (tmp_path / "a.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(ImageError, match=r"cut\.png: truncated or corrupt image data"):
        read_image(tmp_path / "cut.png")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False  # we never relax Pillow's check


def test_truncated_16bit_png(tmp_path):
    write_image(tmp_path / "a.png", np.random.default_rng(0).random((64, 64, 3)), bit_depth=16)
    data = (tmp_path / "a.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=r"cut\.png: truncated or corrupt image data"):
        read_image(tmp_path / "cut.png")


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageError, match=r"nope\.png: no such file$"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="is a folder, not an image file"):
        read_image(tmp_path)


def test_a_device_or_a_pipe_is_named_for_what_it_is(tmp_path):
    with pytest.raises(ImageError, match=r"^/dev/zero: is a character device, not an image file$"):
        read_image("/dev/zero")
    os.mkfifo(tmp_path / "pipe.png")
    with pytest.raises(ImageError, match=r"pipe\.png: is a pipe, not an image file$"):
        read_image(tmp_path / "pipe.png")


def test_a_name_with_a_newline_stays_one_line(tmp_path):
    with pytest.raises(ImageError) as error:
        read_image(tmp_path / "a\nb.png")
    assert str(error.value) == f"$'{tmp_path}/a\\nb.png': no such file"


def test_binary_junk_is_not_an_image(tmp_path):
    (tmp_path / "junk.png").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ImageError, match=r"junk\.png: not an image, or a format deepcolor cannot read"):
        read_image(tmp_path / "junk.png")


# ------------------------------------------------------------------------------------------ writing


def test_write_is_atomic_and_leaves_nothing_on_failure(tmp_path, rgb_image, monkeypatch):
    target = tmp_path / "out" / "a.png"

    def broken_save(self, fp, format=None, **params):  # noqa: A002 - Pillow's name
        fp.write(b"\x89PNG half a file")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(ImageError, match=r"a\.png: cannot write: disk full"):
        write_image(target, rgb_image)
    assert not target.exists()
    assert no_leftovers(target.parent) == []


def test_existing_file_kept_on_failure(tmp_path, rgb_image, monkeypatch):
    target = write_image(tmp_path / "a.png", rgb_image)
    before = target.read_bytes()
    monkeypatch.setattr(Image.Image, "save", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(ImageError):
        write_image(target, rgb_image[::-1])
    assert target.read_bytes() == before
    assert no_leftovers(tmp_path) == []


def test_overwrite_false_refuses_an_existing_file(tmp_path, rgb_image):
    target = write_image(tmp_path / "a.png", rgb_image)
    before = target.read_bytes()
    with pytest.raises(ImageError, match=r"a\.png: already exists"):
        write_image(target, rgb_image[::-1], overwrite=False)
    assert target.read_bytes() == before
    write_image(target, rgb_image[::-1])  # overwrite=True is the default
    assert target.read_bytes() != before
    assert no_leftovers(tmp_path) == []


def test_written_file_has_normal_permissions(tmp_path, rgb_image):
    mode = write_image(tmp_path / "a.png", rgb_image).stat().st_mode & 0o777
    assert mode & 0o644 == 0o644  # not mkstemp's private 0600


def test_unknown_extension_and_bad_arrays(tmp_path, rgb_image):
    with pytest.raises(ImageError, match=r"a\.xyz: unknown image extension '\.xyz'"):
        write_image(tmp_path / "a.xyz", rgb_image)
    with pytest.raises(ValueError, match=r"\(H, W\) or \(H, W, 3\)"):
        write_image(tmp_path / "a.png", np.zeros((4, 4, 5)))
    with pytest.raises(ValueError, match="NaN"):
        write_image(tmp_path / "a.png", np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="alpha must be"):
        write_image(tmp_path / "a.png", rgb_image, alpha=np.ones((3, 3)))
    assert list(tmp_path.iterdir()) == []


def test_values_outside_unit_range_are_clipped_and_uint8_accepted(tmp_path):
    a = np.array([[-0.5, 0.5, 1.5]], np.float32)
    np.testing.assert_allclose(read_image(write_image(tmp_path / "a.png", a)).rgb[0, :, 0], [0, q8(0.5), 1])
    u = np.array([[0, 128, 255]], np.uint8)
    np.testing.assert_allclose(read_image(write_image(tmp_path / "b.png", u)).rgb[0, :, 0], u[0] / 255)


def test_write_npy_is_atomic(tmp_path):
    a = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
    path = write_npy(tmp_path / "a.npy", a)
    np.testing.assert_array_equal(np.load(path), a)
    with pytest.raises(ImageError, match="already exists"):
        write_npy(path, a * 2, overwrite=False)
    np.testing.assert_array_equal(np.load(path), a)
    assert no_leftovers(tmp_path) == []


# --------------------------------------------------------------------------------------- tensors


def test_to_tensor_and_back(rgb_image, gray_image):
    t = to_tensor(rgb_image)
    assert t.shape == (1, 3, 24, 32) and str(t.dtype) == "torch.float32"
    np.testing.assert_array_equal(to_numpy(t), rgb_image)
    assert to_tensor(gray_image).shape == (1, 1, 24, 32)
    assert to_numpy(to_tensor(gray_image)).shape == (24, 32, 1)
    with pytest.raises(ValueError, match="batch of one"):
        to_numpy(to_tensor(rgb_image).repeat(2, 1, 1, 1))


# ---------------------------------------------------------------------------------------- real data


@pytest.mark.data
def test_real_photos(data_dir):
    jpeg = next(iter(sorted((data_dir / "train" / "photos").glob("*.jpg"))), None)
    png = next(iter(sorted((data_dir / "val" / "bsd100").glob("*.png"))), None)
    if jpeg is None or png is None:
        pytest.skip("expected photos not found in the data folder")
    for path in (jpeg, png):
        image = read_image(path)
        expected = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
        np.testing.assert_allclose(image.rgb, expected, atol=1e-6)
        assert image.bit_depth == 8 and image.format in ("JPEG", "PNG")


def test_str_paths_are_accepted(tmp_path, rgb_image):
    write_image(str(tmp_path / "a.png"), rgb_image)
    assert read_image(str(tmp_path / "a.png")).path == tmp_path / "a.png"


# ---------------------------------------------------------------------------------------------- fuzz


def test_corrupted_files_give_one_line_errors_and_print_nothing(tmp_path, capfd):
    """Cut and flip bytes in files of every format: the reader returns a valid image or raises ImageError,
    and neither Pillow's loggers nor libtiff's C-level warnings reach the terminal."""
    rng = np.random.default_rng(0)
    rgb = rng.random((12, 16, 3)).astype(np.float32)
    seeds = []
    for name, kwargs in [("a.png", {}), ("a.jpg", {}), ("a.tif", {}), ("a.bmp", {}), ("a.webp", {}),
                         ("a.gif", {}), ("b.png", {"bit_depth": 16}), ("b.tif", {"bit_depth": 16})]:
        alpha = rgb[..., 0] if name.endswith((".png", ".tif")) else None
        seeds.append((name, write_image(tmp_path / name, rgb, alpha=alpha, **kwargs).read_bytes()))
    outcomes = {"read": 0, "refused": 0}
    for i in range(240):
        name, data = seeds[i % len(seeds)]
        data = bytearray(data)
        if i % 3 == 0:
            data = data[: rng.integers(1, len(data))]
        else:
            for pos in rng.integers(0, len(data), size=rng.integers(1, 6)):
                data[pos] = rng.integers(256)
        path = tmp_path / f"fuzz_{name}"
        path.write_bytes(bytes(data))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # any other warning would escape as an exception
                warnings.simplefilter("ignore", ImageWarning)
                image = read_image(path)
        except ImageError as e:
            assert str(e).startswith(f"{path}: ") and "\n" not in str(e)
            outcomes["refused"] += 1
        else:
            assert image.rgb.dtype == np.float32 and np.isfinite(image.rgb).all()
            assert image.rgb.min() >= 0 and image.rgb.max() <= 1
            outcomes["read"] += 1
    assert outcomes["refused"] > 50 and outcomes["read"] > 10
    assert capfd.readouterr() == ("", "")


@pytest.mark.parametrize("kind", ["L", "RGB", "I;16", "RGB;16"])
def test_png_colour_key_transparency_gives_alpha(tmp_path, kind):
    """PNG's tRNS chunk for grey and RGB images: the one colour it names is transparent."""
    path = tmp_path / "key.png"
    if kind == "RGB;16":  # Pillow cannot write 16-bit RGB: write it, then add a tRNS chunk before IDAT
        values = np.full((2, 3, 3), 1000 / 65535, np.float32)
        values[0, 0] = np.array([700, 800, 900]) / 65535
        data = write_image(path, values, bit_depth=16).read_bytes()
        trns = png_chunk(b"tRNS", np.array([700, 800, 900], ">u2").tobytes())
        body = b"".join((trns if k == b"IDAT" else b"") + png_chunk(k, p) for k, p in png_chunks(data))
        path.write_bytes(data[:8] + body)
    elif kind == "RGB":
        values = np.zeros((2, 3, 3), np.uint8)
        values[0, 0] = (10, 20, 30)
        Image.fromarray(values).save(path, transparency=(10, 20, 30))
    else:
        values = np.zeros((2, 3), np.uint8 if kind == "L" else np.uint16)
        values[0, 0] = 7
        Image.fromarray(values).save(path, transparency=7)
    image = read_image(path)
    np.testing.assert_array_equal(image.alpha, [[0, 1, 1], [1, 1, 1]])


def test_reads_in_parallel_threads(tmp_path, rgb_image):
    from concurrent.futures import ThreadPoolExecutor

    paths = [write_image(tmp_path / f"{i}.png", np.roll(rgb_image, i, axis=1), bit_depth=8 + 8 * (i % 2))
             for i in range(8)]
    with ThreadPoolExecutor(4) as pool:
        images = list(pool.map(read_image, paths))
    for i, image in enumerate(images):
        np.testing.assert_allclose(image.rgb, np.roll(rgb_image, i, axis=1), atol=Q8 / 2 + 1e-6)


@pytest.mark.parametrize("quality", [1, 10, 49, 50, 75, 95, 100])
def test_jpeg_quality_reads_back_the_saved_quality(tmp_path, quality):
    from deepcolor.io import jpeg_quality

    rgb = (np.random.default_rng(0).random((32, 48, 3)) * 255).astype(np.uint8)
    path = tmp_path / "q.jpg"
    Image.fromarray(rgb).save(path, quality=quality)
    assert jpeg_quality(path) == quality == read_image(path).jpeg_quality
    Image.fromarray(rgb).save(tmp_path / "q.png")
    assert jpeg_quality(tmp_path / "q.png") is None
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    assert jpeg_quality(tmp_path / "broken.jpg") is None
