"""Calipers and points on an indexed image: checked against the image, turned into mm.

A caliper is one line (``endpoints``) or a bidirectional pair: the long axis and the
longest diameter perpendicular to it (``short_axis_endpoints``). Which one counts is a
clinical rule: RECIST 1.1 s.3.1.1 and s.4.2 (Eisenhauer 2009) measure a non-nodal lesion by
its longest diameter and a lymph node by its short axis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from api.workflow.errors import InvalidMeasurement
from api.workflow.ports import LocatedInstance, Pacs
from imaging.errors import ImagingError
from imaging.geometry import PixelGeometry, axes_angle_deg, caliper_length_mm

LENGTH_TOLERANCE_MM = 0.5  # Nadir contract: a client length may differ by at most 0.5 mm
# Nadir contract (issue 19): the two axes of a bidirectional measurement may be at most 10
# degrees from perpendicular. RECIST 1.1 s.4.2 defines the node's short axis as the
# longest diameter perpendicular to the long axis; readers draw it by hand, so some slack.
MAX_AXES_DEVIATION_DEG = 10.0

Point = tuple[float, float]
Segment = tuple[Point, Point]


def _image(pacs: Pacs, located: LocatedInstance | None, timepoint_uid: str,
           sop_instance_uid: str, frame: int | None) -> PixelGeometry:
    if located is None or located.study_instance_uid != timepoint_uid:
        raise InvalidMeasurement(f"sop_instance_uid {sop_instance_uid!r} is not an instance "
                                 f"of timepoint {timepoint_uid!r}")
    # A multi-frame image's frame takes its matrix and Pixel Spacing from its functional
    # groups (the Pacs port reads them).
    geometry = pacs.pixel_geometry(located.orthanc_id, frame or 1)
    if (frame or 1) > geometry.frames:
        raise InvalidMeasurement(f"frame {frame} is beyond the instance's {geometry.frames} "
                                 "frame(s)")
    if frame is None and geometry.frames > 1:
        # A caliper lies on one frame (PS3.3 C.10.4: the SR names it): guessing one of a
        # multi-frame image's frames would put the measurement on another slice.
        raise InvalidMeasurement(f"instance {sop_instance_uid!r} has {geometry.frames} "
                                 "frames: frame (1-based) must say which one the caliper "
                                 "is on")
    return geometry


def _check_inside(geometry: PixelGeometry, name: str, point: Point) -> None:
    # PS3.3 C.18.6.1.1: (0,0) is the top-left corner of the top-left pixel, so the
    # image spans [0, Rows] x [0, Columns] in sub-pixel coordinates.
    r, c = point
    if not (0 <= r <= geometry.rows and 0 <= c <= geometry.columns):
        raise InvalidMeasurement(f"{name} [{r:g}, {c:g}] is outside the "
                                 f"{geometry.rows}x{geometry.columns} image")


def _spacing(geometry: PixelGeometry, sop_instance_uid: str) -> tuple[float, float]:
    if geometry.pixel_spacing is None:
        raise InvalidMeasurement(f"instance {sop_instance_uid!r} has no Pixel Spacing: "
                                 "lengths in mm cannot be measured on it")
    return geometry.pixel_spacing


def _length(segment: Segment, spacing: tuple[float, float]) -> float:
    try:
        return caliper_length_mm(*segment, spacing)
    except ImagingError as exc:
        raise InvalidMeasurement(str(exc)) from None


def caliper_on_image(
    pacs: Pacs, located: LocatedInstance | None, timepoint_uid: str, sop_instance_uid: str,
    frame: int | None, start: Point, end: Point, claimed_length_mm: float | None,
) -> float:
    """Length in mm (2 decimals) of a caliper on an image of the timepoint.

    Refuses (InvalidMeasurement, naming what is wrong) an instance outside the
    timepoint's study, no Pixel Spacing, a frame or endpoint outside the image, no frame
    on a multi-frame image, or a claimed length more than 0.5 mm from the computed one.
    """
    geometry = _image(pacs, located, timepoint_uid, sop_instance_uid, frame)
    spacing = _spacing(geometry, sop_instance_uid)
    for name, point in (("first endpoint", start), ("second endpoint", end)):
        _check_inside(geometry, name, point)
    length = _length((start, end), spacing)
    _check_claim(claimed_length_mm, length)
    return round(length, 2)


def _check_claim(claimed_length_mm: float | None, length: float) -> None:
    if claimed_length_mm is not None and abs(claimed_length_mm - length) > LENGTH_TOLERANCE_MM:
        raise InvalidMeasurement(
            f"length_mm {claimed_length_mm:g} differs from the {length:.2f} mm measured from "
            f"the endpoints by more than {LENGTH_TOLERANCE_MM} mm")


def axes_on_image(
    pacs: Pacs, located: LocatedInstance | None, timepoint_uid: str, sop_instance_uid: str,
    frame: int | None, *, nodal: bool, endpoints: Segment | None,
    short_axis: Segment | None, claimed_length_mm: float | None,
) -> dict[str, Any]:
    """The stored values of a caliper or bidirectional measurement on an image.

    ``endpoints`` is the long axis; for a node given no ``short_axis`` it is the node's
    short axis, as a node has always been measured with one caliper. A node may also be
    given ``short_axis`` alone. ``length_mm`` is the diameter that counts (RECIST 1.1
    s.3.1.1: the longest diameter, the short axis for a node). Refused (InvalidMeasurement,
    naming what is wrong): an instance outside the timepoint's study, no Pixel Spacing, a
    frame or endpoint outside the image, a claimed length more than 0.5 mm from the
    computed one, axes more than 10 degrees from perpendicular, a short axis longer than
    the long axis, a non-nodal lesion without its long axis.
    """
    geometry = _image(pacs, located, timepoint_uid, sop_instance_uid, frame)
    spacing = _spacing(geometry, sop_instance_uid)
    if endpoints is None and not nodal:
        raise InvalidMeasurement("a non-nodal lesion is measured by its long axis: give "
                                 "endpoints (short_axis_endpoints alone is for a lymph node)")
    named = [("endpoint", endpoints), ("short axis endpoint", short_axis)]
    for name, segment in named:
        if segment is not None:
            for which, point in zip(("first", "second"), segment, strict=True):
                _check_inside(geometry, f"{which} {name}", point)
    if endpoints is not None and short_axis is not None:
        long_mm, short_mm = _length(endpoints, spacing), _length(short_axis, spacing)
        _check_axes(endpoints, short_axis, long_mm, short_mm, spacing)
    elif endpoints is not None and not nodal:
        long_mm, short_mm = _length(endpoints, spacing), None
    else:  # a node by its short axis alone, given either way
        short_axis = short_axis or endpoints
        assert short_axis is not None
        endpoints, long_mm, short_mm = short_axis, None, _length(short_axis, spacing)
    counted = short_mm if nodal else long_mm
    assert counted is not None
    _check_claim(claimed_length_mm, counted)
    return {"endpoints": _pairs(endpoints), "short_axis_endpoints": _pairs(short_axis),
            "long_axis_mm": _mm(long_mm), "short_axis_mm": _mm(short_mm),
            "length_mm": round(counted, 2)}


def _check_axes(long_axis: Segment, short_axis: Segment, long_mm: float, short_mm: float,
                spacing: tuple[float, float]) -> None:
    if short_mm == 0 or long_mm == 0:
        raise InvalidMeasurement("the long and the short axis must both have a length "
                                 f"(long {long_mm:.2f} mm, short {short_mm:.2f} mm)")
    deviation = 90.0 - axes_angle_deg(long_axis, short_axis, spacing)
    if deviation > MAX_AXES_DEVIATION_DEG:
        raise InvalidMeasurement(
            f"the short axis is {deviation:.1f} degrees from perpendicular to the long axis "
            f"(the axes meet at {90 - deviation:.1f} degrees; at most "
            f"{MAX_AXES_DEVIATION_DEG:g} degrees from perpendicular is accepted)")
    if short_mm > long_mm:
        raise InvalidMeasurement(f"the short axis ({short_mm:.2f} mm) is longer than the "
                                 f"long axis ({long_mm:.2f} mm)")


def point_on_image(pacs: Pacs, located: LocatedInstance | None, timepoint_uid: str,
                   sop_instance_uid: str, frame: int | None, point: Point) -> None:
    """Check that a lesion's point (a non-target or new lesion clicked on the image) lies
    on an image of the timepoint; refused like a caliper's endpoint."""
    geometry = _image(pacs, located, timepoint_uid, sop_instance_uid, frame)
    _check_inside(geometry, "point", point)


def _pairs(segment: Segment | None) -> list[list[float]] | None:
    return None if segment is None else [list(segment[0]), list(segment[1])]


def _mm(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def image_points(raw: Sequence[Sequence[float]], name: str, count: int
                 ) -> tuple[Point, ...]:
    """``count`` finite [row, column] points from a client's nested list."""
    if len(raw) != count or any(len(p) != 2 for p in raw):
        what = "two [row, column] points" if count == 2 else "one [row, column] point"
        raise InvalidMeasurement(f"{name} must be {what}")
    values = [(float(p[0]), float(p[1])) for p in raw]
    if not all(math.isfinite(v) for p in values for v in p):
        raise InvalidMeasurement(f"{name} must be finite numbers")
    return tuple(values)
