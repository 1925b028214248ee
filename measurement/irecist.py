"""iRECIST time-point responses: unconfirmed (iUPD) and confirmed (iCPD) progression.

Source: Seymour et al., "iRECIST: guidelines for response criteria for use in trials
testing immunotherapeutics", Lancet Oncol 2017;18:e143-52 (cited as "iRECIST"), Table 2
and the section on confirmation of progression; the EORTC RECIST working group FAQ
("sequential increases are additive"). The Nadir contract pins down:

* the first RECIST 1.1 progression is iUPD;
* a later assessment confirms it as iCPD by a further increase of the target sum of
  >= 5 mm measured from the sum at iUPD (cumulatively), by an additional new lesion, by
  growth of the new lesions' sum of >= 5 mm, or by progression newly met in another
  category; iCPD is final;
* if instead the cause of iUPD is gone and the disease meets iSD/iPR/iCR (or
  NON_CR_NON_PD) against baseline, iUPD resets, and a later progression is a new iUPD
  measured from the nadir at that time;
* while the cause persists (e.g. the new lesion is still there), the status stays iUPD;
  so does an NE assessment after iUPD, which can neither confirm nor reset.

Category verdicts (target, non-target) are those of RECIST 1.1, computed in
:mod:`measurement.rules`. A new lesion measured 0 mm has resolved: under iRECIST it no
longer sustains iUPD (iRECIST Table 2, iCR "no new lesions"), and it is not "present".
Non-target "further increase" short of unequivocal progression (iRECIST Table 2) cannot
be expressed with the contract's non-target statuses, so it is not modelled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from measurement.result import Response
from measurement.rules import FollowUpAssessment, overall_response

# iRECIST, confirmation of progression: a further increase of >= 5 mm in the sum of
# measures, from the sum at iUPD (target lesions, and the new-lesion target sum).
ICPD_MIN_FURTHER_INCREASE_MM = Decimal(5)

_K = TypeVar("_K", int, str)

_I_FORM = {
    Response.CR: Response.ICR,
    Response.PR: Response.IPR,
    Response.SD: Response.ISD,
    Response.NON_CR_NON_PD: Response.NON_CR_NON_PD,
    Response.NE: Response.NE,
}
# iRECIST: iUPD resets when iCR, iPR or iSD criteria are met again (Nadir contract:
# NON_CR_NON_PD likewise for disease without target lesions).
_RESETTING = frozenset({Response.CR, Response.PR, Response.SD, Response.NON_CR_NON_PD})


class Category(StrEnum):
    """A lesion category that can carry progression (iRECIST Table 2 columns)."""

    TARGET = "target"
    NON_TARGET = "non-target"
    NEW = "new lesions"


@dataclass(frozen=True)
class IrecistVerdict:
    """iRECIST time-point response, whether new lesions are present, and why."""

    overall: Response
    new_lesions_present: bool
    reason: str


@dataclass(frozen=True)
class _Episode:
    """An unconfirmed progression (iUPD) waiting for confirmation or reset."""

    timepoint_id: str
    causes: frozenset[Category]
    target_reference: Mapping[int, Decimal]  # target position -> size at iUPD
    new_ids: frozenset[str]
    new_reference: Mapping[str, Decimal]  # new lesion id -> size at iUPD


def present_new_lesions(assessment: FollowUpAssessment) -> frozenset[str]:
    """Counting new lesions minus those measured 0 mm (resolved) at this timepoint."""
    sizes = assessment.new_lesion_sizes
    return frozenset(lid for lid in assessment.new_lesion_ids
                     if lid not in sizes or sizes[lid] > 0)


def irecist_verdicts(assessments: Sequence[FollowUpAssessment]) -> tuple[IrecistVerdict, ...]:
    """Walk the follow-ups in date order through the iUPD / iCPD state machine."""
    verdicts: list[IrecistVerdict] = []
    episode: _Episode | None = None
    confirmed_at: str | None = None
    for assessment in assessments:
        present = present_new_lesions(assessment)
        recist = overall_response(assessment.target_response,
                                  assessment.non_target_response, bool(present))
        if confirmed_at is not None:
            verdicts.append(IrecistVerdict(
                Response.ICPD, bool(present),
                f"iCPD: progression was confirmed at {confirmed_at!r}; iCPD is final "
                "(iRECIST; Nadir contract)"))
        elif episode is None:
            if recist is Response.PD:
                episode = _start_episode(assessment, present)
                verdicts.append(IrecistVerdict(
                    Response.IUPD, bool(present),
                    f"iUPD: RECIST 1.1 progression ({_names(episode.causes)}) awaits "
                    "confirmation (iRECIST Table 2)"))
            else:
                verdicts.append(IrecistVerdict(
                    _I_FORM[recist], bool(present),
                    f"{_I_FORM[recist]}: RECIST 1.1 {recist} (iRECIST Table 2)"))
        else:
            why = _confirmation(episode, assessment, present)
            if why is not None:
                confirmed_at = assessment.timepoint.id
                verdicts.append(IrecistVerdict(Response.ICPD, bool(present), f"iCPD: {why}"))
            elif recist in _RESETTING:
                verdicts.append(IrecistVerdict(
                    _I_FORM[recist], bool(present),
                    f"{_I_FORM[recist]}: the cause of iUPD at {episode.timepoint_id!r} is "
                    "gone; iUPD resets (iRECIST; Nadir contract)"))
                episode = None
            else:
                verdicts.append(IrecistVerdict(
                    Response.IUPD, bool(present),
                    f"iUPD: progression from {episode.timepoint_id!r} persists, not yet "
                    "confirmed (iRECIST Table 2)"))
    return tuple(verdicts)


def _start_episode(assessment: FollowUpAssessment, present: frozenset[str]) -> _Episode:
    causes = set()
    if assessment.target_response is Response.PD:
        causes.add(Category.TARGET)
    if assessment.non_target_response is Response.PD:
        causes.add(Category.NON_TARGET)
    if present:
        causes.add(Category.NEW)
    return _Episode(
        timepoint_id=assessment.timepoint.id,
        causes=frozenset(causes),
        # The sum "at iUPD" is over the target lesions measured there; later sums are
        # taken over the same lesions, so an unevaluated one only makes them smaller.
        target_reference={position: value
                          for position, value in enumerate(assessment.target_values)
                          if value is not None},
        new_ids=present,
        new_reference={lid: size for lid, size in assessment.new_lesion_sizes.items()
                       if lid in present},
    )


def _confirmation(episode: _Episode, assessment: FollowUpAssessment,
                  present: frozenset[str]) -> str | None:
    """The reason this assessment confirms the episode's iUPD as iCPD, or ``None``."""
    increase = _further_increase(episode.target_reference,
                                 dict(enumerate(assessment.target_values)))
    if increase is not None and increase >= ICPD_MIN_FURTHER_INCREASE_MM:
        return (f"target sum is {increase} mm above its value at iUPD "
                f"({episode.timepoint_id!r}), >= 5 mm (iRECIST; Nadir contract)")
    additional = sorted(present - episode.new_ids)
    if additional:
        return (f"additional new lesion(s) {', '.join(map(repr, additional))} since iUPD "
                "(iRECIST Table 2)")
    growth = _further_increase(episode.new_reference, assessment.new_lesion_sizes)
    if growth is not None and growth >= ICPD_MIN_FURTHER_INCREASE_MM:
        return (f"sum of new lesions is {growth} mm above its value at iUPD, >= 5 mm "
                "(iRECIST Table 2)")
    newly = _newly_progressing(episode.causes, assessment, present)
    if newly:
        return (f"progression newly met in {_names(newly)} (iRECIST; Nadir contract)")
    return None


def _further_increase(reference: Mapping[_K, Decimal],
                      current: Mapping[_K, Decimal | None]) -> Decimal | None:
    """Sum now minus sum at iUPD over the lesions measured at iUPD.

    Lesions not evaluated now are left out of the current sum; that can only understate
    an increase, so an increase found this way is real. ``None`` without a reference.
    """
    if not reference:
        return None
    now = Decimal(0)
    for key in reference:
        value = current.get(key)
        if value is not None:
            now += value
    return now - sum(reference.values(), Decimal(0))


def _newly_progressing(causes: frozenset[Category], assessment: FollowUpAssessment,
                       present: frozenset[str]) -> frozenset[Category]:
    progressing = set()
    if assessment.target_response is Response.PD:
        progressing.add(Category.TARGET)
    if assessment.non_target_response is Response.PD:
        progressing.add(Category.NON_TARGET)
    if present:
        progressing.add(Category.NEW)
    return frozenset(progressing) - causes


def _names(categories: frozenset[Category]) -> str:
    return ", ".join(sorted(category.value for category in categories))
