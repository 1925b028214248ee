"""What a timepoint's DICOM documents say: frozen inputs of the writers, outputs of the readers.

Every type validates itself in ``__post_init__`` and raises
:class:`~imaging.sr.errors.InvalidDocumentInput` naming the argument and the value, so a
:class:`TimepointReport` that exists can always be written as a TID 1500 Measurement
Report (PS3.16) without further checks.

Coordinates. DICOM SCOORD Graphic Data lists (column, row) pairs in the image's sub-pixel
space, whose origin is the top-left corner of the top-left pixel: the image spans
[0, Columns] x [0, Rows] (PS3.3 C.18.6.1.1). Nadir's API gives caliper endpoints as
(row, column) in the same sub-pixel space (see ``api/routes/measurements.py``), so the
two differ only by the order of the pair: :func:`scoord_from_row_col` and
:func:`row_col_from_scoord` swap it, with no half-pixel shift.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from imaging.sr.errors import InvalidDocumentInput
from measurement import vocabulary
from measurement.vocabulary import Criteria, LesionKind, LesionStatus

__all__ = ["Criteria", "LesionKind", "LesionStatus"]  # re-exported: defined once, there

Point: TypeAlias = tuple[float, float]
"""One SCOORD point, (column, row), in sub-pixel image coordinates (PS3.3 C.18.6.1.1)."""

_MAX_UID = 64  # PS3.5 9.1: a UID is at most 64 characters
_MAX_LO = 64  # PS3.5 6.2: LO (Long String)
_MAX_SH = 16  # PS3.5 6.2: SH (Short String)
_MAX_IS = 2**31 - 1  # PS3.5 6.2: IS fits a signed 32-bit integer
_UID_PATTERN = re.compile(r"(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*")  # PS3.5 9.1 components
_PATIENT_SEXES = ("M", "F", "O", "")  # PS3.3 C.7.1.1 Patient's Sex; "" = unknown (type 2)


# Response codes as in measurement.result.Response: category responses always use the
# RECIST 1.1 codes; only the overall response has iRECIST categories.
TARGET_RESPONSES = frozenset({"CR", "PR", "SD", "PD", "NE", "NA"})
NON_TARGET_RESPONSES = frozenset({"CR", "NON_CR_NON_PD", "PD", "NE", "NA"})
OVERALL_RESPONSES = {
    Criteria.RECIST_1_1: frozenset({"CR", "PR", "SD", "PD", "NE", "NON_CR_NON_PD"}),
    Criteria.IRECIST: frozenset({"iCR", "iPR", "iSD", "iUPD", "iCPD", "NE", "NON_CR_NON_PD"}),
}


def scoord_from_row_col(points_rc: Iterable[Sequence[float]]) -> tuple[Point, ...]:
    """SCOORD (column, row) points from Nadir's (row, column) points; no shift needed."""
    return tuple((float(p[1]), float(p[0])) for p in points_rc)


def row_col_from_scoord(points: Iterable[Sequence[float]]) -> tuple[Point, ...]:
    """Nadir's (row, column) points from SCOORD (column, row) points."""
    return tuple((float(p[1]), float(p[0])) for p in points)


def _fail(field_name: str, problem: str) -> InvalidDocumentInput:
    return InvalidDocumentInput(field_name, problem)


def check_uid(field_name: str, value: object) -> None:
    """A DICOM UID: digits and dots, at most 64 characters (PS3.5 9.1)."""
    if not isinstance(value, str) or not value:
        raise _fail(field_name, f"must be a non-empty UID string, got {value!r}")
    if len(value) > _MAX_UID or not _UID_PATTERN.fullmatch(value):
        raise _fail(field_name, f"must be a valid DICOM UID (PS3.5 9.1), got {value!r}")


def check_text(field_name: str, value: object, *, max_len: int, required: bool) -> None:
    """A string without backslash (the DICOM value separator) of at most ``max_len``."""
    if not isinstance(value, str):
        raise _fail(field_name, f"must be a string, got {value!r}")
    if required and not value.strip():
        raise _fail(field_name, f"must not be empty, got {value!r}")
    if len(value) > max_len:
        raise _fail(field_name, f"must be at most {max_len} characters, got {len(value)}")
    if "\\" in value or any(ch in value for ch in "\r\n\f"):
        raise _fail(field_name, f"must not contain backslashes or line breaks, got {value!r}")


def check_person_name(field_name: str, value: object, *, required: bool) -> None:
    """A DICOM PN value, e.g. ``"Family^Given"`` (PS3.5 6.2.1)."""
    check_text(field_name, value, max_len=_MAX_LO, required=required)
    if isinstance(value, str) and value.count("^") > 4:
        raise _fail(field_name, f"has more than 5 name components, got {value!r}")


def check_positive_int(field_name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= _MAX_IS:
        raise _fail(field_name, f"must be an integer from 1 to {_MAX_IS}, got {value!r}")


def _check_datetime(field_name: str, value: object) -> None:
    if not isinstance(value, datetime.datetime):
        raise _fail(field_name, f"must be a datetime, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class PatientInfo:
    """Patient module attributes (PS3.3 C.7.1.1) copied into every object we write."""

    patient_id: str
    name: str
    birth_date: datetime.date | None = None
    sex: str = ""

    def __post_init__(self) -> None:
        check_text("patient.patient_id", self.patient_id, max_len=_MAX_LO, required=True)
        check_person_name("patient.name", self.name, required=False)
        if self.birth_date is not None and type(self.birth_date) is not datetime.date:
            raise _fail("patient.birth_date", f"must be a date, got {self.birth_date!r}")
        if self.sex not in _PATIENT_SEXES:
            raise _fail("patient.sex", f'must be one of "M", "F", "O" or "", got {self.sex!r}')


@dataclass(frozen=True, kw_only=True)
class StudyInfo:
    """General Study module attributes (PS3.3 C.7.2.1) of the study a document goes into."""

    study_instance_uid: str
    date: datetime.date | None = None
    time: datetime.time | None = None
    accession_number: str = ""
    study_id: str = ""
    referring_physician_name: str = ""

    def __post_init__(self) -> None:
        check_uid("study.study_instance_uid", self.study_instance_uid)
        if self.date is not None and type(self.date) is not datetime.date:
            raise _fail("study.date", f"must be a date, got {self.date!r}")
        if self.time is not None and not isinstance(self.time, datetime.time):
            raise _fail("study.time", f"must be a time, got {self.time!r}")
        check_text("study.accession_number", self.accession_number, max_len=_MAX_SH,
                   required=False)
        check_text("study.study_id", self.study_id, max_len=_MAX_SH, required=False)
        check_person_name("study.referring_physician_name", self.referring_physician_name,
                          required=False)


@dataclass(frozen=True, kw_only=True)
class SourceImage:
    """The image (and frame, for multi-frame objects) a caliper was drawn on.

    Only header facts are needed: the service has the pixels in Orthanc and never has
    to load them to write a report. ``frame`` is 1-based, ``None`` for single-frame
    images (PS3.3 C.10.4 Referenced Frame Number).
    """

    sop_class_uid: str
    sop_instance_uid: str
    study_instance_uid: str
    series_instance_uid: str
    frame: int | None = None

    def __post_init__(self) -> None:
        for name in ("sop_class_uid", "sop_instance_uid", "study_instance_uid",
                     "series_instance_uid"):
            check_uid(f"source.{name}", getattr(self, name))
        if self.frame is not None:
            check_positive_int("source.frame", self.frame)


@dataclass(frozen=True, kw_only=True)
class DocumentReference:
    """An earlier DICOM document, as the Hierarchical SOP Instance Reference Macro has it.

    Used for Predecessor Documents Sequence (PS3.3 C.17.2 SR Document General, C.24.2
    Encapsulated Document), which needs the study and series as well as the instance.
    """

    sop_class_uid: str
    sop_instance_uid: str
    study_instance_uid: str
    series_instance_uid: str

    def __post_init__(self) -> None:
        for name in ("sop_class_uid", "sop_instance_uid", "study_instance_uid",
                     "series_instance_uid"):
            check_uid(f"replaces.{name}", getattr(self, name))


def _check_points(name: str, given: Iterable[object]) -> tuple[Point, ...]:
    points: list[Point] = []
    for point in given:
        if not isinstance(point, (tuple, list)) or len(point) != 2:
            raise _fail(name, f"each point is (column, row), got {point!r}")
        col, row = point
        for v in (col, row):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise _fail(name, f"coordinates must be finite numbers, got {point!r}")
            if v < 0:
                raise _fail(name, f"coordinates must be >= 0 (PS3.3 C.18.6.1.1), got {point!r}")
        points.append((float(col), float(row)))
    return tuple(points)


def _check_polyline(label: str, polyline: object) -> tuple[Point, ...]:
    name = label if label.endswith("short_axis") else f"{label}.polyline"
    if not isinstance(polyline, (tuple, list)) or len(polyline) != 2:
        raise _fail(name, f"a caliper needs exactly 2 points, got {polyline!r}")
    points = _check_points(name, polyline)
    if points[0] == points[1]:
        raise _fail(name, f"the two points must differ, got {polyline!r}")
    return points


@dataclass(frozen=True, kw_only=True)
class Fragment:
    """One fragment of a lesion that split (RECIST 1.1 s4.3.2): its longest diameter, and
    the caliper (SCOORD (column, row) polyline) it was measured with on ``source``."""

    length_mm: float
    source: SourceImage
    polyline: tuple[Point, ...]

    def __post_init__(self) -> None:
        v = self.length_mm
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                or v <= 0:
            raise _fail("fragment.length_mm", f"must be a finite number > 0, got {v!r}")
        object.__setattr__(self, "length_mm", float(v))
        if not isinstance(self.source, SourceImage):
            raise _fail("fragment.source", f"must be a SourceImage, got {self.source!r}")
        object.__setattr__(self, "polyline", _check_polyline("fragment", self.polyline))

    @property
    def polyline_rc(self) -> tuple[Point, ...]:
        """The caliper endpoints as Nadir's (row, column) points."""
        return row_col_from_scoord(self.polyline)


@dataclass(frozen=True, kw_only=True)
class LinearMeasurement:
    """One lesion at one timepoint: its caliper and length, or a status, or both.

    ``tracking_uid`` and ``tracking_id`` identify the lesion across timepoints (TID 1501
    Tracking Unique Identifier and Tracking Identifier) and must be the same in every
    timepoint's report. ``polyline`` is in SCOORD (column, row) order; build it from
    Nadir's (row, column) endpoints with :func:`scoord_from_row_col`. A measured lesion
    has ``length_mm``, ``source`` and ``polyline``; a lesion with a ``status`` may lack
    them (a disappeared lesion has no caliper; a not-evaluable one has no length).

    RECIST 1.1 s4.3.2: a target lesion that split has ``fragments`` (two or more, each
    with its caliper) instead of a caliper, and ``length_mm`` their sum; one that coalesced
    has ``coalesced_into``, the Tracking UID of the lesion that carries the merged
    diameter, and no caliper nor length of its own.
    """

    tracking_uid: str
    tracking_id: str
    length_mm: float | None
    source: SourceImage | None
    polyline: tuple[Point, ...] | None
    finding_site: str | None = None
    lesion_kind: LesionKind = LesionKind.TARGET
    nodal: bool = False
    status: LesionStatus | None = None
    fragments: tuple[Fragment, ...] = ()
    coalesced_into: str | None = None

    @property
    def sources(self) -> tuple[SourceImage, ...]:
        """Every image the reading was measured on: its caliper's, or its fragments'."""
        if self.fragments:
            return tuple(f.source for f in self.fragments)
        return () if self.source is None else (self.source,)
    #: A bidirectional measurement: the short axis's own polyline (SCOORD order) and both
    #: diameters; ``polyline`` is then the long axis, ``length_mm`` the one that counts.
    short_axis: tuple[Point, ...] | None = None
    long_axis_mm: float | None = None
    short_axis_mm: float | None = None
    #: Where a lesion read by status lies on ``source``: one SCOORD (column, row) point.
    point: Point | None = None
    #: A new lesion's first sighting: the Study Instance UID of that timepoint.
    first_seen: str | None = None

    @property
    def polyline_rc(self) -> tuple[Point, ...] | None:
        """The caliper endpoints as Nadir's (row, column) points."""
        return None if self.polyline is None else row_col_from_scoord(self.polyline)

    def __post_init__(self) -> None:
        label = f"measurement {self.tracking_id!r}"
        check_uid(f"{label}.tracking_uid", self.tracking_uid)
        check_text(f"{label}.tracking_id", self.tracking_id, max_len=_MAX_LO, required=True)
        self._check_kind_and_status(label)
        if self.length_mm is not None:
            v = self.length_mm
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                    or v < 0:
                raise _fail(f"{label}.length_mm", f"must be a finite number >= 0, got {v!r}")
            object.__setattr__(self, "length_mm", float(v))
        if self.source is not None and not isinstance(self.source, SourceImage):
            raise _fail(f"{label}.source", f"must be a SourceImage, got {self.source!r}")
        if self.polyline is not None:
            object.__setattr__(self, "polyline", _check_polyline(label, self.polyline))
            if self.source is None:
                raise _fail(f"{label}.polyline", "a caliper needs the source image it is on")
        if self.finding_site is not None:
            check_text(f"{label}.finding_site", self.finding_site, max_len=_MAX_LO,
                       required=True)
        self._check_split_or_merged(label)
        self._check_completeness(label)
        self._check_axes(label)
        self._check_point(label)
        if self.first_seen is not None:
            check_uid(f"{label}.first_seen", self.first_seen)
            if self.lesion_kind is not LesionKind.NEW:
                raise _fail(f"{label}.first_seen", "only a new lesion has a first sighting "
                                                   "(RECIST 1.1 s4.3.5)")

    def _check_axes(self, label: str) -> None:
        for name in ("long_axis_mm", "short_axis_mm"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))
                                  or not math.isfinite(v) or v <= 0):
                raise _fail(f"{label}.{name}", f"must be a finite number > 0, got {v!r}")
        if self.short_axis is None:
            return
        object.__setattr__(self, "short_axis",
                           _check_polyline(f"{label}.short_axis", self.short_axis))
        if self.polyline is None or self.long_axis_mm is None or self.short_axis_mm is None:
            raise _fail(f"{label}.short_axis", "a short axis goes with the long axis "
                                               "(polyline) and both diameters")
        # RECIST 1.1 s.4.2: a node counts by its short axis, other lesions by the long one.
        counted = self.short_axis_mm if self.nodal else self.long_axis_mm
        if self.length_mm != counted:
            raise _fail(f"{label}.length_mm", f"must be the counted diameter {counted}, "
                                              f"got {self.length_mm}")

    def _check_point(self, label: str) -> None:
        if self.point is None:
            return
        (point,) = _check_points(f"{label}.point", (self.point,))
        object.__setattr__(self, "point", point)
        if self.source is None or self.polyline is not None:
            raise _fail(f"{label}.point", "a point needs its source image and no caliper")

    def _check_split_or_merged(self, label: str) -> None:
        if not isinstance(self.fragments, tuple) or not all(
                isinstance(f, Fragment) for f in self.fragments):
            raise _fail(f"{label}.fragments", f"must be a tuple of Fragment, got "
                                              f"{self.fragments!r}")
        if not self.fragments and self.coalesced_into is None:
            return
        if self.status is not None or self.polyline is not None or self.source is not None:
            raise _fail(label, "a split or coalesced lesion has no status and no caliper of "
                               "its own (RECIST 1.1 s4.3.2)")
        if self.lesion_kind is not LesionKind.TARGET or self.nodal:
            raise _fail(label, "only a non-nodal target lesion splits; only a target lesion "
                               "coalesces (RECIST 1.1 s4.3.2)")
        if self.coalesced_into is not None:
            check_uid(f"{label}.coalesced_into", self.coalesced_into)
            if self.fragments or self.length_mm is not None:
                raise _fail(label, "a coalesced lesion has no fragments and no length: the "
                                   "lesion it merged into carries the merged diameter")
            if self.coalesced_into == self.tracking_uid:
                raise _fail(f"{label}.coalesced_into", "a lesion cannot coalesce into itself")
            return
        if len(self.fragments) < 2:
            raise _fail(f"{label}.fragments", f"a split lesion has at least 2 fragments, "
                                              f"got {len(self.fragments)}")
        total = sum(f.length_mm for f in self.fragments)
        if self.length_mm is None or abs(self.length_mm - total) > 0.01:
            raise _fail(f"{label}.length_mm", f"must be the sum of the fragments, {total:g} "
                                              f"mm, got {self.length_mm!r}")

    def _check_kind_and_status(self, label: str) -> None:
        if not isinstance(self.lesion_kind, LesionKind):
            raise _fail(f"{label}.lesion_kind",
                        f"must be one of {[k.value for k in LesionKind]}, got {self.lesion_kind!r}")
        if not isinstance(self.nodal, bool):
            raise _fail(f"{label}.nodal", f"must be true or false, got {self.nodal!r}")
        if self.status is None:
            return
        if not isinstance(self.status, LesionStatus):
            raise _fail(f"{label}.status",
                        f"must be one of {[s.value for s in LesionStatus]}, got {self.status!r}")
        allowed = vocabulary.STATUSES_BY_KIND[self.lesion_kind]
        if self.status not in allowed:
            raise _fail(f"{label}.status", f"{self.status.value!r} is not a status of a "
                                           f"{self.lesion_kind.value} lesion; one of "
                                           f"{sorted(s.value for s in allowed)}")

    def _check_completeness(self, label: str) -> None:
        if self.fragments or self.coalesced_into is not None:
            return
        if self.status is None:
            if self.length_mm is None or self.polyline is None:
                raise _fail(label, "a measurement without a status needs length_mm, "
                                   "source and polyline")
            return
        if self.status is LesionStatus.NOT_EVALUABLE and self.length_mm is not None:
            raise _fail(f"{label}.length_mm", "a not_evaluable lesion has no length, "
                                              f"got {self.length_mm}")
        if self.status is LesionStatus.DISAPPEARED and self.length_mm not in (None, 0.0):
            raise _fail(f"{label}.length_mm", "a disappeared lesion measures 0 mm, "
                                              f"got {self.length_mm}")


@dataclass(frozen=True, kw_only=True)
class TimepointResponse:
    """Responses at a timepoint, with the codes of ``measurement.result.Response``."""

    criteria: Criteria
    overall: str
    target: str | None = None
    non_target: str | None = None
    best_overall: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.criteria, Criteria):
            raise _fail("response.criteria",
                        f"must be one of {[c.value for c in Criteria]}, got {self.criteria!r}")
        overall = OVERALL_RESPONSES[self.criteria]
        checks: tuple[tuple[str, str | None, frozenset[str]], ...] = (
            ("overall", self.overall, overall), ("target", self.target, TARGET_RESPONSES),
            ("non_target", self.non_target, NON_TARGET_RESPONSES),
            ("best_overall", self.best_overall, overall),
        )
        for name, value, allowed in checks:
            if value is None and name != "overall":
                continue
            if value not in allowed:
                raise _fail(f"response.{name}", f"must be one of {sorted(allowed)} under "
                                                f"{self.criteria.value}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class SignOff:
    """Who signed the timepoint off, for the SR's Verifying Observer (PS3.3 C.17.2)."""

    observer_name: str
    organization: str
    signed_at: datetime.datetime

    def __post_init__(self) -> None:
        check_person_name("sign_off.observer_name", self.observer_name, required=True)
        check_text("sign_off.organization", self.organization, max_len=_MAX_LO, required=True)
        _check_datetime("sign_off.signed_at", self.signed_at)


@dataclass(frozen=True, kw_only=True)
class TimepointReport:
    """Everything the TID 1500 Measurement Report of one timepoint says.

    A timepoint is one study: every measured image belongs to ``study`` and the report
    goes into that study as a new series. ``content_datetime`` is passed in (there is no
    clock here); it becomes Content Date/Time and Instance Creation Date/Time. When
    ``replaces`` is set the report names the earlier report it supersedes.

    ``observer_names`` are the people who made the measurements, as DICOM PNs, in the
    order they are written (Nadir puts the latest measurer first): each becomes one
    person Observer Context (PS3.16 TID 1001 row 1, TID 1002 1-n; TID 1003 Person
    Observer Name). ``sign_off`` names who verified the report: without it the report is
    written as PARTIAL, UNVERIFIED and PRELIMINARY (PS3.3 C.17.2).
    """

    patient: PatientInfo
    study: StudyInfo
    timepoint_id: str
    measurements: tuple[LinearMeasurement, ...]
    observer_names: tuple[str, ...]
    content_datetime: datetime.datetime
    series_number: int = 1
    instance_number: int = 1
    response: TimepointResponse | None = None
    sign_off: SignOff | None = None
    replaces: DocumentReference | None = None
    institution_name: str | None = field(default=None)

    def __post_init__(self) -> None:
        if not isinstance(self.patient, PatientInfo):
            raise _fail("patient", f"must be a PatientInfo, got {self.patient!r}")
        if not isinstance(self.study, StudyInfo):
            raise _fail("study", f"must be a StudyInfo, got {self.study!r}")
        check_text("timepoint_id", self.timepoint_id, max_len=_MAX_LO, required=True)
        object.__setattr__(self, "observer_names", self._checked_observer_names())
        _check_datetime("content_datetime", self.content_datetime)
        check_positive_int("series_number", self.series_number)
        check_positive_int("instance_number", self.instance_number)
        if self.institution_name is not None:
            check_text("institution_name", self.institution_name, max_len=_MAX_LO,
                       required=True)
        for name, kind in (("response", TimepointResponse), ("sign_off", SignOff),
                           ("replaces", DocumentReference)):
            value = getattr(self, name)
            if value is not None and not isinstance(value, kind):
                raise _fail(name, f"must be a {kind.__name__} or None, got {value!r}")
        object.__setattr__(self, "measurements", self._checked_measurements())

    def _checked_observer_names(self) -> tuple[str, ...]:
        names = self.observer_names
        # A bare string is a sequence too: refused, not split into one-letter observers.
        if not isinstance(names, (tuple, list)) or not names:
            raise _fail("observer_names", "must be a non-empty tuple of person names (PS3.16 "
                                          f"TID 1001 needs an observer), got {names!r}")
        for i, name in enumerate(names):
            check_person_name(f"observer_names[{i}]", name, required=True)
            if name in names[:i]:
                raise _fail(f"observer_names[{i}]", f"{name!r} is listed twice")
        return tuple(names)

    def _checked_measurements(self) -> tuple[LinearMeasurement, ...]:
        if not isinstance(self.measurements, (tuple, list)) or not self.measurements:
            raise _fail("measurements", "a Measurement Report needs at least one measurement "
                                        "(PS3.16 TID 1500 row 6)")
        seen_uids: set[str] = set()
        seen_ids: set[str] = set()
        for i, m in enumerate(self.measurements):
            if not isinstance(m, LinearMeasurement):
                raise _fail(f"measurements[{i}]", f"must be a LinearMeasurement, got {m!r}")
            if m.tracking_uid in seen_uids or m.tracking_id in seen_ids:
                raise _fail(f"measurements[{i}]", f"lesion {m.tracking_id!r} "
                                                  f"({m.tracking_uid}) appears twice")
            seen_uids.add(m.tracking_uid)
            seen_ids.add(m.tracking_id)
            study_uid = self.study.study_instance_uid
            for source in m.sources:
                if source.study_instance_uid != study_uid:
                    raise _fail(f"measurements[{i}].source", f"image {source.sop_instance_uid} "
                                f"belongs to study {source.study_instance_uid}, not to the "
                                f"timepoint's study {study_uid}")
        return tuple(self.measurements)
