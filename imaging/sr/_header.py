"""DICOM header pieces shared by the SR and Encapsulated PDF writers.

Dates and times are formatted here from values passed in: nothing reads a clock. An aware
datetime also sets Timezone Offset From UTC (PS3.3 C.12.1.1.8) so the local DA/TM values
can be placed in time.
"""

from __future__ import annotations

import datetime

from pydicom import Dataset
from pydicom.sequence import Sequence as DicomSequence

from imaging.sr.model import DocumentReference, PatientInfo, StudyInfo

# UTF-8 (PS3.3 C.12.1.1.2): patient and observer names are not limited to ASCII.
SPECIFIC_CHARACTER_SET = "ISO_IR 192"


def da(value: datetime.date | None) -> str:
    """DA value (YYYYMMDD), or "" for an absent type 2 value."""
    return "" if value is None else value.strftime("%Y%m%d")


def tm(value: datetime.time | datetime.datetime | None) -> str:
    """TM value (HHMMSS.FFFFFF without trailing zeros in the fraction), or ""."""
    if value is None:
        return ""
    text = value.strftime("%H%M%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text


def dt(value: datetime.datetime) -> str:
    """DT value (YYYYMMDDHHMMSS[.F][&ZZXX]) of a naive or aware datetime."""
    text = value.strftime("%Y%m%d") + tm(value)
    offset = timezone_offset(value)
    return text if offset is None else text + offset


def timezone_offset(value: datetime.datetime) -> str | None:
    """"+HHMM"/"-HHMM" of an aware datetime (PS3.5 6.2 DT/SH), None for a naive one."""
    delta = value.utcoffset()
    if delta is None:
        return None
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{mins:02d}"


def apply_patient_and_study(ds: Dataset, patient: PatientInfo, study: StudyInfo) -> None:
    """Patient (PS3.3 C.7.1.1) and General Study (C.7.2.1) attributes."""
    ds.PatientName = patient.name
    ds.PatientID = patient.patient_id
    ds.PatientBirthDate = da(patient.birth_date)
    ds.PatientSex = patient.sex
    ds.StudyInstanceUID = study.study_instance_uid
    ds.StudyDate = da(study.date)
    ds.StudyTime = tm(study.time)
    ds.ReferringPhysicianName = study.referring_physician_name
    ds.StudyID = study.study_id
    ds.AccessionNumber = study.accession_number


def hierarchical_reference(doc: DocumentReference) -> Dataset:
    """One item of the Hierarchical SOP Instance Reference Macro (PS3.3 Table C.17-3)."""
    instance = Dataset()
    instance.ReferencedSOPClassUID = doc.sop_class_uid
    instance.ReferencedSOPInstanceUID = doc.sop_instance_uid
    series = Dataset()
    series.SeriesInstanceUID = doc.series_instance_uid
    series.ReferencedSOPSequence = DicomSequence([instance])
    item = Dataset()
    item.StudyInstanceUID = doc.study_instance_uid
    item.ReferencedSeriesSequence = DicomSequence([series])
    return item
