import numpy as np
from PIL import Image

from data.helpers import colour_image
from deepcolor.data.augment import GREY_CHROMA_THRESHOLD, center_crop, mean_chroma, random_resized_crop


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
