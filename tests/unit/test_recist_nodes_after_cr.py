"""Lymph nodes after a complete response (issue 16, items 2-3), RECIST 1.1 and iRECIST.

Sources, quoted where a row rests on them:

* RECIST 1.1 (Eisenhauer et al. 2009) section 4.3.1, CR: "Any pathological lymph nodes
  (whether target or non-target) must have reduction in short axis to <10 mm"; section
  4.3.2: nodes keep their short axis in the sum, so "the sum of lesions may not be zero
  even if complete response criteria are met, since a normal lymph node is defined as
  having a short axis of <10 mm".
* EORTC RECIST FAQ "Abnormal lymph node": "Nodes require special consideration as nodes
  <10 mm are considered benign. Thus, a node is only considered to have 'reappeared' if
  it is >= 10 mm (Target lesion) or has unequivocally progressed (Non Target lesion)."
* RECIST 1.1 Table 1: target CR with non-target non-CR/non-PD is PR.

Every expectation is worked out by hand in the comment of its row.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.recist_factories import column, irecist, non_target, run, target


@pytest.mark.parametrize(("fu2", "non_target_fu2", "overall_fu2"), [
    # Seen again at normal size: persists, not progressed: non-CR/non-PD, and with the
    # target CR that is PR (Table 1), not PD.
    ("present", "NON_CR_NON_PD", "PR"),
    # "has unequivocally progressed": the one way a non-target node reappears.
    ("unequivocal_progression", "PD", "PD"),
    ("absent", "CR", "CR"),
    ("not_evaluated", "NE", "PR"),  # Table 1: target CR, non-target not evaluated: PR
])
def test_a_non_target_node_seen_again_after_cr_has_not_reappeared(
        fu2: str, non_target_fu2: str, overall_fu2: str) -> None:
    # The audit's case: a pathological node recorded as non-target is gone at FU1 with the
    # target: overall CR. At FU2 the node is recorded `fu2`.
    lesions = [target("T1", 20, 0, 0), non_target("NT1", "present", "absent", fu2,
                                                  nodal=True, organ="mediastinum")]
    response = run(lesions)
    assert column(response, "non_target_response") == ["CR", non_target_fu2]
    assert column(response, "overall_response") == ["CR", overall_fu2]
    expected_i = {"PR": "iPR", "PD": "iUPD", "CR": "iCR"}[overall_fu2]
    assert column(irecist(lesions), "overall_response") == ["iCR", expected_i]


def test_a_non_nodal_non_target_present_again_after_cr_is_still_pd() -> None:
    # RECIST 1.1 Table 3 footnote a: unchanged for lesions that are not nodes, also next
    # to a node seen again.
    response = run([target("T1", 20, 0, 0),
                    non_target("NT1", "present", "absent", "present", nodal=True),
                    non_target("NT2", "present", "absent", "present", organ="liver")])
    assert column(response, "non_target_response") == ["CR", "PD"]
    assert column(response, "overall_response") == ["CR", "PD"]


@pytest.mark.parametrize(("n1_fu2", "n2_fu2", "target_fu2"), [
    # The audit's case: short-axis sum 14 -> 19.8 mm (+41 %, +5.8 mm over the nadir), every
    # node still < 10 mm: normal nodes, CR.
    (9.9, 9.9, "CR"),
    (9.9, 10, "PD"),   # a node back to >= 10 mm short axis has reappeared
    (10, 4, "PD"),
    (7, 7, "CR"),      # unchanged
    (9.9, None, "NE"),  # one node not evaluated, the other normal: not PD by a partial sum
])
def test_target_nodes_under_10_mm_after_cr_stay_cr_whatever_their_sum(
        n1_fu2: float, n2_fu2: float | None, target_fu2: str) -> None:
    # BL 20 + 18 = 38; FU1 7 + 7 = 14 (both < 10 mm: target CR, overall CR, nadir 14).
    lesions = [target("N1", 20, 7, n1_fu2, nodal=True, organ="node"),
               target("N2", 18, 7, n2_fu2, nodal=True, organ="node")]
    response = run(lesions)
    assert column(response, "target_response") == ["CR", target_fu2]
    assert column(response, "overall_response") == ["CR", target_fu2]
    expected_i = {"CR": "iCR", "PD": "iUPD", "NE": "NE"}[target_fu2]
    assert column(irecist(lesions), "overall_response") == ["iCR", expected_i]


def test_without_a_previous_overall_cr_the_sum_rule_still_applies_to_nodes() -> None:
    # Unchanged rule (only "after an overall CR" changes): FU1 overall PR because a
    # non-target persists; FU2 nodes 9.9 + 9.9 = 19.8, +5.8 mm and +41 % over the nadir
    # 14: target PD (RECIST 1.1 section 4.3.1).
    lesions: list[dict[str, Any]] = [
        target("N1", 20, 7, 9.9, nodal=True, organ="node"),
        target("N2", 18, 7, 9.9, nodal=True, organ="node"),
        non_target("NT1", "present", "present", "present")]
    response = run(lesions)
    assert column(response, "overall_response") == ["PR", "PD"]
    assert column(response, "target_response") == ["CR", "PD"]


def test_a_non_nodal_target_back_after_cr_is_still_pd() -> None:
    # RECIST 1.1 Table 3 footnote a, unchanged: next to normal nodes, a non-nodal target
    # seen again at 3 mm is disease that reappeared.
    response = run([target("N1", 20, 7, 9, nodal=True, organ="node"),
                    target("T1", 30, 0, 3)])
    assert column(response, "target_response") == ["CR", "PD"]
