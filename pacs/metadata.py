"""Turn Orthanc's JSON about a series into the index's records (patient, study, series)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from imaging.charset import charsets_of, decode_person_name, needs_decoding
from imaging.errors import ImagingError
from imaging.geometry import ImagePlane, PixelGeometry
from imaging.metadata import describe_series, slice_position_mm
from imaging.model import SeriesDescriptor
from pacs.orthanc import JsonObject, OrthancClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PatientRecord:
    patient_id: str
    patient_name: str | None
    birth_date: dt.date | None
    sex: str | None


@dataclass(frozen=True)
class StudyRecord:
    study_instance_uid: str
    orthanc_id: str
    study_date: dt.date | None
    study_time: str | None
    #: The attribute ``study_date`` comes from (one of :data:`DATE_SOURCES`), or None.
    date_source: str | None
    accession_number: str | None
    description: str | None


@dataclass(frozen=True)
class FrameRecord:
    """One frame of a multi-frame instance: its number (1-based, PS3.3 C.7.6.6) and where
    it lies, from its Plane Position functional group (PS3.3 C.7.6.16.2.3)."""

    frame: int
    position_mm: float | None  # along the slice normal
    image_position: tuple[float, float, float] | None


@dataclass(frozen=True)
class InstanceRecord:
    sop_instance_uid: str
    orthanc_id: str
    instance_number: int | None
    position_mm: float | None  # along the slice normal (of the first frame)
    #: The frames of a multi-frame instance, each with its own position; empty for a
    #: single-frame image.
    frames: tuple[FrameRecord, ...] = ()


@dataclass(frozen=True)
class SeriesRecord:
    """Everything the index keeps about one stable series."""

    patient: PatientRecord
    study: StudyRecord
    series: SeriesDescriptor
    orthanc_id: str
    instances: tuple[InstanceRecord, ...]


#: Where a study's date is looked for, in this order. De-identified studies often have an
#: empty StudyDate (PS3.15 E.1 profiles blank it) while the series or images keep theirs;
#: the first date found stands for the study (PS3.3 C.7.3.1: Series Date is the date the
#: series started, Acquisition and Content Date those of the image).
DATE_SOURCES = ("StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate")


def study_date_of(*tag_sets: JsonObject) -> tuple[dt.date | None, str | None]:
    """The study's date and the attribute it was read from: the first of
    :data:`DATE_SOURCES` that holds a valid DA in any of ``tag_sets`` (study, series,
    then instance tags); ``(None, None)`` when none does."""
    for keyword in DATE_SOURCES:
        for tags in tag_sets:
            date = parse_da(tags.get(keyword))
            if date is not None:
                return date, keyword
    return None, None


def parse_da(value: object) -> dt.date | None:
    """DICOM DA (YYYYMMDD, PS3.5 6.2) to a date; lenient: anything else is None."""
    text = str(value or "").strip().replace("-", "").replace(".", "")
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def _text(tags: JsonObject, keyword: str) -> str | None:
    value = tags.get(keyword)
    if value is None:
        return None
    if isinstance(value, list):
        value = "\\".join(str(v) for v in value)
    text = str(value).strip()
    return text or None


def _numbers(value: object) -> list[float] | None:
    if value is None:
        return None
    parts = value if isinstance(value, list) else str(value).split("\\")
    try:
        return [float(p) for p in parts]
    except (TypeError, ValueError):
        return None


def _int(value: object) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _first_float(value: object) -> float | None:
    numbers = _numbers(value)
    return numbers[0] if numbers else None


def fetch_series_record(client: OrthancClient, series_id: str) -> SeriesRecord:
    """Read one series from Orthanc: its index entries plus one instance's full header.

    Positions and orientation of every slice come from Orthanc's index (main DICOM tags),
    so only the middle instance's file is read, whatever the series length.
    """
    series = client.series(series_id)
    study = client.study(str(series["ParentStudy"]))
    instances = client.series_instances(series_id)
    instances.sort(key=lambda i: (_int(i.get("MainDicomTags", {}).get("InstanceNumber")) or 0))
    tags: JsonObject = {}
    name: str | None = None
    middle = ""
    if instances:
        middle = str(instances[len(instances) // 2]["ID"])
        tags = client.instance_tags(middle)
        name = _decoded_name(client, middle, tags)
    # An enhanced (or legacy-converted) multi-frame object keeps each frame's position in
    # its functional groups, which only the instance's full header holds.
    headers = {str(item["ID"]): (tags if str(item["ID"]) == middle else
                                 client.instance_tags(str(item["ID"])))
               for item in instances if _is_multi_frame(item)}
    return build_series_record(series, study, instances, tags, patient_name=name,
                               multi_frame_headers=headers)


def _is_multi_frame(instance: JsonObject) -> bool:
    return (_int(instance.get("MainDicomTags", {}).get("NumberOfFrames")) or 1) > 1


def _decoded_name(client: OrthancClient, instance_id: str, tags: JsonObject) -> str | None:
    """The patient's name decoded by pydicom from the file's bytes when its character set
    is one Orthanc's JSON garbles (see :mod:`imaging.charset`); else None."""
    if not needs_decoding(charsets_of(_text(tags, "SpecificCharacterSet"))):
        return None
    # The character set itself is read raw too: Orthanc's JSON shows its backslash as
    # a yen sign under ISO 2022 IR 13.
    charsets = charsets_of(client.instance_element(instance_id, 0x0008, 0x0005))
    raw = client.instance_element(instance_id, 0x0010, 0x0010)
    return decode_person_name(raw, charsets) if raw else None


def build_series_record(
    series: JsonObject, study: JsonObject, instances: list[JsonObject], header: JsonObject,
    *, patient_name: str | None = None,
    multi_frame_headers: Mapping[str, JsonObject] | None = None,
) -> SeriesRecord:
    """The index's records of a series from Orthanc's JSON; ``patient_name``, when given,
    is the name decoded from the file (it replaces Orthanc's transcoded one).

    ``header`` is one instance's full header; for a multi-frame instance the series is
    described by its middle frame (:func:`frame_tags`). ``multi_frame_headers`` holds the
    full header of each multi-frame instance by Orthanc id: their frames are indexed one
    by one.
    """
    tags = frame_tags(header, (frame_count(header) + 1) // 2)
    s_tags: JsonObject = series.get("MainDicomTags", {})
    st_tags: JsonObject = study.get("MainDicomTags", {})
    p_tags: JsonObject = study.get("PatientMainDicomTags", {})
    orientation = _numbers(
        tags.get("ImageOrientationPatient") or s_tags.get("ImageOrientationPatient")
    )
    instance_records = _instances(instances, orientation, multi_frame_headers or {})
    descriptor = describe_series(
        series_instance_uid=str(s_tags["SeriesInstanceUID"]),
        study_instance_uid=str(st_tags["StudyInstanceUID"]),
        modality=_text(s_tags, "Modality") or _text(tags, "Modality") or "OT",
        instance_count=len(instances),
        sop_class_uid=_text(tags, "SOPClassUID"),
        body_part=_text(s_tags, "BodyPartExamined") or _text(tags, "BodyPartExamined")
        or _anatomic_region(tags),
        description=_text(s_tags, "SeriesDescription"),
        protocol=_text(s_tags, "ProtocolName") or _text(tags, "ProtocolName"),
        series_number=_int(s_tags.get("SeriesNumber")),
        image_type=(_text(tags, "ImageType") or "").split("\\"),
        convolution_kernel=_text(tags, "ConvolutionKernel"),
        slice_thickness_mm=_first_float(tags.get("SliceThickness")),
        pixel_spacing_mm=_numbers(tags.get("PixelSpacing")),
        orientation=orientation,
        frame_of_reference_uid=_text(tags, "FrameOfReferenceUID"),
        contrast_agent=_text(tags, "ContrastBolusAgent")
        or _text(s_tags, "ContrastBolusAgent"),
        slice_positions_mm=[
            z for i in instance_records
            for z in ([f.position_mm for f in i.frames] if i.frames else [i.position_mm])
            if z is not None
        ],
    )
    study_date, date_source = study_date_of(st_tags, s_tags, tags)
    return SeriesRecord(
        patient=PatientRecord(
            # Byte for byte as Orthanc keys its patients: 'id1 ' and 'id1' are two patients
            # there, so they must not be merged here by trimming.
            patient_id=str(p_tags.get("PatientID", "")),
            patient_name=patient_name or _text(p_tags, "PatientName"),
            birth_date=parse_da(p_tags.get("PatientBirthDate")),
            sex=_text(p_tags, "PatientSex"),
        ),
        study=StudyRecord(
            study_instance_uid=descriptor.study_instance_uid,
            orthanc_id=str(study["ID"]),
            study_date=study_date,
            date_source=date_source,
            study_time=_text(st_tags, "StudyTime"),
            accession_number=_text(st_tags, "AccessionNumber"),
            description=_text(st_tags, "StudyDescription"),
        ),
        series=descriptor,
        orthanc_id=str(series["ID"]),
        instances=instance_records,
    )


def _anatomic_region(tags: JsonObject) -> str | None:
    """The region an enhanced object's frames show (Frame Anatomy, PS3.3 C.7.6.16.2.8:
    its Anatomic Region code stands where Body Part Examined would be)."""
    regions = tags.get("AnatomicRegionSequence")
    if isinstance(regions, list) and regions and isinstance(regions[0], dict):
        return _text(regions[0], "CodeMeaning")
    return None


def _instances(
    instances: list[JsonObject], orientation: list[float] | None,
    multi_frame_headers: Mapping[str, JsonObject],
) -> tuple[InstanceRecord, ...]:
    """One record per instance, with its position along the slice normal (the series'
    coverage, see :func:`imaging.metadata.describe_series`), and one per frame of each
    multi-frame instance whose header is given."""
    records: list[InstanceRecord] = []
    for item in instances:
        tags: dict[str, Any] = item.get("MainDicomTags", {})
        header = multi_frame_headers.get(str(item["ID"]))
        frames = frame_records(header, orientation) if header is not None else ()
        z = frames[0].position_mm if frames else _position(tags, orientation)
        records.append(
            InstanceRecord(
                sop_instance_uid=str(tags.get("SOPInstanceUID", "")),
                orthanc_id=str(item["ID"]),
                instance_number=_int(tags.get("InstanceNumber")),
                position_mm=z,
                frames=frames,
            )
        )
    return tuple(records)


def _position(tags: JsonObject, orientation: list[float] | None) -> float | None:
    try:
        return slice_position_mm(_numbers(tags.get("ImagePositionPatient")),
                                 _numbers(tags.get("ImageOrientationPatient")), orientation)
    except ImagingError:
        log.warning("image with unusable orientation skipped in coverage")
        return None


def frame_records(header: JsonObject, orientation: list[float] | None = None
                  ) -> tuple[FrameRecord, ...]:
    """Each frame of a multi-frame instance with its Image Position (Patient) and its
    position along the slice normal (PS3.3 C.7.6.16.2.3 Plane Position, C.7.6.16.2.4
    Plane Orientation, shared or per frame); empty for a single-frame image."""
    count = frame_count(header)
    if count <= 1:
        return ()
    records = []
    for frame in range(1, count + 1):
        tags = frame_tags(header, frame)
        position = _numbers(tags.get("ImagePositionPatient"))
        records.append(FrameRecord(
            frame=frame, position_mm=_position(tags, orientation),
            image_position=(position[0], position[1], position[2])
            if position and len(position) == 3 else None))
    return tuple(records)


#: The two functional group sequences of an enhanced multi-frame object (PS3.3 C.7.6.16).
FUNCTIONAL_GROUPS = ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence")


def frame_count(tags: JsonObject) -> int:
    """Number of Frames (PS3.3 C.7.6.6), 1 when absent."""
    return max(1, _int(tags.get("NumberOfFrames")) or 1)


def frame_tags(tags: JsonObject, frame: int) -> JsonObject:
    """The attributes that hold for one frame (1-based) of an instance.

    An enhanced or legacy-converted multi-frame object (PS3.3 C.7.6.16) keeps what varies
    by frame (Plane Position, Plane Orientation, Pixel Measures, Pixel Value
    Transformation, Frame VOI LUT, the converted attributes...) in functional group
    macros: one item for all frames in the Shared Functional Groups, one per frame in the
    Per-Frame Functional Groups. The attributes of each macro's item are laid over the
    top-level ones, the shared groups first, then the frame's own, as viewers do (a
    frame's group wins). A single-frame image's tags are returned as they are.
    """
    if not any(tags.get(group) for group in FUNCTIONAL_GROUPS):
        return tags
    flat: dict[str, Any] = {k: v for k, v in tags.items() if k not in FUNCTIONAL_GROUPS}
    shared = tags.get("SharedFunctionalGroupsSequence") or []
    per_frame = tags.get("PerFrameFunctionalGroupsSequence") or []
    items = [shared[0] if shared else None,
             per_frame[frame - 1] if 0 < frame <= len(per_frame) else None]
    for item in items:
        if not isinstance(item, dict):
            continue
        for macro in item.values():
            if isinstance(macro, list) and macro and isinstance(macro[0], dict):
                flat.update(macro[0])
    return flat


def pixel_geometry(tags: JsonObject, frame: int = 1) -> PixelGeometry:
    """Matrix and spacing of one frame of an instance from Orthanc's simplified tags.

    Enhanced multi-frame objects carry Pixel Spacing in the Pixel Measures functional
    group (PS3.3 C.7.6.16.2.1) instead of the top level (:func:`frame_tags`).
    """
    tags = frame_tags(tags, frame)
    spacing = _numbers(tags.get("PixelSpacing"))
    return PixelGeometry(
        rows=_int(tags.get("Rows")) or 0,
        columns=_int(tags.get("Columns")) or 0,
        frames=frame_count(tags),
        pixel_spacing=(spacing[0], spacing[1]) if spacing and len(spacing) == 2 else None,
    )


def image_plane(tags: JsonObject, frame: int = 1) -> ImagePlane | None:
    """Where one frame of an instance lies in patient space, from Orthanc's simplified
    tags; None when Image Position, Image Orientation or Pixel Spacing is missing or
    unusable. A multi-frame object's frame takes them from its functional groups."""
    tags = frame_tags(tags, frame)
    position = _numbers(tags.get("ImagePositionPatient"))
    orientation = _numbers(tags.get("ImageOrientationPatient"))
    spacing = pixel_geometry(tags).pixel_spacing
    if not position or len(position) != 3 or not orientation or len(orientation) != 6 \
            or spacing is None:
        return None
    try:
        return ImagePlane(
            (position[0], position[1], position[2]),
            (orientation[0], orientation[1], orientation[2], orientation[3], orientation[4],
             orientation[5]),
            spacing, _int(tags.get("Rows")) or 0, _int(tags.get("Columns")) or 0)
    except ImagingError:
        return None
