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
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType
from typing import TypeAlias, TypeVar

from measurement.errors import (
    InvalidEvaluationInput,
    invalid,
    lesion_subject,
    marker_subject,
    quote,
    shown,
    timepoint_subject,
)
from measurement.markers import Marker

# RECIST 1.1 section 4.3.2: a lesion "too small to measure" is recorded with a
# default value of 5 mm.
TOO_SMALL_MM = Decimal(5)
# Nadir contract, plausibility bounds rather than RECIST rules: no lesion diameter is
# over a metre, and none but 0 (disappeared) is under a hundredth of a millimetre, far
# below any scanner's resolution. Outside them a number is a typing or unit error, and
# the exact arithmetic would break: a 1e-300 mm baseline makes a change of 1e305 %.
MAX_LESION_MM = Decimal(1000)
MIN_LESION_MM = Decimal("0.01")


class Criteria(StrEnum):
    """Which guideline turns measurements into responses."""

    RECIST_1_1 = "RECIST1.1"
    IRECIST = "iRECIST"


class TargetStatus(StrEnum):
    """A target-lesion reading that is not a number of mm (RECIST 1.1 section 4.3.2)."""

    TOO_SMALL = "too_small"  # present but too small to measure: counts 5 mm
    NOT_EVALUABLE = "not_evaluable"  # the lesion could not be assessed at this timepoint


class NonTargetStatus(StrEnum):
    """State of a non-target lesion at one timepoint (RECIST 1.1 section 4.3.3).

    ``unequivocal_further_increase``: the lesion is in unequivocal progression and has
    grown further since the previous assessment. For RECIST 1.1 it is progression like
    ``unequivocal_progression``; iRECIST needs the difference to confirm an iUPD caused
    by non-target disease (Seymour et al. 2017, Table 2: "a further increase in the size
    of non-target disease", which "does not need to meet RECIST 1.1 criteria for
    unequivocal progression" again; EORTC iRECIST FAQ "If iUPD is driven by non-target
    disease ...": "further increase from last assessment"). ``unequivocal_progression``
    at the confirming scan, for a lesion already so at iUPD, is "no change" there.
    """

    PRESENT = "present"
    ABSENT = "absent"
    UNEQUIVOCAL_PROGRESSION = "unequivocal_progression"
    UNEQUIVOCAL_FURTHER_INCREASE = "unequivocal_further_increase"
    NOT_EVALUATED = "not_evaluated"


class NewLesionStatus(StrEnum):
    """A new lesion followed by status rather than length (iRECIST new-lesion non-target).

    iRECIST (Seymour et al. 2017, "New lesions" and Table 2) measures at most five new
    lesions (two per organ) as new-lesion targets; the others are new-lesion non-targets,
    followed like RECIST 1.1 non-target lesions. ``increased``: the lesion has grown since
    the previous assessment; after an iUPD "any increase for new lesion non-target"
    confirms iCPD (Table 2; EORTC iRECIST FAQ "How do new lesions define progression?":
    "any increase if non target", which "does not need to be unequivocal").
    ``absent``: the lesion is no longer seen (as 0 mm). A new lesion given a status, not a
    length, at the timepoint it first counts is a new-lesion non-target (Nadir contract).
    """

    PRESENT = "present"
    INCREASED = "increased"
    ABSENT = "absent"


# Non-target statuses that are RECIST 1.1 unequivocal progression (section 4.3.3).
PROGRESSING_NON_TARGET = frozenset({NonTargetStatus.UNEQUIVOCAL_PROGRESSION,
                                    NonTargetStatus.UNEQUIVOCAL_FURTHER_INCREASE})


TargetReading: TypeAlias = Decimal | TargetStatus
# A new lesion's reading: a length, a target status, or a new-lesion non-target status.
NewLesionReading: TypeAlias = Decimal | TargetStatus | NewLesionStatus


def mm(value: Decimal | int | float | str) -> Decimal:
    """Exact millimetres from a number as stored elsewhere.

    Floats go through their shortest ``repr`` so that 32.1 stays ``Decimal("32.1")``
    rather than its binary expansion. Booleans, NaN, infinities and negative values
    are refused with :class:`InvalidEvaluationInput`.
    """
    if isinstance(value, bool):
        raise InvalidEvaluationInput(f"must be a number of mm, got {quote(value)}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidEvaluationInput(f"must be a finite number of mm, got {value!r}")
        value = repr(value)
    try:
        result = Decimal(value)
    except ArithmeticError as exc:
        raise InvalidEvaluationInput(f"must be a number of mm, got {quote(value)}") from exc
    if not result.is_finite() or result < 0:
        raise InvalidEvaluationInput(f"must be a finite number of mm >= 0, got {value}")
    # -0.0 is a valid zero, not a negative size; keep the sign out of sums and output.
    return result.copy_abs() if result.is_zero() else result


def reading_mm(reading: NewLesionReading | None) -> Decimal | None:
    """Size a reading stands for in sums, or ``None`` when the lesion was not evaluated.

    RECIST 1.1 section 4.3.2: "too small to measure" counts 5 mm; a missing reading or
    ``not_evaluable`` leaves the lesion unevaluated (section 4.4.2). A new-lesion
    non-target status is no length either (``absent`` is resolved, see
    :mod:`measurement.new_lesions`).
    """
    if type(reading) is Decimal:
        return reading
    return TOO_SMALL_MM if reading is TargetStatus.TOO_SMALL else None


def baseline_mm(reading: TargetReading) -> Decimal:
    """Size of a target at baseline: a number > 0 mm, as :class:`EvaluationInput` guarantees."""
    if type(reading) is not Decimal:  # unreachable for a valid EvaluationInput
        raise InvalidEvaluationInput("a target lesion needs a baseline measurement in mm")
    return reading


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
        if isinstance(reading, kinds) or (
            type(reading) is Decimal and reading.is_finite()
            and MIN_LESION_MM <= reading <= MAX_LESION_MM
        ):
            checked[timepoint_id] = reading  # already exact and valid: the common case
            continue
        checked[timepoint_id] = _size(reading, subject, f"{field_name}[{quote(timepoint_id)}]",
                                      choices, lesion_id=lesion_id, timepoint_id=timepoint_id)
    return MappingProxyType(checked)


def _size(reading: object, subject: str, where: str, choices: str, *, lesion_id: str,
          timepoint_id: str) -> Decimal:
    def refused(problem: str) -> InvalidEvaluationInput:
        return invalid(subject, where, f"{problem}, got {shown(reading)}",
                       lesion_id=lesion_id, timepoint_id=timepoint_id)

    if isinstance(reading, bool | StrEnum) or not isinstance(
            reading, Decimal | int | float | str):
        raise refused(f"must be {choices}")
    try:
        size = mm(reading)
    except InvalidEvaluationInput:
        raise refused(f"must be a finite number of mm from 0 to {MAX_LESION_MM}") from None
    if size > MAX_LESION_MM:
        raise refused(f"must be at most {MAX_LESION_MM} mm (a metre)")
    if 0 < size < MIN_LESION_MM:
        raise refused(f"must be 0 (disappeared) or at least {MIN_LESION_MM} mm")
    return size


@dataclass(frozen=True, kw_only=True)
class TargetLesion:
    """A measurable lesion chosen at baseline (RECIST 1.1 sections 4.2, 4.3.1).

    ``measurements`` maps a timepoint id to the long axis in mm (the short axis when
    ``nodal``), or to a :class:`TargetStatus`. A timepoint missing from the mapping was
    not evaluated there.
    """

    id: str
    measurements: Mapping[str, TargetReading]
    organ: str = ""
    nodal: bool = False

    def __post_init__(self) -> None:
        _check_lesion_header(self.id, self.organ, self.nodal)
        object.__setattr__(
            self, "measurements", _frozen_readings(self.id, self.measurements, "measurements",
                                                   (TargetStatus,), _TARGET_CHOICES))


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
    # RECIST 1.1 section 4.2: target lesions are chosen among the measurable lesions at
    # baseline (section 3.1.1) and all measured there; their sum is the reference for PR
    # (section 4.3.1). A lesion too small to measure, not evaluable or absent (0 mm) at
    # baseline is not measurable, so it cannot be a target lesion.
    reading = lesion.measurements.get(baseline_id)
    where = f"measurements[{quote(baseline_id)}]"
    problem = None
    if reading is None:
        problem = "a target lesion needs a baseline measurement"
    elif isinstance(reading, TargetStatus):
        problem = (f"a target lesion cannot be {reading.value} at baseline: it must be "
                   "measurable (RECIST 1.1 sections 3.1.1, 4.2)")
    elif reading == 0:
        problem = "a target lesion cannot measure 0 mm (disappeared) at baseline"
    if problem is not None:
        raise invalid(lesion_subject(lesion.id), where, problem,
                      lesion_id=lesion.id, timepoint_id=baseline_id)


def _check_non_target_baseline(lesion: NonTargetLesion, baseline_id: str) -> None:
    # RECIST 1.1 section 4.2: non-target lesions are the other sites of disease recorded
    # at baseline, noted there as "present"; section 4.3.3 then follows them from there.
    status = lesion.assessments.get(baseline_id)
    if status is not NonTargetStatus.PRESENT:
        got = "no baseline assessment" if status is None else f"got {quote(status.value)}"
        raise invalid(lesion_subject(lesion.id), f"assessments[{quote(baseline_id)}]",
                      f'a non-target lesion must be "present" at baseline, {got}',
                      lesion_id=lesion.id, timepoint_id=baseline_id)


def _check_new_lesion(lesion: NewLesion, order: Mapping[str, int]) -> None:
    subject = lesion_subject(lesion.id)
    first = order.get(lesion.timepoint_id)
    if first is None:
        raise invalid(subject, "timepoint", f"unknown timepoint {quote(lesion.timepoint_id)}",
                      lesion_id=lesion.id, timepoint_id=lesion.timepoint_id)
    if first == 0:
        # RECIST 1.1 section 4.3.5: a new lesion is one not present at baseline.
        raise invalid(subject, "timepoint", "a new lesion cannot be first seen at baseline",
                      lesion_id=lesion.id, timepoint_id=lesion.timepoint_id)
    if lesion.confirmed_at is not None:
        confirmed = order.get(lesion.confirmed_at)
        if confirmed is None:
            raise invalid(subject, "confirmed_at",
                          f"unknown timepoint {quote(lesion.confirmed_at)}",
                          lesion_id=lesion.id, timepoint_id=lesion.confirmed_at)
        if confirmed < first:
            raise invalid(subject, "confirmed_at",
                          f"{quote(lesion.confirmed_at)} is before the first sighting "
                          f"{quote(lesion.timepoint_id)}",
                          lesion_id=lesion.id, timepoint_id=lesion.confirmed_at)
    _check_known(lesion.id, "measurements", lesion.measurements, order)
    for timepoint_id, reading in lesion.measurements.items():
        if order[timepoint_id] < first:
            raise invalid(subject, f"measurements[{quote(timepoint_id)}]",
                          f"measured before the first sighting {quote(lesion.timepoint_id)}",
                          lesion_id=lesion.id, timepoint_id=timepoint_id)
        if order[timepoint_id] == first:
            _check_first_sighting_reading(lesion, timepoint_id, reading)


def _check_first_sighting_reading(lesion: NewLesion, timepoint_id: str,
                                  reading: NewLesionReading) -> None:
    # RECIST 1.1 section 4.3.5: a new lesion is one found on the scan; 0 mm or "absent"
    # there would be a lesion that is not seen. iRECIST Table 2: "increased" compares
    # with an earlier assessment of the lesion, and at its first sighting there is none.
    problem = None
    if reading == 0:
        problem = "a new lesion cannot measure 0 mm (disappeared) at its first sighting"
    elif reading is NewLesionStatus.ABSENT:
        problem = 'a new lesion cannot be "absent" at its first sighting'

    elif reading is NewLesionStatus.INCREASED:
        problem = ('a new lesion cannot be "increased" at its first sighting: there is '
                   "nothing earlier to compare with (iRECIST Table 2)")
    if problem is not None:
        raise invalid(lesion_subject(lesion.id), f"measurements[{quote(timepoint_id)}]",
                      problem, lesion_id=lesion.id, timepoint_id=timepoint_id)
