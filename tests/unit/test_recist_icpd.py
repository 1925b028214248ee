"""iRECIST confirmation of progression (issue 7, items 3-5).

Source: Seymour et al., Lancet Oncol 2017;18:e143-52 (iRECIST), Table 2, rows "with
previous iUPD in any category":

* target iUPD: "Remains iUPD unless iCPD is confirmed on the basis of a further increase
  in sum of measures >= 5 mm";
* non-target iUPD: "Remains iUPD unless iCPD is confirmed on the basis of a further
  increase in the size of non-target disease (does not need to meet RECIST 1.1 criteria
  for unequivocal progression)";
* new lesions: "New lesions confirm iCPD if new lesions were previously identified and
  they have increased in size (>= 5 mm in sum of measures for new lesion target ...) or
  number; if no change is seen in new lesions (size or number) from last timepoint,
  assignment remains iUPD";

and the text: iCPD is also confirmed when RECIST 1.1 progression criteria are met in a
lesion category in which progression was not previously identified. Timing: the next
assessment "4-8 weeks" after iUPD; EORTC iRECIST FAQ: "scans done prior to 4 weeks after
1st iUPD ... should not be used to define iCPD". Expected sequences are worked out by
hand in each comment; timepoints are 8 weeks apart unless ``days`` says otherwise.
"""

from __future__ import annotations

from typing import Any

import pytest

from measurement.codec import parse_evaluation_request
from measurement.recist import evaluate
from tests.unit.recist_factories import (
    column,
    irecist,
    new,
    non_target,
    request,
    target,
    warning_codes,
)


def _reasons(body: dict[str, Any], row: int) -> str:
    """The reasons of follow-up ``row`` (1 = FU1), joined."""
    return " | ".join(evaluate(parse_evaluation_request(body)).timepoints[row].reasons)


# --- item 3: a further increase in the category that caused the iUPD -----------------

def _non_target_iupd(nt_at_fu3: str, t1_at_fu3: float = 40) -> list[dict[str, Any]]:
    # T1 50, FU1 40 (-20 %: iSD, nadir 40), FU2 40; NT1 unequivocal progression at FU2:
    # iUPD caused by non-target disease alone, target sum at iUPD 40.
    return [target("T1", 50, 40, 40, t1_at_fu3),
            non_target("NT1", "present", "present", "unequivocal_progression", nt_at_fu3)]


def test_target_sum_5_mm_up_confirms_nothing_when_targets_did_not_cause_the_iupd() -> None:
    # FU3 T1 45: +5 mm over the sum at iUPD, but targets did not cause the iUPD and
    # +12.5 % over the nadir 40 is not RECIST 1.1 PD; NT1 is unchanged (still the
    # unequivocal progression of FU2): "remains iUPD".
    response = irecist(_non_target_iupd("unequivocal_progression", t1_at_fu3=45))
    assert column(response, "target_response") == ["SD", "SD", "SD"]
    assert column(response, "overall_response") == ["iSD", "iUPD", "iUPD"]


def test_non_target_iupd_is_confirmed_by_a_further_increase() -> None:
    # Table 2: "a further increase in the size of non-target disease".
    body = request(_non_target_iupd("unequivocal_further_increase"), criteria="iRECIST")
    response = irecist(_non_target_iupd("unequivocal_further_increase"))
    assert column(response, "non_target_response") == ["NON_CR_NON_PD", "PD", "PD"]
    assert column(response, "overall_response") == ["iSD", "iUPD", "iCPD"]
    assert "non-target disease increased further" in _reasons(body, 3)


def test_another_non_target_newly_in_unequivocal_progression_is_a_further_increase() -> None:
    # NT1 caused the iUPD at FU1; NT2, present then, progresses unequivocally at FU2:
    # the non-target disease increased further -> iCPD.
    response = irecist([target("T1", 50, 50, 50),
                        non_target("NT1", "present", "unequivocal_progression",
                                   "unequivocal_progression"),
                        non_target("NT2", "present", "present", "unequivocal_progression")])
    assert column(response, "overall_response") == ["iUPD", "iCPD"]


def test_new_lesion_iupd_is_not_confirmed_by_a_target_change_short_of_pd() -> None:
    # NEW1 at FU1: iUPD caused by new lesions. FU2: T1 55, +5 mm but +10 % (not PD), no
    # additional new lesion, no new-lesion sizes: "assignment remains iUPD".
    response = irecist([target("T1", 50, 50, 55), new("NEW1", 1)])
    assert column(response, "overall_response") == ["iUPD", "iUPD"]


def test_progression_newly_met_in_another_category_confirms() -> None:
    # Targets cause the iUPD at FU1 (65: +30 %); FU2 the target sum is unchanged but a
    # new lesion appears: RECIST 1.1 progression in a category that was not progressing.
    response = irecist([target("T1", 50, 65, 65), new("NEW1", 2)])
    assert column(response, "overall_response") == ["iUPD", "iCPD"]


# --- item 4: timing of the confirming assessment ---------------------------------------

@pytest.mark.parametrize(("gap", "expected"), [(27, "iUPD"), (28, "iCPD")])
def test_an_assessment_under_4_weeks_after_iupd_cannot_confirm(gap: int, expected: str) -> None:
    # iUPD at day 56 (65: +30 %); FU2 70: +5 mm over the sum at iUPD, `gap` days later.
    response = irecist([target("T1", 50, 65, 70)], days=[0, 56, 56 + gap])
    assert column(response, "overall_response") == ["iUPD", expected]


def test_an_early_assessment_neither_confirms_nor_resets() -> None:
    # iUPD at day 56. FU2 at day 76 (20 days): +5 mm, too early -> iUPD. FU3 at day 112
    # (56 days after iUPD) still +5 mm -> iCPD, 8 weeks after: on time.
    response = irecist([target("T1", 50, 65, 70, 70)], days=[0, 56, 76, 112])
    assert column(response, "overall_response") == ["iUPD", "iUPD", "iCPD"]
    assert warning_codes(response) == []
    # An early scan showing shrinkage back to 50 (iSD by the numbers) does not reset it.
    response = irecist([target("T1", 50, 65, 50, 50)], days=[0, 56, 76, 112])
    assert column(response, "overall_response") == ["iUPD", "iUPD", "iSD"]


def test_an_additional_new_lesion_on_an_early_scan_confirms_at_the_next_scan() -> None:
    # Nadir contract: no exception for new lesions (the engine cannot know that the
    # scan was done for a new clinical sign, the FAQ's condition). NEW1 at FU1 (day 56):
    # iUPD. NEW2 on a scan 14 days later: iUPD. At FU3 (day 91, 35 days after iUPD) NEW2
    # is still an additional new lesion compared with the iUPD: iCPD.
    response = irecist([target("T1", 50, 50, 50, 50), new("NEW1", 1), new("NEW2", 2)],
                       days=[0, 56, 70, 91])
    assert column(response, "overall_response") == ["iUPD", "iUPD", "iCPD"]


def test_min_icpd_confirmation_days_is_a_trial_option() -> None:
    response = irecist([target("T1", 50, 65, 70)], days=[0, 56, 77],
                       min_icpd_confirmation_days=21)
    assert column(response, "overall_response") == ["iUPD", "iCPD"]


@pytest.mark.parametrize(("gap", "late"), [(56, False), (57, True)])
def test_confirmation_more_than_8_weeks_after_iupd_is_flagged(gap: int, late: bool) -> None:
    # iRECIST: confirm "4-8 weeks" after iUPD. 56 days is 8 weeks: on time.
    response = irecist([target("T1", 50, 65, 70)], days=[0, 56, 56 + gap])
    assert column(response, "overall_response") == ["iUPD", "iCPD"]
    assert warning_codes(response) == (["LATE_CONFIRMATION"] if late else [])
    if late:
        assert "'FU2'" in response["warnings"][0]["message"]
        assert "57 days" in response["warnings"][0]["message"]


# --- item 5: not evaluated is not a reset ------------------------------------------------

def test_causing_category_not_evaluated_keeps_iupd() -> None:
    # NT1 causes the iUPD at FU1 with targets SD. FU2: NT1 not evaluated, targets SD
    # (Table 1: SD + NE = SD), but the cause was not seen: iUPD stays. FU3: NT1 grew
    # further -> iCPD, judged against the iUPD of FU1.
    response = irecist([target("T1", 50, 50, 50, 50),
                        non_target("NT1", "present", "unequivocal_progression",
                                   "not_evaluated", "unequivocal_further_increase")])
    assert column(response, "non_target_response") == ["PD", "NE", "PD"]
    assert column(response, "overall_response") == ["iUPD", "iUPD", "iCPD"]


def test_a_later_progression_continues_the_same_episode() -> None:
    # FU1 40: iSD (nadir 40). FU2 NT1 unequivocal progression: iUPD (non-target).
    # FU3 NT1 not evaluated: iUPD, not a reset. FU4 target 48: +20 % and +8 mm over the
    # nadir 40, RECIST 1.1 progression newly met in targets during the same episode:
    # iCPD (a new episode would have made it a second iUPD).
    response = irecist([target("T1", 50, 40, 40, 40, 48),
                        non_target("NT1", "present", "present", "unequivocal_progression",
                                   "not_evaluated", "unequivocal_progression")])
    assert column(response, "overall_response") == ["iSD", "iUPD", "iUPD", "iCPD"]


def test_target_iupd_through_not_evaluable_is_measured_from_the_first_iupd() -> None:
    # iUPD at FU1 with 65. FU2 not evaluable: iUPD. FU3 68: +3 from 65: iUPD. FU4 70:
    # +5 from 65: iCPD.
    response = irecist([target("T1", 50, 65, "not_evaluable", 68, 70)])
    assert column(response, "overall_response") == ["iUPD", "iUPD", "iUPD", "iCPD"]
