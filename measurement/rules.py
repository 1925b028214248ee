"""RECIST 1.1 time-point rules: target, non-target and new-lesion categories, Tables 1-2.

Source: Eisenhauer et al., "New response evaluation criteria in solid tumours: revised
RECIST guideline (version 1.1)", Eur J Cancer 2009;45:228-247 (cited as "RECIST 1.1"),
and Schwartz et al., "RECIST 1.1 - Update and clarification", Eur J Cancer
2016;62:132-137 (cited as "Schwartz 2016"). Where the guideline leaves room, the Nadir
contract of ``POST /api/v1/recist/evaluate`` decides and is cited as such.

Every boundary is compared exactly on :class:`~decimal.Decimal` mm by cross-multiplying
(``delta * 100 >= 20 * nadir``), never through a rounded percentage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from measurement.errors import InvalidEvaluationInput
from measurement.model import (
    TOO_SMALL_MM,
    EvaluationInput,
    NewLesion,
    NonTargetLesion,
    NonTargetStatus,
    TargetReading,
    TargetStatus,
    Timepoint,
)
from measurement.result import Response

# RECIST 1.1 section 4.3.1, PR: at least a 30 % decrease in the sum of diameters,
# taking as reference the baseline sum. Inclusive (Nadir contract).
PR_MIN_DECREASE_PCT = Decimal(30)
# RECIST 1.1 section 4.3.1, PD: at least a 20 % increase of the sum over the smallest
# sum on study (the nadir) ...
PD_MIN_INCREASE_PCT = Decimal(20)
# ... and an absolute increase of at least 5 mm. Both inclusive (Nadir contract).
PD_MIN_INCREASE_MM = Decimal(5)
# RECIST 1.1 section 4.3.1, CR: pathological lymph nodes must have reduced to a short
# axis < 10 mm (strictly below); non-nodal targets must have disappeared (0 mm).
NODE_NORMAL_SHORT_AXIS_MM = Decimal(10)
_HUNDRED = Decimal(100)
_ZERO = Decimal(0)


def reading_mm(reading: TargetReading | None) -> Decimal | None:
    """Size that enters the sum, or ``None`` when the lesion was not evaluated.

    RECIST 1.1 section 4.3.2: "too small to measure" counts 5 mm; a missing reading or
    ``not_evaluable`` leaves the lesion unevaluated (section 4.4.2).
    """
    if type(reading) is Decimal:
        return reading
    return TOO_SMALL_MM if reading is TargetStatus.TOO_SMALL else None


def baseline_mm(reading: TargetReading) -> Decimal:
    """Size of a target at baseline: always counted, as EvaluationInput guarantees."""
    size = reading_mm(reading)
    if size is None:  # unreachable for a valid EvaluationInput
        raise InvalidEvaluationInput("a target lesion needs a baseline measurement")
    return size


def meets_progression(total: Decimal, nadir: Decimal) -> bool:
    """RECIST 1.1 section 4.3.1 PD on sums: >= 20 % and >= 5 mm over the nadir, inclusive."""
    increase = total - nadir
    return increase >= PD_MIN_INCREASE_MM and increase * _HUNDRED >= PD_MIN_INCREASE_PCT * nadir


def meets_partial_response(total: Decimal, baseline: Decimal) -> bool:
    """RECIST 1.1 section 4.3.1 PR: sum at least 30 % below the baseline sum, inclusive."""
    return baseline > 0 and (baseline - total) * _HUNDRED >= PR_MIN_DECREASE_PCT * baseline


def is_complete_response(values: Sequence[Decimal], nodal: Sequence[bool]) -> bool:
    """RECIST 1.1 section 4.3.1 CR: non-nodal targets at 0 mm, every node < 10 mm short axis.

    Section 4.3.2: nodal short axes stay in the sum, so the sum of a CR need not be 0.
    """
    return all(
        value < NODE_NORMAL_SHORT_AXIS_MM if is_node else value == 0
        for value, is_node in zip(values, nodal, strict=True)
    )


@dataclass(frozen=True)
class FollowUpAssessment:
    """RECIST 1.1 categories at one follow-up, before they are combined per criteria.

    ``target_values`` holds one entry per target lesion (in input order), ``None`` where
    the lesion was not evaluated. ``new_lesion_ids`` are the new lesions that count here;
    ``new_lesion_sizes`` their measured sizes, where given. ``shrunk_ids`` / ``grown_ids``
    feed the mixed-response flag.
    """

    index: int
    timepoint: Timepoint
    sum_mm: Decimal | None
    complete: bool
    nadir_mm: Decimal | None
    target_response: Response
    non_target_response: Response
    new_lesion_ids: frozenset[str]
    new_lesion_sizes: Mapping[str, Decimal]
    target_values: tuple[Decimal | None, ...]
    shrunk_ids: frozenset[str]
    grown_ids: frozenset[str]
    reasons: tuple[str, ...]


def overall_response(target: Response, non_target: Response, new_lesions: bool) -> Response:
    """Time-point response from the three categories.

    RECIST 1.1 section 4.4.1, Table 1 (with target disease) and Table 2 (non-target
    disease only). With neither target nor non-target lesions and no new lesion there is
    nothing to assess: NE.
    """
    if target is Response.PD or non_target is Response.PD or new_lesions:
        return Response.PD  # Table 1/2: PD in any category, or any new lesion
    if target is Response.NA:  # Table 2
        return non_target if non_target is not Response.NA else Response.NE
    if target is Response.CR:
        # Table 1: CR needs non-target CR too; CR with non-target non-CR/non-PD or
        # not evaluated is PR.
        return Response.CR if non_target in (Response.CR, Response.NA) else Response.PR
    return target  # PR, SD, NE: Table 1 rows "non-PD or not all evaluated"


def non_target_response(lesions: Sequence[NonTargetLesion], timepoint_id: str) -> Response:
    """Non-target category at one timepoint (RECIST 1.1 section 4.3.3; Nadir contract).

    PD when any shows unequivocal progression; NE when any is not evaluated or has no
    assessment there; CR when all are absent; otherwise NON_CR_NON_PD.
    """
    if not lesions:
        return Response.NA
    statuses = [les.assessments.get(timepoint_id, NonTargetStatus.NOT_EVALUATED)
                for les in lesions]
    if NonTargetStatus.UNEQUIVOCAL_PROGRESSION in statuses:
        return Response.PD
    if NonTargetStatus.NOT_EVALUATED in statuses:
        return Response.NE
    if all(status is NonTargetStatus.ABSENT for status in statuses):
        return Response.CR
    return Response.NON_CR_NON_PD


def counting_new_lesions(lesions: Sequence[NewLesion], order: Mapping[str, int],
                         index: int) -> frozenset[str]:
    """New lesions that count at the timepoint with position ``index``.

    RECIST 1.1 section 4.3.5 and Nadir contract: a new lesion counts from its first
    sighting at every later timepoint; an equivocal one only once confirmed, and then
    from its first sighting (PD is dated back to the first scan).
    """
    return frozenset(les.id for les in lesions
                     if les.counts and order[les.timepoint_id] <= index)


class _TargetHistory:
    """What earlier timepoints tell about the target lesions of one evaluation."""

    def __init__(self, baseline_values: Sequence[Decimal]) -> None:
        self.baseline_values = tuple(baseline_values)
        self.baseline_sum = sum(baseline_values, _ZERO)
        # Nadir contract: smallest sum among earlier timepoints at which every target
        # lesion was evaluated, baseline included (RECIST 1.1 section 4.3.1 "nadir").
        self.nadir = self.baseline_sum
        # Smallest earlier size of each lesion, for the mixed-response flag.
        self.lesion_minimum: list[Decimal] = list(baseline_values)
        self.had_complete_response = False

    def record(self, values: Sequence[Decimal | None], complete: bool, total: Decimal,
               response: Response) -> None:
        if complete:
            self.nadir = min(self.nadir, total)
        for position, value in enumerate(values):
            if value is not None and value < self.lesion_minimum[position]:
                self.lesion_minimum[position] = value
        self.had_complete_response = self.had_complete_response or response is Response.CR


def _target_response(values: Sequence[Decimal | None], total: Decimal, complete: bool,
                     nodal: Sequence[bool], history: _TargetHistory) -> tuple[Response, str]:
    if history.had_complete_response and any(
        value is not None and value > 0 and not is_node
        for value, is_node in zip(values, nodal, strict=True)
    ):
        return Response.PD, ("target PD: a non-nodal target lesion reappeared after target CR "
                             "(RECIST 1.1 Table 3 footnote; Nadir contract)")
    if meets_progression(total, history.nadir):
        scope = "sum" if complete else "sum of the measured lesions alone"
        return Response.PD, (f"target PD: {scope} {total} mm is >= 20 % and >= 5 mm above "
                             f"the nadir {history.nadir} mm (RECIST 1.1 section 4.3.1"
                             f"{'' if complete else ', 4.4.2'})")
    if not complete:
        return Response.NE, ("target NE: not every target lesion was evaluated and the "
                             "measured ones do not meet PD (RECIST 1.1 section 4.4.2)")
    if is_complete_response([value for value in values if value is not None], nodal):
        return Response.CR, ("target CR: non-nodal targets gone, every node < 10 mm short "
                             "axis (RECIST 1.1 section 4.3.1)")
    if meets_partial_response(total, history.baseline_sum):
        return Response.PR, (f"target PR: sum {total} mm is >= 30 % below the baseline "
                             f"{history.baseline_sum} mm (RECIST 1.1 section 4.3.1)")
    return Response.SD, "target SD: neither PR nor PD (RECIST 1.1 section 4.3.1)"


def _mixed_parts(target_ids: Sequence[str], values: Sequence[Decimal | None],
                 history: _TargetHistory) -> tuple[frozenset[str], frozenset[str]]:
    """Nadir contract, mixed response: lesions >= 30 % below their own baseline size (S)
    and lesions >= 20 % and >= 5 mm above their own smallest earlier size (G).
    Unevaluated lesions are left out; too_small counts 5 mm."""
    shrunk: set[str] = set()
    grown: set[str] = set()
    for lesion_id, value, base, smallest in zip(
        target_ids, values, history.baseline_values, history.lesion_minimum, strict=True
    ):
        if value is None:
            continue
        if meets_partial_response(value, base):
            shrunk.add(lesion_id)
        if meets_progression(value, smallest):
            grown.add(lesion_id)
    return frozenset(shrunk), frozenset(grown)


def mixed_response(assessment: FollowUpAssessment, new_lesions_present: bool) -> bool:
    """Nadir contract ``mixed_response`` (not a RECIST category): (S) some target shrank
    >= 30 % from its baseline and (G) another target grew >= 20 % and >= 5 mm over its
    smallest earlier size, or non-target unequivocal progression, or a new lesion."""
    if not assessment.shrunk_ids:
        return False
    other_grew = any(grown != shrunk for grown in assessment.grown_ids
                     for shrunk in assessment.shrunk_ids)
    return (other_grew or assessment.non_target_response is Response.PD
            or new_lesions_present)


def assess_follow_ups(inp: EvaluationInput) -> tuple[FollowUpAssessment, ...]:
    """RECIST 1.1 category verdicts at every follow-up, in date order."""
    targets, non_targets, new_lesions = inp.targets, inp.non_targets, inp.new_lesions
    target_ids = [les.id for les in targets]
    nodal = [les.nodal for les in targets]
    order = {tp.id: index for index, tp in enumerate(inp.timepoints)}
    readings = [les.measurements for les in targets]
    history = _TargetHistory([baseline_mm(r[inp.baseline.id]) for r in readings])
    assessments: list[FollowUpAssessment] = []
    for index, tp in enumerate(inp.timepoints[1:], start=1):
        values = tuple([reading_mm(r.get(tp.id)) for r in readings])
        measured = [value for value in values if value is not None]
        complete = len(measured) == len(values)
        total = sum(measured, _ZERO)
        if targets:
            target, target_reason = _target_response(values, total, complete, nodal, history)
            shrunk, grown = _mixed_parts(target_ids, values, history)
        else:
            target, target_reason = Response.NA, "no target lesions (RECIST 1.1 Table 2)"
            shrunk = grown = frozenset()
        new_ids = counting_new_lesions(new_lesions, order, index)
        assessments.append(FollowUpAssessment(
            index=index, timepoint=tp,
            sum_mm=total if targets else None, complete=complete,
            nadir_mm=history.nadir if targets else None,
            target_response=target,
            non_target_response=non_target_response(non_targets, tp.id),
            new_lesion_ids=new_ids,
            new_lesion_sizes=_new_lesion_sizes(new_lesions, new_ids, tp.id),
            target_values=values, shrunk_ids=shrunk, grown_ids=grown,
            reasons=(target_reason,),
        ))
        if targets:
            history.record(values, complete, total, target)
    return tuple(assessments)


def _new_lesion_sizes(lesions: Sequence[NewLesion], counting: frozenset[str],
                      timepoint_id: str) -> Mapping[str, Decimal]:
    sizes: dict[str, Decimal] = {}
    for les in lesions:
        if les.id in counting:
            size = reading_mm(les.measurements.get(timepoint_id))
            if size is not None:
                sizes[les.id] = size
    return sizes
