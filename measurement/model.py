"""Input types of the RECIST 1.1 / iRECIST engine: timepoints and lesions.

Every type is a frozen dataclass that validates itself in ``__post_init__``; an
:class:`EvaluationInput` that exists is structurally valid, so the engine never has
to re-check it. Sizes are :class:`~decimal.Decimal` millimetres so that the RECIST
boundaries (30 %, 20 %, 5 mm) are compared exactly, never with a float epsilon.

Source of the vocabulary: Eisenhauer et al., Eur J Cancer 2009;45:228-247 (RECIST 1.1),
sections 4.2-4.3; the request shape is the Nadir contract of
``POST /api/v1/recist/evaluate``.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType
from typing import TypeAlias, TypeVar

from measurement.errors import (
    invalid,
    lesion_subject,
    marker_subject,
    quote,
    timepoint_subject,
)
from measurement.markers import Marker
from measurement.readings import (
    MAX_LESION_MM,
    MIN_LESION_MM,
    PROGRESSING_NON_TARGET,
    TOO_SMALL_MM,
    CoalescedInto,
    Fragments,
    LesionKind,
    NewLesionReading,
    NewLesionStatus,
    NonTargetStatus,
    TargetReading,
    TargetStatus,
    baseline_mm,
    baseline_problem,
    before_first_sighting_problem,
    checked_size,
    coalescence_problem,
    confirmation_problem,
    first_sighting_problem,
    merged_diameter_problem,
    mm,
    new_lesion_timepoint_problem,
    reading_mm,
    split_problem,
)

# The reading types are defined in measurement.readings and used from here too.
__all__ = [
    "MAX_LESION_MM", "MIN_LESION_MM", "PROGRESSING_NON_TARGET", "TOO_SMALL_MM",
    "CoalescedInto", "Criteria", "EvaluationInput", "EvaluationOptions", "Fragments",
    "Lesion", "NewLesion", "NewLesionReading", "NewLesionStatus", "NonTargetLesion",
    "NonTargetStatus", "TargetLesion", "TargetReading", "TargetStatus", "Timepoint",
    "baseline_mm", "mm", "reading_mm",
]


class Criteria(StrEnum):
    """Which guideline turns measurements into responses."""

    RECIST_1_1 = "RECIST1.1"
    IRECIST = "iRECIST"


@dataclass(frozen=True)
class Timepoint:
    """One imaging assessment; the first timepoint of an evaluation is the baseline."""

    id: str
    date: datetime.date

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise invalid("timepoint", "id", f"must be a non-empty string, got {quote(self.id)}")
        if type(self.date) is not datetime.date:
            raise invalid(
                timepoint_subject(self.id),
                "date",
                f"must be a calendar date, got {self.date!r}",
                timepoint_id=self.id,
            )


def _check_lesion_header(lesion_id: object, organ: object, nodal: object) -> None:
    if not isinstance(lesion_id, str) or not lesion_id:
        raise invalid("lesion", "id", f"must be a non-empty string, got {quote(lesion_id)}")
    if not isinstance(organ, str):
        raise invalid(
            lesion_subject(lesion_id), "organ", f"must be a string, got {quote(organ)}",
            lesion_id=lesion_id,
        )
    if not isinstance(nodal, bool):
        raise invalid(
            lesion_subject(lesion_id), "nodal", f"must be true or false, got {quote(nodal)}",
            lesion_id=lesion_id,
        )


_R = TypeVar("_R", TargetReading, NewLesionReading)
# What each lesion kind accepts besides a number of mm (named in the refusal).
_TARGET_CHOICES = 'a number of mm, "too_small" or "not_evaluable"'
_NEW_LESION_CHOICES = ('a number of mm, "too_small", "not_evaluable", "present", '
                       '"increased" or "absent"')


def _frozen_readings(
    lesion_id: str, readings: Mapping[str, _R], field_name: str,
    kinds: tuple[type, ...], choices: str,
) -> Mapping[str, _R]:
    """Readings checked one by one: one of ``kinds`` (statuses), or exact mm: 0, or from
    :data:`MIN_LESION_MM` to :data:`MAX_LESION_MM`.

    0 mm is a lesion that has disappeared (RECIST 1.1 section 4.3.2); where it is allowed
    (never at baseline, nor at a new lesion's first sighting) is checked by
    :class:`EvaluationInput`, which knows the order of the timepoints.
    """
    subject = lesion_subject(lesion_id)
    if not isinstance(readings, Mapping):
        raise invalid(subject, field_name, f"must map timepoint ids to readings, got "
                      f"{readings!r}", lesion_id=lesion_id)
    checked: dict[str, _R] = {}
    for timepoint_id, reading in readings.items():
        if not isinstance(timepoint_id, str):
            raise invalid(subject, f"{field_name}[{quote(timepoint_id)}]",
                          "timepoint id must be a string", lesion_id=lesion_id)
        if (type(reading) is Decimal and reading.is_finite()
                and MIN_LESION_MM <= reading <= MAX_LESION_MM) or isinstance(reading, kinds):
            checked[timepoint_id] = reading  # already exact and valid: the common case
            continue
        checked[timepoint_id] = checked_size(
            reading, subject, f"{field_name}[{quote(timepoint_id)}]", choices,
            lesion_id=lesion_id, timepoint_id=timepoint_id)
    return MappingProxyType(checked)


@dataclass(frozen=True, kw_only=True)
class TargetLesion:
    """A measurable lesion chosen at baseline (RECIST 1.1 sections 4.2, 4.3.1).

    ``measurements`` maps a timepoint id to the long axis in mm (the short axis when
    ``nodal``), to a :class:`TargetStatus`, to the :class:`Fragments` of a lesion that
    split (not a node: RECIST 1.1 section 4.3.2 adds up fragments of "non-nodal
    lesions"), or to :class:`CoalescedInto` another target. A timepoint missing from the
    mapping was not evaluated there.
    """

    id: str
    measurements: Mapping[str, TargetReading]
    organ: str = ""
    nodal: bool = False

    def __post_init__(self) -> None:
        _check_lesion_header(self.id, self.organ, self.nodal)
        object.__setattr__(
            self, "measurements", _frozen_readings(
                self.id, self.measurements, "measurements",
                (TargetStatus, Fragments, CoalescedInto), _TARGET_CHOICES))
        problem = split_problem(self.nodal)
        for timepoint_id, reading in (self.measurements.items() if problem else ()):
            if problem and isinstance(reading, Fragments):
                raise invalid(lesion_subject(self.id), f"measurements[{quote(timepoint_id)}]",
                              problem, lesion_id=self.id, timepoint_id=timepoint_id)


@dataclass(frozen=True, kw_only=True)
class NonTargetLesion:
    """A lesion followed qualitatively (RECIST 1.1 section 4.3.3).

    A timepoint missing from ``assessments`` counts as not evaluated there.
    """

    id: str
    assessments: Mapping[str, NonTargetStatus]
    organ: str = ""
    nodal: bool = False

    def __post_init__(self) -> None:
        _check_lesion_header(self.id, self.organ, self.nodal)
        checked: dict[str, NonTargetStatus] = {}
        for timepoint_id, status in self.assessments.items():
            if not isinstance(status, NonTargetStatus):
                raise invalid(
                    lesion_subject(self.id), f"assessments[{quote(timepoint_id)}]",
                    f"must be one of {_choices(NonTargetStatus)}, got {quote(status)}",
                    lesion_id=self.id, timepoint_id=str(timepoint_id),
                )
            checked[timepoint_id] = status
        object.__setattr__(self, "assessments", MappingProxyType(checked))


@dataclass(frozen=True, kw_only=True)
class NewLesion:
    """A lesion absent at baseline (RECIST 1.1 section 4.3.5).

    ``timepoint_id`` is its first sighting. An ``equivocal`` lesion counts only once
    ``confirmed_at`` is set, and then from its first sighting. ``measurements`` are
    optional sizes in mm, used by iRECIST to follow growth of new lesions
    (Seymour et al. 2017, Table 2); 0 mm means the lesion has resolved. Instead of a
    size a timepoint may carry a :class:`NewLesionStatus` (``present``, ``increased``,
    ``absent``): the lesion is then followed as a new-lesion non-target.
    """

    id: str
    timepoint_id: str
    organ: str = ""
    nodal: bool = False
    equivocal: bool = False
    confirmed_at: str | None = None
    measurements: Mapping[str, NewLesionReading] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_lesion_header(self.id, self.organ, self.nodal)
        subject = lesion_subject(self.id)
        if not isinstance(self.timepoint_id, str) or not self.timepoint_id:
            raise invalid(subject, "timepoint", f"must be a timepoint id, got "
                          f"{quote(self.timepoint_id)}", lesion_id=self.id)
        if not isinstance(self.equivocal, bool):
            raise invalid(subject, "equivocal", f"must be true or false, got "
                          f"{quote(self.equivocal)}", lesion_id=self.id)
        if self.confirmed_at is not None and not isinstance(self.confirmed_at, str):
            raise invalid(subject, "confirmed_at", f"must be a timepoint id, got "
                          f"{quote(self.confirmed_at)}", lesion_id=self.id)
        object.__setattr__(
            self, "measurements", _frozen_readings(
                self.id, self.measurements, "measurements", (TargetStatus, NewLesionStatus),
                _NEW_LESION_CHOICES))

    @property
    def counts(self) -> bool:
        """Whether the lesion counts as new disease at all (Nadir contract; section 4.3.5)."""
        return not self.equivocal or self.confirmed_at is not None


Lesion: TypeAlias = TargetLesion | NonTargetLesion | NewLesion


@dataclass(frozen=True, kw_only=True)
class EvaluationOptions:
    """Trial-level parameters of the best-overall-response and confirmation rules.

    ``min_sd_duration_days``: SD must be met at least once this long after baseline
    (RECIST 1.1 section 4.4.3; the protocol sets it, Nadir default 42 days).
    ``min_confirmation_interval_days``: a confirming assessment is at least this long
    after the response it confirms (RECIST 1.1 section 4.6: no less than 4 weeks).
    ``min_icpd_confirmation_days``: an assessment closer than this to an iUPD can neither
    confirm nor reset it (iRECIST, Seymour et al. 2017: the confirming scan is 4-8 weeks
    after iUPD; EORTC iRECIST FAQ: earlier scans are disregarded; default 28 days).
    """

    confirmation_required: bool = False
    min_sd_duration_days: int = 42
    min_confirmation_interval_days: int = 28
    min_icpd_confirmation_days: int = 28

    def __post_init__(self) -> None:
        if not isinstance(self.confirmation_required, bool):
            raise invalid("request", "confirmation_required",
                          f"must be true or false, got {quote(self.confirmation_required)}")
        for name in ("min_sd_duration_days", "min_confirmation_interval_days",
                     "min_icpd_confirmation_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise invalid("request", name, f"must be an integer >= 0, got {quote(value)}")


@dataclass(frozen=True, kw_only=True)
class EvaluationInput:
    """Everything the engine needs: timepoints (baseline first), lesions and markers.

    Construction checks the cross-references listed in the Nadir contract: at least one
    timepoint and one lesion, unique ids, dates strictly increasing, readings only at
    known timepoints, every target measured (> 0 mm) and every non-target present at
    baseline, new lesions first seen after baseline, seen (not 0 mm) at their first
    sighting and never confirmed before it.
    """

    criteria: Criteria
    timepoints: Sequence[Timepoint]
    lesions: Sequence[Lesion]
    options: EvaluationOptions = field(default_factory=EvaluationOptions)
    markers: Sequence[Marker] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.criteria, Criteria):
            raise invalid("request", "criteria",
                          f"must be one of {_choices(Criteria)}, got {quote(self.criteria)}")
        if not isinstance(self.options, EvaluationOptions):
            raise invalid("request", "options", f"must be EvaluationOptions, got "
                          f"{self.options!r}")
        object.__setattr__(self, "timepoints", tuple(self.timepoints))
        object.__setattr__(self, "lesions", tuple(self.lesions))
        object.__setattr__(self, "markers", tuple(self.markers))
        _check_timepoints(self.timepoints)
        _check_lesions(self.lesions, self.timepoints)
        _check_markers(self.markers, self.timepoints)

    @property
    def baseline(self) -> Timepoint:
        return self.timepoints[0]

    # Computed once per (immutable) input; cached_property writes the instance __dict__
    # directly, which a frozen dataclass allows.
    @cached_property
    def targets(self) -> tuple[TargetLesion, ...]:
        return tuple(les for les in self.lesions if isinstance(les, TargetLesion))

    @cached_property
    def non_targets(self) -> tuple[NonTargetLesion, ...]:
        return tuple(les for les in self.lesions if isinstance(les, NonTargetLesion))

    @cached_property
    def new_lesions(self) -> tuple[NewLesion, ...]:
        return tuple(les for les in self.lesions if isinstance(les, NewLesion))


def _choices(enum: type[StrEnum]) -> str:
    return ", ".join(quote(member.value) for member in enum)


def _check_timepoints(timepoints: Sequence[Timepoint]) -> None:
    if not timepoints:
        raise invalid("request", "timepoints", "at least one timepoint (the baseline) is required")
    seen: set[str] = set()
    previous: Timepoint | None = None
    for tp in timepoints:
        if not isinstance(tp, Timepoint):
            raise invalid("request", "timepoints", f"must hold Timepoint objects, got {tp!r}")
        if tp.id in seen:
            raise invalid(timepoint_subject(tp.id), "id", "duplicate timepoint id",
                          timepoint_id=tp.id)
        seen.add(tp.id)
        if previous is not None and tp.date <= previous.date:
            raise invalid(
                timepoint_subject(tp.id), "date",
                f"{tp.date.isoformat()} is not after {quote(previous.id)} "
                f"({previous.date.isoformat()}); dates must be strictly increasing",
                timepoint_id=tp.id,
            )
        previous = tp


def _check_lesions(lesions: Sequence[Lesion], timepoints: Sequence[Timepoint]) -> None:
    if not lesions:
        raise invalid("request", "lesions", "at least one lesion is required")
    order = {tp.id: index for index, tp in enumerate(timepoints)}
    seen: set[str] = set()
    for lesion in lesions:
        if not isinstance(lesion, TargetLesion | NonTargetLesion | NewLesion):
            raise invalid("request", "lesions", f"must hold lesion objects, got {lesion!r}")
        if lesion.id in seen:
            raise invalid(lesion_subject(lesion.id), "id", "duplicate lesion id",
                          lesion_id=lesion.id)
        seen.add(lesion.id)
        if isinstance(lesion, TargetLesion):
            _check_known(lesion.id, "measurements", lesion.measurements, order)
            _check_target_baseline(lesion, timepoints[0].id)
        elif isinstance(lesion, NonTargetLesion):
            _check_known(lesion.id, "assessments", lesion.assessments, order)
            _check_non_target_baseline(lesion, timepoints[0].id)
        else:
            _check_new_lesion(lesion, order)
    _check_coalescence([les for les in lesions if isinstance(les, TargetLesion)])


def _check_markers(markers: Sequence[Marker], timepoints: Sequence[Timepoint]) -> None:
    known = {tp.id for tp in timepoints}
    seen: set[str] = set()
    for marker in markers:
        if not isinstance(marker, Marker):
            raise invalid("request", "markers", f"must hold Marker objects, got {marker!r}")
        if marker.id in seen:
            raise invalid(marker_subject(marker.id), "id", "duplicate marker id")
        seen.add(marker.id)
        for timepoint_id in marker.values:
            if timepoint_id not in known:
                raise invalid(marker_subject(marker.id), f"values[{quote(timepoint_id)}]",
                              "unknown timepoint", timepoint_id=timepoint_id)


def _check_known(lesion_id: str, field_name: str, keys: Mapping[str, object],
                 order: Mapping[str, int]) -> None:
    for timepoint_id in keys:
        if timepoint_id not in order:
            raise invalid(lesion_subject(lesion_id), f"{field_name}[{quote(timepoint_id)}]",
                          "unknown timepoint", lesion_id=lesion_id, timepoint_id=timepoint_id)


def _check_target_baseline(lesion: TargetLesion, baseline_id: str) -> None:
    problem = baseline_problem(LesionKind.TARGET, lesion.measurements.get(baseline_id))
    if problem is not None:
        raise invalid(lesion_subject(lesion.id), f"measurements[{quote(baseline_id)}]",
                      problem, lesion_id=lesion.id, timepoint_id=baseline_id)


def _check_non_target_baseline(lesion: NonTargetLesion, baseline_id: str) -> None:
    problem = baseline_problem(LesionKind.NON_TARGET, lesion.assessments.get(baseline_id))
    if problem is not None:
        raise invalid(lesion_subject(lesion.id), f"assessments[{quote(baseline_id)}]",
                      problem, lesion_id=lesion.id, timepoint_id=baseline_id)


def _check_new_lesion(lesion: NewLesion, order: Mapping[str, int]) -> None:
    subject = lesion_subject(lesion.id)
    ids = list(order)  # in date order, baseline first
    problem = new_lesion_timepoint_problem(ids, lesion.timepoint_id)
    if problem is not None:
        raise invalid(subject, "timepoint", problem,
                      lesion_id=lesion.id, timepoint_id=lesion.timepoint_id)
    if lesion.confirmed_at is not None:
        problem = confirmation_problem(ids, lesion.timepoint_id, lesion.confirmed_at)
        if problem is not None:
            raise invalid(subject, "confirmed_at", problem,
                          lesion_id=lesion.id, timepoint_id=lesion.confirmed_at)
    _check_known(lesion.id, "measurements", lesion.measurements, order)
    for timepoint_id, reading in lesion.measurements.items():
        problem = before_first_sighting_problem(ids, lesion.timepoint_id, timepoint_id)
        if problem is None and timepoint_id == lesion.timepoint_id:
            problem = first_sighting_problem(reading)
        if problem is not None:
            raise invalid(subject, f"measurements[{quote(timepoint_id)}]", problem,
                          lesion_id=lesion.id, timepoint_id=timepoint_id)


def _check_coalescence(targets: Sequence[TargetLesion]) -> None:
    """RECIST 1.1 section 4.3.2: the merged diameter is recorded on another target
    lesion, measured at the same timepoint (a length: the merged lesion is one lesion),
    of the same kind (a node's short axis and a long axis do not add up)."""
    by_id = {les.id: les for les in targets}
    for les in targets:
        for timepoint_id, reading in les.measurements.items():
            if type(reading) is not CoalescedInto:  # type(): this loop runs on every reading
                continue
            into = by_id.get(reading.lesion_id)
            problem = coalescence_problem(
                les.id, les.nodal, reading.lesion_id, into_is_target=into is not None,
                into_nodal=into is not None and into.nodal)
            if problem is None and into is not None:
                problem = merged_diameter_problem(into.id, timepoint_id,
                                                  into.measurements.get(timepoint_id))
            if problem is not None:
                raise invalid(lesion_subject(les.id),
                              f"measurements[{quote(timepoint_id)}].coalesced_into", problem,
                              lesion_id=les.id, timepoint_id=timepoint_id)
