"""RECIST 1.1 rules of the engine, through the contract's JSON.

Expected values are worked out by hand from RECIST 1.1 (Eisenhauer et al. 2009,
sections 4.3-4.4, Tables 1-3) and the Nadir contract, never copied from the engine.
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from measurement.best_response import ScoredTimepoint, best_overall_response
from measurement.model import Criteria, EvaluationOptions
from measurement.result import Response
from tests.unit.recist_factories import column, new, non_target, run, target

# --- Table 1 and Table 2: time-point response -------------------------------------

# One target lesion of 20 mm at baseline; its follow-up reading makes the category.
TARGET_AT_FU1: dict[str, Any] = {"CR": 0, "PR": 12, "SD": 18, "PD": 30, "NE": None}
NON_TARGET_AT_FU1 = {"CR": "absent", "NON_CR_NON_PD": "present", "NE": "not_evaluated",
                     "PD": "unequivocal_progression"}


def _case(target_state: str | None, non_target_state: str, new_lesion: bool) -> list[Any]:
    lesions: list[Any] = []
    if target_state is not None:
        lesions.append(target("T1", 20, TARGET_AT_FU1[target_state]))
    if non_target_state != "NA":
        lesions.append(non_target("NT1", "present", NON_TARGET_AT_FU1[non_target_state]))
    if new_lesion:
        lesions.append(new("NEW1", 1))
    return lesions


# RECIST 1.1 section 4.4.1, Table 1 (target, non-target, new lesions -> overall).
TABLE_1 = [
    ("CR", "CR", False, "CR"),
    ("CR", "NA", False, "CR"),
    ("CR", "NON_CR_NON_PD", False, "PR"),
    ("CR", "NE", False, "PR"),
    ("PR", "NON_CR_NON_PD", False, "PR"),
    ("PR", "NE", False, "PR"),
    ("PR", "CR", False, "PR"),
    ("SD", "NON_CR_NON_PD", False, "SD"),
    ("SD", "NE", False, "SD"),
    ("SD", "CR", False, "SD"),
    ("NE", "NON_CR_NON_PD", False, "NE"),
    ("NE", "CR", False, "NE"),
    ("NE", "NE", False, "NE"),
    ("PD", "CR", False, "PD"),
    ("PD", "NE", False, "PD"),
    ("PD", "NA", False, "PD"),
    ("CR", "PD", False, "PD"),
    ("SD", "PD", False, "PD"),
    ("NE", "PD", False, "PD"),
    ("CR", "CR", True, "PD"),
    ("PR", "NON_CR_NON_PD", True, "PD"),
    ("NE", "NE", True, "PD"),
]


@pytest.mark.parametrize(("target_state", "non_target_state", "new_lesion", "overall"), TABLE_1)
def test_table_1_overall_response_with_target_disease(
    target_state: str, non_target_state: str, new_lesion: bool, overall: str
) -> None:
    response = run(_case(target_state, non_target_state, new_lesion))
    row = response["timepoints"][1]
    assert row["target_response"] == target_state
    assert row["non_target_response"] == non_target_state
    assert row["new_lesions"] is new_lesion
    assert row["overall_response"] == overall


# RECIST 1.1 section 4.4.1, Table 2 (non-target disease only).
TABLE_2 = [
    ("CR", False, "CR"),
    ("NON_CR_NON_PD", False, "NON_CR_NON_PD"),
    ("NE", False, "NE"),
    ("PD", False, "PD"),
    ("CR", True, "PD"),
    ("NON_CR_NON_PD", True, "PD"),
    ("NE", True, "PD"),
]


@pytest.mark.parametrize(("non_target_state", "new_lesion", "overall"), TABLE_2)
def test_table_2_overall_response_non_target_only(
    non_target_state: str, new_lesion: bool, overall: str
) -> None:
    response = run(_case(None, non_target_state, new_lesion))
    row = response["timepoints"][1]
    assert row["target_response"] == "NA"
    assert row["overall_response"] == overall
    # Nadir contract: with no target lesions at all the sum fields are null.
    assert response["timepoints"][0]["sum_mm"] is None
    for key in ("sum_mm", "nadir_mm", "change_from_baseline_pct", "change_from_nadir_pct",
                "change_from_nadir_mm"):
        assert row[key] is None


# --- Target lesions: section 4.3.1 boundaries, exact ------------------------------

@pytest.mark.parametrize(("baseline", "follow_up", "expected"), [
    (100, 70, "PR"),          # exactly -30 %: inclusive
    (100, 70.1, "SD"),
    (33.3, 23.31, "PR"),      # exactly -30 % where binary floats are not exact
    (33.3, 23.32, "SD"),
    (0.3, 0.21, "PR"),        # 0.21 / 0.3 is 0.7000000000000001 in floats
])
def test_partial_response_boundary_is_inclusive_and_exact(
    baseline: float, follow_up: float, expected: str
) -> None:
    response = run([target("T1", baseline, follow_up)])
    assert column(response, "target_response") == [expected]


@pytest.mark.parametrize(("nadir", "follow_up", "expected"), [
    (25, 30, "PD"),           # +20 % and +5 mm exactly: both inclusive
    (25, 29.9, "SD"),
    (25.5, 30.6, "PD"),       # +20 % exactly, +5.1 mm
    (25.5, 30.59, "SD"),
    (20, 24.9, "SD"),         # +24.5 % but only 4.9 mm: the 5 mm rule
    (20, 25, "PD"),
    (50, 59.9, "SD"),         # +9.9 mm but only 19.8 %
    (50, 60, "PD"),
])
def test_progression_needs_20_percent_and_5_mm_over_nadir(
    nadir: float, follow_up: float, expected: str
) -> None:
    response = run([target("T1", nadir, follow_up)])
    assert column(response, "target_response") == [expected]


def test_nadir_is_the_smallest_earlier_sum_and_pd_is_judged_against_it() -> None:
    # BL 100; FU1 60 (PR); FU2 70: +16.7 % over the nadir 60, still -30 % from
    # baseline: PR. FU3 72: +20 % and +12 mm over 60 -> PD, although -28 % from baseline.
    response = run([target("T1", 50, 30, 35, 36), target("T2", 50, 30, 35, 36)])
    assert column(response, "sum_mm") == [60.0, 70.0, 72.0]
    assert column(response, "nadir_mm") == [100.0, 60.0, 60.0]
    assert column(response, "target_response") == ["PR", "PR", "PD"]
    assert column(response, "change_from_baseline_pct") == [-40.0, -30.0, -28.0]
    assert column(response, "change_from_nadir_pct") == [-40.0, 16.7, 20.0]
    assert column(response, "change_from_nadir_mm") == [-40.0, 10.0, 12.0]


def test_nadir_ignores_timepoints_where_a_target_was_not_evaluated() -> None:
    # FU1 measures only T1 (sum 20): not a nadir candidate. FU2 sums 80, judged against
    # the baseline 100 -> SD; against 20 it would have been PD.
    response = run([target("T1", 50, 20, 40), target("T2", 50, None, 40)])
    assert column(response, "target_response") == ["NE", "SD"]
    assert column(response, "nadir_mm") == [100.0, 100.0]
    assert column(response, "sum_mm") == [20.0, 80.0]


def test_missing_target_gives_ne_with_partial_sum_and_null_changes() -> None:
    response = run([target("T1", 30, 20), target("T2", 20, "not_evaluable")])
    row = response["timepoints"][1]
    assert row["target_response"] == "NE"
    assert row["overall_response"] == "NE"
    assert row["sum_mm"] == 20.0
    assert row["nadir_mm"] == 50.0
    assert row["change_from_baseline_pct"] is None
    assert row["change_from_nadir_pct"] is None
    assert row["change_from_nadir_mm"] is None


def test_missing_target_is_pd_when_the_measured_ones_already_progress() -> None:
    # Nadir 20 (10 + 10); at FU1 T1 alone measures 30: +50 % and +10 mm whatever T2 is.
    response = run([target("T1", 10, 30), target("T2", 10, None)])
    row = response["timepoints"][1]
    assert row["target_response"] == "PD"
    assert row["overall_response"] == "PD"
    assert row["sum_mm"] == 30.0
    assert row["change_from_nadir_mm"] is None


def test_nodal_complete_response_with_short_axes_below_10_mm() -> None:
    # RECIST 1.1 section 4.3.1/4.3.2: nodes < 10 mm are normal; their short axes stay in
    # the sum, so CR comes with a non-zero sum.
    response = run([target("N1", 20, 9.9, organ="lymph node", nodal=True),
                    target("N2", 16, "too_small", organ="lymph node", nodal=True),
                    target("T1", 25, 0)])
    row = response["timepoints"][1]
    assert row["target_response"] == "CR"
    assert row["sum_mm"] == 14.9


def test_node_at_10_mm_short_axis_is_not_complete_response() -> None:
    response = run([target("N1", 20, 10, nodal=True), target("T1", 25, 0)])
    assert column(response, "target_response") == ["PR"]


def test_too_small_non_nodal_counts_5_mm_and_is_not_complete_response() -> None:
    response = run([target("T1", 40, "too_small")])
    assert column(response, "sum_mm") == [5.0]
    assert column(response, "target_response") == ["PR"]


def test_too_small_counts_5_mm_towards_progression() -> None:
    # Nadir 0 after CR of a lone non-nodal target; "too_small" is 5 mm: >= 5 mm and
    # >= 20 % of 0.
    response = run([target("T1", 12, 0, "too_small")])
    assert column(response, "target_response") == ["CR", "PD"]


def test_reappearance_of_non_nodal_target_after_cr_is_pd_even_below_5_mm() -> None:
    # RECIST 1.1 Table 3 footnote: any reappearance after an overall CR is PD (here
    # overall CR: no non-target lesions). Without it, see test_recist_reappearance.
    response = run([target("T1", 20, 0, 3), target("N1", 18, 8, 8, nodal=True)])
    assert column(response, "target_response") == ["CR", "PD"]
    assert column(response, "change_from_nadir_mm") == [-30.0, 3.0]


def test_nodal_regrowth_after_cr_below_the_5_mm_rule_is_not_pd() -> None:
    response = run([target("N1", 20, 8, 9.5, nodal=True)])
    assert column(response, "target_response") == ["CR", "CR"]


def test_zero_reference_gives_null_percentages() -> None:
    # FU1 is judged against the baseline 12 mm; FU2 and FU3 against the nadir 0.
    response = run([target("T1", 12, 0, 0, 4)])
    assert column(response, "nadir_mm") == [12.0, 0.0, 0.0]
    assert column(response, "change_from_nadir_pct") == [-100.0, None, None]
    assert column(response, "change_from_baseline_pct") == [-100.0, -100.0, -66.7]
    assert column(response, "change_from_nadir_mm") == [-12.0, 0.0, 4.0]


# --- Non-target and new lesions --------------------------------------------------

@pytest.mark.parametrize(("statuses", "expected"), [
    (("absent", "absent"), "CR"),
    (("absent", "present"), "NON_CR_NON_PD"),
    (("present", "not_evaluated"), "NE"),
    (("present", None), "NE"),             # missing for that timepoint
    (("not_evaluated", "unequivocal_progression"), "PD"),
])
def test_non_target_response(statuses: tuple[str | None, str | None], expected: str) -> None:
    lesions = [non_target(f"NT{i}", "present", status) for i, status in enumerate(statuses)]
    assert column(run(lesions), "non_target_response") == [expected]


def test_new_lesion_counts_from_first_sighting_at_every_later_timepoint() -> None:
    response = run([target("T1", 20, 20, 20, 20), new("NEW1", 2)])
    assert column(response, "new_lesions") == [False, True, True]
    assert column(response, "overall_response") == ["SD", "PD", "PD"]


def test_equivocal_new_lesion_counts_only_once_confirmed() -> None:
    response = run([target("T1", 20, 20, 20, 20), new("NEW1", 1, equivocal=True)])
    assert column(response, "new_lesions") == [False, False, False]
    assert column(response, "overall_response") == ["SD", "SD", "SD"]


def test_confirmed_equivocal_new_lesion_dates_pd_back_to_first_sighting() -> None:
    # RECIST 1.1 section 4.3.5: PD is declared using the date of the initial scan.
    response = run([target("T1", 20, 12, 12, 12), new("NEW1", 2, equivocal=True,
                                                     confirmed_at=3)])
    assert column(response, "overall_response") == ["PR", "PD", "PD"]
    assert response["best_overall_response"] == "PR"


# --- Mixed response (Nadir contract) -----------------------------------------------

def test_mixed_response_shrinking_and_growing_targets() -> None:
    # T1 -40 % from baseline (S); T2 +25 % and +5 mm over its own smallest 20 (G).
    response = run([target("T1", 50, 30, 30), target("T2", 30, 20, 25)])
    assert column(response, "mixed_response") == [False, True]


def test_mixed_response_needs_two_different_lesions() -> None:
    # T1 is 50 % below baseline and 400 % above its own smallest size: S and G by the
    # same lesion is not a mixed response.
    response = run([target("T1", 100, 10, 50), target("T2", 30, 30, 30)])
    assert column(response, "mixed_response") == [False, False]


def test_mixed_response_with_new_lesion_or_non_target_progression() -> None:
    shrink = target("T1", 50, 35)
    assert column(run([shrink, new("NEW1", 1)]), "mixed_response") == [True]
    assert column(run([shrink, non_target("NT1", "present", "unequivocal_progression")]),
                  "mixed_response") == [True]
    assert column(run([target("T1", 50, 36), new("NEW1", 1)]), "mixed_response") == [False]


def test_mixed_response_leaves_unevaluated_lesions_out() -> None:
    response = run([target("T1", 50, 35), target("T2", 30, None)])
    assert column(response, "mixed_response") == [False]


# --- Best overall response (section 4.4.3, Table 3, Nadir contract) ----------------

def test_best_response_stops_at_first_pd() -> None:
    response = run([target("T1", 50, 40, 60, 10)])
    assert column(response, "overall_response") == ["SD", "PD", "PR"]
    assert response["best_overall_response"] == "SD"


def test_best_response_prefers_pr_over_sd() -> None:
    response = run([target("T1", 50, 40, 30, 40)])
    assert response["best_overall_response"] == "PR"


@pytest.mark.parametrize(("days", "best"), [(42, "SD"), (41, "PD")])
def test_sd_minimum_duration_is_inclusive(days: int, best: str) -> None:
    response = run([target("T1", 50, 45, 80)], days=[0, days, days + 56])
    assert column(response, "overall_response") == ["SD", "PD"]
    assert response["best_overall_response"] == best


def test_early_sd_alone_is_not_evaluable() -> None:
    assert run([target("T1", 50, 45)], days=[0, 30])["best_overall_response"] == "NE"


def test_non_cr_non_pd_also_needs_the_sd_duration() -> None:
    lesions = [non_target("NT1", "present", "present")]
    assert run(lesions, days=[0, 41])["best_overall_response"] == "NE"
    assert run(lesions, days=[0, 42])["best_overall_response"] == "NON_CR_NON_PD"


def test_custom_sd_duration() -> None:
    lesions = [target("T1", 50, 45)]
    assert run(lesions, days=[0, 30], min_sd_duration_days=30)["best_overall_response"] == "SD"


def test_baseline_only_is_not_evaluable() -> None:
    response = run([target("T1", 50)])
    assert response["timepoints"] == [{"id": "BL", "date": "2026-01-05", "sum_mm": 50.0}]
    assert response["best_overall_response"] == "NE"


def _bor(first: str, second: str | None, first_day: int = 56,
         second_day: int = 84) -> Response:
    scored = [ScoredTimepoint("FU1", _day(first_day), Response(first))]
    if second is not None:
        scored.append(ScoredTimepoint("FU2", _day(second_day), Response(second)))
    best, _ = best_overall_response(Criteria.RECIST_1_1, _day(0), scored,
                                    EvaluationOptions(confirmation_required=True))
    return best


def _day(offset: int) -> datetime.date:
    return datetime.date(2026, 1, 5) + datetime.timedelta(offset)


# RECIST 1.1 section 4.4.3, Table 3: best overall response when confirmation of CR and
# PR is required. First time point at day 56 (SD minimum met) or day 35 (not met).
TABLE_3 = [
    ("CR", "CR", 56, "CR"),
    ("CR", "PR", 56, "SD"),     # "SD, PD or PR": here SD (CR not confirmed)
    ("CR", "SD", 56, "SD"),
    ("CR", "SD", 35, "SD"),     # the later SD itself meets the duration
    ("CR", "PD", 56, "SD"),
    ("CR", "PD", 35, "PD"),
    ("CR", "NE", 56, "SD"),
    ("CR", "NE", 35, "NE"),
    ("PR", "CR", 56, "PR"),
    ("PR", "PR", 56, "PR"),
    ("PR", "SD", 56, "SD"),
    ("PR", "PD", 56, "SD"),
    ("PR", "PD", 35, "PD"),
    ("PR", "NE", 56, "SD"),
    ("PR", "NE", 35, "NE"),
    ("NE", "NE", 56, "NE"),
]


@pytest.mark.parametrize(("first", "second", "first_day", "best"), TABLE_3)
def test_table_3_best_response_with_confirmation(
    first: str, second: str, first_day: int, best: str
) -> None:
    assert _bor(first, second, first_day, first_day + 28) == Response(best)


@pytest.mark.parametrize(("interval", "best"), [(28, "PR"), (27, "SD")])
def test_confirmation_interval_is_inclusive(interval: int, best: str) -> None:
    assert _bor("PR", "PR", 56, 56 + interval) == Response(best)


def test_confirmation_end_to_end() -> None:
    lesions = [target("T1", 50, 30, 30)]
    confirmed = run(lesions, days=[0, 56, 84], confirmation_required=True)
    too_soon = run(lesions, days=[0, 56, 83], confirmation_required=True)
    unconfirmed_off = run(lesions, days=[0, 56, 83])
    assert confirmed["best_overall_response"] == "PR"
    assert too_soon["best_overall_response"] == "SD"
    assert unconfirmed_off["best_overall_response"] == "PR"


def test_confirmation_skips_not_evaluable_and_early_assessments() -> None:
    # PR at day 56, NE at 70, PR at 77 (too soon, keeps PR), PR at 84: confirmed.
    lesions = [target("T1", 50, 30, None, 30, 30)]
    response = run(lesions, days=[0, 56, 70, 77, 84], confirmation_required=True)
    assert column(response, "overall_response") == ["PR", "NE", "PR", "PR"]
    assert response["best_overall_response"] == "PR"


def test_confirmation_fails_when_the_response_is_lost_in_between() -> None:
    # PR at 56, SD at 70, PR at 90 and nothing after: neither PR is confirmed.
    lesions = [target("T1", 50, 30, 40, 30)]
    response = run(lesions, days=[0, 56, 70, 90], confirmation_required=True)
    assert response["best_overall_response"] == "SD"


# RECIST 1.1 section 4.4.1, Table 2 footnote: "'Non-CR/non-PD' is preferred over 'stable
# disease' for non-target disease since SD is increasingly used as an endpoint ... so to
# assign this category when no lesions can be measured is not advised"; iRECIST Table 3
# note: "For patients with non-target disease only at baseline, only iCR or non-complete
# response or non-progression of disease can be assigned". Same rows as Table 3.
NON_TARGET_ONLY_TABLE_3 = [
    ("CR", "CR", 56, "CR"),
    ("CR", "NON_CR_NON_PD", 56, "NON_CR_NON_PD"),
    ("CR", "PD", 56, "NON_CR_NON_PD"),   # Table 3 "CR, PD -> SD" without target lesions
    ("CR", "PD", 35, "PD"),
    ("CR", "NE", 56, "NON_CR_NON_PD"),
    ("CR", "NE", 35, "NE"),
]


@pytest.mark.parametrize(("first", "second", "first_day", "best"), NON_TARGET_ONLY_TABLE_3)
def test_non_target_only_disease_never_has_sd_as_best_response(
    first: str, second: str, first_day: int, best: str
) -> None:
    scored = [ScoredTimepoint("FU1", _day(first_day), Response(first)),
              ScoredTimepoint("FU2", _day(first_day + 28), Response(second))]
    got, _ = best_overall_response(Criteria.RECIST_1_1, _day(0), scored,
                                   EvaluationOptions(confirmation_required=True),
                                   target_disease=False)
    assert got == Response(best)


@pytest.mark.parametrize("criteria", ["RECIST1.1", "iRECIST"])
def test_unconfirmed_cr_of_non_target_only_disease_is_non_cr_non_pd(criteria: str) -> None:
    # CR at FU1 (day 56, SD duration met), not evaluated at FU2: not confirmed.
    response = run([non_target("NT1", "present", "absent", "not_evaluated")],
                   criteria=criteria, confirmation_required=True)
    assert response["best_overall_response"] == "NON_CR_NON_PD"
    assert column(response, "overall_response") == [
        "iCR" if criteria == "iRECIST" else "CR", "NE"]


# --- Warnings (sections 3.1.1 and 4.2, Nadir contract) -----------------------------

def _codes(response: dict[str, Any]) -> list[str]:
    return [w["code"] for w in response["warnings"]]


def test_too_many_targets_in_total_and_per_organ() -> None:
    lesions = [target(f"T{i}", 20, 20, organ=" Liver " if i < 3 else f"organ{i}")
               for i in range(6)]
    lesions[0]["organ"] = "LIVER"
    response = run(lesions)
    assert _codes(response) == ["TOO_MANY_TARGETS", "TOO_MANY_TARGETS_IN_ORGAN"]
    assert "liver" in response["warnings"][1]["message"]
    assert column(response, "target_response") == ["SD"]  # computed anyway


def test_all_nodal_targets_count_as_one_organ() -> None:
    lesions = [target("N1", 20, 20, organ="neck", nodal=True),
               target("N2", 20, 20, organ="axilla", nodal=True),
               target("N3", 20, 20, organ="groin", nodal=True)]
    assert _codes(run(lesions)) == ["TOO_MANY_TARGETS_IN_ORGAN"]
    assert _codes(run(lesions[:2])) == []


# A baseline "too_small" used to be accepted here with a warning; it is now refused
# (RECIST 1.1 sections 3.1.1, 4.2: a target lesion is measurable at baseline), see
# test_recist_codec.INVALID "target too_small at baseline".
@pytest.mark.parametrize(("size", "nodal", "warned"), [
    (9.9, False, True), (10, False, False),
    (14.9, True, True), (15, True, False),
    (0.1, False, True), (0.1, True, True),
])
def test_target_below_measurable_size(size: float | str, nodal: bool, warned: bool) -> None:
    response = run([target("T1", size, size, nodal=nodal)])
    assert _codes(response) == (["TARGET_BELOW_MEASURABLE_SIZE"] if warned else [])
    if warned:
        assert "T1" in response["warnings"][0]["message"]
