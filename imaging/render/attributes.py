"""Per-frame attribute look-up for single-frame and enhanced multi-frame images.

Enhanced multi-frame objects (e.g. Enhanced CT, PS3.3 A.38) carry the rescale, the window, the
pixel spacing and the orientation in Functional Group Macros (PS3.3 C.7.6.16) instead of at
the top level: the Per-Frame group of that frame wins over the Shared group, which wins over a
top-level attribute of the same keyword (classic single-frame images).
"""

from __future__ import annotations

import math
from typing import Any

from pydicom import Dataset

from imaging.render.errors import RenderError

# Functional group sequences (PS3.3 C.7.6.16.2) holding the attributes a key image needs.
PIXEL_VALUE_TRANSFORMATION = "PixelValueTransformationSequence"  # C.7.6.16.2.9
FRAME_VOI_LUT = "FrameVOILUTSequence"  # C.7.6.16.2.10
PIXEL_MEASURES = "PixelMeasuresSequence"  # C.7.6.16.2.1
PLANE_ORIENTATION = "PlaneOrientationSequence"  # C.7.6.16.2.4


def sop_instance_uid(ds: Dataset) -> str:
    """The image's SOP Instance UID, or "" when a damaged header lacks it."""
    return str(ds.get("SOPInstanceUID", "") or "")


def number_of_frames(ds: Dataset) -> int:
    """Number of Frames (PS3.3 C.7.6.6); absent means a single-frame image."""
    value = ds.get("NumberOfFrames")
    try:
        frames = int(value) if value not in (None, "") else 1
    except (TypeError, ValueError) as exc:
        raise RenderError(
            f"NumberOfFrames must be an integer, got {value!r}",
            sop_instance_uid=sop_instance_uid(ds),
        ) from exc
    return max(frames, 1)


def check_frame(ds: Dataset, frame: int) -> None:
    """Frame numbers are 1-based in DICOM (PS3.3 C.7.6.16.2.2 and C.7.6.6)."""
    frames = number_of_frames(ds)
    if not 1 <= frame <= frames:
        raise RenderError(
            f"frame must be in 1..{frames}, got {frame}", sop_instance_uid=sop_instance_uid(ds)
        )


def frame_value(ds: Dataset, frame: int, group: str, keyword: str) -> Any:
    """Value of ``keyword`` for ``frame``: per-frame group, then shared group, then top level."""
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame and len(per_frame) >= frame:
        found = _group_value(per_frame[frame - 1], group, keyword)
        if found is not None:
            return found
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        found = _group_value(shared[0], group, keyword)
        if found is not None:
            return found
    return ds.get(keyword)


def _group_value(item: Dataset, group: str, keyword: str) -> Any:
    sequence = item.get(group)
    if not sequence:
        return None
    return sequence[0].get(keyword)


def pixel_spacing(ds: Dataset, frame: int = 1) -> tuple[float, float]:
    """(row spacing, column spacing) in mm: PixelSpacing, PS3.3 C.7.6.2.1.1.

    The first value is the distance between the centres of adjacent rows (vertical), the second
    between adjacent columns (horizontal).
    """
    value = frame_value(ds, frame, PIXEL_MEASURES, "PixelSpacing")
    uid = sop_instance_uid(ds)
    if value is None:
        raise RenderError(
            "PixelSpacing is missing: a calibrated key image (caliper length, scale bar) "
            "needs it", sop_instance_uid=uid,
        )
    try:
        row_mm, col_mm = (float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise RenderError(f"PixelSpacing needs 2 numbers, got {value!r}",
                          sop_instance_uid=uid) from exc
    if not all(v > 0 and math.isfinite(v) for v in (row_mm, col_mm)):
        raise RenderError(f"PixelSpacing must be positive, got {[row_mm, col_mm]}",
                          sop_instance_uid=uid)
    return row_mm, col_mm


def image_orientation(ds: Dataset, frame: int = 1) -> tuple[float, ...] | None:
    """ImageOrientationPatient (PS3.3 C.7.6.2.1.1) of the frame, or None when absent or bad."""
    value = frame_value(ds, frame, PLANE_ORIENTATION, "ImageOrientationPatient")
    if value is None:
        return None
    try:
        cosines = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return cosines if len(cosines) == 6 and all(map(math.isfinite, cosines)) else None
