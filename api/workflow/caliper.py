"""A caliper on an indexed image: checked against the image and turned into millimetres."""

from __future__ import annotations

from api.workflow.errors import InvalidMeasurement
from api.workflow.ports import LocatedInstance, Pacs
from imaging.errors import ImagingError
from imaging.geometry import caliper_length_mm
from pacs.metadata import pixel_geometry

LENGTH_TOLERANCE_MM = 0.5  # Nadir contract: a client length may differ by at most 0.5 mm

Point = tuple[float, float]


def caliper_on_image(
    pacs: Pacs, located: LocatedInstance | None, timepoint_uid: str, sop_instance_uid: str,
    frame: int | None, start: Point, end: Point, claimed_length_mm: float | None,
) -> float:
    """Length in mm (2 decimals) of a caliper on an image of the timepoint.

    Refuses (InvalidMeasurement, naming what is wrong) an instance outside the
    timepoint's study, no Pixel Spacing, a frame or endpoint outside the image, or a
    claimed length more than 0.5 mm from the computed one.
    """
    if located is None or located.study_instance_uid != timepoint_uid:
        raise InvalidMeasurement(f"sop_instance_uid {sop_instance_uid!r} is not an instance "
                                 f"of timepoint {timepoint_uid!r}")
    geometry = pixel_geometry(pacs.instance_tags(located.orthanc_id))
    if geometry.pixel_spacing is None:
        raise InvalidMeasurement(f"instance {sop_instance_uid!r} has no Pixel Spacing: "
                                 "lengths in mm cannot be measured on it")
    if (frame or 1) > geometry.frames:
        raise InvalidMeasurement(f"frame {frame} is beyond the instance's {geometry.frames} "
                                 "frame(s)")
    # PS3.3 C.18.6.1.1: (0,0) is the top-left corner of the top-left pixel, so the
    # image spans [0, Rows] x [0, Columns] in sub-pixel coordinates.
    for name, (r, c) in (("first", start), ("second", end)):
        if not (0 <= r <= geometry.rows and 0 <= c <= geometry.columns):
            raise InvalidMeasurement(f"{name} endpoint [{r}, {c}] is outside the "
                                     f"{geometry.rows}x{geometry.columns} image")
    try:
        length = caliper_length_mm(start, end, geometry.pixel_spacing)
    except ImagingError as exc:
        raise InvalidMeasurement(str(exc)) from None
    if claimed_length_mm is not None and abs(claimed_length_mm - length) > LENGTH_TOLERANCE_MM:
        raise InvalidMeasurement(
            f"length_mm {claimed_length_mm:g} differs from the {length:.2f} mm measured from "
            f"the endpoints by more than {LENGTH_TOLERANCE_MM} mm")
    return round(length, 2)
