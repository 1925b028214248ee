"""iRECIST time-point responses: unconfirmed (iUPD) and confirmed (iCPD) progression.

Source: Seymour et al., "iRECIST: guidelines for response criteria for use in trials
testing immunotherapeutics", Lancet Oncol 2017;18:e143-52 (cited as "iRECIST"), Table 2
and its section on confirming progression, and the EORTC RECIST working group's iRECIST
FAQ (cited as "iRECIST FAQ"). Rules:

* the first RECIST 1.1 progression is iUPD; the categories progressing there are its
  causes (target, non-target, new lesions);
* a later assessment confirms it as iCPD (final) by (a) a further increase in a causing
  category: the target sum >= 5 mm above the sum at iUPD (cumulatively: the iRECIST FAQ
  "sequential increases are additive"); a non-target lesion recorded
  ``unequivocal_further_increase``, or one in unequivocal progression that was present
  or absent at iUPD; an additional new lesion, the new-lesion target sum >= 5 mm
  above its value at iUPD, or any increase of a new-lesion non-target: recorded
  ``increased``, or measured larger in mm than at iUPD (Table 2: "any increase for new
  lesion non-target"; iRECIST FAQ "How do new lesions define progression?" and "If iUPD
  is driven by non-target disease ...": the increase "does not need to be unequivocal");
  or by (b) RECIST 1.1 progression newly met in a
  category that was not progressing at iUPD. A change in a category that neither caused
  the iUPD nor meets RECIST 1.1 progression confirms nothing;
* an assessment less than ``min_icpd_confirmation_days`` after the iUPD neither confirms
  nor resets it: it stays iUPD (iRECIST: confirm 4-8 weeks after iUPD; iRECIST FAQ:
  earlier scans "should be disregarded"). The FAQ's exception, an additional new lesion
  on an unscheduled scan done for a new clinical sign, is not applied: the engine does
  not know why a scan was done; the new lesion still confirms at the next scan on time,
  as it is compared with the iUPD assessment;
* a confirming scan more than 8 weeks after the iUPD raises ``LATE_CONFIRMATION``;
* when, instead, every cause is evaluated and gone and the disease meets iCR, iPR, iSD
  (or NON_CR_NON_PD) again, the iUPD resets; a later progression is a new iUPD, measured
  from the nadir at that time (iRECIST Table 2; Table 3 examples 2-5);
* otherwise the status stays iUPD, also where a causing category is not evaluated: not
  evaluated is not a reset, and a progression seen later belongs to the same episode.

Category verdicts (target, non-target) are those of RECIST 1.1 (:mod:`measurement.rules`).
A new lesion that has resolved (0 mm; a node under 10 mm) is not "present": it no longer
sustains iUPD (Table 2, iCR "no new lesions").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from measurement.model import EvaluationOptions, NonTargetStatus, Timepoint
from measurement.result import EvaluationWarning, Response, WarningCode
from measurement.rules import FollowUpAssessment, Verdict, overall_response

# iRECIST, confirmation of progression: a further increase of >= 5 mm in the sum of
# measures, from the sum at iUPD (target lesions, and the new-lesion target sum).
ICPD_MIN_FURTHER_INCREASE_MM = Decimal(5)
# iRECIST: the confirming assessment is "4-8 weeks" after iUPD; later is LATE_CONFIRMATION.
ICPD_LATEST_CONFIRMATION_DAYS = 56

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
# A non-target lesion known not to be in progression at iUPD.
_NOT_PROGRESSING = frozenset({NonTargetStatus.PRESENT, NonTargetStatus.ABSENT})


class Category(StrEnum):
    """A lesion category that can carry progression (iRECIST Table 2 columns)."""

    TARGET = "target"
    NON_TARGET = "non-target"
    NEW = "new lesions"


@dataclass(frozen=True)
class _Episode:
    """An unconfirmed progression (iUPD) waiting for confirmation or reset."""

    timepoint: Timepoint
    causes: frozenset[Category]
    target_reference: Mapping[int, Decimal]  # target position -> size at iUPD
    non_target_statuses: tuple[NonTargetStatus, ...]  # at iUPD, per non-target lesion
    new_ids: frozenset[str]
    new_reference: Mapping[str, Decimal]  # new-lesion target id -> size at iUPD
    new_non_target_reference: Mapping[str, Decimal]  # new-lesion non-target -> mm at iUPD


class IrecistJudge:
    """The iUPD / iCPD state machine, fed the follow-ups in date order (a ``Judge``).

    ``warnings`` collects ``LATE_CONFIRMATION`` as the follow-ups go by.
    """

    def __init__(self, options: EvaluationOptions) -> None:
        self._min_days = options.min_icpd_confirmation_days
        self._episode: _Episode | None = None
        self._confirmed_at: str | None = None
        self.warnings: list[EvaluationWarning] = []

    def __call__(self, assessment: FollowUpAssessment) -> Verdict:
        present = assessment.present_new_ids
        new = bool(present)
        recist = overall_response(assessment.target_response,
                                  assessment.non_target_response, new)
        if self._confirmed_at is not None:
            return Verdict(Response.ICPD, new, f"iCPD: progression was confirmed at "
                           f"{self._confirmed_at!r}; iCPD is final (iRECIST)")
        episode = self._episode
        if episode is None:
            if recist is Response.PD:
                self._episode = _start_episode(assessment)
                return Verdict(Response.IUPD, new, "iUPD: RECIST 1.1 progression ("
                               f"{_names(self._episode.causes)}) awaits confirmation "
                               "(iRECIST Table 2)")
            return Verdict(_I_FORM[recist], new,
                           f"{_I_FORM[recist]}: RECIST 1.1 {recist} (iRECIST Table 2)")
        return self._follow(episode, assessment, recist)

    def _follow(self, episode: _Episode, assessment: FollowUpAssessment,
                recist: Response) -> Verdict:
        new = bool(assessment.present_new_ids)
        since = episode.timepoint.id
        days = (assessment.timepoint.date - episode.timepoint.date).days
        if days < self._min_days:
            return Verdict(Response.IUPD, new, (
                f"iUPD: {days} days after the iUPD at {since!r}, less than "
                f"{self._min_days}: this scan can neither confirm nor reset it (iRECIST: "
                "4-8 weeks; iRECIST FAQ)"))
        why = _confirmation(episode, assessment)
        if why is not None:
            self._confirmed_at = assessment.timepoint.id
            if days > ICPD_LATEST_CONFIRMATION_DAYS:
                self.warnings.append(_late(episode, assessment, days))
            return Verdict(Response.ICPD, new, f"iCPD: {why}")
        unevaluated = _unevaluated_causes(episode, assessment)
        if recist in _RESETTING and not unevaluated:
            self._episode = None
            return Verdict(_I_FORM[recist], new, (
                f"{_I_FORM[recist]}: the cause of the iUPD at {since!r} is gone; iUPD "
                "resets (iRECIST Table 2)"))
        if unevaluated:
            return Verdict(Response.IUPD, new, (
                f"iUPD: {_names(unevaluated)} not evaluated, so the iUPD at {since!r} can "
                "neither be confirmed nor reset (iRECIST; Nadir contract)"))
        return Verdict(Response.IUPD, new, (
            f"iUPD: progression from {since!r} persists, not yet confirmed (iRECIST "
            "Table 2)"))


def _progressing(assessment: FollowUpAssessment) -> frozenset[Category]:
    """The categories meeting RECIST 1.1 progression at this assessment."""
    progressing = set()
    if assessment.target_response is Response.PD:
        progressing.add(Category.TARGET)
    if assessment.non_target_response is Response.PD:
        progressing.add(Category.NON_TARGET)
    if assessment.present_new_ids:
        progressing.add(Category.NEW)
    return frozenset(progressing)


def _start_episode(assessment: FollowUpAssessment) -> _Episode:
    return _Episode(
        timepoint=assessment.timepoint,
        causes=_progressing(assessment),
        # The sum "at iUPD" is over the target lesions measured there; later sums are
        # taken over the same lesions, so an unevaluated one only makes them smaller.
        target_reference={position: value
                          for position, value in enumerate(assessment.target_values)
                          if value is not None},
        non_target_statuses=assessment.non_target_statuses,
        new_ids=assessment.present_new_ids,
        new_reference={lid: size for lid, size in assessment.new_lesion_sizes.items()
                       if lid in assessment.present_new_ids},
        new_non_target_reference={
            lid: size for lid, size in assessment.new_non_target_sizes.items()
            if lid in assessment.present_new_ids},
    )


def _confirmation(episode: _Episode, assessment: FollowUpAssessment) -> str | None:
    """The reason this assessment confirms the episode's iUPD as iCPD, or ``None``."""
    since = episode.timepoint.id
    if Category.TARGET in episode.causes:
        increase = _further_increase(episode.target_reference,
                                     dict(enumerate(assessment.target_values)))
        if increase is not None and increase >= ICPD_MIN_FURTHER_INCREASE_MM:
            return (f"target sum is {increase} mm above its value at the iUPD ({since!r}), "
                    ">= 5 mm (iRECIST Table 2; iRECIST FAQ: increases are additive)")
    if Category.NON_TARGET in episode.causes and _non_target_further_increase(
            episode, assessment):
        return (f"non-target disease increased further since the iUPD ({since!r}) "
                "(iRECIST Table 2; iRECIST FAQ: need not be unequivocal again)")
    if Category.NEW in episode.causes:
        additional = sorted(assessment.present_new_ids - episode.new_ids)
        if additional:
            return (f"additional new lesion(s) {', '.join(map(repr, additional))} since the "
                    f"iUPD ({since!r}) (iRECIST Table 2)")
        growth = _further_increase(episode.new_reference, assessment.new_lesion_sizes)
        if growth is not None and growth >= ICPD_MIN_FURTHER_INCREASE_MM:
            return (f"new-lesion target sum is {growth} mm above its value at the iUPD "
                    f"({since!r}), >= 5 mm (iRECIST Table 2)")
        grown = _grown_new_non_targets(episode, assessment)
        if grown:
            return (f"new-lesion non-target(s) {', '.join(grown)} increased since the iUPD "
                    f"({since!r}); any increase confirms (iRECIST Table 2; iRECIST FAQ "
                    "\"How do new lesions define progression?\")")
    newly = _progressing(assessment) - episode.causes
    if newly:
        return (f"RECIST 1.1 progression newly met in {_names(newly)}, which did not "
                f"progress at the iUPD ({since!r}) (iRECIST)")
    return None


def _non_target_further_increase(episode: _Episode, assessment: FollowUpAssessment) -> bool:
    """iRECIST Table 2, non-target iUPD: "a further increase in the size of non-target
    disease": a lesion recorded ``unequivocal_further_increase``, or one in unequivocal
    progression now that was present or absent (not progressing) at iUPD."""
    for before, now in zip(episode.non_target_statuses, assessment.non_target_statuses,
                           strict=True):
        if now is NonTargetStatus.UNEQUIVOCAL_FURTHER_INCREASE:
            return True
        if now is NonTargetStatus.UNEQUIVOCAL_PROGRESSION and before in _NOT_PROGRESSING:
            return True
    return False


def _grown_new_non_targets(episode: _Episode, assessment: FollowUpAssessment) -> list[str]:
    """New-lesion non-targets that increased: recorded ``increased`` here, or measured in
    mm both at the iUPD and here and larger now (compared exactly). iRECIST Table 2: "any
    increase for new lesion non-target"."""
    grown = set(assessment.increased_new_ids & assessment.present_new_ids)
    for lesion_id, before in episode.new_non_target_reference.items():
        now = assessment.new_non_target_sizes.get(lesion_id)
        if now is not None and now > before:
            grown.add(lesion_id)
    return [repr(lesion_id) for lesion_id in sorted(grown)]


def _unevaluated_causes(episode: _Episode,
                        assessment: FollowUpAssessment) -> frozenset[Category]:
    """Causing categories not evaluated at this assessment (they cannot reset the iUPD)."""
    unevaluated = set()
    if Category.TARGET in episode.causes and assessment.target_response is Response.NE:
        unevaluated.add(Category.TARGET)
    if (Category.NON_TARGET in episode.causes
            and assessment.non_target_response is Response.NE):
        unevaluated.add(Category.NON_TARGET)
    return frozenset(unevaluated)


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


def _late(episode: _Episode, assessment: FollowUpAssessment, days: int) -> EvaluationWarning:
    return EvaluationWarning(
        WarningCode.LATE_CONFIRMATION,
        f"iCPD at {assessment.timepoint.id!r} confirms the iUPD at {episode.timepoint.id!r} "
        f"{days} days later, more than the 8 weeks ({ICPD_LATEST_CONFIRMATION_DAYS} days) "
        "iRECIST sets for the confirming scan",
    )


def _names(categories: frozenset[Category]) -> str:
    return ", ".join(sorted(category.value for category in categories))
