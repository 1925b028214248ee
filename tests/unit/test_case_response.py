"""Incomplete timepoints: no partial sum or response, the lesions missing named, a next step."""

from __future__ import annotations

import datetime as dt

import pytest

from api.workflow.case_reader import CaseReader
from api.workflow.case_response import FIRST_STEP
from api.workflow.cases import CaseService, NewCase, NewLesion
from api.workflow.errors import DuplicateCase, IncompleteTimepoint
from api.workflow.reading_rules import MeasurementInput
from api.workflow.roles import Principal, Role
from measurement.vocabulary import Criteria, LesionKind
from tests.unit.workflow_fakes import FakeCaseStore, FakePacs

PID = "P-1"
RAD = Principal(1, "rad", Role.RADIOLOGIST)
SPEC = Principal(2, "spec", Role.SPECIALIST)

World = tuple[CaseService, int, list[tuple[str, str]]]


@pytest.fixture
def world() -> World:
    """A case over baseline, follow-up 1 and follow-up 2: (timepoint uid, an image uid)."""
    store = FakeCaseStore()
    tps = []
    for day in (dt.date(2026, 1, 5), dt.date(2026, 3, 2), dt.date(2026, 5, 4)):
        study, images = store.add_study(PID, day)
        tps.append((study.study_instance_uid, images[0]))
    service = CaseService(CaseReader(store), FakePacs())
    cid = service.create_case(RAD, NewCase(PID, Criteria.RECIST_1_1)).case.id
    return service, cid, tps


def _measure(service: CaseService, cid: int, lesion: int, tp: tuple[str, str],
             cols: float) -> None:
    service.record_measurement(RAD, cid, lesion, tp[0], MeasurementInput(
        sop_instance_uid=tp[1], endpoints=[[0, 0], [0, cols]]))


def _status(service: CaseService, cid: int, lesion: int, tp: tuple[str, str],
            status: str) -> None:
    service.record_measurement(RAD, cid, lesion, tp[0], MeasurementInput(status=status))


def test_an_empty_case_says_what_to_do_first(world: World) -> None:
    service, cid, tps = world
    resp = service.response(SPEC, cid)
    assert resp.result is None and resp.best_overall_response is None
    assert resp.next_step == FIRST_STEP
    assert not resp.complete
    # No lesion: nothing is missing, yet no timepoint is complete.
    assert [(s.complete, s.missing) for s in resp.states] == [(False, ())] * 3


def test_a_case_without_lesions_cannot_be_signed_off(world: World) -> None:
    """Nothing is missing from an empty case, yet nothing was read: signed off, it would
    look like a complete reading of a patient without disease."""
    service, cid, tps = world
    with pytest.raises(IncompleteTimepoint, match="has no lesion yet") as refused:
        service.sign_off(RAD, cid, tps[0][0])
    assert refused.value.extra == {"timepoint_id": tps[0][0], "missing": []}
    assert service.response(SPEC, cid).states[0].signed_off is False
    t1 = service.add_lesion(RAD, cid, NewLesion(LesionKind.TARGET, "liver")).id
    _measure(service, cid, t1, tps[0], 30)
    assert service.sign_off(RAD, cid, tps[0][0]).signed_by == "rad"


def test_an_unmeasured_follow_up_has_no_sum_and_names_its_lesions(world: World) -> None:
    service, cid, tps = world
    t1 = service.add_lesion(RAD, cid, NewLesion(LesionKind.TARGET, "liver")).id
    t2 = service.add_lesion(RAD, cid, NewLesion(LesionKind.TARGET, "lung")).id
    nt = service.add_lesion(RAD, cid, NewLesion(LesionKind.NON_TARGET, "bone")).id
    resp = service.response(SPEC, cid)
    assert resp.result is None
    assert [m.label for m in resp.states[0].missing] == ["T1", "T2", "NT1"]
    assert resp.next_step is not None and "T1, T2, NT1 on the baseline" in resp.next_step

    _measure(service, cid, t1, tps[0], 40)
    _measure(service, cid, t2, tps[0], 30)
    _status(service, cid, nt, tps[0], "present")
    # Follow-up 1 half measured: T1 only. The engine would give a partial sum; we give none.
    _measure(service, cid, t1, tps[1], 20)
    resp = service.response(SPEC, cid)
    assert resp.result is not None
    bl, fu1, fu2 = resp.result.timepoints
    assert bl.sum_mm is not None and resp.states[0].complete
    assert [(m.lesion_id, m.label, m.kind) for m in resp.states[1].missing] == [
        (t2, "T2", "target"), (nt, "NT1", "non_target")]
    for row in (fu1, fu2):
        assert row.sum_mm is None and row.overall_response is None
        assert row.target_response is None and row.change_from_baseline_pct is None
        assert row.nadir_mm is None and row.new_lesions is None
    assert not resp.complete
    assert resp.next_step is not None and "T2, NT1 on follow-up 1 (2 Mar 2026)" in resp.next_step


def test_best_response_is_judged_before_the_first_gap(world: World) -> None:
    service, cid, tps = world
    t1 = service.add_lesion(RAD, cid, NewLesion(LesionKind.TARGET, "liver")).id
    _measure(service, cid, t1, tps[0], 40)
    _measure(service, cid, t1, tps[1], 20)  # -50 %: PR
    new = service.add_lesion(RAD, cid, NewLesion(LesionKind.NEW, "liver",
                                                 timepoint=tps[2][0])).id
    resp = service.response(SPEC, cid)
    assert resp.result is not None
    assert resp.result.timepoints[1].overall_response is not None
    assert resp.result.timepoints[1].overall_response.value == "PR"
    # Follow-up 2 waits for T1 and the new lesion: the new lesion's PD is not shown yet.
    assert [m.label for m in resp.states[2].missing] == ["T1", "N1"]
    assert resp.states[1].missing == ()
    assert resp.result.timepoints[2].overall_response is None
    assert resp.best_overall_response is not None
    assert resp.best_overall_response.value == "PR"

    _measure(service, cid, t1, tps[2], 20)
    _measure(service, cid, new, tps[2], 12)
    resp = service.response(SPEC, cid)
    assert resp.complete and resp.next_step is None
    assert resp.result is not None and resp.result.timepoints[2].overall_response is not None
    assert resp.result.timepoints[2].overall_response.value == "PD"


def test_a_new_lesion_is_due_from_its_first_sighting_only(world: World) -> None:
    service, cid, tps = world
    t1 = service.add_lesion(RAD, cid, NewLesion(LesionKind.TARGET, "liver")).id
    for tp in tps:
        _measure(service, cid, t1, tp, 30)
    service.add_lesion(RAD, cid, NewLesion(LesionKind.NEW, "lung", timepoint=tps[1][0]))
    resp = service.response(SPEC, cid)
    assert [[m.label for m in s.missing] for s in resp.states] == [[], ["N1"], ["N1"]]


def test_not_evaluable_is_a_reading(world: World) -> None:
    service, cid, tps = world
    t1 = service.add_lesion(RAD, cid, NewLesion(LesionKind.TARGET, "liver")).id
    _measure(service, cid, t1, tps[0], 30)
    _status(service, cid, t1, tps[1], "not_evaluable")
    _status(service, cid, t1, tps[2], "not_evaluable")
    resp = service.response(SPEC, cid)
    assert resp.complete
    assert resp.result is not None and resp.result.timepoints[1].overall_response is not None
    assert resp.result.timepoints[1].overall_response.value == "NE"


def test_sign_off_is_refused_while_a_lesion_has_no_reading(world: World) -> None:
    service, cid, tps = world
    t1 = service.add_lesion(RAD, cid, NewLesion(LesionKind.TARGET, "liver")).id
    nt = service.add_lesion(RAD, cid, NewLesion(LesionKind.NON_TARGET, "bone")).id
    _measure(service, cid, t1, tps[0], 30)
    with pytest.raises(IncompleteTimepoint) as refused:
        service.sign_off(RAD, cid, tps[0][0])
    assert refused.value.extra == {"timepoint_id": tps[0][0], "missing": [
        {"lesion_id": nt, "label": "NT1", "kind": "non_target"}]}
    assert "NT1" in refused.value.message
    _status(service, cid, nt, tps[0], "present")
    assert service.sign_off(RAD, cid, tps[0][0]).signed_by == "rad"
    # A new lesion first seen at follow-up 2 is not due at follow-up 1.
    service.add_lesion(RAD, cid, NewLesion(LesionKind.NEW, "lung", timepoint=tps[2][0]))
    _status(service, cid, t1, tps[1], "not_evaluable")
    _status(service, cid, nt, tps[1], "present")
    assert service.sign_off(RAD, cid, tps[1][0]).timepoint_uid == tps[1][0]
    with pytest.raises(IncompleteTimepoint, match="T1, NT1, N1"):
        service.sign_off(RAD, cid, tps[2][0])


def test_a_duplicate_case_names_the_existing_one(world: World) -> None:
    service, cid, tps = world
    with pytest.raises(DuplicateCase) as refused:
        service.create_case(RAD, NewCase(PID, Criteria.RECIST_1_1))
    assert refused.value.extra == {"existing_case_id": cid}
    with pytest.raises(DuplicateCase):
        service.create_case(RAD, NewCase(PID, Criteria.RECIST_1_1, baseline_study_uid=tps[0][0]))
    other = service.create_case(RAD, NewCase(PID, Criteria.RECIST_1_1, allow_duplicate=True))
    assert other.case.id != cid
    assert service.create_case(RAD, NewCase(PID, Criteria.IRECIST)).case.id not in (
        cid, other.case.id)


def test_no_best_response_until_a_follow_up_is_read_in_full(world: World) -> None:
    """The baseline alone is no assessment: best response stays unknown ("not yet
    measured"), not NE, which would say a follow-up was assessed and could not be judged."""
    service, cid, tps = world
    t1 = service.add_lesion(RAD, cid, NewLesion(LesionKind.TARGET, "liver")).id
    t2 = service.add_lesion(RAD, cid, NewLesion(LesionKind.TARGET, "lung")).id
    _measure(service, cid, t1, tps[0], 40)
    _measure(service, cid, t2, tps[0], 30)
    resp = service.response(SPEC, cid)
    assert resp.states[0].complete and resp.best_overall_response is None
    _measure(service, cid, t1, tps[1], 20)  # follow-up 1 half read
    assert service.response(SPEC, cid).best_overall_response is None
    _measure(service, cid, t2, tps[1], 15)  # now in full: -50 %, PR
    best = service.response(SPEC, cid).best_overall_response
    assert best is not None and best.value == "PR"
