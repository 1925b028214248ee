"""Where a synthetic lesion is on the generated images: the caliper a radiologist would draw.

Used by tests, the report benchmark and the demo walk-through to measure known lesions on
real (synthetic-content) slices through the same API a radiologist uses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pydicom import Dataset

from synthetic.spec import StudySpec, SyntheticSpecError

Point = tuple[float, float]


@dataclass(frozen=True)
class KnownCaliper:
    """A horizontal caliper across a lesion's widest cross-section on one slice."""

    label: str
    organ: str
    sop_instance_uid: str
    endpoints: tuple[Point, Point]  # (row, column), (0, 0) = top-left corner of the image
    diameter_mm: float  # of the lesion's cross-section on that slice


def lesion_calipers(
    spec: StudySpec, datasets: Sequence[Dataset], series_key: str = "lung_thin"
) -> list[KnownCaliper]:
    """One caliper per lesion of ``spec`` on the nearest slice of the given axial series."""
    number = spec.series_by_key(series_key).series_number
    slices = [ds for ds in datasets if int(ds.get("SeriesNumber", -1)) == number
              and ds.get("Modality") == "CT"]
    if not slices:
        raise SyntheticSpecError(f"no generated slice of series {series_key!r}")
    calipers = []
    for lesion in spec.lesions:
        x, y, z = spec.lesion_center_patient_mm(lesion.label)
        ds = min(slices, key=lambda d: abs(float(d.ImagePositionPatient[2]) - z))
        ipp = [float(v) for v in ds.ImagePositionPatient]
        row_mm, col_mm = (float(v) for v in ds.PixelSpacing)
        dz = abs(ipp[2] - z)
        if dz >= lesion.radius_mm:
            raise SyntheticSpecError(f"lesion {lesion.label!r} is not on any slice")
        radius = math.sqrt(lesion.radius_mm**2 - dz**2)
        # Axial slices (PS3.3 C.7.6.2.1.1): columns run along +x, rows along +y; the
        # position is the centre of the first pixel, which sits half a pixel into the image.
        row = (y - ipp[1]) / row_mm + 0.5
        col = (x - ipp[0]) / col_mm + 0.5
        half = radius / col_mm
        calipers.append(KnownCaliper(
            label=lesion.label, organ=lesion.organ, sop_instance_uid=str(ds.SOPInstanceUID),
            endpoints=((row, col - half), (row, col + half)), diameter_mm=2 * radius))
    return calipers
