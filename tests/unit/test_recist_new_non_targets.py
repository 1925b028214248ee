"""iRECIST new-lesion non-targets: ``present``, ``increased``, ``absent`` (issue 16, item 1).

Sources, quoted where a row rests on them:

* iRECIST (Seymour et al., Lancet Oncol 2017;18:e143-52), new lesions: "Five lesions (no
  more than two per organ) should be measured and recorded as new lesion target lesions
  ... Other new lesions (measurable or non-measurable) should be recorded as new lesion
  non-target lesions". Table 2, previous iUPD, new lesions: "New lesions confirm iCPD if
  new lesions were previously identified and they have increased in size (>= 5 mm in sum
  of measures for new lesion target or any increase for new lesion non-target) or
  number; if no change is seen in new lesions (size or number) from last timepoint,
  assignment remains iUPD".
* EORTC iRECIST FAQ "How do new lesions define progression?": iCPD "when they increase
  in size (5mm or more if they are target, or any increase if non target), or another
  lesion appears"; "If iUPD is driven by non-target disease ...": "if the new lesions are
  non-target, any increase in size at the next assessment allows iCPD to be assigned -
  the increase does not need to be unequivocal".

Timepoints are 8 weeks apart (the confirming scan is on time) unless ``days`` says so.
"""

from __future__ import annotations

from typing import Any

import pytest

from measurement.codec import evaluate_request, parse_evaluation_request
from measurement.errors import InvalidEvaluationInput
from measurement.recist import evaluate
from tests.unit.recist_factories import Reading, column, irecist, new, request, run, target


def _liver(third_fu1: Reading, third_fu2: Reading, *, nlt_fu2: tuple[float, float] = (15, 12),
           organs: tuple[str, str, str] = ("liver", "liver", "liver")) -> list[dict[str, Any]]:
    # The audit's case: three new liver lesions at FU1 (15, 12 and the third). At most two
    # new-lesion targets per organ, chosen largest first: N1 and N2; N3 is a new-lesion
    # non-target. T1 is unchanged throughout (SD): the iUPD at FU1 is new lesions alone.
    return [target("T1", 50, 50, 50),
            new("N1", 1, organ=organs[0], sizes={1: 15, 2: nlt_fu2[0]}),
            new("N2", 1, organ=organs[1], sizes={1: 12, 2: nlt_fu2[1]}),
            new("N3", 1, organ=organs[2], sizes={1: third_fu1, 2: third_fu2})]


@pytest.mark.parametrize(("third_fu1", "third_fu2", "fu2"), [
    (10, 15, "iCPD"),              # the audit's case: "any increase for new lesion non-target"
    (10, 10.1, "iCPD"),            # any increase, compared exactly (tenths of a mm)
    (10, 10, "iUPD"),              # "no change ... remains iUPD"
    (10, 9, "iUPD"),               # a decrease is no increase
    ("present", "increased", "iCPD"),  # recorded by status: "increased" is an increase
    ("present", "present", "iUPD"),    # unchanged
    (10, "increased", "iCPD"),     # measured once, then recorded by status
    (10, "present", "iUPD"),       # no size to compare with: no increase shown
    (10, "not_evaluable", "iUPD"),
])
def test_any_increase_of_a_new_lesion_non_target_confirms_icpd(
        third_fu1: Reading, third_fu2: Reading, fu2: str) -> None:
    response = irecist(_liver(third_fu1, third_fu2))
    assert column(response, "overall_response") == ["iUPD", fu2]
    assert column(response, "target_response") == ["SD", "SD"]


def test_the_confirmation_names_the_new_lesion_non_target() -> None:
    body = request(_liver("present", "increased"), criteria="iRECIST")
    reasons = " | ".join(evaluate(parse_evaluation_request(body)).timepoints[2].reasons)
    assert "new-lesion non-target(s) 'N3' increased" in reasons
    assert "iRECIST Table 2" in reasons


@pytest.mark.parametrize(("third_fu2", "fu2"), [(15, "iCPD"), (14, "iUPD")])
def test_had_it_been_a_target_the_new_lesion_sum_must_rise_5_mm(third_fu2: float,
                                                                 fu2: str) -> None:
    # Three organs: all three are new-lesion targets; their sum rises from 37 to 42 mm
    # (+5 mm, ">= 5 mm in sum of measures for new lesion target") or to 41 (+4 mm).
    response = irecist(_liver(10, third_fu2, organs=("liver", "lung", "bone")))
    assert column(response, "overall_response") == ["iUPD", fu2]


def test_an_increase_after_an_unchanged_assessment_confirms() -> None:
    # FU1 iUPD (N1 appears, a non-target by status); FU2 unchanged: iUPD; FU3 increased.
    response = irecist([target("T1", 50, 50, 50, 50),
                        new("N1", 1, sizes={1: "present", 2: "present", 3: "increased"})])
    assert column(response, "overall_response") == ["iUPD", "iUPD", "iCPD"]


@pytest.mark.parametrize(("gap", "expected"), [(27, "iUPD"), (28, "iCPD")])
def test_an_increase_on_a_scan_under_4_weeks_after_iupd_cannot_confirm(gap: int,
                                                                       expected: str) -> None:
    # EORTC iRECIST FAQ: scans before 4 weeks after the iUPD "should not be used to define
    # iCPD"; an increase in size of existing lesions is no exception.
    response = irecist([target("T1", 50, 50, 50),
                        new("N1", 1, sizes={1: "present", 2: "increased"})],
                       days=[0, 56, 56 + gap])
    assert column(response, "overall_response") == ["iUPD", expected]


def test_absent_resolves_a_new_lesion_non_target() -> None:
    # N1 recorded absent at FU2: no new lesion is present any more, the target is SD:
    # the cause of the iUPD is gone and it resets (iRECIST Table 2): iSD.
    response = irecist([target("T1", 50, 50, 50),
                        new("N1", 1, sizes={1: "present", 2: "absent"})])
    assert column(response, "overall_response") == ["iUPD", "iSD"]
    assert column(response, "new_lesions") == [True, False]


@pytest.mark.parametrize("status", ["present", "increased", "absent"])
def test_under_recist_1_1_a_new_lesion_is_progression_whatever_its_status(status: str) -> None:
    # RECIST 1.1 section 4.3.5: a new lesion is PD from its first sighting on.
    response = run([target("T1", 50, 50, 50), new("N1", 1, sizes={1: "present", 2: status})])
    assert column(response, "overall_response") == ["PD", "PD"]


@pytest.mark.parametrize(("lesion", "criteria", "message"), [
    (new("N1", 1, sizes={1: "increased"}), "iRECIST",
     'lesion "N1": measurements["FU1"]: a new lesion cannot be "increased" at its first '
     "sighting"),
    (new("N1", 1, sizes={1: "absent"}), "RECIST1.1",
     'lesion "N1": measurements["FU1"]: a new lesion cannot be "absent" at its first sighting'),
    # Measured in mm where it first counts: a new-lesion target, whose growth is judged
    # on the new-lesion target sum (>= 5 mm), so it needs a size.
    (new("N1", 1, sizes={1: 12, 2: "increased"}), "iRECIST",
     'lesion "N1": measurements["FU2"]: "increased" applies to new-lesion non-targets'),
    (new("N1", 1, sizes={1: "grown"}), "iRECIST",
     'lesion "N1": measurements["FU1"]: must be a number of mm, "too_small", '
     '"not_evaluable", "disappeared", "present", "increased" or "absent", got "grown"'),
    # Baseline targets take no new-lesion status.
    (target("T2", 20, "present"), "RECIST1.1",
     'lesion "T2": measurements["FU1"]: must be a number of mm'),
])
def test_refused_new_lesion_statuses(lesion: dict[str, Any], criteria: str,
                                     message: str) -> None:
    body = request([target("T1", 50, 50, 50), lesion], criteria=criteria, timepoints=3)
    with pytest.raises(InvalidEvaluationInput) as caught:
        evaluate_request(body)
    assert caught.value.message.startswith(message)


def test_increased_on_a_new_lesion_target_is_accepted_under_recist_1_1() -> None:
    # RECIST 1.1 has no new-lesion targets: the status says the lesion is there.
    response = run([target("T1", 50, 50, 50), new("N1", 1, sizes={1: 12, 2: "increased"})])
    assert column(response, "overall_response") == ["PD", "PD"]
