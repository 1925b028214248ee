"""New lymph nodes and iRECIST new-lesion targets (issue 7, items 7-8).

Sources:

* RECIST 1.1 (Eisenhauer et al. 2009) section 3.1.1: "Nodes that have a short axis
  < 10 mm are considered non-pathological and should not be recorded or followed";
  EORTC RECIST FAQ "New lymph node lesions": "Nodes that have a short axis < 10 mm are
  considered non-pathological and should not be recorded. When a node increases in size
  so that the short axis is >= 10mm then the criteria for being considered malignant
  have been met."
* iRECIST (Seymour et al. 2017), new lesions: "Five lesions (no more than two per organ)
  should be measured and recorded as new lesion target lesions ... Other new lesions
  (measurable or non-measurable) should be recorded as new lesion non-target lesions";
  Table 2: iCPD on ">= 5 mm in sum of measures for new lesion target".
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from measurement.codec import parse_evaluation_request
from measurement.model import NewLesion, Timepoint
from measurement.new_lesions import plan_new_lesions
from measurement.recist import evaluate
from tests.unit.recist_factories import (
    column,
    irecist,
    new,
    request,
    run,
    target,
    warning_codes,
)


@pytest.mark.parametrize(("size", "counted"), [(9.9, False), (10, True), ("too_small", False)])
def test_new_node_under_10_mm_is_not_a_new_lesion(size: float | str, counted: bool) -> None:
    response = run([target("T1", 50, 50), new("N1", 1, nodal=True, organ="axilla",
                                             sizes={1: size})])
    assert column(response, "new_lesions") == [counted]
    assert column(response, "overall_response") == ["PD" if counted else "SD"]
    assert warning_codes(response) == ([] if counted else ["NEW_NODE_NOT_PATHOLOGICAL"])
    if not counted:
        assert "'N1'" in response["warnings"][0]["message"]


def test_new_node_counts_from_the_scan_where_it_reaches_10_mm() -> None:
    # 8 mm at FU1 (not pathological), 12 mm at FU2: "the criteria for being considered
    # malignant have been met" at FU2.
    response = run([target("T1", 50, 50, 50),
                    new("N1", 1, nodal=True, organ="axilla", sizes={1: 8, 2: 12})])
    assert column(response, "new_lesions") == [False, True]
    assert column(response, "overall_response") == ["SD", "PD"]
    assert warning_codes(response) == ["NEW_NODE_NOT_PATHOLOGICAL"]
    assert "'FU2'" in response["warnings"][0]["message"]


def test_unmeasured_new_node_and_small_non_nodal_new_lesion_count() -> None:
    # Nothing says the node is under 10 mm; the 10 mm rule is for nodes only.
    response = run([target("T1", 50, 50), new("N1", 1, nodal=True),
                    new("NEW2", 1, sizes={1: 3})])
    assert column(response, "overall_response") == ["PD"]
    assert warning_codes(response) == []


def test_new_node_back_under_10_mm_has_resolved_under_irecist() -> None:
    # iUPD at FU1 from a 12 mm new node; at FU2 it is 8 mm, normal (as for iCR, RECIST
    # 1.1 section 4.3.1): no longer present, the iUPD resets to iSD.
    response = irecist([target("T1", 50, 50, 50),
                        new("N1", 1, nodal=True, organ="axilla", sizes={1: 12, 2: 8})])
    assert column(response, "overall_response") == ["iUPD", "iSD"]


def _lesion(lesion_id: str, organ: str, size: str, at: str = "FU1") -> NewLesion:
    return NewLesion(id=lesion_id, timepoint_id=at, organ=organ,
                     measurements={at: Decimal(size)})


_TIMEPOINTS = [Timepoint(tp, datetime.date(2026, 1, 5) + datetime.timedelta(56 * i))
               for i, tp in enumerate(["BL", "FU1", "FU2"])]


def test_at_most_five_new_lesion_targets_largest_first() -> None:
    # Seven new lesions in seven organs at FU1: the five largest are the targets.
    lesions = [_lesion(f"L{i}", f"organ{i}", str(10 + i)) for i in range(7)]
    plan = plan_new_lesions(lesions, _TIMEPOINTS)
    assert plan.target_ids == {"L2", "L3", "L4", "L5", "L6"}


def test_at_most_two_new_lesion_targets_per_organ_ties_by_id() -> None:
    # Three liver lesions (one tie at 20 mm: "A" before "B"), one lung lesion.
    lesions = [_lesion("B", "liver", "20"), _lesion("A", "Liver ", "20"),
               _lesion("C", "liver", "30"), _lesion("D", "lung", "5")]
    plan = plan_new_lesions(lesions, _TIMEPOINTS)
    assert plan.target_ids == {"C", "A", "D"}


def test_earlier_new_lesions_are_chosen_first() -> None:
    # Five lesions at FU1 fill the targets; a larger one at FU2 is a non-target.
    lesions = [_lesion(f"L{i}", f"organ{i}", "10") for i in range(5)]
    lesions.append(_lesion("BIG", "brain", "40", at="FU2"))
    plan = plan_new_lesions(lesions, _TIMEPOINTS)
    assert "BIG" not in plan.target_ids and len(plan.target_ids) == 5


@pytest.mark.parametrize(("grown", "why"), [
    ("L0", "new-lesion non-target(s) 'L0' increased"),
    ("L6", "new-lesion target sum is 10 mm above"),
])
def test_only_new_lesion_targets_enter_the_new_lesion_sum(grown: str, why: str) -> None:
    # Seven new lesions at FU1 of 10..16 mm in seven organs: L2..L6 are the targets. At
    # FU2 one grows by 10 mm: L6, a target, raises the new-lesion sum by 10 mm; L0, a
    # new-lesion non-target, is not in the sum, but (issue 16) "any increase for new
    # lesion non-target" confirms iCPD too (iRECIST Table 2). Before issue 16 the growth
    # of L0 was not modelled and this row answered iUPD.
    lesions = [target("T1", 50, 50, 50)]
    for i in range(7):
        size = 10 + i
        lesions.append(new(f"L{i}", 1, organ=f"organ{i}",
                           sizes={1: size, 2: size + (10 if f"L{i}" == grown else 0)}))
    body = request(lesions, criteria="iRECIST")
    assert column(irecist(lesions), "overall_response") == ["iUPD", "iCPD"]
    assert why in " | ".join(evaluate(parse_evaluation_request(body)).timepoints[2].reasons)
