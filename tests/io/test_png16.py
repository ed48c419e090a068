"""The 16-bit PNG encoder: valid chunks, every row filter decodes back exactly."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from io_helpers import png_chunks
from PIL import Image

from deepcolor.io._png16 import write_png16


def encode(array: np.ndarray, **kwargs) -> bytes:
    buffer = io.BytesIO()
    write_png16(buffer, array, **kwargs)
    return buffer.getvalue()


def test_chunks_and_filters():
    y, x = np.mgrid[0:64, 0:48]
    rng = np.random.default_rng(0)
    data = np.stack([x * 1000, y * 900, (x * y * 20) % 65536], axis=-1).astype(np.uint16)
    data[::7] = rng.integers(0, 65536, data[::7].shape)  # some noisy rows
    png = encode(data, icc=b"fake profile", exif=b"Exif\x00\x00MM\x00*")
    chunks = png_chunks(png)
    assert [kind for kind, _ in chunks][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    assert b"iCCP" in dict(chunks) and dict(chunks)[b"eXIf"] == b"MM\x00*"
    raw = zlib.decompress(b"".join(p for k, p in chunks if k == b"IDAT"))
    row_bytes = 48 * 3 * 2 + 1
    filters = {raw[i * row_bytes] for i in range(64)}
    assert len(filters) >= 3  # the heuristic picks different filters for different rows
    assert filters <= {0, 1, 2, 3, 4}


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_every_layout_decodes_exactly_in_libpng(channels):
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(channels)
    y, x = np.mgrid[0:33, 0:29]
    data = np.stack([(x * 2000 + y * 3) % 65536, rng.integers(0, 65536, x.shape), y * 1800,
                     (x + y) * 1000][:channels], axis=-1).astype(np.uint16)
    decoded = cv2.imdecode(np.frombuffer(encode(data), np.uint8), cv2.IMREAD_UNCHANGED)
    if channels == 2:  # OpenCV returns grey + alpha as BGRA
        decoded = decoded[..., [0, 3]]
    elif channels >= 3:
        decoded = decoded[..., [2, 1, 0, 3][:channels]]
    np.testing.assert_array_equal(decoded.reshape(data.shape), data)


def test_grey_decodes_in_pillow():
    data = (np.arange(7 * 5).reshape(7, 5) * 1871).astype(np.uint16)
    with Image.open(io.BytesIO(encode(data))) as im:
        assert im.mode == "I;16"
        np.testing.assert_array_equal(np.asarray(im), data)


def test_rejects_bad_arrays():
    with pytest.raises(ValueError, match="uint16"):
        encode(np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match=r"\(H, W, 1\.\.4\)"):
        encode(np.zeros((2, 2, 5), np.uint16))
