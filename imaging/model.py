"""Domain types describing indexed DICOM series, independent of where they came from."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from imaging.errors import InvalidSeriesError


@dataclass(frozen=True)
class SeriesDescriptor:
    """What the pairing scorer and the index know about one series.

    Values come from DICOM attributes of the series (PS3.3 C.7.3.1 General Series,
    C.8.2.1 CT Image, C.7.6.2 Image Plane); ``None`` means the attribute was absent.
    ``z_range_mm`` is the extent of the slice positions along the slice normal. Build one
    from attribute values with :func:`imaging.metadata.describe_series`, which holds the
    rules (z range included) that ingest and the index share.
    """

    series_instance_uid: str
    modality: str
    instance_count: int
    study_instance_uid: str = ""
    sop_class_uid: str | None = None
    body_part: str | None = None
    description: str | None = None
    protocol: str | None = None
    series_number: int | None = None
    image_type: tuple[str, ...] = ()
    convolution_kernel: str | None = None
    slice_thickness_mm: float | None = None
    pixel_spacing_mm: tuple[float, float] | None = None
    orientation: tuple[float, float, float, float, float, float] | None = None
    frame_of_reference_uid: str | None = None
    contrast_agent: str | None = None
    z_range_mm: tuple[float, float] | None = field(default=None)

    def __post_init__(self) -> None:
        if not self.series_instance_uid:
            raise InvalidSeriesError("series_instance_uid must not be empty")
        if self.instance_count < 0:
            raise InvalidSeriesError(
                f"instance_count must be >= 0, got {self.instance_count}",
                series_instance_uid=self.series_instance_uid,
            )
        if self.slice_thickness_mm is not None and not (
            math.isfinite(self.slice_thickness_mm) and self.slice_thickness_mm >= 0
        ):
            raise InvalidSeriesError(
                f"slice_thickness_mm must be finite and >= 0, got {self.slice_thickness_mm}",
                series_instance_uid=self.series_instance_uid,
            )
        if self.z_range_mm is not None and self.z_range_mm[0] > self.z_range_mm[1]:
            raise InvalidSeriesError(
                f"z_range_mm must be (low, high), got {self.z_range_mm}",
                series_instance_uid=self.series_instance_uid,
            )
