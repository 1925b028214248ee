"""A share's de-identified copy, made by a real Orthanc (PS3.15 Annex E, Basic Profile with
Retain Longitudinal Temporal Information with Modified Dates and Retain Patient
Characteristics): no byte of the copy carries an original identifying value, UID or date;
the intervals between studies are kept; references across studies stay coherent;
``dciodvfy`` finds no error the original did not have; removing the copy leaves the
original."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pydicom import Dataset, dcmread
from pydicom.data import get_testdata_file

from pacs.deid_profile import DateShift
from pacs.share_copy import ShareCopier, ShareCopy
from synthetic.demo import DEMO_PATIENT
from synthetic.spec import SeriesKind, SeriesSpec, StudySpec
from synthetic.study import generate_study
from tests.factories import to_bytes

PATIENT_NAME = "Secretname^Yolanda"
PATIENT_ID = "MRN-7731-SECRET"
BIRTH_DATE = dt.date(1950, 3, 12)
IDENTIFYING = {
    "PatientName": PATIENT_NAME, "PatientID": PATIENT_ID,
    "OtherPatientIDs": "OTHERID-55123",
    "InstitutionName": "Saint Hidden Infirmary",
    "InstitutionAddress": "12 Quiet Lane, Nowhere",
    "ReferringPhysicianName": "Referrer^Quentin",
    "PerformingPhysicianName": "Performer^Xavier",
    "OperatorsName": "Operator^Zelda",
    "StationName": "HIDDENSTATION7",
}
PRIVATE_VALUE = "PRIVATE-VENDOR-SECRET-991"
SHIFT = DateShift(1000)
PSEUDONYM = "NADIR-SHARE-TEST-0001"


def _spec(date: dt.date, accession: str) -> StudySpec:
    series = (
        SeriesSpec(key="scout", kind=SeriesKind.LOCALIZER, series_number=1,
                   description="Scout", contrast=False),
        SeriesSpec(key="soft", kind=SeriesKind.AXIAL, series_number=3,
                   description="Chest 5.0 Soft", slice_count=3),
        SeriesSpec(key="dose_screen", kind=SeriesKind.DOSE_SCREEN, series_number=998,
                   description="Patient Protocol", contrast=False),
        SeriesSpec(key="dose_report", kind=SeriesKind.DOSE_REPORT, series_number=999,
                   description="Dose Report", contrast=False),
    )
    return StudySpec(patient=DEMO_PATIENT, study_date=date, study_time=dt.time(9, 30, 0),
                     accession_number=accession, study_id="77", lesions=(), series=series,
                     study_description="CT Chest for Secretname",
                     matrix=32, scan_length_mm=10.0)


def _identify(ds: Dataset) -> Dataset:
    """Put the identifying values this test hunts for into an object."""
    for keyword, value in IDENTIFYING.items():
        setattr(ds, keyword, value)
    ds.PatientBirthDate = BIRTH_DATE.strftime("%Y%m%d")
    ds.PatientSex, ds.PatientAge, ds.PatientWeight, ds.PatientSize = "F", "073Y", 61, 1.62
    block = ds.private_block(0x0009, "NADIR TEST VENDOR", create=True)
    block.add_new(0x01, "LO", PRIVATE_VALUE)
    return ds


def _sources() -> list[list[Dataset]]:
    """Three studies of one patient: two synthetic timepoints 84 days apart (the later one
    referring to an image of the earlier), and pydicom's CT_small."""
    baseline = [_identify(ds) for ds in generate_study(_spec(dt.date(2024, 1, 15), "ACCBL0001"))]
    followup = [_identify(ds) for ds in generate_study(_spec(dt.date(2024, 4, 8), "ACCFU0002"),
                                                       seed=2)]
    target = next(ds for ds in baseline if ds.Modality == "CT" and ds.SeriesNumber == 3)
    for ds in followup:
        if ds.Modality == "CT" and ds.SeriesNumber == 3:
            ref = Dataset()
            ref.ReferencedSOPClassUID = target.SOPClassUID
            ref.ReferencedSOPInstanceUID = target.SOPInstanceUID
            ds.ReferencedImageSequence = [ref]
            ds.AcquisitionDateTime = "20240408093512.25"
    small = _identify(dcmread(get_testdata_file("CT_small.dcm")))
    small.AccessionNumber = "ACCSMALL03"
    return [baseline, followup, [small]]


def _strings(ds: Dataset) -> tuple[set[str], set[str]]:
    """Every non-standard UID and every date (DA, and DT's date) an object carries."""
    uids: set[str] = set()
    dates: set[str] = set()
    for element in ds.iterall():
        if element.VR == "UI" and element.value:
            values = element.value if element.VM > 1 else [element.value]
            uids |= {str(v) for v in values if not str(v).startswith("1.2.840.10008.")}
        elif element.VR in ("DA", "DT") and element.value:
            values = element.value if element.VM > 1 else [element.value]
            dates |= {str(v)[:8] for v in values}
    return uids, dates


@pytest.fixture
def shared(orthanc: Any) -> dict[str, Any]:
    studies = _sources()
    with orthanc.client() as client:
        study_ids = []
        for datasets in studies:
            stored = [client.store(to_bytes(ds)) for ds in datasets]
            study_ids.append(stored[0].parent_study)
        copy = ShareCopier(client).copy(study_ids, PSEUDONYM, SHIFT)
        files = _copy_files(client, copy)
    originals = {str(ds.SOPInstanceUID): ds for datasets in studies for ds in datasets}
    return {"studies": studies, "copy": copy, "files": files, "originals": originals,
            "study_ids": study_ids}


def _copy_files(client: Any, copy: ShareCopy) -> list[bytes]:
    assert copy.orthanc_patient is not None
    files = []
    for study in client.resources("studies"):
        if study["ParentPatient"] == copy.orthanc_patient:
            for series in study["Series"]:
                files += [client.instance_file(i["ID"]) for i in client.series_instances(series)]
    return files


def test_no_byte_of_the_copy_carries_an_original_identifier_uid_or_date(
        shared: dict[str, Any]) -> None:
    identifying: set[str] = {*IDENTIFYING.values(), PRIVATE_VALUE, "ACCBL0001", "ACCFU0002",
                             "ACCSMALL03", DEMO_PATIENT.patient_id, "Demo^Dana"}
    uids: set[str] = set()
    dates: set[str] = {BIRTH_DATE.strftime("%Y%m%d")}
    for datasets in shared["studies"]:
        for ds in datasets:
            found_uids, found_dates = _strings(ds)
            uids |= found_uids
            dates |= found_dates
    # The synthetic images carry 3 UIDs of their own plus the study's; CT_small more.
    assert len(uids) > 20 and len(dates) >= 3
    files: list[bytes] = shared["files"]
    # 2 synthetic timepoints x (scout 2 + soft 3) + CT_small; SC and SR series left out.
    assert len(files) == 11
    for data in files:
        leaks = sorted(v for v in identifying | uids | dates if v.encode() in data)
        assert not leaks, f"{leaks} in a shared instance"


def test_the_copy_is_a_pseudonymous_patient_with_characteristics_kept(
        shared: dict[str, Any]) -> None:
    for data in shared["files"]:
        ds = dcmread(BytesIO(data))
        assert ds.PatientName == PSEUDONYM and ds.PatientID == PSEUDONYM
        assert (ds.PatientSex, ds.PatientAge) == ("F", "073Y")
        assert float(ds.PatientWeight) == 61 and float(ds.PatientSize) == pytest.approx(1.62)
        assert "PatientBirthDate" not in ds or not ds.PatientBirthDate
        assert not any(e.tag.is_private for e in ds.iterall())
        assert ds.PatientIdentityRemoved == "YES"
        assert ds.LongitudinalTemporalInformationModified == "MODIFIED"
        codes = {c.CodeValue for c in ds.DeidentificationMethodCodeSequence}
        assert codes == {"113100", "113107", "113108"}
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID


def test_every_date_moves_by_the_one_offset_so_intervals_are_kept(
        shared: dict[str, Any]) -> None:
    copy: ShareCopy = shared["copy"]
    back = {new: old for old in copy.uids.originals if (new := copy.uids.get(old))}
    seen = 0
    for data in shared["files"]:
        ds = dcmread(BytesIO(data))
        original = shared["originals"][back[str(ds.SOPInstanceUID)]]
        for keyword in ("StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate",
                        "InstanceCreationDate"):
            if original.get(keyword):
                old = dt.datetime.strptime(original.get(keyword), "%Y%m%d").date()
                assert ds.get(keyword) == SHIFT.date(old).strftime("%Y%m%d"), keyword
                seen += 1
        for keyword in ("StudyTime", "SeriesTime", "ContentTime"):
            if original.get(keyword):
                assert ds.get(keyword) == original.get(keyword), keyword
        if original.get("AcquisitionDateTime"):
            assert ds.AcquisitionDateTime == "20210713093512.25"  # 2024-04-08 - 1000 days
    assert seen >= 11 * 2
    dates = {}
    for data in shared["files"]:
        ds = dcmread(BytesIO(data))
        dates[str(ds.StudyInstanceUID)] = dt.datetime.strptime(ds.StudyDate, "%Y%m%d").date()
    baseline, followup = (dates[s.copy_uid] for s in copy.studies[:2])
    assert (followup - baseline).days == 84  # 2024-01-15 to 2024-04-08, as in the original


def test_uids_are_replaced_consistently_across_the_studies_of_a_share(
        shared: dict[str, Any]) -> None:
    copy: ShareCopy = shared["copy"]
    baseline, followup, _ = shared["studies"]
    target = next(ds for ds in baseline if ds.Modality == "CT" and ds.SeriesNumber == 3)
    by_uid = {str(d.SOPInstanceUID): d for d in map(dcmread, map(BytesIO, shared["files"]))}
    assert str(copy.uids.get(str(target.SOPInstanceUID))) in by_uid
    referring = [d for d in by_uid.values()
                 if d.StudyInstanceUID == copy.studies[1].copy_uid and "ReferencedImageSequence"
                 in d and d.SeriesNumber == 3]
    assert len(referring) == 3
    for ds in referring:
        assert ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID \
            == copy.uids.get(str(target.SOPInstanceUID))
    for original in (ds for datasets in shared["studies"] for ds in datasets):
        new_sop = copy.uids.get(str(original.SOPInstanceUID))
        if new_sop in by_uid:
            ds = by_uid[new_sop]
            assert ds.StudyInstanceUID == copy.uids.get(str(original.StudyInstanceUID))
            assert ds.SeriesInstanceUID == copy.uids.get(str(original.SeriesInstanceUID))
            if "FrameOfReferenceUID" in original:
                assert ds.FrameOfReferenceUID == copy.uids.get(str(original.FrameOfReferenceUID))
    assert [s.instances for s in copy.studies] == [5, 5, 1]


def test_series_that_may_show_text_are_left_out_with_the_reason(
        shared: dict[str, Any]) -> None:
    copy: ShareCopy = shared["copy"]
    reasons = {(s.series_number, s.reason.split(":")[0].split(" (")[0]) for s in copy.left_out}
    assert reasons == {(998, "burned-in annotation"), (999, "not an image")}
    assert len(copy.left_out) == 4  # two per synthetic study


def test_dciodvfy_finds_no_error_the_original_did_not_have(
        shared: dict[str, Any], tmp_path: Path) -> None:
    if shutil.which("dciodvfy") is None:
        pytest.skip("dciodvfy (dicom3tools) is not installed: bash scripts/setup.sh dev")
    copy: ShareCopy = shared["copy"]
    back = {new: old for old in copy.uids.originals if (new := copy.uids.get(old))}
    for data in shared["files"]:
        ds = dcmread(BytesIO(data))
        original = shared["originals"][back[str(ds.SOPInstanceUID)]]
        before = _dciodvfy_errors(to_bytes(original), tmp_path / "original.dcm")
        after = _dciodvfy_errors(data, tmp_path / "copy.dcm")
        assert after <= before, f"new errors: {sorted(after - before)}"


def _dciodvfy_errors(data: bytes, path: Path) -> set[str]:
    path.write_bytes(data)
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return {ln for ln in (out.stdout + out.stderr).splitlines() if ln.startswith("Error")}


def test_removing_the_copy_leaves_the_original(orthanc: Any, shared: dict[str, Any]) -> None:
    copy: ShareCopy = shared["copy"]
    assert copy.orthanc_patient is not None
    with orthanc.client() as client:
        before = client.statistics()["CountInstances"]
        ShareCopier(client).remove(copy.orthanc_patient)
        ShareCopier(client).remove(copy.orthanc_patient)  # twice: gone already is fine
        assert client.statistics()["CountInstances"] == before - len(shared["files"])
        for study_id in shared["study_ids"]:
            assert client.study(study_id)["ParentPatient"] != copy.orthanc_patient
