"""What one reading of a lesion is, and the rules a single reading must keep.

The statuses a lesion may carry instead of a length, split and coalesced lesions, exact
millimetres, and the checks of one reading against where it was taken: at baseline
(RECIST 1.1 sections 3.1.1, 4.2), at a new lesion's first sighting (section 4.3.5;
iRECIST Table 2) and the confirmation of an equivocal new lesion (section 4.3.5). The
engine's :class:`~measurement.model.EvaluationInput` and the case service both call
these checks, so that a reading is refused for the same reason, in the same words,
wherever it is recorded. Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TypeAlias

from measurement.errors import InvalidEvaluationInput, invalid, quote, shown

_ZERO_MM = Decimal(0)


class LesionKind(StrEnum):
    """How a lesion is followed (RECIST 1.1 sections 3.1 and 4.3)."""

    TARGET = "target"
    NON_TARGET = "non_target"
    NEW = "new"


# RECIST 1.1 section 4.3.2: a lesion "too small to measure" is recorded with a
# default value of 5 mm.
TOO_SMALL_MM = Decimal(5)
# Nadir contract, plausibility bounds rather than RECIST rules: no lesion diameter is
# over a metre, and none but 0 (disappeared) is under a hundredth of a millimetre, far
# below any scanner's resolution. Outside them a number is a typing or unit error, and
# the exact arithmetic would break: a 1e-300 mm baseline makes a change of 1e305 %.
MAX_LESION_MM = Decimal(1000)
MIN_LESION_MM = Decimal("0.01")


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


@dataclass(frozen=True)
class Fragments:
    """A target lesion that has split, measured as its fragments (RECIST 1.1 s4.3.2).

    RECIST 1.1 section 4.3.2, lesions that split or coalesce on treatment: "when
    non-nodal lesions 'fragment', the longest diameters of the fragmented portions should
    be added together to calculate the target lesion sum". ``diameters_mm`` are the
    fragments' longest diameters: at least two, each within the bounds of a length.
    """

    diameters_mm: tuple[Decimal, ...]

    def __post_init__(self) -> None:
        raw = self.diameters_mm
        if not isinstance(raw, tuple | list) or len(raw) < 2:
            got = len(raw) if isinstance(raw, tuple | list) else shown(raw)
            raise InvalidEvaluationInput(
                f"fragments: must list the longest diameters of at least two fragments, "
                f"got {got}")
        sizes = tuple(_fragment_mm(position, value) for position, value in enumerate(raw))
        if sum(sizes, _ZERO_MM) > MAX_LESION_MM:
            # The lesion's diameter is the sum: the plausibility bound of a length holds.
            raise InvalidEvaluationInput(f"fragments: must add up to at most {MAX_LESION_MM} "
                                         f"mm (a metre), got {sum(sizes, _ZERO_MM)}")
        object.__setattr__(self, "diameters_mm", sizes)

    @property
    def total_mm(self) -> Decimal:
        """The lesion's diameter: the sum of its fragments' longest diameters."""
        return sum(self.diameters_mm, Decimal(0))


def _fragment_mm(position: int, value: object) -> Decimal:
    problem = f"must be a number of mm from {MIN_LESION_MM} to {MAX_LESION_MM}"
    size = None
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        try:
            size = mm(value)
        except InvalidEvaluationInput:
            size = None
    if size is None or not MIN_LESION_MM <= size <= MAX_LESION_MM:
        raise InvalidEvaluationInput(f"fragments[{position}]: {problem}, got {shown(value)}")
    return size


@dataclass(frozen=True)
class CoalescedInto:
    """A target lesion that has merged into another target (RECIST 1.1 section 4.3.2).

    "If the lesions have truly coalesced such that they are no longer separable, the
    vector of the longest diameter in this instance should be the maximal longest
    diameter for the 'coalesced lesion'": that diameter is recorded on ``lesion_id``;
    this lesion counts 0 mm in the sum. It has not disappeared: it is inside the other
    one, so neither its 0 mm nor its being measured apart again later is a response or a
    reappearance of its own (Nadir contract).
    """

    lesion_id: str

    def __post_init__(self) -> None:
        if not isinstance(self.lesion_id, str) or not self.lesion_id:
            raise InvalidEvaluationInput(f"coalesced_into: must be the id of a target "
                                         f"lesion, got {quote(self.lesion_id)}")


TargetReading: TypeAlias = Decimal | TargetStatus | Fragments | CoalescedInto
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


def reading_mm(reading: TargetReading | NewLesionReading | None) -> Decimal | None:
    """Size a reading stands for in sums, or ``None`` when the lesion was not evaluated.

    RECIST 1.1 section 4.3.2: "too small to measure" counts 5 mm; a split lesion the sum
    of its fragments; a lesion coalesced into another 0 mm (the other carries the merged
    diameter); a missing reading or ``not_evaluable`` leaves the lesion unevaluated
    (section 4.4.2). A new-lesion non-target status is no length either (``absent`` is
    resolved, see :mod:`measurement.new_lesions`).
    """
    if type(reading) is Decimal:
        return reading
    if isinstance(reading, Fragments):
        return reading.total_mm
    if isinstance(reading, CoalescedInto):
        return _ZERO_MM
    return TOO_SMALL_MM if reading is TargetStatus.TOO_SMALL else None


def baseline_mm(reading: TargetReading) -> Decimal:
    """Size of a target at baseline: a number > 0 mm, as :class:`EvaluationInput` guarantees."""
    if type(reading) is not Decimal:  # unreachable for a valid EvaluationInput
        raise InvalidEvaluationInput("a target lesion needs a baseline measurement in mm")
    return reading


def checked_size(reading: object, subject: str, where: str, choices: str, *,
                 lesion_id: str | None = None, timepoint_id: str | None = None) -> Decimal:
    """An exact length from 0 to :data:`MAX_LESION_MM` (0 or at least
    :data:`MIN_LESION_MM`), else :class:`InvalidEvaluationInput` naming ``subject`` and
    ``where`` and listing ``choices``."""
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




def stored_target_reading(status: str | None,
                          length_mm: float | None) -> Decimal | TargetStatus:
    """A target's reading from a stored status and length: ``too_small`` and
    ``not_evaluable`` as such, ``disappeared`` 0 mm (RECIST 1.1 section 4.3.2: "if the
    lesion has disappeared, the measurement should be recorded as 0 mm"), else the length
    in exact mm (none recorded: 0 mm)."""
    if status in _TARGET_STATUS_VALUES:
        return TargetStatus(status)
    if status is not None or length_mm is None:  # disappeared, or nothing measured
        return _ZERO_MM
    return mm(length_mm)


def stored_new_lesion_reading(status: str | None, length_mm: float | None) -> NewLesionReading:
    """A new lesion's reading: an iRECIST new-lesion non-target status, else as a target's."""
    if status in _NEW_LESION_STATUS_VALUES:
        return NewLesionStatus(status)
    return stored_target_reading(status, length_mm)


_TARGET_STATUS_VALUES = frozenset(status.value for status in TargetStatus)
_NEW_LESION_STATUS_VALUES = frozenset(status.value for status in NewLesionStatus)

AnyReading: TypeAlias = TargetReading | NewLesionReading | NonTargetStatus


def baseline_problem(kind: LesionKind, reading: AnyReading | None) -> str | None:
    """Why ``reading`` cannot be a lesion's baseline reading, or ``None`` if it can.

    RECIST 1.1 section 4.2: target lesions are chosen among the measurable lesions at
    baseline (section 3.1.1) and all measured there; their sum is the reference for PR
    (section 4.3.1). A lesion too small to measure, not evaluable or absent (0 mm) at
    baseline is not measurable, so it cannot be a target lesion; a lesion splits or
    coalesces "on treatment" (section 4.3.2), so not at baseline. Non-target lesions are
    the other sites of disease recorded at baseline, noted there as "present"; section
    4.3.3 then follows them from there. A new lesion has no baseline reading (section
    4.3.5; see :func:`new_lesion_timepoint_problem`).
    """
    if kind is LesionKind.TARGET:
        if reading is None:
            return "a target lesion needs a baseline measurement"
        if isinstance(reading, TargetStatus):
            return (f"a target lesion cannot be {reading.value} at baseline: it must be "
                    "measurable (RECIST 1.1 sections 3.1.1, 4.2)")
        if isinstance(reading, Fragments | CoalescedInto):
            return ("a target lesion cannot be split or coalesced at baseline: at baseline "
                    "each separate lesion is measured on its own (RECIST 1.1 sections 4.2, "
                    "4.3.2)")
        if reading == 0:
            return "a target lesion cannot measure 0 mm (disappeared) at baseline"
        return None
    if kind is LesionKind.NON_TARGET and reading is not NonTargetStatus.PRESENT:
        got = ("no baseline assessment" if reading is None
               else f"got {quote(reading.value if isinstance(reading, StrEnum) else reading)}")
        return f'a non-target lesion must be "present" at baseline, {got}'
    return None


def split_problem(nodal: bool) -> str | None:
    """Why a lesion cannot be recorded as fragments, or ``None`` if it can.

    RECIST 1.1 section 4.3.2: "when non-nodal lesions 'fragment', the longest diameters of
    the fragmented portions should be added together": a lymph node is measured by its
    short axis, one node, never as fragments.
    """
    if nodal:
        return ("a lymph node is measured by its short axis, not as fragments "
                '(RECIST 1.1 section 4.3.2: "non-nodal lesions" fragment)')
    return None


def coalescence_problem(lesion_id: str, nodal: bool, into_id: str, *,
                        into_is_target: bool, into_nodal: bool) -> str | None:
    """Why lesion ``lesion_id`` cannot be recorded as coalesced into ``into_id``, or
    ``None``. RECIST 1.1 section 4.3.2: target lesions that coalesce become one lesion,
    whose longest diameter is recorded on one of them: another target lesion of the same
    kind (a node's short axis and a long axis do not add up)."""
    if into_id == lesion_id:
        return "a lesion cannot coalesce into itself"
    if not into_is_target:
        return f"{quote(into_id)} is not a target lesion"
    if into_nodal != nodal:
        return (f"{quote(into_id)} is {'a' if into_nodal else 'not a'} lymph node and this "
                f"lesion is {'a' if nodal else 'not a'} node")
    return None


def merged_diameter_problem(into_id: str, timepoint_id: str,
                            merged: AnyReading | None) -> str | None:
    """Why ``merged``, the reading of the lesion others coalesced into at
    ``timepoint_id``, cannot carry the merged lesion's diameter, or ``None``. RECIST 1.1
    section 4.3.2: "the vector of the longest diameter in this instance should be the
    maximal longest diameter for the 'coalesced lesion'": a length in mm, more than 0."""
    if type(merged) is not Decimal or merged == 0:
        return (f"{quote(into_id)} must carry the merged lesion's diameter in mm "
                f"at {quote(timepoint_id)} (RECIST 1.1 section 4.3.2)")
    return None


def first_sighting_problem(reading: NewLesionReading) -> str | None:
    """Why a new lesion cannot be recorded ``reading`` where it is first seen, or ``None``.

    RECIST 1.1 section 4.3.5: a new lesion is one found on the scan; 0 mm or "absent"
    there would be a lesion that is not seen. iRECIST Table 2: "increased" compares with
    an earlier assessment of the lesion, and at its first sighting there is none.
    """
    if reading == 0:
        return "a new lesion cannot measure 0 mm (disappeared) at its first sighting"
    if reading is NewLesionStatus.ABSENT:
        return 'a new lesion cannot be "absent" at its first sighting'
    if reading is NewLesionStatus.INCREASED:
        return ('a new lesion cannot be "increased" at its first sighting: there is nothing '
                "earlier to compare with (iRECIST Table 2)")
    return None


def new_lesion_timepoint_problem(timepoints: Sequence[str], first: str) -> str | None:
    """Why ``first`` cannot be a new lesion's first sighting among ``timepoints``
    (baseline first), or ``None``. RECIST 1.1 section 4.3.5: a new lesion is one not
    present at baseline."""
    if first not in timepoints:
        return f"unknown timepoint {quote(first)}"
    if first == timepoints[0]:
        return "a new lesion cannot be first seen at baseline"
    return None


def confirmation_problem(timepoints: Sequence[str], first: str,
                         confirmed_at: str) -> str | None:
    """Why an equivocal new lesion first seen at ``first`` cannot be confirmed at
    ``confirmed_at``, or ``None``. RECIST 1.1 section 4.3.5: an equivocal new lesion is
    confirmed on a later scan (and then counts from its first sighting)."""
    if confirmed_at not in timepoints:
        return f"unknown timepoint {quote(confirmed_at)}"
    if first in timepoints and timepoints.index(confirmed_at) < timepoints.index(first):
        return f"{quote(confirmed_at)} is before the first sighting {quote(first)}"
    return None


def before_first_sighting_problem(timepoints: Sequence[str], first: str,
                                  timepoint_id: str) -> str | None:
    """Why a new lesion first seen at ``first`` cannot have a reading at ``timepoint_id``:
    it was not there yet (RECIST 1.1 section 4.3.5), or ``None``."""
    if (first in timepoints and timepoint_id in timepoints
            and timepoints.index(timepoint_id) < timepoints.index(first)):
        return f"a new lesion cannot be measured before its first sighting {quote(first)}"
    return None
