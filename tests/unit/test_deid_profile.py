"""The share's de-identification plan (pure): one date offset, one UID map, what stays out."""

from __future__ import annotations

import pytest
from pydicom import Dataset
from pydicom.uid import CTImageStorage, SecondaryCaptureImageStorage

from pacs.deid_profile import (
    MAX_OFFSET_DAYS,
    MIN_OFFSET_DAYS,
    DateShift,
    DeidentificationError,
    UidMap,
    anonymize_request,
    exclusion,
)


@pytest.mark.parametrize("days", [0, MIN_OFFSET_DAYS - 1, MAX_OFFSET_DAYS + 1, -400])
def test_an_offset_outside_its_range_is_refused_by_name(days: int) -> None:
    with pytest.raises(DeidentificationError, match=f"days must be within .*got {days}"):
        DateShift(days)


def test_a_random_offset_is_within_range() -> None:
    for _ in range(50):
        assert MIN_OFFSET_DAYS <= DateShift.random().days <= MAX_OFFSET_DAYS


@pytest.mark.parametrize(("value", "moved"), [
    ("20240115", "20230114"),          # across a leap day: 366 days back
    ("20240115\\20240301", "20230114\\20230301"),
    ("", ""),
    ("2024.01.15", ""),                # ACR-NEMA style: unreadable, blanked, never kept
])
def test_da_values_move_by_the_offset(value: str, moved: str) -> None:
    assert DateShift(366).da(value) == moved


@pytest.mark.parametrize(("value", "moved"), [
    ("20240115093512.25+0100", "20230114093512.25+0100"),
    ("2024", ""),                      # a year cannot move by days: blanked
])
def test_dt_values_move_by_their_date(value: str, moved: str) -> None:
    assert DateShift(366).dt(value) == moved


def test_a_uid_maps_to_one_new_uid_and_standard_uids_stay() -> None:
    uids = UidMap()
    first = uids("1.2.3.4")
    assert first.startswith("2.25.") and uids("1.2.3.4") == first and uids("1.2.3.5") != first
    assert uids(CTImageStorage) == CTImageStorage
    assert uids.get("1.2.3.4") == first and uids.get("9.9") is None


def _image() -> Dataset:
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, "1.2.3.1"
    ds.StudyInstanceUID, ds.StudyDate, ds.StudyTime = "1.2.3.2", "20240115", "093000"
    ds.PatientBirthDate, ds.PatientName = "19500312", "Secret^Name"
    ref = Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = CTImageStorage, "1.2.3.9"
    ds.ReferencedImageSequence = [ref]
    block = ds.private_block(0x0009, "VENDOR", create=True)
    block.add_new(0x01, "UI", "1.2.3.77")
    ds.PixelData = b"\0\0"
    return ds


def test_the_request_replaces_every_uid_and_date_by_path_and_leaves_the_rest_to_orthanc() -> None:
    uids = UidMap()
    request = anonymize_request(_image(), "PSEUDO-1", DateShift(366), uids)
    replace = request["Replace"]
    assert isinstance(replace, dict)
    assert replace["PatientName"] == replace["PatientID"] == "PSEUDO-1"
    assert replace["0008,0018"] == uids("1.2.3.1")
    assert replace["0008,1140[0].0008,1155"] == uids("1.2.3.9")
    assert replace["0008,1140[0].0008,1150"] == CTImageStorage
    assert replace["0008,0020"] == "20230114" and replace["0008,0030"] == "093000"
    assert "0010,0030" not in replace  # the birth date is removed by the profile, not moved
    assert uids.get("1.2.3.77") is None and not any(k.startswith("0009") for k in replace)
    assert request["KeepPrivateTags"] is False and request["DicomVersion"] == "2021b"
    assert request["Keep"] == ["PatientSex", "PatientAge", "PatientSize", "PatientWeight"]


def test_what_may_show_text_stays_out_with_a_reason() -> None:
    image = _image()
    assert exclusion(image) is None
    image.BurnedInAnnotation = "YES"
    assert "burned-in annotation" in str(exclusion(image))
    capture = _image()
    capture.SOPClassUID = SecondaryCaptureImageStorage
    assert "secondary capture" in str(exclusion(capture))
    document = _image()
    document.SOPClassUID = "1.2.840.10008.5.1.4.1.1.104.1"
    assert "encapsulated document" in str(exclusion(document))
    report = _image()
    del report.PixelData
    report.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.22"
    assert "not an image" in str(exclusion(report))
