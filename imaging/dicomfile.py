"""Checks that a byte string is a complete DICOM Part 10 file before anything stores it."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from io import BytesIO

import numpy as np
from pydicom import Dataset, dcmread
from pydicom.dataelem import RawDataElement
from pydicom.errors import InvalidDicomError
from pydicom.pixels.utils import get_expected_length
from pydicom.tag import BaseTag
from pydicom.uid import UID

from imaging.errors import ImagingError

#: PS3.4 Table B.5-1: Media Storage Directory Storage, the SOP class of a DICOMDIR.
MEDIA_DIRECTORY = "1.2.840.10008.1.3.10"
UNDEFINED_LENGTH = 0xFFFFFFFF
PIXEL_DATA = 0x7FE00010
TRAILING_PADDING = 0xFFFCFFFC


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
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            ds = dcmread(BytesIO(data))
            elements = list(ds.keys())
    except (InvalidDicomError, EOFError, ValueError, KeyError, OSError, TypeError) as exc:
        raise InvalidDicomFile(f"unreadable DICOM ({type(exc).__name__}: {exc})") from None
    except Exception as exc:  # pydicom raises assorted errors on damaged data
        raise InvalidDicomFile(f"unreadable DICOM ({type(exc).__name__})") from None
    if any("before delimiter" in str(w.message) for w in said):
        raise InvalidDicomFile("truncated: the file ends inside an element of undefined "
                               "length, before its delimiter (PS3.5 7.5)")
    media_class = str(getattr(ds, "file_meta", {}).get("MediaStorageSOPClassUID", ""))
    if media_class == MEDIA_DIRECTORY:
        raise InvalidDicomFile(
            "a DICOMDIR is a media directory (PS3.10 8.6) that lists images but holds none: "
            "send the image files it lists (for example the whole folder as a zip)")
    if not elements:
        raise InvalidDicomFile("DICOM file has no data set")
    _check_declared_lengths(ds)
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


def _check_declared_lengths(ds: Dataset, depth: int = 0) -> None:
    """Every element holds the bytes it declares (PS3.5 7.1): pydicom reads an element that
    runs past the end of the file without complaint, keeping what is there."""
    for tag in list(ds.keys()):
        raw = ds._dict.get(tag)
        if isinstance(raw, RawDataElement) and raw.length != UNDEFINED_LENGTH \
                and isinstance(raw.value, bytes) and len(raw.value) < raw.length:
            raise InvalidDicomFile(
                f"truncated: element {tag} declares {raw.length:,} bytes but the file holds "
                f"{len(raw.value):,}")
        if depth < 8 and raw is not None and raw.VR == "SQ":
            try:
                items = ds[tag].value
            except Exception:  # pydicom raises assorted errors on damaged sequences
                raise InvalidDicomFile(f"unreadable sequence {tag}") from None
            for item in items:
                _check_declared_lengths(item, depth + 1)


def _check_pixel_data_length(ds: Dataset, data: bytes) -> None:
    syntax = UID(str(ds.file_meta.get("TransferSyntaxUID", "")))
    raw = ds["PixelData"].value
    if not isinstance(raw, bytes | bytearray):
        raise InvalidDicomFile("Pixel Data has no value")
    if syntax.is_encapsulated:
        _check_encapsulated(bytes(raw), ds)
        return
    try:
        # pydicom's own rule (PS3.5 8.1.1 and PS3.3 C.7.6.3.1.2): YBR_FULL_422 holds two
        # samples per pixel, not three; bits packed for BitsAllocated 1.
        expected = int(get_expected_length(ds, unit="bytes"))
    except (AttributeError, TypeError, ValueError, KeyError):
        raise InvalidDicomFile("Pixel Data without usable Rows/Columns/BitsAllocated") from None
    if len(raw) < expected:
        raise InvalidDicomFile(
            f"truncated Pixel Data: {len(raw)} bytes, expected {expected}"
        )


_ITEM = b"\xfe\xff\x00\xe0"


def _check_encapsulated(value: bytes, ds: Dataset) -> None:
    """PS3.5 A.4: encapsulated Pixel Data is a sequence of items (the Basic Offset Table,
    then fragments), each of the length it declares. A file cut short leaves the last item
    shorter than declared; pydicom then reads to the end of the file without finding the
    Sequence Delimitation Item (padding such as (FFFC,FFFC) may follow it legitimately)."""
    offset, items = 0, 0
    while offset < len(value):
        if len(value) - offset < 8 or value[offset:offset + 4] != _ITEM:
            raise InvalidDicomFile(
                f"truncated encapsulated Pixel Data: no item tag at byte {offset}")
        length = int.from_bytes(value[offset + 4:offset + 8], "little")
        if offset + 8 + length > len(value):
            raise InvalidDicomFile(
                f"truncated encapsulated Pixel Data: item {items} declares {length} bytes, "
                f"{len(value) - offset - 8} remain")
        offset += 8 + length
        items += 1
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if items < 2 or items - 1 < min(frames, 1):
        raise InvalidDicomFile("encapsulated Pixel Data without any fragment")


def differing_attributes(first: bytes, second: bytes, *, limit: int = 10) -> list[str]:
    """The data-set attributes (keyword, or tag when private) whose values differ between
    two Part 10 files, file meta information left aside; empty when the content is the same.
    Used when a SOP Instance UID arrives again: the same content is a harmless resend,
    another content under the same UID is a conflict (PS3.3 C.12.1.1.1: one UID, one
    instance)."""
    if first == second:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, b = dcmread(BytesIO(first)), dcmread(BytesIO(second))
    differing: list[str] = []
    for tag in sorted(set(a.keys()) | set(b.keys())):
        # Encoding, not content: file meta, group lengths, trailing padding (PS3.5 7.2, 7.8).
        if tag.group == 0x0002 or tag.element == 0 or tag == TRAILING_PADDING:
            continue
        if a.get(tag) != b.get(tag) and not _same_pixels(a, b, tag):
            element = a.get(tag) or b.get(tag)
            differing.append(element.keyword or str(tag) if element is not None else str(tag))
            if len(differing) >= limit:
                break
    return differing


def _same_pixels(a: Dataset, b: Dataset, tag: BaseTag) -> bool:
    """One image in two transfer syntaxes (PS3.5 10: the syntax is the encoding, not the
    instance): the same when both decode to equal pixels (lossless re-encoding)."""
    if tag != PIXEL_DATA or a.file_meta.get("TransferSyntaxUID") == \
            b.file_meta.get("TransferSyntaxUID"):
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return bool(np.array_equal(a.pixel_array, b.pixel_array))
    except Exception:  # no decoder, or damaged data: not shown to be the same
        return False


def part10_bytes(ds: Dataset) -> bytes:
    """A dataset as a DICOM Part 10 file (PS3.10 7.1), preamble and file meta included."""
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
