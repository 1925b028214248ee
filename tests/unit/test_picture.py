"""A rendered key image's pixels and their encodings (imaging/render/picture.py)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from imaging.render import Picture, RenderError
from imaging.render.picture import PNG_SIGNATURE


def rgb(width: int = 40, height: int = 30, seed: int = 0) -> Image.Image:
    values = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(values, mode="RGB")


def test_png_holds_the_pixels_exactly_and_is_encoded_once() -> None:
    image = rgb()
    picture = Picture(image)
    png = picture.png()
    assert png.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(png)) as decoded:
        assert decoded.format == "PNG" and decoded.size == (40, 30)
        assert np.array_equal(np.asarray(decoded.convert("RGB")), np.asarray(image))
    assert picture.png() is png


def test_jpeg_is_close_to_the_pixels_full_chroma_and_kept_per_quality() -> None:
    # A smooth image with a saturated one-pixel line: 4:2:0 would bleed its colour.
    grey = np.tile(np.linspace(40, 200, 64, dtype=np.uint8), (64, 1))
    values = np.stack([grey] * 3, axis=2)
    values[32, :] = (255, 210, 0)
    picture = Picture(Image.fromarray(values, mode="RGB"))
    jpeg = picture.jpeg(92)
    with Image.open(io.BytesIO(jpeg)) as decoded:
        assert decoded.format == "JPEG" and decoded.size == (64, 64)
        assert decoded.layer[0][1:3] == decoded.layer[1][1:3]  # same sampling: 4:4:4
        back = np.asarray(decoded.convert("RGB")).astype(int)
    assert np.abs(back - values.astype(int)).mean() < 3
    assert picture.jpeg(92) is jpeg
    assert picture.jpeg(50) != jpeg and picture.jpeg(50) is picture.jpeg(50)


@pytest.mark.parametrize("quality", [0, 96, -1])
def test_jpeg_quality_out_of_range_is_refused(quality: int) -> None:
    with pytest.raises(RenderError, match="1..95"):
        Picture(rgb()).jpeg(quality)


def test_the_picture_cannot_be_changed_through_its_image() -> None:
    picture = Picture(rgb())
    before = picture.png()
    image = picture.image()
    image.putpixel((0, 0), (1, 2, 3))
    assert picture.png() is before
    assert Picture(image) != picture
    assert picture.image().getpixel((0, 0)) == rgb().getpixel((0, 0)) != (1, 2, 3)


def test_from_png_keeps_the_very_bytes_and_the_pixels() -> None:
    image = rgb(seed=3)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=9)  # not what png() would write
    png = buffer.getvalue()
    picture = Picture.from_png(png)
    assert picture.png() is png
    assert picture == Picture(image) and picture.digest() == Picture(image).digest()


@pytest.mark.parametrize("data", [b"GIF89a....", b"", PNG_SIGNATURE + b"truncated"])
def test_from_png_refuses_what_is_not_a_png(data: bytes) -> None:
    with pytest.raises(RenderError, match="PNG"):
        Picture.from_png(data)


@pytest.mark.parametrize("mode", ["L", "RGBA", "I;16", "F"])
def test_only_8_bit_rgb_makes_a_picture(mode: str) -> None:
    with pytest.raises(RenderError, match="8-bit RGB"):
        Picture(Image.new(mode, (4, 4)))


def test_equal_pixels_are_equal_pictures_and_one_pixel_tells_them_apart() -> None:
    a, b = Picture(rgb(seed=1)), Picture(rgb(seed=1))
    assert a == b and hash(a) == hash(b) and a.digest() == b.digest()
    other = rgb(seed=1)
    other.putpixel((39, 29), tuple(255 - v for v in other.getpixel((39, 29))))
    assert Picture(other) != a and Picture(other).digest() != a.digest()
    # The same bytes laid out differently are another picture.
    flat = Picture(Image.frombytes("RGB", (30, 40), rgb(seed=1).tobytes()))
    assert flat != a and flat.digest() != a.digest()
    assert a.size == (40, 30) and a.nbytes == 40 * 30 * 3
