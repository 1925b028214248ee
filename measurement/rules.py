"""RECIST 1.1 time-point rules: target, non-target and new-lesion categories, Tables 1-2.

Source: Eisenhauer et al., "New response evaluation criteria in solid tumours: revised
RECIST guideline (version 1.1)", Eur J Cancer 2009;45:228-247 (cited as "RECIST 1.1"),
and Schwartz et al., "RECIST 1.1 - Update and clarification", Eur J Cancer
2016;62:132-137 (cited as "Schwartz 2016"). Where the guideline leaves room, the Nadir
contract of ``POST /api/v1/recist/evaluate`` decides and is cited as such.

Every boundary is compared exactly on :class:`~decimal.Decimal` mm by cross-multiplying
(``delta * 100 >= 20 * nadir``), never through a rounded percentage.

The categories of a follow-up depend on the overall response of the follow-up just
before it, so :func:`assess_follow_ups` hands each one to a :data:`Judge`
(:func:`recist_verdict`, or :class:`measurement.irecist.IrecistJudge`) before assessing
the next. After an overall CR (iCR) there, disease seen again is PD: a non-nodal target
over 0 mm (``too_small`` included), a target node back to >= 10 mm short axis, a
non-nodal non-target lesion present again (RECIST 1.1 Table 3 footnote a; EORTC RECIST
FAQ "Does a new lesion always result in PD?" and its clarification on abnormal lymph
nodes). Nodes are normal structures: "a node is only considered to have 'reappeared' if
it is >= 10 mm (Target lesion) or has unequivocally progressed (Non Target lesion)"
(EORTC RECIST FAQ "Abnormal lymph node"; RECIST 1.1 section 4.3.1). So after an overall
CR a non-target node recorded ``present`` (seen, at normal size) is non-CR/non-PD, not
PD, and target nodes all under 10 mm stay a target CR whatever their short-axis sum does:
the sum rule of PD does not apply until a target has reappeared. After
any other overall response (PR, SD, NE, ...) a reappearing target is simply measured
and summed again, and the thresholds decide. Tumour markers above their upper limit of
normal at baseline hold back non-target CR until they are back within it (sections
3.2.2, 4.3.3).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from measurement.markers import Marker
from measurement.model import (
    PROGRESSING_NON_TARGET,
    CoalescedInto,
    EvaluationInput,
    Fragments,
    NonTargetStatus,
    Timepoint,
    baseline_mm,
    reading_mm,
)
from measurement.new_lesions import NODE_PATHOLOGICAL_SHORT_AXIS_MM, NewLesionPlan
from measurement.result import CoalescedLesion, Response, SplitLesion

__all__ = [
    "FollowUpAssessment",
    "Judge",
    "Verdict",
    "assess_follow_ups",
    "baseline_mm",
    "is_complete_response",
    "markers_normal",
    "meets_partial_response",
    "meets_progression",
    "mixed_response",
    "non_target_response",
    "overall_response",
    "reading_mm",
    "recist_verdict",
]

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
NODE_NORMAL_SHORT_AXIS_MM = NODE_PATHOLOGICAL_SHORT_AXIS_MM
_HUNDRED = Decimal(100)
_ZERO = Decimal(0)
# The overall responses after which any reappearing disease is progression.
_COMPLETE = frozenset({Response.CR, Response.ICR})


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
    the lesion was not evaluated; ``non_target_statuses`` one per non-target lesion.
    ``new_lesion_ids`` are the new lesions that count here (RECIST 1.1),
    ``present_new_ids`` those of them not resolved (iRECIST), ``new_lesion_sizes`` the
    sizes of the iRECIST new-lesion targets measured here, ``new_non_target_sizes``
    those of the new-lesion non-targets measured in mm, ``increased_new_ids`` the
    new-lesion non-targets recorded ``increased``. ``shrunk_ids`` / ``grown_ids`` feed
    the mixed-response flag. ``split`` and ``coalesced``: targets recorded as fragments or
    merged into another here (RECIST 1.1 section 4.3.2).
    """

    index: int
    timepoint: Timepoint
    sum_mm: Decimal | None
    complete: bool
    nadir_mm: Decimal | None
    target_response: Response
    non_target_response: Response
    new_lesion_ids: frozenset[str]
    present_new_ids: frozenset[str]
    new_lesion_sizes: Mapping[str, Decimal]
    new_non_target_sizes: Mapping[str, Decimal]
    increased_new_ids: frozenset[str]
    target_values: tuple[Decimal | None, ...]
    non_target_statuses: tuple[NonTargetStatus, ...]
    shrunk_ids: frozenset[str]
    grown_ids: frozenset[str]
    reasons: tuple[str, ...]
    split: tuple[SplitLesion, ...] = ()
    coalesced: tuple[CoalescedLesion, ...] = ()
    # Markers that alone keep the non-target category from CR here: every target and
    # non-target lesion is gone, but these are not back within normal (RECIST 1.1
    # sections 3.2.2, 4.3.3).
    markers_holding_back: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """A time-point response, whether new lesions are present, and why."""

    overall: Response
    new_lesions_present: bool
    reason: str


# Turns the categories of each follow-up, in date order, into its overall response; may
# keep state from one call to the next (iRECIST).
Judge = Callable[[FollowUpAssessment], Verdict]


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


def recist_verdict(assessment: FollowUpAssessment) -> Verdict:
    """RECIST 1.1 time-point response (Table 1; Table 2 without target lesions).

    RECIST 1.1 section 4.3.5: a new lesion counts from its first sighting on.
    """
    new = bool(assessment.new_lesion_ids)
    return Verdict(
        overall_response(assessment.target_response, assessment.non_target_response, new),
        new, "overall: RECIST 1.1 Table 1 (Table 2 without target lesions)")


def non_target_response(statuses: Sequence[NonTargetStatus], markers_normal: bool | None,
                        after_complete_response: bool,
                        nodal: Sequence[bool] | None = None) -> tuple[Response, str]:
    """Non-target category at one timepoint, and why (RECIST 1.1 section 4.3.3).

    PD on unequivocal progression, or when a non-nodal lesion is present again after an
    overall CR at the previous assessment (RECIST 1.1 Table 3 footnote; EORTC RECIST FAQ
    "Does a new lesion always result in PD?"); a node (``nodal``, one flag per status;
    ``None``: no node) present again is not PD: it has only reappeared once it "has
    unequivocally progressed" (EORTC RECIST FAQ "Abnormal lymph node"); NE when any is
    not evaluated; CR when all are absent
    and every tumour marker above its upper limit of normal at baseline is back within it
    (``markers_normal``: ``None`` without such markers; sections 3.2.2, 4.3.3); otherwise
    NON_CR_NON_PD. Without non-target lesions the markers alone make the category (CR or
    NON_CR_NON_PD; never PD: "tumour markers alone cannot be used"), else it is NA.
    """
    if not statuses:
        if markers_normal is None:
            return Response.NA, "no non-target lesions"
        return _markers_verdict(markers_normal, "no non-target lesions")
    if any(status in PROGRESSING_NON_TARGET for status in statuses):
        return Response.PD, "non-target PD: unequivocal progression (RECIST 1.1 section 4.3.3)"
    flags = nodal if nodal is not None else [False] * len(statuses)
    if after_complete_response and any(
            status is NonTargetStatus.PRESENT and not is_node
            for status, is_node in zip(statuses, flags, strict=True)):
        return Response.PD, ("non-target PD: a non-target lesion is present again after the "
                             "overall CR of the previous assessment (RECIST 1.1 Table 3 "
                             "footnote; EORTC RECIST FAQ)")
    if NonTargetStatus.NOT_EVALUATED in statuses:
        return Response.NE, "non-target NE: a lesion was not evaluated (RECIST 1.1 section 4.4.2)"
    if all(status is NonTargetStatus.ABSENT for status in statuses):
        if markers_normal is None:
            return Response.CR, "non-target CR: every lesion absent (RECIST 1.1 section 4.3.3)"
        return _markers_verdict(markers_normal, "every non-target lesion absent")
    if after_complete_response:
        return Response.NON_CR_NON_PD, (
            "non-target NON_CR_NON_PD: a lymph node is seen again after the overall CR, "
            "but a node has only reappeared once it has unequivocally progressed (EORTC "
            "RECIST FAQ \"Abnormal lymph node\"; RECIST 1.1 section 4.3.3)")
    return Response.NON_CR_NON_PD, ("non-target NON_CR_NON_PD: a lesion persists (RECIST 1.1 "
                                    "section 4.3.3)")


def _markers_verdict(markers_normal: bool, lesions: str) -> tuple[Response, str]:
    if markers_normal:
        return Response.CR, (f"non-target CR: {lesions}, and every tumour marker above its "
                             "upper limit of normal at baseline is back within it (RECIST "
                             "1.1 sections 3.2.2, 4.3.3)")
    return Response.NON_CR_NON_PD, (
        f"non-target NON_CR_NON_PD: {lesions}, but a tumour marker above its upper limit of "
        "normal at baseline is not back within it, or was not measured (RECIST 1.1 "
        "sections 3.2.2, 4.3.3)")


def markers_normal(elevated: Sequence[Marker], timepoint_id: str) -> bool | None:
    """Whether every marker elevated at baseline is within normal at the timepoint.

    ``None`` without such markers. Nadir contract: a marker not measured at the
    timepoint is not normalised there.
    """
    if not elevated:
        return None
    return all(marker.above_normal(timepoint_id) is False for marker in elevated)


def markers_not_normal(elevated: Sequence[Marker], timepoint_id: str) -> tuple[str, ...]:
    """Ids of the markers elevated at baseline and not back within normal at the timepoint
    (above it, or not measured there: Nadir contract), in input order."""
    return tuple(marker.id for marker in elevated
                 if marker.above_normal(timepoint_id) is not False)


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

    def record(self, values: Sequence[Decimal | None], complete: bool, total: Decimal,
               merged: frozenset[int]) -> None:
        if complete:
            self.nadir = min(self.nadir, total)
        for position, value in enumerate(values):
            # A lesion inside a merged one has no size of its own there (section 4.3.2).
            if (value is not None and position not in merged
                    and value < self.lesion_minimum[position]):
                self.lesion_minimum[position] = value


def reappeared(values: Sequence[Decimal | None], nodal: Sequence[bool]) -> list[int]:
    """Positions of targets seen again after an overall CR: a non-nodal target over 0 mm
    (too_small counts), a node back to >= 10 mm short axis (EORTC RECIST FAQ, abnormal
    lymph node that "reappears (... >= 10 mm for nodes considered target lesions)")."""
    return [position for position, (value, is_node) in enumerate(zip(values, nodal, strict=True))
            if value is not None
            and (value >= NODE_NORMAL_SHORT_AXIS_MM if is_node else value > 0)]


def _target_response(values: Sequence[Decimal | None], total: Decimal, complete: bool,
                     target_ids: Sequence[str], nodal: Sequence[bool], history: _TargetHistory,
                     after_complete_response: bool) -> tuple[Response, str]:
    if after_complete_response:
        back = reappeared(values, nodal)
        if back:
            names = ", ".join(repr(target_ids[position]) for position in back)
            return Response.PD, (f"target PD: {names} seen again after the overall CR of the "
                                 "previous assessment (RECIST 1.1 Table 3 footnote; EORTC "
                                 "RECIST FAQ \"Does a new lesion always result in PD?\")")
        # Nothing reappeared: every measured node is < 10 mm and every other target 0 mm,
        # which is normal whatever the short-axis sum does (EORTC RECIST FAQ "Abnormal
        # lymph node"; RECIST 1.1 section 4.3.1), so the sum rule of PD does not apply.
        if not complete:
            return Response.NE, ("target NE: not every target lesion was evaluated; those "
                                 "measured are still normal after the overall CR (RECIST 1.1 "
                                 "section 4.4.2)")
        return Response.CR, ("target CR: after the overall CR every node is still < 10 mm "
                             "short axis and every other target 0 mm, whatever the sum "
                             "(RECIST 1.1 section 4.3.1; EORTC RECIST FAQ \"Abnormal lymph "
                             "node\")")
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
                 history: _TargetHistory,
                 merged: frozenset[int]) -> tuple[frozenset[str], frozenset[str]]:
    """Nadir contract, mixed response: lesions >= 30 % below their own baseline size (S)
    and lesions >= 20 % and >= 5 mm above their own smallest earlier size (G).
    Unevaluated lesions are left out; too_small counts 5 mm; so are lesions that
    coalesced here, either side (``merged``): the 0 mm of one and the merged diameter of
    the other are not the size of either lesion alone (RECIST 1.1 section 4.3.2)."""
    shrunk: set[str] = set()
    grown: set[str] = set()
    for position, (lesion_id, value, base, smallest) in enumerate(zip(
        target_ids, values, history.baseline_values, history.lesion_minimum, strict=True
    )):
        if value is None or position in merged:
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


_NO_IDS: frozenset[str] = frozenset()
_SPLIT_OR_MERGED = frozenset({Fragments, CoalescedInto})
_NONE_SPLIT: tuple[tuple[SplitLesion, ...], tuple[CoalescedLesion, ...], frozenset[int]] = (
    (), (), frozenset())


def assess_follow_ups(inp: EvaluationInput, new_lesions: NewLesionPlan,
                      judge: Judge) -> tuple[tuple[FollowUpAssessment, Verdict], ...]:
    """Categories and time-point response of every follow-up, in date order.

    The categories of a follow-up depend on the overall response of the one before it
    (reappearance after an overall CR), so each follow-up is judged before the next is
    assessed.
    """
    targets, non_targets = inp.targets, inp.non_targets
    target_ids = [les.id for les in targets]
    nodal = [les.nodal for les in targets]
    readings = [les.measurements for les in targets]
    assessments_of = [les.assessments for les in non_targets]
    non_target_nodal = [les.nodal for les in non_targets]
    history = _TargetHistory([baseline_mm(r[inp.baseline.id]) for r in readings])
    baseline_id = inp.baseline.id
    # RECIST 1.1 section 3.2.2: only markers above their upper limit at baseline matter.
    elevated = [m for m in inp.markers if m.above_normal(baseline_id)]
    results: list[tuple[FollowUpAssessment, Verdict]] = []
    after_complete_response = False
    # Most evaluations have no split or merged lesion: skip that bookkeeping for them.
    any_split_or_merged = any(type(reading) in _SPLIT_OR_MERGED
                              for r in readings for reading in r.values())
    for index, tp in enumerate(inp.timepoints[1:], start=1):
        raw = [r.get(tp.id) for r in readings]
        values = tuple([reading_mm(reading) for reading in raw])
        split, coalesced, merged = (_split_and_merged(target_ids, raw) if any_split_or_merged
                                    else _NONE_SPLIT)
        measured = [value for value in values if value is not None]
        complete = len(measured) == len(values)
        total = sum(measured, _ZERO)
        if targets:
            target, target_reason = _target_response(values, total, complete, target_ids,
                                                      nodal, history, after_complete_response)
            shrunk, grown = _mixed_parts(target_ids, values, history, merged)
        else:
            target, target_reason = Response.NA, "no target lesions (RECIST 1.1 Table 2)"
            shrunk = grown = _NO_IDS
        statuses = tuple([a.get(tp.id, NonTargetStatus.NOT_EVALUATED) for a in assessments_of])
        non_target, non_target_reason = non_target_response(
            statuses, markers_normal(elevated, tp.id), after_complete_response,
            non_target_nodal)
        lesions_gone = (bool(elevated) and bool(targets or statuses)
                        and target in (Response.CR, Response.NA)
                        and all(status is NonTargetStatus.ABSENT for status in statuses))
        counting = new_lesions.counting(index)
        assessment = FollowUpAssessment(
            index=index, timepoint=tp,
            sum_mm=total if targets else None, complete=complete,
            nadir_mm=history.nadir if targets else None,
            target_response=target,
            non_target_response=non_target,
            new_lesion_ids=counting,
            present_new_ids=new_lesions.present(counting, tp.id),
            new_lesion_sizes=new_lesions.target_sizes(counting, tp.id),
            new_non_target_sizes=new_lesions.non_target_sizes(counting, tp.id),
            increased_new_ids=new_lesions.increased(counting, tp.id),
            target_values=values, non_target_statuses=statuses,
            shrunk_ids=shrunk, grown_ids=grown,
            reasons=((target_reason, non_target_reason, *_split_reasons(split, coalesced))
                     if any_split_or_merged else (target_reason, non_target_reason)),
            split=split, coalesced=coalesced,
            markers_holding_back=(markers_not_normal(elevated, tp.id)
                                  if lesions_gone and non_target is Response.NON_CR_NON_PD
                                  else ()),
        )
        verdict = judge(assessment)
        results.append((assessment, verdict))
        after_complete_response = verdict.overall in _COMPLETE
        if targets:
            history.record(values, complete, total, merged)
    return tuple(results)


def _split_and_merged(target_ids: Sequence[str], raw: Sequence[object]) -> tuple[
        tuple[SplitLesion, ...], tuple[CoalescedLesion, ...], frozenset[int]]:
    """Targets recorded as fragments or coalesced at one timepoint, and the positions of
    every target taking part in a coalescence (absorbed or absorbing)."""
    split: list[SplitLesion] = []
    coalesced: list[CoalescedLesion] = []
    for lesion_id, reading in zip(target_ids, raw, strict=True):
        if isinstance(reading, Fragments):
            split.append(SplitLesion(lesion_id, reading.diameters_mm, reading.total_mm))
        elif isinstance(reading, CoalescedInto):
            coalesced.append(CoalescedLesion(lesion_id, reading.lesion_id))
    involved = {c.lesion_id for c in coalesced} | {c.into for c in coalesced}
    merged = frozenset(position for position, lesion_id in enumerate(target_ids)
                       if lesion_id in involved)
    return tuple(split), tuple(coalesced), merged


def _split_reasons(split: Sequence[SplitLesion],
                   coalesced: Sequence[CoalescedLesion]) -> tuple[str, ...]:
    """RECIST 1.1 section 4.3.2, lesions that split or coalesce on treatment."""
    reasons = [f"{s.lesion_id!r} split into {len(s.fragments_mm)} fragments: "
               f"{' + '.join(map(str, s.fragments_mm))} = {s.total_mm} mm counted (RECIST 1.1 "
               "section 4.3.2)" for s in split]
    reasons.extend(f"{c.lesion_id!r} coalesced into {c.into!r}: counted 0 mm, its diameter "
                   f"is in that of {c.into!r}; not disappeared (RECIST 1.1 section 4.3.2)"
                   for c in coalesced)
    return tuple(reasons)
