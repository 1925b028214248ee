"""Pillow adapter: resampling to square display pixels, annotations.

Coordinates handed in here are "edge" coordinates in the output image, (x, y) with (0, 0) the
top-left corner of the top-left pixel: the DICOM convention for image-relative positions
(PS3.3 C.18.6.1.2) and the one Pillow's resize boxes use. Pillow draws at pixel centres, so a
point is drawn at the pixel that contains it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from imaging.render.orientation import EdgeLetters
from imaging.render.picture import Picture

Point = tuple[float, float]  # (x, y) edge coordinates in the output image
Box = tuple[float, float, float, float]  # (left, top, right, bottom) likewise
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

CALIPER_RGB = (255, 210, 0)  # yellow: stands out on any grey level, as viewers draw calipers
CROP_FRAME_RGB = (0, 200, 255)  # cyan: the crop's outline on the thumbnail
TEXT_RGB = (255, 255, 255)
SCALE_BAR_RGB = (255, 255, 255)
OUTLINE_RGB = (0, 0, 0)  # dark outline keeps white text legible over bright bone or contrast


@dataclass(frozen=True)
class Overlay:
    """What is drawn over one rendered image."""

    caliper: tuple[Point, Point] | None
    length_text: str | None
    crop_frame: Box | None
    letters: EdgeLetters | None
    scale_bar_px: int
    scale_bar_text: str
    top_left: tuple[str, ...]
    bottom_left: tuple[str, ...]
    #: The short axis of a bidirectional measurement, drawn like the caliper.
    short_axis: tuple[Point, Point] | None = None
    #: Where a lesion read by status lies (a non-target or new lesion): a ring around it.
    marker: Point | None = None


def resample_region(
    display: npt.NDArray[np.float32], box: Box, size: tuple[int, int]
) -> npt.NDArray[np.float32]:
    """The ``box`` of ``display`` (source edge coordinates) resampled to ``size`` (w, h).

    Parts of the box outside the image are black: the crop stays centred on the lesion even at
    the edge of the field of view. Bicubic interpolation upscales; Pillow's resize filters
    with support scaled to the reduction, so downscaling does not alias.
    """
    width, height = size
    left, top, right, bottom = box
    rows, cols = display.shape
    kx, ky = width / (right - left), height / (bottom - top)  # output pixels per source pixel
    # Whole output pixels whose area lies inside the image.
    x0 = max(0, math.ceil((0 - left) * kx - 1e-9))
    x1 = min(width, math.floor((cols - left) * kx + 1e-9))
    y0 = max(0, math.ceil((0 - top) * ky - 1e-9))
    y1 = min(height, math.floor((rows - top) * ky + 1e-9))
    out = np.zeros((height, width), dtype=np.float32)
    if x1 <= x0 or y1 <= y0:
        return out
    source = (
        min(max(left + x0 / kx, 0.0), cols), min(max(top + y0 / ky, 0.0), rows),
        min(max(left + x1 / kx, 0.0), cols), min(max(top + y1 / ky, 0.0), rows),
    )
    image = Image.fromarray(display, mode="F")
    part = image.resize((x1 - x0, y1 - y0), Image.Resampling.BICUBIC, box=source)
    out[y0:y1, x0:x1] = np.asarray(part, dtype=np.float32)
    return out


def to_gray8(display: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """Round display values to 8 bits (bicubic can overshoot [0, 255] at sharp edges)."""
    return np.rint(np.clip(display, 0.0, 255.0)).astype(np.uint8)


def annotated_picture(gray: npt.NDArray[np.uint8], overlay: Overlay) -> Picture:
    """Draw the overlay on an 8-bit grey image (encoded later, as each report needs)."""
    image = Image.fromarray(gray, mode="L").convert("RGB")
    draw = ImageDraw.Draw(image)
    size = min(image.size)
    font = _font(_font_px(size))
    if overlay.crop_frame is not None:
        _crop_frame(draw, overlay.crop_frame, size)
    if overlay.short_axis is not None:
        _caliper(draw, overlay.short_axis, size)
    if overlay.marker is not None:
        _marker(draw, overlay.marker, size)
    if overlay.caliper is not None:
        _caliper(draw, overlay.caliper, size)
        if overlay.length_text:
            _length_text(draw, image.size, overlay.caliper, overlay.length_text, font)
    _scale_bar(draw, image.size, overlay.scale_bar_px, overlay.scale_bar_text, font)
    corner_width = _corner_width(image.size[0], overlay.letters, font)
    _corner_text(draw, image.size, overlay.top_left, font, corner_width, top=True)
    _corner_text(draw, image.size, overlay.bottom_left, font, corner_width, top=False)
    if overlay.letters is not None:
        _edge_letters(draw, image.size, overlay.letters, _font(round(_font_px(size) * 1.2)))
    return Picture(image)


@lru_cache(maxsize=16)
def _font(px: int) -> Font:
    # Pillow >= 10.1 ships a scalable default font (FreeType); no font file on disk needed.
    return ImageFont.load_default(size=px)


def _font_px(size: int) -> int:
    return max(10, round(size / 26))


def _margin(size: int) -> int:
    return max(3, size // 64)


def _line_width(size: int) -> int:
    return max(1, round(size / 192))


def _pixel(point: Point) -> tuple[int, int]:
    """The pixel (Pillow's centre-based coordinates) that contains an edge-coordinate point."""
    return (math.floor(point[0]), math.floor(point[1]))


def _caliper(draw: ImageDraw.ImageDraw, caliper: tuple[Point, Point], size: int) -> None:
    (xa, ya), (xb, yb) = caliper
    width = _line_width(size) + 1
    draw.line([_pixel((xa, ya)), _pixel((xb, yb))], fill=CALIPER_RGB, width=width)
    length = math.hypot(xb - xa, yb - ya)
    if length == 0:
        return
    # Short perpendicular ticks at both ends, as on a physical caliper, show where it stops.
    tick = 3 * width
    nx, ny = -(yb - ya) / length * tick, (xb - xa) / length * tick
    for x, y in ((xa, ya), (xb, yb)):
        draw.line([_pixel((x - nx, y - ny)), _pixel((x + nx, y + ny))], fill=CALIPER_RGB,
                  width=max(1, width - 1))


def _marker(draw: ImageDraw.ImageDraw, point: Point, size: int) -> None:
    # A ring, open at its centre so that the lesion under it stays visible.
    x, y = _pixel(point)
    radius, width = max(6, size // 24), _line_width(size) + 1
    draw.ellipse([x - radius, y - radius, x + radius, y + radius], outline=CALIPER_RGB,
                 width=width)


def _length_text(
    draw: ImageDraw.ImageDraw, image_size: tuple[int, int], caliper: tuple[Point, Point],
    text: str, font: Font,
) -> None:
    width, height = image_size
    margin = _margin(min(image_size))
    right_end = max(caliper, key=lambda p: p[0])
    left_end = min(caliper, key=lambda p: p[0])
    # Beside the right end of the caliper; beside the left end when that runs off the image.
    if right_end[0] + 2 * margin + draw.textlength(text, font=font) <= width - margin:
        xy, anchor = (right_end[0] + 2 * margin, right_end[1]), "lm"
    else:
        xy, anchor = (left_end[0] - 2 * margin, left_end[1]), "rm"
    left, top, right, bottom = draw.textbbox(xy, text, font=font, anchor=anchor, stroke_width=2)
    dx = max(0.0, margin - left) - max(0.0, right - (width - margin))
    dy = max(0.0, margin - top) - max(0.0, bottom - (height - margin))
    draw.text((xy[0] + dx, xy[1] + dy), text, fill=CALIPER_RGB, font=font, anchor=anchor,
              stroke_width=2, stroke_fill=OUTLINE_RGB)


def _crop_frame(draw: ImageDraw.ImageDraw, frame: Box, size: int) -> None:
    left, top, right, bottom = frame
    draw.rectangle([_pixel((left, top)), _pixel((right - 1e-6, bottom - 1e-6))],
                   outline=CROP_FRAME_RGB, width=_line_width(size))


def _scale_bar(
    draw: ImageDraw.ImageDraw, image_size: tuple[int, int], length_px: int, text: str,
    font: Font,
) -> None:
    width, height = image_size
    margin = _margin(min(image_size))
    thickness = max(2, _line_width(min(image_size)) + 1)
    x1 = width - 1 - margin  # last pixel of the bar, inclusive
    x0 = x1 - length_px + 1  # the bar is exactly length_px pixels long
    y1 = height - 1 - margin
    y0 = y1 - thickness + 1
    draw.rectangle([x0 - 1, y0 - 1, x1 + 1, y1 + 1], fill=OUTLINE_RGB)
    draw.rectangle([x0, y0, x1, y1], fill=SCALE_BAR_RGB)
    draw.text(((x0 + x1) / 2, y0 - margin), text, fill=TEXT_RGB, font=font, anchor="md",
              stroke_width=2, stroke_fill=OUTLINE_RGB)


def _corner_width(width: int, letters: EdgeLetters | None, font: Font) -> float:
    """Room for corner text: up to the edge letter at the middle of the top or bottom edge."""
    letter = max(len(letters.top), len(letters.bottom)) if letters else 0
    return width / 2 - letter * font.getlength("M") - 2 * _margin(width)


def _fit(text: str, font: Font, room: float) -> str:
    if font.getlength(text) <= room:
        return text
    while text and font.getlength(text + "…") > room:
        text = text[:-1]
    return text + "…" if text else ""


def _corner_text(
    draw: ImageDraw.ImageDraw, image_size: tuple[int, int], lines: Sequence[str], font: Font,
    room: float, *, top: bool,
) -> None:
    if not lines:
        return
    width, height = image_size
    margin = _margin(min(image_size))
    step = round(_font_px(min(image_size)) * 1.25)
    fitted = [_fit(line, font, room) for line in lines]
    for index, line in enumerate(fitted):
        if top:
            xy, anchor = (margin, margin + index * step), "la"
        else:
            xy, anchor = (margin, height - margin - (len(fitted) - 1 - index) * step), "ld"
        draw.text(xy, line, fill=TEXT_RGB, font=font, anchor=anchor, stroke_width=2,
                  stroke_fill=OUTLINE_RGB)


def _edge_letters(
    draw: ImageDraw.ImageDraw, image_size: tuple[int, int], letters: EdgeLetters, font: Font
) -> None:
    width, height = image_size
    margin = _margin(min(image_size))
    placed = (
        (letters.top, (width / 2, margin), "ma"),
        (letters.bottom, (width / 2, height - margin), "md"),
        (letters.left, (margin, height / 2), "lm"),
        (letters.right, (width - margin, height / 2), "rm"),
    )
    for text, xy, anchor in placed:
        draw.text(xy, text, fill=TEXT_RGB, font=font, anchor=anchor, stroke_width=2,
                  stroke_fill=OUTLINE_RGB)
