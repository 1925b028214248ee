"""Attributes shared by every object of a synthetic study, grouped by PS3.3 module.

Patient (C.7.1.1), Patient Study (C.7.2.2), General Study (C.7.2.1), General Series
(C.7.3.1), Frame of Reference (C.7.4.1), General Equipment (C.7.5.1) and SOP Common
(C.12.1), plus the file meta information of PS3.10 7.1. UIDs are derived from the study
specification and the seed, so the same seed always yields the same objects.
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Mapping
from dataclasses import dataclass

from pydicom import Dataset
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import FileMetaDataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import BaseTag
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian, generate_uid

from synthetic.spec import SeriesKind, SeriesSpec, StudySpec, SyntheticSpecError

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
SECONDARY_CAPTURE_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.7"
XRAY_RADIATION_DOSE_SR_STORAGE = "1.2.840.10008.5.1.4.1.1.88.67"

# Seconds after the study start at which each kind of series is acquired or created:
# scout first, plain scan, contrast scan after the portal-venous delay, then post-processing.
_SERIES_DELAY_S = {
    (SeriesKind.LOCALIZER, False): 0,
    (SeriesKind.LOCALIZER, True): 0,
    (SeriesKind.AXIAL, False): 75,
    (SeriesKind.AXIAL, True): 190,
    (SeriesKind.CORONAL_MPR, False): 330,
    (SeriesKind.CORONAL_MPR, True): 330,
    (SeriesKind.DOSE_SCREEN, False): 400,
    (SeriesKind.DOSE_SCREEN, True): 400,
    (SeriesKind.DOSE_REPORT, False): 405,
    (SeriesKind.DOSE_REPORT, True): 405,
}


@dataclass(frozen=True)
class StudyUIDs:
    """The UIDs a study specification and a seed give rise to."""

    study_instance_uid: str
    frame_of_reference_uid: str
    series_instance_uids: tuple[tuple[str, str], ...]  # (series key, SeriesInstanceUID)

    def series_uid(self, key: str) -> str:
        for k, uid in self.series_instance_uids:
            if k == key:
                return uid
        raise SyntheticSpecError(f"no series with key {key!r}")


def derived_uid(*parts: object) -> str:
    """A UID that is a pure function of ``parts`` (pydicom's hashed-entropy UIDs)."""
    return str(generate_uid(entropy_srcs=["nadir-synthetic", *(str(p) for p in parts)]))


def study_uids(spec: StudySpec, seed: int) -> StudyUIDs:
    """UIDs of the study, its frame of reference and its series (deterministic)."""
    base = (spec.patient.patient_id, spec.accession_number, seed)
    return StudyUIDs(
        study_instance_uid=derived_uid(*base, "study"),
        frame_of_reference_uid=derived_uid(*base, "frame-of-reference"),
        series_instance_uids=tuple(
            (s.key, derived_uid(*base, "series", s.key)) for s in spec.series
        ),
    )


def instance_uid(spec: StudySpec, seed: int, series_key: str, index: int) -> str:
    return derived_uid(
        spec.patient.patient_id, spec.accession_number, seed, "sop", series_key, index
    )


def series_datetime(spec: StudySpec, series: SeriesSpec) -> datetime.datetime:
    start = datetime.datetime.combine(spec.study_date, spec.study_time)
    return start + datetime.timedelta(seconds=_SERIES_DELAY_S[(series.kind, series.contrast)])


def da(value: datetime.date) -> str:
    """DICOM DA (PS3.5 6.2)."""
    return value.strftime("%Y%m%d")


def tm(value: datetime.datetime | datetime.time) -> str:
    """DICOM TM (PS3.5 6.2), whole seconds as most scanners write it."""
    return value.strftime("%H%M%S")


def file_meta(sop_class_uid: str, sop_instance_uid: str) -> FileMetaDataset:
    """PS3.10 7.1 File Meta Information, Explicit VR Little Endian."""
    meta = FileMetaDataset()
    meta.FileMetaInformationVersion = b"\x00\x01"
    meta.MediaStorageSOPClassUID = UID(sop_class_uid)
    meta.MediaStorageSOPInstanceUID = UID(sop_instance_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "NADIR_SYNTH_1"
    return meta


def new_dataset(sop_class_uid: str, sop_instance_uid: str, created: datetime.datetime) -> Dataset:
    """An empty object with file meta and the SOP Common module (C.12.1)."""
    ds = Dataset()
    _sop_common(ds, sop_class_uid, sop_instance_uid, created)
    return ds


def _sop_common(
    ds: Dataset, sop_class_uid: str, sop_instance_uid: str, created: datetime.datetime
) -> None:
    ds.file_meta = file_meta(sop_class_uid, sop_instance_uid)
    # Latin-1 covers every name the generator writes.
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.InstanceCreationDate = da(created)
    ds.InstanceCreationTime = tm(created)
    ds.SOPClassUID = sop_class_uid
    ds.SOPInstanceUID = sop_instance_uid


def apply(ds: Dataset, attributes: Mapping[str, object]) -> None:
    """Set attributes by DICOM keyword."""
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)


class HeaderTemplate:
    """Attributes shared by every object of a series, validated once and copied per object.

    Setting ~100 attributes by keyword costs about a millisecond per object, as much as
    rendering its pixels; copying prepared elements costs a third of that. Multi-valued
    elements are deep-copied so no two objects share a mutable value.
    """

    def __init__(self, attributes: Mapping[str, object]) -> None:
        ds = Dataset()
        apply(ds, attributes)
        self._plain: list[DataElement] = []
        self._multi: list[DataElement] = []
        self._sequences: list[DataElement] = []
        for elem in ds:
            if isinstance(elem.value, DicomSequence):
                self._sequences.append(elem)
            elif isinstance(elem.value, MultiValue):
                self._multi.append(elem)
            else:  # str, int, float, UID and PersonName values are immutable
                self._plain.append(elem)

    def new_dataset(
        self, sop_class_uid: str, sop_instance_uid: str, created: datetime.datetime
    ) -> Dataset:
        """:func:`new_dataset` carrying the template's attributes."""
        elements: dict[BaseTag, DataElement | RawDataElement] = {
            elem.tag: copy.copy(elem) for elem in self._plain
        }
        for elem in self._multi:
            elements[elem.tag] = DataElement(elem.tag, elem.VR, list(elem.value))
        for elem in self._sequences:
            elements[elem.tag] = copy.deepcopy(elem)
        ds = Dataset(elements)
        _sop_common(ds, sop_class_uid, sop_instance_uid, created)
        return ds


def _age(birth: datetime.date, on: datetime.date) -> str:
    years = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    return f"{years:03d}Y"  # AS value representation (PS3.5 6.2)


def patient_study_attributes(spec: StudySpec, uids: StudyUIDs) -> dict[str, object]:
    """Patient, Patient Study and General Study modules."""
    patient = spec.patient
    return {
        "PatientName": patient.patient_name,
        "PatientID": patient.patient_id,
        "IssuerOfPatientID": "NADIR",
        "PatientBirthDate": da(patient.birth_date),
        "PatientSex": patient.sex,
        "PatientAge": _age(patient.birth_date, spec.study_date),
        "PatientSize": "1.72",
        "PatientWeight": "74",
        "StudyInstanceUID": uids.study_instance_uid,
        "StudyDate": da(spec.study_date),
        "StudyTime": tm(spec.study_time),
        "ReferringPhysicianName": spec.referring_physician_name,
        "StudyID": spec.study_id,
        "AccessionNumber": spec.accession_number,
        "StudyDescription": spec.study_description,
    }


def equipment_attributes(spec: StudySpec) -> dict[str, object]:
    """General Equipment module (C.7.5.1)."""
    return {
        "Manufacturer": spec.manufacturer,
        "InstitutionName": spec.institution_name,
        "StationName": spec.station_name,
        "ManufacturerModelName": spec.manufacturer_model_name,
        "DeviceSerialNumber": "SYN-0001",
        "SoftwareVersions": "nadir-synthetic 1",
    }


def series_attributes(
    spec: StudySpec, series: SeriesSpec, uids: StudyUIDs, modality: str
) -> dict[str, object]:
    """General Series module (C.7.3.1); SR Document Series shares its keywords."""
    when = series_datetime(spec, series)
    return {
        "Modality": modality,
        "SeriesInstanceUID": uids.series_uid(series.key),
        "SeriesNumber": series.series_number,
        "SeriesDate": da(when),
        "SeriesTime": tm(when),
        "SeriesDescription": series.description,
        "ProtocolName": series.protocol_name,
        "BodyPartExamined": series.body_part,
    }
