"""Target lesions that split or coalesce on treatment (issue 16, item 4).

Source: RECIST 1.1 (Eisenhauer et al. 2009) section 4.3.2, "Lesions that split or
coalesce on treatment": "when non-nodal lesions 'fragment', the longest diameters of the
fragmented portions should be added together to calculate the target lesion sum.
Similarly, as lesions coalesce, a plane between them may be maintained that would aid in
obtaining maximal diameter measurements of each individual lesion. If the lesions have
truly coalesced such that they are no longer separable, the vector of the longest
diameter in this instance should be the maximal longest diameter for the 'coalesced
lesion'." The EORTC RECIST FAQ has the other coalesced lesions recorded as 0 mm. Nadir
contract: such a lesion is ``{"coalesced_into": "<target id>"}``, 0 mm in the sum, not
disappeared; a split one ``{"fragments": [mm, ...]}``.
"""

from __future__ import annotations

from typing import Any

import pytest

from measurement.codec import evaluate_request, parse_evaluation_request
from measurement.errors import InvalidEvaluationInput
from measurement.recist import evaluate
from tests.unit.recist_factories import column, irecist, new, non_target, request, run, target


def _split(*sizes: float) -> dict[str, Any]:
    return {"fragments": list(sizes)}


def _into(lesion_id: str) -> dict[str, Any]:
    return {"coalesced_into": lesion_id}


@pytest.mark.parametrize(("fragments", "sum_fu1", "target_fu1"), [
    ((12, 8.5), 40.5, "SD"),       # 50 -> 40.5: -19 %
    ((20, 15), 35.0, "PR"),        # T1 35 + T2 0... see below: 15 + 20 = 35, -30 % exactly
    ((10, 10, 10.1), 50.1, "SD"),  # three fragments: 30.1 + 20 = 50.1
])
def test_a_split_target_counts_the_sum_of_its_fragments(
        fragments: tuple[float, ...], sum_fu1: float, target_fu1: str) -> None:
    # BL T1 30 + T2 20 = 50. FU1 T1 split; T2 20, except in the PR row where T2 is gone.
    t2_fu1 = 0 if target_fu1 == "PR" else 20
    response = run([target("T1", 30, _split(*fragments)), target("T2", 20, t2_fu1)])
    expected_sum = sum_fu1 if target_fu1 != "PR" else 35.0
    assert column(response, "sum_mm") == [expected_sum]
    assert column(response, "target_response") == [target_fu1]
    assert column(response, "split") == [[{"id": "T1", "fragments_mm": list(map(float,
                                                                                fragments)),
                                           "sum_mm": float(sum(map(float, fragments)))}]]
    assert column(response, "coalesced") == [[]]


def test_a_split_is_judged_as_the_same_lesion_measured_whole() -> None:
    # The fragments 12 + 8 give the same answers as a single 20 mm reading.
    whole = run([target("T1", 30, 20, 40), non_target("NT1", "present", "present", "present")])
    split = run([target("T1", 30, _split(12, 8), 40),
                 non_target("NT1", "present", "present", "present")])
    for key in ("sum_mm", "target_response", "overall_response", "mixed_response"):
        assert column(split, key) == column(whole, key)
    assert "split" not in whole["timepoints"][1]


def test_coalesced_lesions_count_the_merged_diameter_once() -> None:
    # BL T1 20 + T2 20 = 40. FU1 they merged: 35 on T1, T2 coalesced into T1: sum 35,
    # -12.5 %: SD. Not a mixed response: T2's 0 mm is not a shrinkage (nor T1's 35 a
    # growth) of either lesion alone.
    response = run([target("T1", 20, 35), target("T2", 20, _into("T1"))])
    assert column(response, "sum_mm") == [35.0]
    assert column(response, "target_response") == ["SD"]
    assert column(response, "mixed_response") == [False]
    assert column(response, "coalesced") == [[{"id": "T2", "into": "T1"}]]
    assert column(response, "split") == [[]]
    body = request([target("T1", 20, 35), target("T2", 20, _into("T1"))])
    reasons = " | ".join(evaluate(parse_evaluation_request(body)).timepoints[1].reasons)
    assert "'T2' coalesced into 'T1'" in reasons and "not disappeared" in reasons


def test_a_coalesced_lesion_measured_apart_again_did_not_grow_from_0_mm() -> None:
    # BL 20 + 20 + 30 = 70. FU1 T1 and T2 merged (35 on T1), T3 10: sum 45, -36 %: PR.
    # FU2 the plane between them is seen again: T1 16, T2 19, T3 10: 45, PR. T3 shrank
    # >= 30 %, but T2 did not "grow" from 0 mm, nor T1 at FU1 from 20 to 35 (the merged
    # diameter): no mixed response; T2 never disappeared, so nothing "reappeared".
    response = run([target("T1", 20, 35, 16), target("T2", 20, _into("T1"), 19),
                    target("T3", 30, 10, 10)])
    assert column(response, "target_response") == ["PR", "PR"]
    assert column(response, "mixed_response") == [False, False]
    assert column(response, "coalesced") == [[{"id": "T2", "into": "T1"}], []]


def test_coalesced_nodes_under_10_mm_are_a_complete_response() -> None:
    # RECIST 1.1 section 4.3.1: every node < 10 mm short axis. Two target nodes merged
    # into one of 9 mm: CR.
    response = run([target("N1", 20, 9, nodal=True, organ="node"),
                    target("N2", 16, _into("N1"), nodal=True, organ="node")])
    assert column(response, "target_response") == ["CR"]


def test_split_lesions_count_in_the_irecist_confirmation() -> None:
    # iUPD at FU1 (65, +30 %); FU2 the lesion split 40 + 30 = 70: +5 mm over the sum at
    # iUPD: iCPD (iRECIST Table 2).
    response = irecist([target("T1", 50, 65, _split(40, 30))])
    assert column(response, "overall_response") == ["iUPD", "iCPD"]


@pytest.mark.parametrize(("lesions", "message"), [
    ([target("T1", _split(10, 10), 20)],
     'lesion "T1": measurements["BL"]: a target lesion cannot be split or coalesced at '
     "baseline"),
    ([target("T1", 20, 20), target("T2", _into("T1"), 20)],
     'lesion "T2": measurements["BL"]: a target lesion cannot be split or coalesced'),
    ([target("N1", 20, _split(5, 5), nodal=True)],
     'lesion "N1": measurements["FU1"]: a lymph node is measured by its short axis'),
    ([target("T1", 20, _split(12))],
     'lesion "T1": measurements["FU1"]: fragments: must list the longest diameters of at '
     "least two fragments, got 1"),
    ([target("T1", 20, _split(12, 0))],
     'lesion "T1": measurements["FU1"]: fragments[1]: must be a number of mm from 0.01 to '
     "1000, got 0"),
    ([target("T1", 20, _split(600, 400.1))],
     'lesion "T1": measurements["FU1"]: fragments: must add up to at most 1000 mm'),
    ([target("T1", 20, {"fragments": [12, "8"]})],
     'lesion "T1": measurements["FU1"].fragments: must be a list of numbers of mm'),
    ([target("T1", 20, {"fragments": [12, 8], "coalesced_into": "T2"})],
     'lesion "T1": measurements["FU1"]: an object must hold exactly one key'),
    ([target("T1", 20, {"merged": "T2"})],
     'lesion "T1": measurements["FU1"]: an object must hold exactly one key'),
    ([target("T1", 20, _into("T1"))],
     'lesion "T1": measurements["FU1"].coalesced_into: a lesion cannot coalesce into itself'),
    ([target("T1", 20, 30), target("T2", 20, _into("T9"))],
     'lesion "T2": measurements["FU1"].coalesced_into: "T9" is not a target lesion'),
    ([target("T1", 20, 30), non_target("NT1", "present", "present"),
      target("T2", 20, _into("NT1"))],
     'lesion "T2": measurements["FU1"].coalesced_into: "NT1" is not a target lesion'),
    ([target("T1", 20, "not_evaluable"), target("T2", 20, _into("T1"))],
     'lesion "T2": measurements["FU1"].coalesced_into: "T1" must carry the merged lesion\'s '
     'diameter in mm at "FU1"'),
    ([target("T1", 20, None), target("T2", 20, _into("T1"))],
     '"T1" must carry the merged lesion\'s diameter'),
    ([target("T1", 20, _into("T2")), target("T2", 20, _into("T1"))],
     '"T2" must carry the merged lesion\'s diameter'),
    ([target("T1", 20, _split(10, 10)), target("T2", 20, _into("T1"))],
     '"T1" must carry the merged lesion\'s diameter'),
    ([target("T1", 20, 30), target("N1", 20, _into("T1"), nodal=True)],
     'lesion "N1": measurements["FU1"].coalesced_into: "T1" is not a lymph node'),
    ([target("T1", 20, 20), target("T2", 20, {"coalesced_into": 3})],
     'lesion "T2": measurements["FU1"].coalesced_into: must be the id of a target lesion, '
     "got 3"),
    # New lesions (iRECIST new-lesion targets) are not split or merged by this contract.
    ([target("T1", 20, 20), new("N1", 1, sizes={1: _split(5, 5)})],  # type: ignore[dict-item]
     'lesion "N1": measurements["FU1"]: must be a number of mm'),
])
def test_refused_split_and_coalesced_readings(lesions: list[dict[str, Any]],
                                              message: str) -> None:
    with pytest.raises(InvalidEvaluationInput) as caught:
        evaluate_request(request(lesions))
    assert message in caught.value.message
