"""Patient-space geometry of DICOM images (PS3.3 C.7.6.2 Image Plane Module)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from imaging.errors import ImagingError

Orientation = tuple[float, float, float, float, float, float]


def slice_normal(orientation: Sequence[float]) -> tuple[float, float, float]:
    """Unit normal of an image plane: row direction x column direction (PS3.3 C.7.6.2.1.1)."""
    if len(orientation) != 6:
        raise ImagingError(f"ImageOrientationPatient needs 6 values, got {len(orientation)}")
    rx, ry, rz, cx, cy, cz = (float(v) for v in orientation)
    n = (ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx)
    norm = math.sqrt(sum(v * v for v in n))
    if norm == 0 or not math.isfinite(norm):
        raise ImagingError(f"ImageOrientationPatient has parallel or invalid axes: {orientation}")
    return (n[0] / norm, n[1] / norm, n[2] / norm)


def positions_along_normal(
    orientation: Sequence[float], positions: Sequence[Sequence[float]]
) -> list[float]:
    """Distance of each ImagePositionPatient along the slice normal, in mm."""
    n = slice_normal(orientation)
    return [float(p[0]) * n[0] + float(p[1]) * n[1] + float(p[2]) * n[2] for p in positions]


def caliper_length_mm(
    start: tuple[float, float], end: tuple[float, float], pixel_spacing: Sequence[float]
) -> float:
    """Length of a caliper drawn between two (row, column) pixel positions.

    PixelSpacing is "row spacing \\ column spacing" (PS3.3 C.7.6.2.1.1): the distance between
    the centres of adjacent rows, then of adjacent columns. A step in row index therefore
    scales by the first value and a step in column index by the second.
    """
    if len(pixel_spacing) != 2:
        raise ImagingError(f"PixelSpacing needs 2 values, got {len(pixel_spacing)}")
    row_mm, col_mm = float(pixel_spacing[0]), float(pixel_spacing[1])
    if not (row_mm > 0 and col_mm > 0 and math.isfinite(row_mm) and math.isfinite(col_mm)):
        raise ImagingError(f"PixelSpacing must be positive, got {list(pixel_spacing)}")
    d_row = (end[0] - start[0]) * row_mm
    d_col = (end[1] - start[1]) * col_mm
    return math.hypot(d_row, d_col)


# A plane is called axial, coronal or sagittal when its normal lies within ~37 degrees
# of that axis (|cos| >= 0.8): gantry tilts and oblique reformats stay in their class.
_PLANE_COSINE = 0.8
_AXIS_PLANES = ("sagittal", "coronal", "axial")  # normal along x, y, z of LPS


def plane_name(orientation: Sequence[float]) -> str:
    """"axial", "coronal", "sagittal" or "oblique", by the direction of the slice normal."""
    normal = slice_normal(orientation)
    axis = max(range(3), key=lambda i: abs(normal[i]))
    return _AXIS_PLANES[axis] if abs(normal[axis]) >= _PLANE_COSINE else "oblique"
