"""Series descriptors from DICOM datasets (lenient read: odd values become ``None``).

Attributes come from General Series (PS3.3 C.7.3.1), Frame of Reference (C.7.4.1),
General Image (C.7.6.1), Image Plane (C.7.6.2), Contrast/Bolus (C.7.6.4) and CT Image
(C.8.2.1).
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from pydicom import Dataset
from pydicom.multival import MultiValue

from imaging.errors import ImagingError, InvalidSeriesError
from imaging.geometry import Orientation, positions_along_normal, slice_normal
from imaging.model import SeriesDescriptor

T = TypeVar("T")

# Slices whose orientation differs by more than this (direction cosines) from the first
# slice's are not projected into the series' z range.
_ORIENTATION_TOLERANCE = 1e-3


def descriptor_from_datasets(datasets: Sequence[Dataset]) -> SeriesDescriptor:
    """Describe one series from its datasets (pixel data is not needed).

    ``z_range_mm`` is the extent of Image Position (Patient) projected on the normal of
    the first slice's Image Orientation (Patient); slices of another orientation (a
    lateral scout next to a frontal one) are left out of it.
    """
    if not datasets:
        raise InvalidSeriesError("a series needs at least one dataset")
    uids = {str(ds.get("SeriesInstanceUID", "")) for ds in datasets}
    if len(uids) != 1:
        raise InvalidSeriesError(f"datasets belong to several series: {sorted(uids)}")
    series_uid = uids.pop()
    if not series_uid:
        raise InvalidSeriesError("datasets have no SeriesInstanceUID")
    ordered = sorted(datasets, key=_instance_number)
    first = ordered[0]
    orientation = _first(ordered, _orientation)
    return SeriesDescriptor(
        series_instance_uid=series_uid,
        modality=_text(first, "Modality") or "",
        instance_count=len(datasets),
        study_instance_uid=_text(first, "StudyInstanceUID") or "",
        sop_class_uid=_most_common(_text(ds, "SOPClassUID") for ds in ordered),
        body_part=_text(first, "BodyPartExamined"),
        description=_text(first, "SeriesDescription"),
        protocol=_text(first, "ProtocolName"),
        series_number=_integer(first, "SeriesNumber"),
        image_type=_first(ordered, _image_type) or (),
        convolution_kernel=_first(ordered, lambda ds: _text(ds, "ConvolutionKernel")),
        slice_thickness_mm=_first(ordered, lambda ds: _number(ds, "SliceThickness")),
        pixel_spacing_mm=_first(ordered, _pixel_spacing),
        orientation=orientation,
        frame_of_reference_uid=_text(first, "FrameOfReferenceUID"),
        contrast_agent=_first(ordered, lambda ds: _text(ds, "ContrastBolusAgent")),
        z_range_mm=_z_range(ordered, orientation),
    )


def _first(datasets: Sequence[Dataset], read: Callable[[Dataset], T | None]) -> T | None:
    for ds in datasets:
        value = read(ds)
        if value is not None:
            return value
    return None


def _most_common(values: Iterable[str | None]) -> str | None:
    counts = Counter(v for v in values if v)
    if not counts:
        return None
    # Most frequent, ties broken by the value itself so the result never depends on order.
    return min(counts, key=lambda v: (-counts[v], v))


def _instance_number(ds: Dataset) -> tuple[int, str]:
    number = _integer(ds, "InstanceNumber")
    return (number if number is not None else 0, str(ds.get("SOPInstanceUID", "")))


def _values(ds: Dataset, keyword: str) -> list[object]:
    value = ds.get(keyword)
    if value is None or value == "":
        return []
    if isinstance(value, MultiValue | list | tuple):
        return list(value)
    return [value]


def _text(ds: Dataset, keyword: str) -> str | None:
    """The attribute as one string (multiple values joined by a backslash) or None."""
    parts = [str(v).strip() for v in _values(ds, keyword)]
    text = "\\".join(p for p in parts if p)
    return text or None


def _floats(ds: Dataset, keyword: str, count: int) -> tuple[float, ...] | None:
    values = _values(ds, keyword)
    if not values:
        return None
    try:
        numbers = tuple(float(str(v)) for v in values)
    except ValueError:
        numbers = ()
    if len(numbers) != count or not all(math.isfinite(n) for n in numbers):
        warnings.warn(
            f"{keyword} of {ds.get('SOPInstanceUID', '?')} is not {count} numbers: {values}",
            stacklevel=3,
        )
        return None
    return numbers


def _number(ds: Dataset, keyword: str) -> float | None:
    numbers = _floats(ds, keyword, 1)
    if numbers is None or numbers[0] < 0:
        return None
    return numbers[0]


def _integer(ds: Dataset, keyword: str) -> int | None:
    numbers = _floats(ds, keyword, 1)
    return None if numbers is None else int(numbers[0])


def _image_type(ds: Dataset) -> tuple[str, ...] | None:
    values = tuple(str(v).strip().upper() for v in _values(ds, "ImageType"))
    return values or None


def _pixel_spacing(ds: Dataset) -> tuple[float, float] | None:
    numbers = _floats(ds, "PixelSpacing", 2)
    return None if numbers is None else (numbers[0], numbers[1])


def _orientation(ds: Dataset) -> Orientation | None:
    n = _floats(ds, "ImageOrientationPatient", 6)
    if n is None:
        return None
    orientation = (n[0], n[1], n[2], n[3], n[4], n[5])
    try:
        slice_normal(orientation)
    except ImagingError:
        warnings.warn(f"degenerate ImageOrientationPatient {orientation}", stacklevel=2)
        return None
    return orientation


def _z_range(
    datasets: Sequence[Dataset], orientation: Orientation | None
) -> tuple[float, float] | None:
    if orientation is None:
        return None
    positions = []
    for ds in datasets:
        own = _orientation(ds)
        if own is None or max(abs(a - b) for a, b in zip(own, orientation, strict=True)) > (
            _ORIENTATION_TOLERANCE
        ):
            continue
        position = _floats(ds, "ImagePositionPatient", 3)
        if position is not None:
            positions.append(positions_along_normal(orientation, [position])[0])
    if not positions:
        return None
    return (round(min(positions), 3), round(max(positions), 3))
