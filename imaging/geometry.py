"""Patient-space geometry of DICOM images (PS3.3 C.7.6.2 Image Plane Module)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from imaging.errors import ImagingError

Orientation = tuple[float, float, float, float, float, float]
K = TypeVar("K")


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



def axes_angle_deg(
    long_axis: tuple[tuple[float, float], tuple[float, float]],
    short_axis: tuple[tuple[float, float], tuple[float, float]],
    pixel_spacing: Sequence[float],
) -> float:
    """Angle in degrees (0 to 90) between two calipers, measured in millimetres.

    The angle is taken after scaling rows and columns by PixelSpacing (PS3.3 C.7.6.2.1.1),
    so that on an image with non-square pixels "perpendicular" means perpendicular in the
    patient, as the bidirectional measurement of WHO and of a node's short axis (RECIST 1.1
    s.4.2, Schwartz 2009) requires. A caliper of zero length has no direction (ImagingError).
    """
    caliper_length_mm(*long_axis, pixel_spacing)  # checks the spacing
    row_mm, col_mm = float(pixel_spacing[0]), float(pixel_spacing[1])
    vectors = [((b[0] - a[0]) * row_mm, (b[1] - a[1]) * col_mm) for a, b in (long_axis, short_axis)]
    (r1, c1), (r2, c2) = vectors
    norms = math.hypot(r1, c1) * math.hypot(r2, c2)
    if norms == 0:
        raise ImagingError("a caliper of zero length has no direction")
    cosine = min(1.0, abs(r1 * r2 + c1 * c2) / norms)
    return math.degrees(math.acos(cosine))

# A plane is called axial, coronal or sagittal when its normal lies within ~37 degrees
# of that axis (|cos| >= 0.8): gantry tilts and oblique reformats stay in their class.
_PLANE_COSINE = 0.8
_AXIS_PLANES = ("sagittal", "coronal", "axial")  # normal along x, y, z of LPS


def plane_name(orientation: Sequence[float]) -> str:
    """"axial", "coronal", "sagittal" or "oblique", by the direction of the slice normal."""
    normal = slice_normal(orientation)
    axis = max(range(3), key=lambda i: abs(normal[i]))
    return _AXIS_PLANES[axis] if abs(normal[axis]) >= _PLANE_COSINE else "oblique"


Point3 = tuple[float, float, float]


@dataclass(frozen=True)
class PixelGeometry:
    """What a caliper on one image needs: matrix size, frame count and pixel spacing."""

    rows: int
    columns: int
    frames: int
    pixel_spacing: tuple[float, float] | None


@dataclass(frozen=True)
class ImagePlane:
    """Where one image lies in patient space (PS3.3 C.7.6.2.1.1).

    ``position`` is Image Position (Patient), the centre of the first pixel;
    ``pixel_spacing`` is (row spacing, column spacing). Image points are (row, column) in
    sub-pixel coordinates whose (0, 0) is the top-left corner of the first pixel (PS3.3
    C.18.6.1.1), as calipers are stored: pixel centres lie at half-integers.
    """

    position: Point3
    orientation: Orientation
    pixel_spacing: tuple[float, float]
    rows: int
    columns: int

    def __post_init__(self) -> None:
        slice_normal(self.orientation)  # refuses parallel or invalid axes
        row_mm, col_mm = self.pixel_spacing
        if not (row_mm > 0 and col_mm > 0 and math.isfinite(row_mm) and math.isfinite(col_mm)):
            raise ImagingError(f"PixelSpacing must be positive, got {list(self.pixel_spacing)}")

    @property
    def normal(self) -> Point3:
        return slice_normal(self.orientation)

    def to_patient(self, row: float, column: float) -> Point3:
        """Patient coordinates (mm) of an image point (row, column)."""
        rx, ry, rz, cx, cy, cz = self.orientation
        row_mm, col_mm = self.pixel_spacing
        u = (column - 0.5) * col_mm  # along the row direction (first triplet)
        v = (row - 0.5) * row_mm  # along the column direction (second triplet)
        px, py, pz = self.position
        return (px + u * rx + v * cx, py + u * ry + v * cy, pz + u * rz + v * cz)

    def to_image(self, point: Sequence[float]) -> tuple[float, float, float]:
        """(row, column, distance from the plane in mm) of a patient point."""
        rx, ry, rz, cx, cy, cz = self.orientation
        nx, ny, nz = self.normal
        row_mm, col_mm = self.pixel_spacing
        d = [float(point[i]) - self.position[i] for i in range(3)]
        u = d[0] * rx + d[1] * ry + d[2] * rz
        v = d[0] * cx + d[1] * cy + d[2] * cz
        w = d[0] * nx + d[1] * ny + d[2] * nz
        return (v / row_mm + 0.5, u / col_mm + 0.5, w)

    def contains(self, row: float, column: float) -> bool:
        return 0 <= row <= self.rows and 0 <= column <= self.columns


def caliper_midpoint(start: Sequence[float], end: Sequence[float]) -> tuple[float, float]:
    """The middle of a caliper drawn between two (row, column) image points."""
    return ((float(start[0]) + float(end[0])) / 2.0, (float(start[1]) + float(end[1])) / 2.0)


def nearest_slice(positions: Sequence[tuple[K, float]], orientation: Sequence[float],
                  point: Sequence[float]) -> tuple[K, float]:
    """The slice whose plane lies nearest a patient point, and the signed distance (mm).

    ``positions`` pairs each slice's key with its position along the slice normal (the
    index keeps it per instance). Ties go to the first slice given.
    """
    if not positions:
        raise ImagingError("a series without slice positions has no nearest slice")
    n = slice_normal(orientation)
    along = sum(float(point[i]) * n[i] for i in range(3))
    key, position = min(positions, key=lambda kp: abs(along - kp[1]))
    return key, along - position
