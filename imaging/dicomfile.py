"""Checks that a byte string is a complete DICOM Part 10 file before anything stores it."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from io import BytesIO

from pydicom import Dataset, dcmread
from pydicom.errors import InvalidDicomError
from pydicom.uid import UID

from imaging.errors import ImagingError


class InvalidDicomFile(ImagingError):
    """The bytes are not a usable DICOM Part 10 file; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class InstanceIdentity:
    sop_class_uid: str
    sop_instance_uid: str
    series_instance_uid: str
    study_instance_uid: str
    patient_id: str


def inspect_part10(data: bytes) -> InstanceIdentity:
    """Parse a Part 10 file (PS3.10 7.1) fully and check it is whole.

    A file cut short inside the pixel data parses "successfully" with pydicom, so the length
    of native Pixel Data is checked against Rows x Columns x Samples x Bits x Frames
    (PS3.5 8.1.1), and encapsulated Pixel Data must end with its sequence delimiter.
    """
    if len(data) < 132 or data[128:132] != b"DICM":
        raise InvalidDicomFile("not a DICOM Part 10 file (no 'DICM' prefix at byte 128)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = dcmread(BytesIO(data))
            elements = list(ds.keys())
    except (InvalidDicomError, EOFError, ValueError, KeyError, OSError, TypeError) as exc:
        raise InvalidDicomFile(f"unreadable DICOM ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # pydicom raises assorted errors on damaged data
        raise InvalidDicomFile(f"unreadable DICOM ({type(exc).__name__})") from None
    if not elements:
        raise InvalidDicomFile("DICOM file has no data set")
    identity: dict[str, str] = {}
    for keyword in ("SOPClassUID", "SOPInstanceUID", "SeriesInstanceUID", "StudyInstanceUID"):
        value = str(ds.get(keyword, "") or "").strip()
        if not value:
            raise InvalidDicomFile(f"missing {keyword}")
        identity[keyword] = value
    if "PixelData" in ds:
        _check_pixel_data_length(ds, data)
    return InstanceIdentity(
        sop_class_uid=identity["SOPClassUID"],
        sop_instance_uid=identity["SOPInstanceUID"],
        series_instance_uid=identity["SeriesInstanceUID"],
        study_instance_uid=identity["StudyInstanceUID"],
        patient_id=str(ds.get("PatientID", "") or ""),
    )


def _check_pixel_data_length(ds: Dataset, data: bytes) -> None:
    syntax = UID(str(ds.file_meta.get("TransferSyntaxUID", "")))
    raw = ds["PixelData"].value
    if syntax.is_encapsulated:
        # PS3.5 A.4: encapsulated pixel data ends with a Sequence Delimitation Item.
        if b"\xfe\xff\xdd\xe0\x00\x00\x00\x00" not in data[-64:]:
            raise InvalidDicomFile("truncated encapsulated Pixel Data (no sequence delimiter)")
        return
    try:
        rows, cols = int(ds.Rows), int(ds.Columns)
        bits = int(ds.BitsAllocated)
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
    except (AttributeError, TypeError, ValueError):
        raise InvalidDicomFile("Pixel Data without usable Rows/Columns/BitsAllocated") from None
    expected_bits = rows * cols * samples * frames * bits
    expected = (expected_bits + 7) // 8
    if len(raw) < expected:
        raise InvalidDicomFile(
            f"truncated Pixel Data: {len(raw)} bytes, expected {expected}"
        )


def part10_bytes(ds: Dataset) -> bytes:
    """A dataset as a DICOM Part 10 file (PS3.10 7.1), preamble and file meta included."""
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
