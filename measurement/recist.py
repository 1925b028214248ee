"""The engine's entry point: :func:`evaluate` turns timepoints and lesions into responses.

Pure: no I/O, clock or logging; the same input always gives the same result, whatever
the order of lesions or of the timepoint keys inside them.

The rules live in :mod:`measurement.rules` (RECIST 1.1 categories, Tables 1-2),
:mod:`measurement.irecist` (iUPD / iCPD), :mod:`measurement.best_response` (section
4.4.3, Table 3), :mod:`measurement.new_lesions` (when new lesions count, iRECIST
new-lesion targets) and :mod:`measurement.selection` (baseline warnings). Response codes:
``target_response`` and ``non_target_response`` always use RECIST 1.1 codes;
``overall_response`` and ``best_overall_response`` use the i-prefixed codes under
iRECIST (see :mod:`measurement.result`).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

from measurement.best_response import ScoredTimepoint, best_overall_response
from measurement.irecist import IrecistJudge
from measurement.model import Criteria, EvaluationInput, Timepoint, baseline_mm
from measurement.new_lesions import plan_new_lesions
from measurement.result import EvaluationResult, MarkerValue, Response, TimepointResult
from measurement.rules import (
    FollowUpAssessment,
    Verdict,
    assess_follow_ups,
    mixed_response,
    recist_verdict,
)
from measurement.selection import selection_warnings

# Sums of a few decimal sizes and their cross-multiplied comparisons stay exact well
# within 28 digits (sizes are at most 1000 mm); a private context keeps a caller's
# decimal settings out of it.
_CONTEXT = Context(prec=28, rounding=ROUND_HALF_EVEN)
# Display precision of percentages (decisions never use the rounded value).
_PCT_QUANTUM = Decimal("0.1")
_HUNDRED = Decimal(100)
# The responses of a timepoint whose lesions are all gone while a marker is still raised:
# RECIST 1.1 Table 1 (target CR + non-target non-CR/non-PD: PR), Table 2 (non-CR/non-PD),
# and their iRECIST forms. A new lesion, or an iUPD kept, is not the markers' doing.
_HELD_BACK_RESPONSES = frozenset({Response.PR, Response.IPR, Response.NON_CR_NON_PD})


def evaluate(inp: EvaluationInput) -> EvaluationResult:
    """Time-point responses, best overall response and warnings for one patient.

    RECIST 1.1 (Eisenhauer et al., Eur J Cancer 2009;45:228-247) sections 4.3-4.4 and
    Tables 1-3, or iRECIST (Seymour et al., Lancet Oncol 2017;18:e143-52), as chosen by
    ``inp.criteria``, with the choices of the Nadir contract where the guidelines leave room.
    """
    with localcontext(_CONTEXT):
        new_lesions = plan_new_lesions(inp.new_lesions, inp.timepoints)
        irecist = IrecistJudge(inp.options) if inp.criteria is Criteria.IRECIST else None
        if irecist is not None:
            new_lesions.check_irecist_statuses()
        judged = assess_follow_ups(inp, new_lesions, irecist or recist_verdict)
        baseline_sum = _baseline_sum(inp)
        rows = [_baseline_row(inp)]
        rows.extend(_follow_up_row(inp, assessment, verdict, baseline_sum)
                    for assessment, verdict in judged)
        best, best_reasons = best_overall_response(
            inp.criteria, inp.baseline.date,
            [ScoredTimepoint(a.timepoint.id, a.timepoint.date, v.overall) for a, v in judged],
            inp.options, target_disease=bool(inp.targets),
        )
        return EvaluationResult(
            criteria=inp.criteria,
            timepoints=tuple(rows),
            best_overall_response=best,
            best_overall_reasons=best_reasons,
            warnings=(*selection_warnings(inp.targets, inp.baseline.id),
                      *new_lesions.warnings, *(irecist.warnings if irecist else ())),
        )


def _markers(inp: EvaluationInput, timepoint: Timepoint) -> tuple[MarkerValue, ...]:
    return tuple(MarkerValue(m.id, m.unit, m.values.get(timepoint.id), m.upper_limit_normal)
                 for m in inp.markers)


def _baseline_row(inp: EvaluationInput) -> TimepointResult:
    return TimepointResult(timepoint=inp.baseline, is_baseline=True,
                           sum_mm=_baseline_sum(inp) if inp.targets else None,
                           reasons=("baseline: the reference sum for PR "
                                    "(RECIST 1.1 section 4.3.1)",),
                           markers=_markers(inp, inp.baseline) if inp.markers else ())


def _follow_up_row(inp: EvaluationInput, a: FollowUpAssessment, verdict: Verdict,
                   baseline_sum: Decimal) -> TimepointResult:
    from_baseline_pct, from_nadir_pct, from_nadir_mm = _changes(a, baseline_sum)
    return TimepointResult(
        timepoint=a.timepoint,
        is_baseline=False,
        sum_mm=a.sum_mm,
        nadir_mm=a.nadir_mm,
        change_from_baseline_pct=from_baseline_pct,
        change_from_nadir_pct=from_nadir_pct,
        change_from_nadir_mm=from_nadir_mm,
        target_response=a.target_response,
        non_target_response=a.non_target_response,
        new_lesions=verdict.new_lesions_present,
        overall_response=verdict.overall,
        mixed_response=mixed_response(a, verdict.new_lesions_present),
        reasons=(*a.reasons, verdict.reason),
        markers=_markers(inp, a.timepoint) if inp.markers else (),
        split_lesions=a.split, coalesced_lesions=a.coalesced,
        markers_holding_back_cr=(a.markers_holding_back
                                 if verdict.overall in _HELD_BACK_RESPONSES else ()),
    )


def _changes(a: FollowUpAssessment, baseline_sum: Decimal
             ) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    """Change from baseline (%), from nadir (%) and from nadir (mm).

    Nadir contract: null unless every target lesion was evaluated; a percentage against
    a zero reference is null; no target lesions, no figures.
    """
    if not a.complete or a.sum_mm is None or a.nadir_mm is None:
        return None, None, None
    return (_pct(a.sum_mm, baseline_sum), _pct(a.sum_mm, a.nadir_mm),
            a.sum_mm - a.nadir_mm)


def _baseline_sum(inp: EvaluationInput) -> Decimal:
    baseline_id = inp.baseline.id
    return sum((baseline_mm(les.measurements[baseline_id]) for les in inp.targets),
               Decimal(0))


def _pct(value: Decimal, reference: Decimal) -> Decimal | None:
    if reference == 0:
        return None
    return ((value - reference) * _HUNDRED / reference).quantize(_PCT_QUANTUM)
