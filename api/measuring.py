"""A caliper on an indexed image: checked against the image and turned into millimetres."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import Instance, Series, Study
from api.errors import ApiError
from imaging.errors import ImagingError
from imaging.geometry import caliper_length_mm
from pacs.metadata import pixel_geometry
from pacs.orthanc import OrthancClient

LENGTH_TOLERANCE_MM = 0.5  # Nadir contract: a client length may differ by at most 0.5 mm

Point = tuple[float, float]


def caliper_on_image(
    session: Session, orthanc: OrthancClient, timepoint_uid: str, sop_instance_uid: str,
    frame: int | None, start: Point, end: Point, claimed_length_mm: float | None,
) -> tuple[float, str]:
    """Length in mm (2 decimals) and series UID of a caliper on an image of the timepoint.

    Raises ApiError(422) naming what is wrong: an instance outside the timepoint's study,
    no Pixel Spacing, a frame or endpoint outside the image, or a claimed length more than
    0.5 mm from the computed one.
    """
    row = session.execute(
        select(Instance.orthanc_id, Series.series_instance_uid, Study.study_instance_uid)
        .join(Series, Instance.series_pk == Series.id).join(Study, Series.study_pk == Study.id)
        .where(Instance.sop_instance_uid == sop_instance_uid)
    ).first()
    if row is None or row[2] != timepoint_uid:
        raise ApiError(422, f"sop_instance_uid {sop_instance_uid!r} is not an instance of "
                       f"timepoint {timepoint_uid!r}")
    geometry = pixel_geometry(orthanc.instance_tags(row[0]))
    if geometry.pixel_spacing is None:
        raise ApiError(422, f"instance {sop_instance_uid!r} has no Pixel Spacing: "
                       "lengths in mm cannot be measured on it")
    if (frame or 1) > geometry.frames:
        raise ApiError(422, f"frame {frame} is beyond the instance's {geometry.frames} frame(s)")
    # PS3.3 C.18.6.1.1: (0,0) is the top-left corner of the top-left pixel, so the
    # image spans [0, Rows] x [0, Columns] in sub-pixel coordinates.
    for name, (r, c) in (("first", start), ("second", end)):
        if not (0 <= r <= geometry.rows and 0 <= c <= geometry.columns):
            raise ApiError(422, f"{name} endpoint [{r}, {c}] is outside the "
                           f"{geometry.rows}x{geometry.columns} image")
    try:
        length = caliper_length_mm(start, end, geometry.pixel_spacing)
    except ImagingError as exc:
        raise ApiError(422, str(exc)) from None
    if claimed_length_mm is not None and abs(claimed_length_mm - length) > LENGTH_TOLERANCE_MM:
        raise ApiError(422, f"length_mm {claimed_length_mm:g} differs from the {length:.2f} mm "
                       f"measured from the endpoints by more than {LENGTH_TOLERANCE_MM} mm")
    return round(length, 2), str(row[1])
