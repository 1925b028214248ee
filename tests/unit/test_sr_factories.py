"""Factories for the imaging.sr tests: CT headers, lesions, timepoint reports, dciodvfy.

The CT images are made here (``tests.factories.tiny_ct_series``); the SR writer only
needs their header UIDs. The tests at the end check the factories themselves.
"""

from __future__ import annotations

import datetime
import shutil
import subprocess
from io import BytesIO
from pathlib import Path

import pydicom
import pytest
from pydicom import Dataset
from pydicom.uid import generate_uid

from imaging.dicomfile import part10_bytes
from imaging.sr import (
    Criteria,
    LesionKind,
    LesionStatus,
    LinearMeasurement,
    PatientInfo,
    SignOff,
    SourceImage,
    StudyInfo,
    TimepointReport,
    TimepointResponse,
    scoord_from_row_col,
)
from tests.factories import tiny_ct_series

DCIODVFY = shutil.which("dciodvfy") or "/usr/bin/dciodvfy"
PATIENT = PatientInfo(patient_id="NADIR-SR-1", name="Dupont^Marie", sex="F",
                      birth_date=datetime.date(1961, 4, 12))


def ct_study(
    n: int = 4, *, study_date: str = "20260105", patient_id: str = PATIENT.patient_id
) -> list[Dataset]:
    """A small CT series of one new study (8x8 pixels; only the headers matter here)."""
    images = tiny_ct_series(n, patient_id=patient_id, study_date=study_date,
                            study_uid=generate_uid())
    for ds in images:  # type 2 attributes of the Patient and General Study modules
        ds.PatientName, ds.PatientBirthDate, ds.PatientSex = PATIENT.name, "19610412", "F"
        ds.StudyTime, ds.StudyID, ds.AccessionNumber = "093000", "1", "ACC1"
        ds.ReferringPhysicianName = "Ref^Doc"
    return images


def study_info(images: list[Dataset], date: datetime.date) -> StudyInfo:
    return StudyInfo(study_instance_uid=images[0].StudyInstanceUID, date=date,
                     time=datetime.time(9, 30), accession_number="ACC1",
                     study_id="1", referring_physician_name="Ref^Doc")


def source_of(image: Dataset, frame: int | None = None) -> SourceImage:
    return SourceImage(sop_class_uid=image.SOPClassUID, sop_instance_uid=image.SOPInstanceUID,
                       study_instance_uid=image.StudyInstanceUID,
                       series_instance_uid=image.SeriesInstanceUID, frame=frame)


def caliper(
    tracking_uid: str, tracking_id: str, image: Dataset, endpoints_rc: list[tuple[float, float]],
    length_mm: float, **extra: object,
) -> LinearMeasurement:
    """A measured lesion from Nadir's (row, column) endpoints."""
    return LinearMeasurement(
        tracking_uid=tracking_uid, tracking_id=tracking_id, length_mm=length_mm,
        source=source_of(image), polyline=scoord_from_row_col(endpoints_rc),
        **extra,  # type: ignore[arg-type]
    )


def timepoint_report(
    images: list[Dataset], measurements: list[LinearMeasurement], *, timepoint_id: str,
    date: datetime.date, response: TimepointResponse | None = None,
    observer_names: tuple[str, ...] = ("Martin^Paul",), signed_by: str | None = "Martin^Paul",
    **extra: object,
) -> TimepointReport:
    """A report written at 16:45:12.25 on ``date``; signed off 5 minutes earlier by
    ``signed_by`` (``None``: not signed off)."""
    when = datetime.datetime.combine(date, datetime.time(16, 45, 12, 250000))
    sign_off = None if signed_by is None else SignOff(
        observer_name=signed_by, organization="Hopital Nord",
        signed_at=when - datetime.timedelta(minutes=5))
    return TimepointReport(
        patient=PATIENT, study=study_info(images, date), timepoint_id=timepoint_id,
        measurements=tuple(measurements), observer_names=observer_names,
        content_datetime=when, series_number=901, response=response, sign_off=sign_off,
        **extra,  # type: ignore[arg-type]
    )


def follow_up_response() -> TimepointResponse:
    return TimepointResponse(criteria=Criteria.RECIST_1_1, overall="PR", target="PR",
                             non_target="NON_CR_NON_PD")


def to_bytes(ds: Dataset) -> bytes:
    return part10_bytes(ds)


def reread(ds: Dataset) -> Dataset:
    """The dataset as a receiver sees it: written as a PS3.10 file and parsed again."""
    return pydicom.dcmread(BytesIO(to_bytes(ds)))


def dciodvfy(ds: Dataset, tmp_path: Path) -> list[str]:
    """dciodvfy's report lines for ``ds``; skips the test when dicom3tools is absent."""
    if not Path(DCIODVFY).exists():
        pytest.skip("dciodvfy (Debian package dicom3tools) is not installed")
    path = tmp_path / "object.dcm"
    ds.save_as(path, enforce_file_format=True)
    run = subprocess.run([DCIODVFY, str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]


def test_ct_study_is_one_study_of_the_patient() -> None:
    images = ct_study(3)
    assert len({ds.StudyInstanceUID for ds in images}) == 1
    assert {ds.PatientID for ds in images} == {PATIENT.patient_id}


def test_timepoint_report_factory_builds_a_valid_report() -> None:
    images = ct_study(2)
    report = timepoint_report(
        images,
        [caliper(generate_uid(), "T1", images[0], [(1, 2), (3, 4)], 2.8),
         LinearMeasurement(tracking_uid=generate_uid(), tracking_id="NT1", length_mm=None,
                           source=None, polyline=None, lesion_kind=LesionKind.NON_TARGET,
                           status=LesionStatus.PRESENT)],
        timepoint_id="BL", date=datetime.date(2026, 1, 5))
    assert report.study.study_instance_uid == images[0].StudyInstanceUID
    assert len(report.measurements) == 2
