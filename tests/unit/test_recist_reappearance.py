"""Lesions that disappear and reappear (issue 7, items 1-2), RECIST 1.1 and iRECIST.

Sources, quoted where a test rests on them:

* RECIST 1.1 (Eisenhauer et al. 2009), Table 3 footnote a: "If a CR is truly met at first
  time point, then any disease seen at a subsequent time point, even disease meeting PR
  or SD criteria relative to baseline, makes the disease PD at that point (since disease
  must have reappeared after CR)."
* EORTC RECIST FAQ "Does a new lesion always result in PD?": "Lesions that disappear and
  reappear do not automatically result in PD unless other criteria are also met (new
  lesions, increase in the sum of longest diameters >= 20%) OR CR (overall) was
  definitively assigned at the previous assessment. In this scenario, the reappearance
  of any malignant lesion results in PD."
* EORTC RECIST questions and clarifications, "Abnormal lymph node": a node that
  'disappears' (< 10 mm for a target node) and 'reappears' (>= 10 mm) is judged by the
  same answer.

Every table is worked out by hand from these rules; ``previous`` is the overall
response at the assessment just before the reappearance.
"""

from __future__ import annotations

import pytest

from tests.unit.recist_factories import column, irecist, non_target, run, target


def test_reappearance_after_overall_cr_is_pd() -> None:
    # Table 3 footnote a. BL 20 + 20; FU1 both 0: target CR, no non-targets: overall CR.
    # FU2 T1 is back at 4 mm: only +4 mm over the nadir 0, -90 % from baseline (PR by
    # the numbers), but disease reappeared after CR: PD.
    lesions = [target("T1", 20, 0, 4), target("T2", 20, 0, 0)]
    response = run(lesions)
    assert column(response, "overall_response") == ["CR", "PD"]
    assert column(response, "target_response") == ["CR", "PD"]
    # "Same under iRECIST": iCR, then iUPD.
    assert column(irecist(lesions), "overall_response") == ["iCR", "iUPD"]


@pytest.mark.parametrize(("fu1_status", "fu1_overall"), [
    ("present", "PR"),         # Table 1: target CR + non-target non-CR/non-PD = PR
    ("not_evaluated", "PR"),   # Table 1: target CR + non-target not evaluated = PR
])
def test_reappearing_target_after_pr_is_added_to_the_sum(
    fu1_status: str, fu1_overall: str
) -> None:
    # FAQ: without an overall CR at the previous assessment, the reappearance alone is
    # not PD; the lesion is measured again and the ordinary thresholds decide. FU2: T1 4
    # mm, T2 0: sum 4, +4 mm over the nadir 0 (< 5 mm), -90 % from 40: target PR.
    lesions = [target("T1", 20, 0, 4), target("T2", 20, 0, 0),
               non_target("NT1", "present", fu1_status, "present")]
    response = run(lesions)
    assert column(response, "overall_response") == [fu1_overall, "PR"]
    assert column(response, "target_response") == ["CR", "PR"]
    assert column(response, "sum_mm") == [0.0, 4.0]
    assert column(irecist(lesions), "overall_response") == ["i" + fu1_overall, "iPR"]


def test_reappearing_target_after_ne_is_judged_by_the_thresholds() -> None:
    # FU1: T1 0, T2 not measured: target NE, overall NE (not CR). FU2: T1 3, T2 0, sum 3;
    # the nadir is still the baseline 40 (FU1 was incomplete): -92.5 %: PR.
    lesions = [target("T1", 20, 0, 3), target("T2", 20, None, 0)]
    assert column(run(lesions), "overall_response") == ["NE", "PR"]
    assert column(irecist(lesions), "overall_response") == ["NE", "iPR"]


@pytest.mark.parametrize(("t2_at_fu2", "expected"), [(8, "PD"), (4, "SD")])
def test_reappearance_after_sd_needs_the_sum_to_meet_pd(t2_at_fu2: float, expected: str) -> None:
    # FAQ: "its maximal diameter should be added to the sum of the remaining lesions".
    # BL 40 + 10 = 50; FU1 40 + 0 = 40 (-20 %: SD, nadir 40). FU2 T2 back at 8: 48, +8 mm
    # and +20 % over 40: PD; back at 4: 44, +4 mm: SD.
    response = run([target("T1", 40, 40, 40), target("T2", 10, 0, t2_at_fu2)])
    assert column(response, "overall_response") == ["SD", expected]


def test_too_small_after_overall_cr_is_disease_seen_again() -> None:
    # Table 3 footnote a: "any disease seen". A lesion too small to measure is present.
    response = run([target("T1", 20, 0, "too_small")])
    assert column(response, "target_response") == ["CR", "PD"]


@pytest.mark.parametrize(("node_at_fu2", "expected"), [(10, "PD"), (9.9, "CR")])
def test_target_node_back_to_10_mm_after_overall_cr_is_pd(
    node_at_fu2: float, expected: str
) -> None:
    # EORTC clarification, abnormal lymph node: a target node < 10 mm has 'disappeared'
    # (RECIST 1.1 section 4.3.1: CR); >= 10 mm short axis it has 'reappeared'. After an
    # overall CR that is PD, even though 8 -> 10 mm is only +2 mm over the nadir.
    response = run([target("N1", 20, 8, node_at_fu2, nodal=True), target("T1", 15, 0, 0)])
    assert column(response, "overall_response") == ["CR", expected]


def test_target_node_back_to_10_mm_after_pr_is_judged_by_the_thresholds() -> None:
    # Overall PR at FU1 (a non-target persists): the node at 10 mm is +2 mm over the
    # nadir 8 and -71 % from the baseline 35: target PR.
    response = run([target("N1", 20, 8, 10, nodal=True), target("T1", 15, 0, 0),
                    non_target("NT1", "present", "present", "present")])
    assert column(response, "overall_response") == ["PR", "PR"]
    assert column(response, "target_response") == ["CR", "PR"]


def test_non_target_reappearing_after_overall_cr_is_pd() -> None:
    # Table 3 footnote a, item 2 of issue 7. FU1: target CR and the non-target absent:
    # overall CR. FU2: the non-target is present again: non-target PD, overall PD
    # (iRECIST: iUPD).
    lesions = [target("T1", 20, 0, 0), non_target("NT1", "present", "absent", "present")]
    response = run(lesions)
    assert column(response, "non_target_response") == ["CR", "PD"]
    assert column(response, "overall_response") == ["CR", "PD"]
    assert column(irecist(lesions), "overall_response") == ["iCR", "iUPD"]


def test_non_target_reappearing_after_pr_is_not_pd() -> None:
    # FU1: target PR (-50 %), non-target absent: overall PR. FU2 the non-target is seen
    # again: persistence, non-CR/non-PD (RECIST 1.1 section 4.3.3), overall PR.
    response = run([target("T1", 20, 10, 10), non_target("NT1", "present", "absent", "present")])
    assert column(response, "non_target_response") == ["CR", "NON_CR_NON_PD"]
    assert column(response, "overall_response") == ["PR", "PR"]


def test_non_target_only_disease_reappearing_after_cr() -> None:
    # Table 2 disease: CR at FU1, the lesion back at FU2: PD.
    response = run([non_target("NT1", "present", "absent", "present")])
    assert column(response, "overall_response") == ["CR", "PD"]
