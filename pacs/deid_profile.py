"""What a share's de-identification asks of Orthanc, instance by instance (PS3.15 Annex E).

Orthanc applies the Basic Application Level Confidentiality Profile itself (its table
E.1-1 of DICOM 2021b: identifying attributes removed or emptied, private tags removed);
this module computes the two things Orthanc cannot do for a share of several studies:

- **one UID map per share**: every UID of an instance, at any depth (study, series,
  instance, frame of reference, references inside sequences), is replaced by the share's
  own new UID for it, so references across the share's studies stay coherent. Orthanc
  maps UIDs per call, so two studies anonymized apart would disagree.
- **one date offset per share** (option *Retain Longitudinal Temporal Information with
  Modified Dates*, PS3.15 E.3.6): every date (DA, and the date of a DT) is moved by the
  same whole number of days, so the intervals between timepoints, on which RECIST 1.1
  (Eisenhauer 2009, s4.3.3: minimum SD duration, confirmation intervals) and iRECIST
  (Seymour 2017: iCPD confirmation 4-8 weeks) depend, are kept to the day. A whole-day
  offset leaves times of day unchanged, so times (TM) are kept as they were.

Both become ``Replace`` entries of Orthanc's ``/instances/{id}/anonymize``, addressed by
tag paths, so Orthanc's profile removes everything else first and no sequence it removes
is brought back (Orthanc 1.10 drops a replacement inside a removed sequence).

Pure: no I/O. Errors are :class:`DeidentificationError`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from io import BytesIO

from pydicom import Dataset, dcmread
from pydicom.dataelem import DataElement
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import generate_uid

from pacs.errors import PacsError

#: The profile version Orthanc applies (its newest: Orthanc 1.9.4 to 1.11 know 2021b).
DICOM_VERSION = "2021b"
#: Option *Retain Patient Characteristics* (PS3.15 E.3.8), as far as reading needs them.
PATIENT_CHARACTERISTICS = ("PatientSex", "PatientAge", "PatientSize", "PatientWeight")
#: Dates left to the profile (removed), not moved: the birth date identifies; the age,
#: kept, is what the reading needs.
_NOT_MOVED = frozenset({0x00100030, 0x00100032})  # PatientBirthDate, PatientBirthTime
#: UIDs the standard defines (SOP classes, transfer syntaxes, coding schemes, well-known
#: frames of reference) identify nothing and must stay as they are (PS3.5 9, Annex B).
_STANDARD_ROOT = "1.2.840.10008."
#: Offsets, in days back: at least a year, so that a shifted date never falls on another
#: timepoint's real date of a course of treatment; at most about twenty years.
MIN_OFFSET_DAYS = 366
MAX_OFFSET_DAYS = 7300

#: PS3.16 CID 7050 (De-identification Method): the profile and the options applied.
PROFILE_CODES = (
    ("113100", "Basic Application Confidentiality Profile"),
    ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    ("113108", "Retain Patient Characteristics Option"),
)

# SOP classes whose content the profile's options do not clean (PS3.4 Annex B, B.5).
_SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
_ENCAPSULATED_DOCUMENT = "1.2.840.10008.5.1.4.1.1.104."


class DeidentificationError(PacsError):
    """A share's copy could not be made as the profile requires."""


@dataclass(frozen=True)
class DateShift:
    """Every date of a share moves ``-days`` days (into the past)."""

    days: int

    def __post_init__(self) -> None:
        if not MIN_OFFSET_DAYS <= self.days <= MAX_OFFSET_DAYS:
            raise DeidentificationError(
                f"days must be within {MIN_OFFSET_DAYS}-{MAX_OFFSET_DAYS}, got {self.days}")

    @classmethod
    def random(cls) -> DateShift:
        return cls(MIN_OFFSET_DAYS + secrets.randbelow(MAX_OFFSET_DAYS - MIN_OFFSET_DAYS + 1))

    def date(self, value: dt.date) -> dt.date:
        return value - dt.timedelta(days=self.days)

    def da(self, value: str) -> str:
        """A DA value (PS3.5 6.2, YYYYMMDD, one or several) moved; '' when unreadable."""
        moved = [self._day(v.strip()) for v in value.split("\\")]
        return "" if None in moved else "\\".join(m for m in moved if m is not None)

    def dt(self, value: str) -> str:
        """A DT value moved by its date (YYYYMMDD...); time and offset kept. '' when the
        value has no full date (a year-only DT cannot be moved by days)."""
        moved = []
        for v in value.split("\\"):
            day = self._day(v.strip()[:8])
            if day is None:
                return ""
            moved.append(day + v.strip()[8:])
        return "\\".join(moved)

    def _day(self, text: str) -> str | None:
        if not text:
            return ""
        try:
            return self.date(dt.datetime.strptime(text, "%Y%m%d").date()).strftime("%Y%m%d")
        except ValueError:
            return None


@dataclass
class UidMap:
    """A new UID for every UID of a share, the same one wherever the old one appears."""

    _new: dict[str, str] = field(default_factory=dict)

    def __call__(self, uid: str) -> str:
        uid = uid.strip().rstrip("\x00")
        if not uid or uid.startswith(_STANDARD_ROOT):
            return uid
        new = self._new.get(uid)
        if new is None:
            new = self._new[uid] = str(generate_uid(prefix=None))  # 2.25.<UUID> (PS3.5 B.2)
        return new

    def get(self, uid: str) -> str | None:
        """The new UID of ``uid``, if the share has one."""
        return self._new.get(uid)

    @property
    def originals(self) -> frozenset[str]:
        return frozenset(self._new)


def exclusion(header: Dataset) -> str | None:
    """Why an instance (and so its series) stays out of a share; None if it may go in.

    The profile cleans attributes, not pixels or structured text: an image with burned-in
    annotation, a secondary capture or an encapsulated document may show names in its
    pixels or pages (PS3.15 E.3.1, Clean Pixel Data, is not applied), and an object without
    pixels (SR, presentation state) keeps free text the basic profile does not clean."""
    sop_class = str(header.get("SOPClassUID", ""))
    if str(header.get("BurnedInAnnotation", "")).strip().upper() == "YES":
        return "burned-in annotation (BurnedInAnnotation YES): text in the pixels"
    if sop_class == _SECONDARY_CAPTURE or sop_class.startswith(_SECONDARY_CAPTURE + "."):
        return "secondary capture: its pixels may show text"
    if sop_class.startswith(_ENCAPSULATED_DOCUMENT):
        return "encapsulated document: its pages may show text"
    if "PixelData" not in header and "FloatPixelData" not in header \
            and "DoubleFloatPixelData" not in header:
        return f"not an image (SOP class {sop_class or 'unknown'}): its text is not cleaned"
    return None


def replacements(header: Dataset, pseudonym: str, shift: DateShift,
                 uids: UidMap) -> dict[str, str]:
    """The ``Replace`` entries of one instance's anonymization: the pseudonym, and every
    UID, date and time it carries (public attributes at any depth) by tag path."""
    replace = {"PatientName": pseudonym, "PatientID": pseudonym}
    for path, element in _public_elements(header):
        if element.tag in _NOT_MOVED or element.value is None or element.VM == 0:
            continue
        value = str(element.value) if element.VM == 1 else "\\".join(map(str, element.value))
        if element.VR == "UI":
            replace[path] = "\\".join(uids(v) for v in value.split("\\"))
        elif element.VR == "DA":
            replace[path] = shift.da(value)
        elif element.VR == "DT":
            replace[path] = shift.dt(value)
        elif element.VR == "TM":
            replace[path] = value  # a whole-day offset leaves the time of day as it was
    return replace


def _public_elements(ds: Dataset, prefix: str = "") -> Iterator[tuple[str, DataElement]]:
    """(Orthanc tag path, element) of every public element, sequences walked (the private
    ones are removed whole: KeepPrivateTags is off)."""
    for element in ds:
        if element.tag.is_private:
            continue
        path = f"{prefix}{element.tag.group:04x},{element.tag.element:04x}"
        if element.VR == "SQ" and isinstance(element.value, DicomSequence):
            for index, item in enumerate(element.value):
                yield from _public_elements(item, f"{path}[{index}].")
        else:
            yield path, element


def anonymize_request(header: Dataset, pseudonym: str, shift: DateShift,
                      uids: UidMap) -> dict[str, object]:
    """The body of Orthanc's ``POST /instances/{id}/anonymize`` for one instance."""
    return {
        "DicomVersion": DICOM_VERSION,
        "KeepPrivateTags": False,
        "Keep": list(PATIENT_CHARACTERISTICS),
        "Replace": replacements(header, pseudonym, shift, uids),
        "Force": True,  # needed to replace UIDs
    }


def mark_deidentified(data: bytes) -> bytes:
    """The anonymized file with the record of what was done (PS3.15 E.1.1 and C.7.1.1,
    PS3.3 C.12.1 Longitudinal Temporal Information Modified), checked for private tags."""
    ds = dcmread(BytesIO(data))
    if any(element.tag.is_private for element in ds.iterall()):
        raise DeidentificationError("a private tag survived the anonymization")
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = f"Orthanc PS 3.15-{DICOM_VERSION} E.1-1; Nadir share"
    codes = DicomSequence()
    for value, meaning in PROFILE_CODES:
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = value, "DCM", meaning
        codes.append(code)
    ds.DeidentificationMethodCodeSequence = codes
    ds.LongitudinalTemporalInformationModified = "MODIFIED"
    out = BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()
