"""iRECIST (Seymour et al., Lancet Oncol 2017;18:e143-52) through the contract's JSON.

Each scenario's expected sequence is worked out by hand in its comment.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.recist_factories import column, new, non_target, run, target


def irecist(lesions: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    return run(lesions, criteria="iRECIST", **kwargs)


def test_without_progression_overall_codes_are_the_i_forms_of_recist() -> None:
    # 40 (-20 %) SD, 30 (-40 %) PR, 0 CR, not evaluated NE.
    lesions = [target("T1", 50, 40, 30, 0, "not_evaluable")]
    assert column(irecist(lesions), "overall_response") == ["iSD", "iPR", "iCR", "NE"]
    assert column(run(lesions), "overall_response") == ["SD", "PR", "CR", "NE"]


def test_category_responses_keep_recist_codes() -> None:
    response = irecist([target("T1", 50, 65), non_target("NT1", "present", "present")])
    assert column(response, "target_response") == ["PD"]
    assert column(response, "non_target_response") == ["NON_CR_NON_PD"]
    assert column(response, "overall_response") == ["iUPD"]
    assert response["criteria"] == "iRECIST"


def test_non_target_only_disease_keeps_non_cr_non_pd() -> None:
    response = irecist([non_target("NT1", "present", "present")])
    assert column(response, "overall_response") == ["NON_CR_NON_PD"]


@pytest.mark.parametrize(("fu4", "expected"), [(55, "iCPD"), (54.9, "iUPD")])
def test_icpd_by_cumulative_5_mm_from_the_sum_at_iupd(fu4: float, expected: str) -> None:
    # FU1 40 (-20 %): iSD, nadir 40. FU2 50 (+25 %, +10 mm): iUPD with sum 50.
    # FU3 53 (+3 mm from 50): still iUPD. FU4: +5 mm cumulatively from 50 -> iCPD.
    # FU5 shrinks to 40, but iCPD is final.
    response = irecist([target("T1", 50, 40, 50, 53, fu4, 40)])
    assert column(response, "overall_response") == ["iSD", "iUPD", "iUPD", expected,
                                                    "iCPD" if expected == "iCPD" else "iSD"]
    assert column(response, "target_response") == ["SD", "PD", "PD", "PD", "SD"]


def test_icpd_by_an_additional_new_lesion() -> None:
    response = irecist([target("T1", 50, 50, 50, 50), new("NEW1", 1), new("NEW2", 3)])
    assert column(response, "overall_response") == ["iUPD", "iUPD", "iCPD"]


def test_iupd_persists_while_the_new_lesion_is_still_there() -> None:
    response = irecist([target("T1", 50, 45, 40, 40, 40), new("NEW1", 1)])
    assert column(response, "overall_response") == ["iUPD"] * 4
    assert response["best_overall_response"] == "iUPD"


@pytest.mark.parametrize(("new1_at_fu3", "expected"), [(6, "iCPD"), (5.9, "iUPD")])
def test_icpd_by_growth_of_new_lesions_sum(new1_at_fu3: float, expected: str) -> None:
    # New lesions measure 4 + 6 = 10 mm at iUPD (FU1), 6 + 7 = 13 at FU2 (+3: iUPD),
    # new1_at_fu3 + 9 at FU3: 15 (+5, cumulative: iCPD) or 14.9 (+4.9: iUPD).
    lesions = [target("T1", 50, 50, 50, 50),
               new("NEW1", 1, sizes={1: 4, 2: 6, 3: new1_at_fu3}),
               new("NEW2", 1, sizes={1: 6, 2: 7, 3: 9})]
    response = irecist(lesions)
    assert column(response, "overall_response") == ["iUPD", "iUPD", expected]


def test_icpd_by_non_target_progression_after_target_iupd() -> None:
    # FU1 target 65 (+30 %): iUPD caused by target. FU2 target +1 mm only, but the
    # non-target category now progresses: newly met in another category.
    response = irecist([target("T1", 50, 65, 66),
                        non_target("NT1", "present", "present", "unequivocal_progression")])
    assert column(response, "overall_response") == ["iUPD", "iCPD"]


def test_icpd_by_target_progression_newly_met_after_non_target_iupd() -> None:
    # FU1 40: iSD, nadir 40. FU2: non-target progression -> iUPD; target 46 (+15 %) is
    # not PD. FU3 target 48: only +2 mm over the sum at iUPD, but +20 % and +8 mm over
    # the nadir 40: target progression newly met -> iCPD.
    response = irecist([target("T1", 50, 40, 46, 48),
                        non_target("NT1", "present", "present", "unequivocal_progression",
                                   "unequivocal_progression")])
    assert column(response, "target_response") == ["SD", "SD", "PD"]
    assert column(response, "overall_response") == ["iSD", "iUPD", "iCPD"]


def test_iupd_resets_and_a_new_iupd_is_measured_from_its_own_sum() -> None:
    # FU1 60 (-40 %): iPR, nadir 60. FU2 75 (+25 %): iUPD at 75. FU3 65: not PD over
    # 60, -35 % from baseline: iPR, iUPD resets. FU4 73 (+21.7 %, +13 mm over 60): a new
    # iUPD at 73. FU5 77 (+4 from 73): iUPD. FU6 78: +5 from 73 -> iCPD (only +3 from
    # the first iUPD's 75, which no longer counts).
    response = irecist([target("T1", 100, 60, 75, 65, 73, 77, 78)])
    assert column(response, "overall_response") == [
        "iPR", "iUPD", "iPR", "iUPD", "iUPD", "iCPD"]
    assert response["best_overall_response"] == "iPR"


def test_new_iupd_after_reset_is_judged_from_the_new_nadir() -> None:
    # FU1 80: iSD. FU2 100 (+25 % over 80): iUPD. FU3 50: iPR, reset, new nadir 50.
    # FU4 60: +20 % and +10 mm over 50 -> iUPD (over the old nadir 80 it would be iPR).
    response = irecist([target("T1", 100, 80, 100, 50, 60)])
    assert column(response, "nadir_mm") == [100.0, 80.0, 80.0, 50.0]
    assert column(response, "overall_response") == ["iSD", "iUPD", "iPR", "iUPD"]


def test_iupd_stays_through_a_not_evaluable_assessment() -> None:
    response = irecist([target("T1", 50, 65, "not_evaluable")])
    assert column(response, "target_response") == ["PD", "NE"]
    assert column(response, "overall_response") == ["iUPD", "iUPD"]


def test_iupd_by_non_target_resets_when_the_progression_is_gone() -> None:
    response = irecist([target("T1", 50, 50, 50),
                        non_target("NT1", "present", "unequivocal_progression", "present")])
    assert column(response, "overall_response") == ["iUPD", "iSD"]
    assert response["best_overall_response"] == "iSD"


def test_resolved_new_lesion_lets_iupd_reset() -> None:
    lesions = [target("T1", 50, 50, 50), new("NEW1", 1, sizes={1: 8, 2: 0})]
    response = irecist(lesions)
    assert column(response, "overall_response") == ["iUPD", "iSD"]
    assert column(response, "new_lesions") == [True, False]
    # RECIST 1.1 (Nadir contract): a new lesion counts at every later timepoint.
    assert column(run(lesions), "overall_response") == ["PD", "PD"]


def test_confirmed_equivocal_new_lesion_dates_iupd_back() -> None:
    response = irecist([target("T1", 50, 50, 50, 50),
                        new("NEW1", 1, equivocal=True, confirmed_at=2)])
    assert column(response, "overall_response") == ["iUPD", "iUPD", "iUPD"]


@pytest.mark.parametrize(("sizes", "best"), [
    ((50, 65, 70), "iCPD"),        # iUPD confirmed at once: the iUPD counts as iCPD
    ((50, 65, 50), "iSD"),         # iUPD then reset to iSD
    ((50, 65, 66), "iUPD"),        # never confirmed
    ((50, 30, 65, 70), "iPR"),     # iPR before the progression
    ((50, 65, 30), "iPR"),         # response after a reset iUPD counts
])
def test_best_overall_response_under_irecist(sizes: tuple[float, ...], best: str) -> None:
    assert irecist([target("T1", *sizes)])["best_overall_response"] == best


def test_best_overall_response_under_irecist_with_confirmation() -> None:
    lesions = [target("T1", 50, 30, 30)]
    assert irecist(lesions, days=[0, 56, 84],
                   confirmation_required=True)["best_overall_response"] == "iPR"
    assert irecist(lesions, days=[0, 56, 80],
                   confirmation_required=True)["best_overall_response"] == "iSD"
