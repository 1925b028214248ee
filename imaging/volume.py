"""Series as 3-D volumes with SimpleITK (the one module that talks to SimpleITK).

SimpleITK reads a series through GDCM, a DICOM implementation independent of pydicom, and
sorts slices by position along the slice normal (PS3.3 C.7.6.2.1.1). The volume keeps the
patient geometry: origin (first voxel centre), spacing and direction cosines, in LPS mm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk  # noqa: N813
from numpy.typing import NDArray

from imaging.errors import ImagingError

Vector = tuple[float, float, float]


class VolumeError(ImagingError):
    """A series could not be read as one volume."""


@dataclass(frozen=True)
class Volume:
    """Modality values (HU for CT) indexed [slice, row, column], with patient geometry."""

    voxels: NDArray[np.float32]
    origin_mm: Vector
    spacing_mm: Vector  # column, row, slice
    direction: tuple[float, ...]  # 9 cosines, row-major, as SimpleITK gives them

    def __post_init__(self) -> None:
        if self.voxels.ndim != 3:
            raise VolumeError(f"voxels must be 3-D, got shape {self.voxels.shape}")
        if any(s <= 0 for s in self.spacing_mm):
            raise VolumeError(f"spacing_mm must be positive, got {self.spacing_mm}")

    def index_of(self, point_mm: Sequence[float]) -> tuple[int, int, int]:
        """Nearest voxel (slice, row, column) of a patient-space point."""
        d = np.asarray(self.direction, dtype=float).reshape(3, 3)
        offset = np.asarray(point_mm, dtype=float) - np.asarray(self.origin_mm)
        col, row, sl = (d.T @ offset) / np.asarray(self.spacing_mm)
        return int(round(sl)), int(round(row)), int(round(col))


def read_series(paths: Sequence[Path]) -> Volume:
    """Read one series' files into a volume (rescale slope/intercept applied by GDCM)."""
    if not paths:
        raise VolumeError("no files to read")
    reader = sitk.ImageSeriesReader()
    try:
        ordered = reader.GetGDCMSeriesFileNames(str(paths[0].parent))
        wanted = {str(p) for p in paths}
        reader.SetFileNames([f for f in ordered if f in wanted] or [str(p) for p in paths])
        image = reader.Execute()
    except RuntimeError as exc:  # SimpleITK reports every failure as RuntimeError
        raise VolumeError(f"SimpleITK could not read the series: {str(exc)[:200]}") from None
    return Volume(
        voxels=sitk.GetArrayFromImage(image).astype(np.float32),
        origin_mm=tuple(float(v) for v in image.GetOrigin()),  # type: ignore[arg-type]
        spacing_mm=tuple(float(v) for v in image.GetSpacing()),  # type: ignore[arg-type]
        direction=tuple(float(v) for v in image.GetDirection()),
    )
