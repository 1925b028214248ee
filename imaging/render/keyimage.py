"""Key images for the report: a crop around a caliper and a full-slice thumbnail.

Pure functions over a pydicom dataset: nothing is read or written but what is passed in and
returned. Both images are resampled to square display pixels, so that a millimetre is as long
across as down even when PixelSpacing differs between rows and columns (PS3.3 C.7.6.2.1.1).
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydicom import Dataset

from imaging.geometry import caliper_length_mm
from imaging.render.attributes import image_orientation, pixel_spacing, sop_instance_uid
from imaging.render.decode import ModalityArray, decode_frame
from imaging.render.draw import Overlay, Point, annotated_picture, resample_region, to_gray8
from imaging.render.errors import RenderError
from imaging.render.orientation import EdgeLetters, orientation_letters
from imaging.render.picture import PNG_SIGNATURE, Picture
from imaging.render.window import (
    MEDIASTINUM,
    Window,
    automatic_window,
    invert_for_monochrome1,
    voi_display,
    window_from_dataset,
)
from measurement.figures import tenths

Endpoints = tuple[tuple[float, float], tuple[float, float]]  # ((row, col), (row, col))

# The crop shows the lesion and as much again of its surroundings on each side.
CROP_TO_LESION = 2.5
# RECIST 1.1 section 3.1.1: 10 mm is the smallest measurable lesion on CT; 50 mm around it
# still shows enough anatomy to recognise where it is.
MIN_CROP_MM = 50.0
DEFAULT_CROP_PX = 384  # upscales a typical 0.7 mm CT crop of 50-150 mm about 2-5x
DEFAULT_THUMBNAIL_PX = 256
MIN_OUTPUT_PX, MAX_OUTPUT_PX = 64, 4096
# Scale bar: the longest of these that takes at most 30 % of the image's width.
SCALE_BAR_CHOICES_MM = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0)
SCALE_BAR_MAX_FRACTION = 0.3


@dataclass(frozen=True)
class CropBox:
    """The square region of the slice shown in the crop, in source pixel coordinates.

    (row, column) edge coordinates, (0, 0) being the top-left corner of the top-left pixel;
    the box may reach past the image, where the crop is black. ``side_mm`` is its side.
    """

    top: float
    left: float
    bottom: float
    right: float
    side_mm: float

    def __post_init__(self) -> None:
        values = (self.top, self.left, self.bottom, self.right, self.side_mm)
        if not all(math.isfinite(v) for v in values):
            raise RenderError(f"CropBox needs finite values, got {values}")
        if not (self.bottom > self.top and self.right > self.left and self.side_mm > 0):
            raise RenderError(f"CropBox must have a positive size, got {values}")

    @property
    def center(self) -> tuple[float, float]:
        """(row, column) of the box's centre."""
        return ((self.top + self.bottom) / 2, (self.left + self.right) / 2)


@dataclass(frozen=True)
class KeyImage:
    """A rendered key image: the crop and the thumbnail (pictures, encoded as each report
    needs), and what they show."""

    sop_instance_uid: str
    frame: int
    crop: Picture
    thumbnail: Picture
    window: Window
    crop_box: CropBox
    crop_pixel_mm: float  # side of one (square) pixel of the crop
    thumbnail_pixel_mm: float  # likewise of the thumbnail
    crop_scale_bar_mm: float
    thumbnail_scale_bar_mm: float
    length_mm: float | None  # the length written beside the caliper
    letters: EdgeLetters | None  # None when the image has no usable ImageOrientationPatient

    def __post_init__(self) -> None:
        if self.frame < 1:
            raise RenderError(f"frame must be >= 1, got {self.frame}")
        for name in ("crop", "thumbnail"):
            if not isinstance(getattr(self, name), Picture):
                raise RenderError(f"{name} must be a Picture")
        for name in ("crop_pixel_mm", "thumbnail_pixel_mm"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise RenderError(f"{name} must be positive, got {value!r}")


def render_key_image(
    ds: Dataset,
    *,
    frame: int = 1,
    endpoints: Endpoints | None = None,
    length_mm: float | None = None,
    window: Window | None = None,
    crop_mm: float | None = None,
    crop_px: int = DEFAULT_CROP_PX,
    thumbnail_px: int = DEFAULT_THUMBNAIL_PX,
    label: str | None = None,
    short_axis: Endpoints | None = None,
    marker: tuple[float, float] | None = None,
) -> KeyImage:
    """Render the crop around a caliper and the full-slice thumbnail of one frame.

    ``endpoints`` are (row, column) in source pixels, fractional allowed, (0, 0) being the
    top-left corner of the top-left pixel (as SCOORD, PS3.3 C.18.6.1.2, which lists column
    before row). ``length_mm`` is the text beside the caliper; when None, the length is
    computed from the endpoints and PixelSpacing. ``window`` defaults to the image's own VOI,
    then to the mediastinum (soft-tissue) preset for CT, then to the frame's full range.
    ``crop_mm`` is the side of the crop; when None it is CROP_TO_LESION times the caliper
    length, at least MIN_CROP_MM (the whole field of view without a caliper). Pass the same
    ``crop_mm`` for every timepoint of a lesion to show them at the same scale.

    ``short_axis`` (a bidirectional measurement's second line) is drawn like the caliper;
    ``marker`` (row, column) rings a lesion read by status, and centres the crop without a
    caliper.

    Raises ImageDecodeError when the pixel data cannot be decoded and RenderError for other
    reasons the image cannot be shown (no PixelSpacing, endpoints outside the image).
    """
    _check_arguments(frame, length_mm, crop_mm, crop_px, thumbnail_px)
    values = decode_frame(ds, frame)
    rows, cols = values.shape
    spacing = pixel_spacing(ds, frame)
    for given in (endpoints, short_axis, None if marker is None else (marker, marker)):
        if given is not None:
            _check_endpoints(given, rows, cols, sop_instance_uid(ds))
    caliper_mm = caliper_length_mm(*endpoints, spacing) if endpoints is not None else None
    shown_mm = length_mm if length_mm is not None else caliper_mm
    chosen = window or window_from_dataset(ds, frame) or _fallback_window(ds, values)
    # VOI before resampling: interpolated grey levels, and no ringing of -1000 HU air edges.
    display = invert_for_monochrome1(ds, voi_display(values, chosen))
    scene = _Scene(
        display=display, spacing=spacing, endpoints=endpoints,
        length_text=None if shown_mm is None else f"{tenths(shown_mm)} mm",
        letters=_letters(ds, frame), window=chosen,
        label=tuple(label.splitlines()) if label else (), short_axis=short_axis,
        marker=marker,
    )
    box = crop_box(values.shape, spacing, endpoints, crop_mm, marker)
    crop, crop_pixel_mm, crop_bar_mm = _render_crop(scene, box, crop_px)
    thumbnail, thumbnail_pixel_mm, thumbnail_bar_mm = _render_thumbnail(
        scene, box, thumbnail_px
    )
    return KeyImage(
        sop_instance_uid=sop_instance_uid(ds), frame=frame, crop=crop,
        thumbnail=thumbnail, window=chosen, crop_box=box, crop_pixel_mm=crop_pixel_mm,
        thumbnail_pixel_mm=thumbnail_pixel_mm, crop_scale_bar_mm=crop_bar_mm,
        thumbnail_scale_bar_mm=thumbnail_bar_mm, length_mm=shown_mm, letters=scene.letters,
    )


def png_data_uri(png: bytes) -> str:
    """A ``data:image/png;base64,...`` URI (RFC 2397) for embedding a PNG in HTML or JSON."""
    if not png.startswith(PNG_SIGNATURE):
        raise RenderError("png_data_uri needs PNG data (it does not start with the signature)")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def crop_box(
    shape: tuple[int, ...], spacing: tuple[float, float], endpoints: Endpoints | None,
    crop_mm: float | None, marker: tuple[float, float] | None = None,
) -> CropBox:
    """The square crop in mm centred on the caliper's midpoint, else on the marker (at least
    MIN_CROP_MM wide), else the slice centre."""
    rows, cols = shape[0], shape[1]
    row_mm, col_mm = spacing
    if endpoints is None and marker is not None:
        center, automatic = marker, MIN_CROP_MM
    elif endpoints is not None:
        (r1, c1), (r2, c2) = endpoints
        center = ((r1 + r2) / 2, (c1 + c2) / 2)
        automatic = max(MIN_CROP_MM, CROP_TO_LESION * caliper_length_mm(*endpoints, spacing))
    else:
        center = (rows / 2, cols / 2)
        automatic = max(rows * row_mm, cols * col_mm)
    side = crop_mm if crop_mm is not None else automatic
    half_rows, half_cols = side / 2 / row_mm, side / 2 / col_mm
    return CropBox(
        top=center[0] - half_rows, left=center[1] - half_cols,
        bottom=center[0] + half_rows, right=center[1] + half_cols, side_mm=side,
    )


def scale_bar_mm(image_width_mm: float) -> float:
    """The longest round length that fits in SCALE_BAR_MAX_FRACTION of the image's width."""
    fitting = [mm for mm in SCALE_BAR_CHOICES_MM if mm <= SCALE_BAR_MAX_FRACTION * image_width_mm]
    return fitting[-1] if fitting else SCALE_BAR_CHOICES_MM[0]


@dataclass(frozen=True)
class _Scene:
    """What both renderings share: the windowed slice and what to draw on it."""

    display: npt.NDArray[np.float32]
    spacing: tuple[float, float]
    endpoints: Endpoints | None
    length_text: str | None
    letters: EdgeLetters | None
    window: Window
    label: tuple[str, ...]
    short_axis: Endpoints | None = None
    marker: tuple[float, float] | None = None

    def window_lines(self) -> tuple[str, ...]:
        numbers = f"W {self.window.width:g}  L {self.window.center:g}"
        return (self.window.name, numbers) if self.window.name else (numbers,)

    def overlay(
        self, to_output: _Mapping, width_px: int, pixel_mm: float, outline: CropBox | None
    ) -> tuple[Overlay, float]:
        """The overlay of an output ``width_px`` wide with ``pixel_mm`` per pixel across."""
        bar_mm = scale_bar_mm(width_px * pixel_mm)
        caliper = None
        if self.endpoints is not None:
            caliper = (to_output.point(*self.endpoints[0]), to_output.point(*self.endpoints[1]))
        frame = None
        if outline is not None:
            left, top = to_output.point(outline.top, outline.left)
            right, bottom = to_output.point(outline.bottom, outline.right)
            frame = (left, top, right, bottom)
        overlay = Overlay(
            caliper=caliper, length_text=self.length_text, crop_frame=frame,
            letters=self.letters, scale_bar_px=max(1, round(bar_mm / pixel_mm)),
            scale_bar_text=f"{bar_mm:g} mm", top_left=self.label,
            bottom_left=self.window_lines(),
            short_axis=None if self.short_axis is None else (
                to_output.point(*self.short_axis[0]), to_output.point(*self.short_axis[1])),
            marker=None if self.marker is None else to_output.point(*self.marker),
        )
        return overlay, bar_mm


@dataclass(frozen=True)
class _Mapping:
    """Source (row, column) edge coordinates to output (x, y): a scale and an offset per axis."""

    top: float
    left: float
    rows_per_px: float
    cols_per_px: float

    def point(self, row: float, col: float) -> Point:
        return ((col - self.left) / self.cols_per_px, (row - self.top) / self.rows_per_px)


def _render_crop(scene: _Scene, box: CropBox, size: int) -> tuple[Picture, float, float]:
    pixel_mm = box.side_mm / size
    row_mm, col_mm = scene.spacing
    mapping = _Mapping(box.top, box.left, pixel_mm / row_mm, pixel_mm / col_mm)
    gray = to_gray8(resample_region(scene.display, (box.left, box.top, box.right, box.bottom),
                                    (size, size)))
    overlay, bar_mm = scene.overlay(mapping, size, pixel_mm, None)
    return annotated_picture(gray, overlay), pixel_mm, bar_mm


def _render_thumbnail(scene: _Scene, box: CropBox, size: int
                      ) -> tuple[Picture, float, float]:
    rows, cols = scene.display.shape
    row_mm, col_mm = scene.spacing
    height_mm, width_mm = rows * row_mm, cols * col_mm
    # Fit the longer side of the field of view to `size`, with square pixels.
    pixel_mm = max(height_mm, width_mm) / size
    width_px = max(1, round(width_mm / pixel_mm))
    height_px = max(1, round(height_mm / pixel_mm))
    mapping = _Mapping(0.0, 0.0, rows / height_px, cols / width_px)
    gray = to_gray8(resample_region(scene.display, (0.0, 0.0, float(cols), float(rows)),
                                    (width_px, height_px)))
    # The horizontal scale bar uses the exact column pitch after rounding the width.
    overlay, bar_mm = scene.overlay(mapping, width_px, width_mm / width_px, box)
    return annotated_picture(gray, overlay), pixel_mm, bar_mm


def _fallback_window(ds: Dataset, values: ModalityArray) -> Window:
    # Without a window in the image, CT opens in soft tissue, where most target lesions lie
    # (liver, lymph nodes, soft-tissue masses); other modalities show their full range.
    if str(ds.get("Modality", "")).upper() == "CT":
        return MEDIASTINUM
    return automatic_window(values)


def _letters(ds: Dataset, frame: int) -> EdgeLetters | None:
    orientation = image_orientation(ds, frame)
    if orientation is None:
        return None
    try:
        return orientation_letters(orientation)
    except RenderError:
        return None  # degenerate cosines (lenient read): no letters rather than no image


def _check_arguments(
    frame: int, length_mm: float | None, crop_mm: float | None, crop_px: int,
    thumbnail_px: int,
) -> None:
    if frame < 1:
        raise RenderError(f"frame is 1-based, got {frame}")
    if length_mm is not None and not (math.isfinite(length_mm) and length_mm >= 0):
        raise RenderError(f"length_mm must be a finite length >= 0, got {length_mm!r}")
    if crop_mm is not None and not (math.isfinite(crop_mm) and crop_mm > 0):
        raise RenderError(f"crop_mm must be a positive length, got {crop_mm!r}")
    for name, value in (("crop_px", crop_px), ("thumbnail_px", thumbnail_px)):
        if not MIN_OUTPUT_PX <= value <= MAX_OUTPUT_PX:
            raise RenderError(
                f"{name} must be in {MIN_OUTPUT_PX}..{MAX_OUTPUT_PX}, got {value}"
            )


def _check_endpoints(endpoints: Endpoints, rows: int, cols: int, uid: str) -> None:
    for row, col in endpoints:
        if not (math.isfinite(row) and math.isfinite(col)):
            raise RenderError(f"caliper endpoints must be finite, got {endpoints}",
                              sop_instance_uid=uid)
        if not (0 <= row <= rows and 0 <= col <= cols):
            raise RenderError(
                f"caliper endpoint (row {row}, column {col}) lies outside the {rows}x{cols} "
                "image", sop_instance_uid=uid,
            )
