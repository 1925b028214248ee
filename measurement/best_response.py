"""Best overall response over all time points, with optional confirmation (Table 3).

Sources: RECIST 1.1 (Eisenhauer et al. 2009) section 4.4.3 and Table 3, section 4.6
(confirmation no less than 4 weeks later; SD minimum duration set by the protocol);
iRECIST (Seymour et al. 2017), "iBOR". The Nadir contract pins down:

* the best time-point response up to the first PD (inclusive), in the order
  CR > PR > SD > NON_CR_NON_PD > PD > NE; NE when there is nothing to choose from;
* SD and NON_CR_NON_PD count only at a timepoint at least ``min_sd_duration_days``
  (inclusive) after baseline;
* with ``confirmation_required``, CR and PR need the next evaluable (non-NE) assessment
  at least ``min_confirmation_interval_days`` (inclusive) later to confirm them (CR by
  CR; PR by PR or CR). Choice made here: an evaluable assessment closer than the
  interval is passed over if it keeps the response, and ends the search if it does not.
  An unconfirmed CR/PR counts as SD when that timepoint meets the SD duration
  (Table 3), otherwise not at all;
* disease without target lesions has no SD: its best response is CR, NON_CR_NON_PD, PD
  or NE (RECIST 1.1 section 4.4.1 Table 2 and its note that non-CR/non-PD is preferred
  over SD there; iRECIST Table 3 note), so an unconfirmed CR counts as NON_CR_NON_PD.

Under iRECIST the order is iCR > iPR > iSD > NON_CR_NON_PD > iUPD > iCPD > NE, the
window runs up to the first iCPD, and iUPD assessments that this iCPD confirmed count
as iCPD (iRECIST: a later iSD/iPR/iCR after a reset iUPD can be the best response).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from measurement.model import Criteria, EvaluationOptions
from measurement.result import Response


@dataclass(frozen=True)
class _Scale:
    """The response vocabulary of one criteria set, best first."""

    complete: Response
    partial: Response
    stable: Response
    window_end: Response
    rank: Mapping[Response, int]


def _scale(order: Sequence[Response]) -> Mapping[Response, int]:
    return {response: len(order) - position for position, response in enumerate(order)}


_RECIST = _Scale(
    complete=Response.CR, partial=Response.PR, stable=Response.SD, window_end=Response.PD,
    rank=_scale([Response.CR, Response.PR, Response.SD, Response.NON_CR_NON_PD,
                 Response.PD, Response.NE]),
)
_IRECIST = _Scale(
    complete=Response.ICR, partial=Response.IPR, stable=Response.ISD,
    window_end=Response.ICPD,
    rank=_scale([Response.ICR, Response.IPR, Response.ISD, Response.NON_CR_NON_PD,
                 Response.IUPD, Response.ICPD, Response.NE]),
)


@dataclass(frozen=True)
class ScoredTimepoint:
    """A follow-up as best-response rules see it: when, and its time-point response."""

    timepoint_id: str
    date: datetime.date
    response: Response


def best_overall_response(
    criteria: Criteria,
    baseline_date: datetime.date,
    follow_ups: Sequence[ScoredTimepoint],
    options: EvaluationOptions,
    *,
    target_disease: bool = True,
) -> tuple[Response, tuple[str, ...]]:
    """Best overall response and the reasons for it (RECIST 1.1 section 4.4.3, Table 3).

    ``target_disease``: whether there are target lesions; without them the stable
    category is NON_CR_NON_PD (RECIST 1.1 Table 2).
    """
    scale = _IRECIST if criteria is Criteria.IRECIST else _RECIST
    if not target_disease:
        scale = replace(scale, stable=Response.NON_CR_NON_PD)
    window = _window(follow_ups, scale)
    best: Response = Response.NE
    reasons: list[str] = []
    for position in range(len(window)):
        candidate, why = _candidate(position, window, scale, baseline_date, options)
        if why:
            reasons.append(why)
        if candidate is not None and scale.rank[candidate] > scale.rank[best]:
            best = candidate
    reasons.append(f"best overall response {best}")
    return best, tuple(reasons)


def _window(follow_ups: Sequence[ScoredTimepoint], scale: _Scale) -> list[ScoredTimepoint]:
    """Follow-ups up to and including the first PD (iRECIST: the first iCPD)."""
    window: list[ScoredTimepoint] = []
    for scored in follow_ups:
        window.append(scored)
        if scored.response is scale.window_end:
            break
    if window and window[-1].response is Response.ICPD:
        # iRECIST: the iUPD assessments just before iCPD were confirmed by it.
        position = len(window) - 2
        while position >= 0 and window[position].response is Response.IUPD:
            confirmed = window[position]
            window[position] = ScoredTimepoint(confirmed.timepoint_id, confirmed.date,
                                               Response.ICPD)
            position -= 1
    return window


def _candidate(
    position: int,
    window: Sequence[ScoredTimepoint],
    scale: _Scale,
    baseline_date: datetime.date,
    options: EvaluationOptions,
) -> tuple[Response | None, str]:
    scored = window[position]
    days = (scored.date - baseline_date).days
    # RECIST 1.1 section 4.4.3 / 4.6; Nadir contract: SD (and NON_CR_NON_PD) must be
    # met at least min_sd_duration_days after baseline, inclusive.
    sd_duration_met = days >= options.min_sd_duration_days
    response = scored.response
    if response in (scale.stable, Response.NON_CR_NON_PD):
        # NON_CR_NON_PD is the stable category of disease without target lesions.
        if sd_duration_met:
            return response, ""
        return None, (f"{response} at {scored.timepoint_id!r} is {days} days after baseline, "
                      f"< {options.min_sd_duration_days}: does not count")
    if response not in (scale.complete, scale.partial) or not options.confirmation_required:
        return response, ""
    confirmer = _confirming_assessment(position, window, scale, options)
    if confirmer is not None:
        return response, (f"{response} at {scored.timepoint_id!r} confirmed by "
                          f"{confirmer.timepoint_id!r} (RECIST 1.1 section 4.6, Table 3)")
    if sd_duration_met:
        return scale.stable, (f"{response} at {scored.timepoint_id!r} not confirmed: counts "
                              f"as {scale.stable} (RECIST 1.1 Table 3)")
    return None, (f"{response} at {scored.timepoint_id!r} not confirmed and before the SD "
                  "minimum duration: does not count (RECIST 1.1 Table 3)")


def _confirming_assessment(
    position: int, window: Sequence[ScoredTimepoint], scale: _Scale,
    options: EvaluationOptions,
) -> ScoredTimepoint | None:
    """The next evaluable assessment >= the confirmation interval later, if it confirms.

    RECIST 1.1 Table 3: CR is confirmed by CR; PR by PR or CR.
    """
    first = window[position]
    keeps = ({scale.complete} if first.response is scale.complete
             else {scale.complete, scale.partial})
    for later in window[position + 1:]:
        if later.response is Response.NE:
            continue  # not evaluable: cannot confirm, does not refute
        if later.response not in keeps:
            return None
        if (later.date - first.date).days >= options.min_confirmation_interval_days:
            return later
    return None
