"""The checks of one reading, in their one home (measurement/readings.py), issue 16.

Sources, quoted where a row rests on them:

* RECIST 1.1 (Eisenhauer et al. 2009) section 4.2: target lesions are chosen among the
  measurable lesions at baseline and "all measurements should be recorded"; section 3.1.1:
  a measurable lesion has a size (10 mm, 15 mm short axis for a node), so a lesion too
  small to measure, not evaluable or absent is not one.
* Section 4.3.3: non-target lesions are "recorded at baseline" and followed as present,
  absent or in unequivocal progression.
* Section 4.3.5: a new lesion is one not present at baseline; an equivocal one is
  confirmed on a later scan. iRECIST (Seymour et al. 2017) Table 2: "increased" compares
  with an earlier assessment of that lesion.
* Section 4.3.2: "when non-nodal lesions 'fragment', the longest diameters of the
  fragmented portions should be added together"; coalesced lesions are measured as one,
  "the maximal longest diameter for the 'coalesced lesion'".

The engine (``EvaluationInput``) and the case service refuse with these functions' words:
the last test checks that both say the same sentence for the same reading.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from measurement.readings import (
    CoalescedInto,
    Fragments,
    LesionKind,
    NewLesionStatus,
    NonTargetStatus,
    TargetStatus,
    baseline_problem,
    before_first_sighting_problem,
    coalescence_problem,
    confirmation_problem,
    first_sighting_problem,
    merged_diameter_problem,
    new_lesion_timepoint_problem,
    split_problem,
)

TPS = ["BL", "FU1", "FU2"]


@pytest.mark.parametrize(("kind", "reading", "words"), [
    (LesionKind.TARGET, Decimal(12), None),  # measurable, measured: a target (s4.2)
    (LesionKind.TARGET, None, "needs a baseline measurement"),  # s4.2: all are measured
    (LesionKind.TARGET, TargetStatus.TOO_SMALL, "cannot be too_small at baseline"),  # s3.1.1
    (LesionKind.TARGET, TargetStatus.NOT_EVALUABLE, "cannot be not_evaluable at baseline"),
    (LesionKind.TARGET, Decimal(0), "cannot measure 0 mm (disappeared) at baseline"),
    # s4.3.2: lesions split or coalesce "on treatment", not at baseline.
    (LesionKind.TARGET, Fragments((Decimal(5), Decimal(6))), "split or coalesced at baseline"),
    (LesionKind.TARGET, CoalescedInto("T2"), "split or coalesced at baseline"),
    (LesionKind.NON_TARGET, NonTargetStatus.PRESENT, None),  # s4.3.3: recorded as present
    (LesionKind.NON_TARGET, NonTargetStatus.ABSENT, 'must be "present" at baseline'),
    (LesionKind.NON_TARGET, None, "no baseline assessment"),
])
def test_what_a_baseline_reading_may_be(kind: LesionKind, reading: object,
                                        words: str | None) -> None:
    problem = baseline_problem(kind, reading)  # type: ignore[arg-type]
    assert problem is None if words is None else words in (problem or "")


@pytest.mark.parametrize(("reading", "words"), [
    (Decimal(8), None),
    (NewLesionStatus.PRESENT, None),
    (Decimal(0), "cannot measure 0 mm"),  # s4.3.5: a new lesion is one that is seen
    (NewLesionStatus.ABSENT, 'cannot be "absent"'),
    (NewLesionStatus.INCREASED, "nothing earlier to compare with (iRECIST Table 2)"),
])
def test_what_a_new_lesion_may_be_where_it_is_first_seen(reading: object,
                                                         words: str | None) -> None:
    problem = first_sighting_problem(reading)  # type: ignore[arg-type]
    assert problem is None if words is None else words in (problem or "")


def test_a_new_lesion_is_first_seen_after_baseline_and_confirmed_later() -> None:
    # s4.3.5: "not present at baseline"; an equivocal one confirmed on a later scan.
    assert new_lesion_timepoint_problem(TPS, "FU1") is None
    assert "cannot be first seen at baseline" in (new_lesion_timepoint_problem(TPS, "BL") or "")
    assert "unknown timepoint" in (new_lesion_timepoint_problem(TPS, "FU9") or "")
    assert confirmation_problem(TPS, "FU1", "FU2") is None
    assert confirmation_problem(TPS, "FU1", "FU1") is None  # seen and confirmed at once
    assert "before the first sighting" in (confirmation_problem(TPS, "FU2", "FU1") or "")
    assert "before its first sighting" in (before_first_sighting_problem(TPS, "FU2", "FU1")
                                           or "")
    assert before_first_sighting_problem(TPS, "FU1", "FU2") is None


def test_split_and_coalescence_checks() -> None:
    # s4.3.2: "non-nodal lesions" fragment; the coalesced lesion's diameter goes on one
    # target of the same kind, as a length.
    assert split_problem(nodal=False) is None
    assert "lymph node is measured by its short axis" in (split_problem(nodal=True) or "")
    assert coalescence_problem("T2", False, "T1", into_is_target=True, into_nodal=False) is None
    assert "into itself" in (coalescence_problem("T1", False, "T1", into_is_target=True,
                                                 into_nodal=False) or "")
    assert "not a target lesion" in (coalescence_problem("T2", False, "NT1",
                                                         into_is_target=False,
                                                         into_nodal=False) or "")
    assert "lymph node" in (coalescence_problem("T2", False, "N1", into_is_target=True,
                                                into_nodal=True) or "")
    assert merged_diameter_problem("T1", "FU1", Decimal(30)) is None
    for merged in (Decimal(0), TargetStatus.NOT_EVALUABLE, None,
                   Fragments((Decimal(5), Decimal(6))), CoalescedInto("T3")):
        assert "must carry the merged lesion's diameter in mm" in (
            merged_diameter_problem("T1", "FU1", merged) or "")


def test_the_engine_and_the_case_service_refuse_in_the_same_words() -> None:
    """One home: the same reading refused by the evaluate request and by the case API
    carries the same sentence from measurement/readings.py."""
    from api.workflow.case_reader import CaseReader
    from api.workflow.cases import CaseService, NewCase, NewLesion
    from api.workflow.errors import InvalidMeasurement
    from api.workflow.reading_rules import MeasurementInput
    from api.workflow.roles import Principal, Role
    from measurement.codec import parse_evaluation_request
    from measurement.errors import InvalidEvaluationInput
    from measurement.vocabulary import Criteria
    from tests.unit.workflow_fakes import FakeCaseStore, FakePacs

    store = FakeCaseStore()
    store.add_study("P", dt.date(2026, 1, 5))
    fu, _ = store.add_study("P", dt.date(2026, 3, 2))
    cases = CaseService(CaseReader(store), FakePacs())
    rad = Principal(1, "rad", Role.RADIOLOGIST)
    cid = cases.create_case(rad, NewCase("P", Criteria.IRECIST)).case.id
    new = cases.add_lesion(rad, cid, NewLesion(LesionKind.NEW, "liver",
                                               timepoint=fu.study_instance_uid))
    with pytest.raises(InvalidMeasurement) as by_case:
        cases.record_measurement(rad, cid, new.id, fu.study_instance_uid,
                                 MeasurementInput(status="increased"))
    body = {"criteria": "iRECIST",
            "timepoints": [{"id": "BL", "date": "2026-01-05"},
                           {"id": "FU1", "date": "2026-03-02"}],
            "lesions": [{"id": "T1", "kind": "target", "measurements": {"BL": 20, "FU1": 20}},
                        {"id": "N1", "kind": "new", "timepoint": "FU1",
                         "measurements": {"FU1": "increased"}}]}
    with pytest.raises(InvalidEvaluationInput) as by_engine:
        parse_evaluation_request(body)
    sentence = first_sighting_problem(NewLesionStatus.INCREASED)
    assert sentence is not None
    assert sentence in str(by_case.value) and sentence in str(by_engine.value)
