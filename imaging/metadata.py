"""The one builder of :class:`~imaging.model.SeriesDescriptor`, from plain attribute values.

Ingest (:mod:`pacs.metadata`, from Orthanc's JSON) and the index (``api.adapters.index_store``, from
stored rows) both go through :func:`describe_series`, so the pairing scorer sees the same
description of a series whichever way it arrives. Attributes come from General Series
(PS3.3 C.7.3.1), Frame of Reference (C.7.4.1), General Image (C.7.6.1), Image Plane
(C.7.6.2), Contrast/Bolus (C.7.6.4) and CT Image (C.8.2.1). Pure: no I/O, no logging.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from imaging.geometry import Orientation, positions_along_normal
from imaging.model import SeriesDescriptor


def slice_position_mm(
    position: Sequence[float] | None,
    orientation: Sequence[float] | None,
    series_orientation: Sequence[float] | None = None,
) -> float | None:
    """Where one slice lies along its slice normal, in mm (PS3.3 C.7.6.2.1.1).

    ``position`` is the instance's Image Position (Patient). It is projected on the normal
    of the instance's own Image Orientation (Patient), or on that of ``series_orientation``
    when the instance records none. None when the position is not 3 numbers or no
    orientation of 6 numbers is known. Raises :class:`~imaging.errors.ImagingError` when
    the orientation's axes are parallel or not finite.
    """
    plane = _orientation(orientation) or _orientation(series_orientation)
    if position is None or len(position) != 3 or plane is None:
        return None
    return positions_along_normal(plane, [position])[0]


def describe_series(
    *,
    series_instance_uid: str,
    study_instance_uid: str,
    modality: str,
    instance_count: int,
    slice_positions_mm: Iterable[float] = (),
    sop_class_uid: str | None = None,
    body_part: str | None = None,
    description: str | None = None,
    protocol: str | None = None,
    series_number: int | None = None,
    image_type: Iterable[str] = (),
    convolution_kernel: str | None = None,
    slice_thickness_mm: float | None = None,
    pixel_spacing_mm: Sequence[float] | None = None,
    orientation: Sequence[float] | None = None,
    frame_of_reference_uid: str | None = None,
    contrast_agent: str | None = None,
) -> SeriesDescriptor:
    """What the pairing scorer and the index know about one series.

    The z-range rule: ``z_range_mm`` is (lowest, highest) of ``slice_positions_mm``, the
    positions of the series' instances along their slice normal, one per instance that has
    a usable position, as :func:`slice_position_mm` computes them. The values are neither
    rounded nor filtered. A series whose instances record no position (an SR, a
    multi-frame object without per-slice positions) has ``z_range_mm`` None. A caller that
    only kept the two ends of the range passes those two.

    Lenient read: ``pixel_spacing_mm`` other than 2 numbers and ``orientation`` other than
    6 numbers become None; empty Image Type values are dropped. Other values are taken as
    given; :class:`SeriesDescriptor` refuses impossible ones.
    """
    positions = list(slice_positions_mm)
    return SeriesDescriptor(
        series_instance_uid=series_instance_uid,
        study_instance_uid=study_instance_uid,
        modality=modality,
        instance_count=instance_count,
        sop_class_uid=sop_class_uid,
        body_part=body_part,
        description=description,
        protocol=protocol,
        series_number=series_number,
        image_type=tuple(value for value in image_type if value),
        convolution_kernel=convolution_kernel,
        slice_thickness_mm=slice_thickness_mm,
        pixel_spacing_mm=(
            (pixel_spacing_mm[0], pixel_spacing_mm[1])
            if pixel_spacing_mm is not None and len(pixel_spacing_mm) == 2
            else None
        ),
        orientation=_orientation(orientation),
        frame_of_reference_uid=frame_of_reference_uid,
        contrast_agent=contrast_agent,
        z_range_mm=(min(positions), max(positions)) if positions else None,
    )


def _orientation(values: Sequence[float] | None) -> Orientation | None:
    if values is None or len(values) != 6:
        return None
    return (values[0], values[1], values[2], values[3], values[4], values[5])
