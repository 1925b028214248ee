"""Deleting and changing lesions (issue 18) on in-memory fakes: soft delete, amendment."""

from __future__ import annotations

import datetime as dt

import pytest

from api.workflow.case_reader import CaseReader
from api.workflow.cases import (
    CaseService,
    MeasurementInput,
    NewCase,
    NewLesion,
)
from api.workflow.errors import (
    Conflict,
    InvalidInput,
    LesionNotFound,
    NotAllowed,
    TimepointSignedOff,
)
from api.workflow.lesion_edits import LesionChanges, LesionDeletion
from api.workflow.roles import Principal, Role
from measurement.vocabulary import Criteria, LesionKind
from tests.unit.workflow_fakes import FakeCaseStore, FakePacs

PID = "P-1"
RAD = Principal(1, "rad", Role.RADIOLOGIST)
SPEC = Principal(2, "spec", Role.SPECIALIST)
ADMIN = Principal(3, "admin", Role.ADMIN)

World = tuple[CaseService, FakeCaseStore, int, list[tuple[str, str]]]


@pytest.fixture
def world() -> World:
    store = FakeCaseStore()
    tps = []
    for day in (dt.date(2026, 1, 5), dt.date(2026, 3, 2)):
        study, images = store.add_study(PID, day)
        tps.append((study.study_instance_uid, images[0]))
    service = CaseService(CaseReader(store), FakePacs())
    cid = service.create_case(RAD, NewCase(PID, Criteria.RECIST_1_1)).case.id
    return service, store, cid, tps


def _measure(service: CaseService, cid: int, lesion: int, tp: tuple[str, str],
             cols: float, **kw: str) -> None:
    service.record_measurement(RAD, cid, lesion, tp[0], MeasurementInput(
        sop_instance_uid=tp[1], endpoints=[[0, 0], [0, cols]], **kw))


def test_a_deleted_lesion_leaves_the_evaluation_and_keeps_its_history(world: World) -> None:
    service, store, cid, tps = world
    t1 = service.add_lesion(RAD, cid, NewLesion(LesionKind.TARGET, "liver")).id
    t2 = service.add_lesion(RAD, cid, NewLesion(LesionKind.TARGET, "lung")).id
    _measure(service, cid, t1, tps[0], 40)
    _measure(service, cid, t2, tps[0], 30)
    for who in (SPEC, ADMIN):
        with pytest.raises(NotAllowed):
            service.delete_lesion(who, cid, t2, LesionDeletion("wrong lesion"))
    gone = service.delete_lesion(RAD, cid, t2, LesionDeletion("  measured the wrong spot "))
    assert (gone.deleted_by, gone.deletion_reason) == ("rad", "measured the wrong spot")
    assert gone.deleted_at is not None and gone.deletion_amendment_reason is None
    assert [les.id for les in service.list_lesions(SPEC, cid)] == [t1]
    assert [les.id for les in service.list_lesions(SPEC, cid, include_deleted=True)] == [t1, t2]
    resp = service.response(SPEC, cid)
    assert resp.result is not None and resp.result.timepoints[0].sum_mm is not None
    # T1 alone: 40 columns x 0.8 mm.
    assert float(resp.result.timepoints[0].sum_mm) == pytest.approx(32.0)
    assert [m.label for m in resp.states[1].missing] == ["T1"]
    lesion, versions, changes = service.lesion_history(SPEC, cid, t2)
    assert lesion.deleted_at is not None and [v.version for v in versions] == [1]
    assert [(c.action, c.author, c.reason) for c in changes] == [
        ("delete", "rad", "measured the wrong spot")]
    assert ("rad", "delete", f"cases/{cid}/lesions/{t2}", PID) in store.audit_events
    # Gone for every write and read of a current value; its label is free again.
    with pytest.raises(LesionNotFound):
        _measure(service, cid, t2, tps[1], 10)
    with pytest.raises(LesionNotFound):
        service.delete_lesion(RAD, cid, t2, LesionDeletion("again"))
    assert service.add_lesion(RAD, cid, NewLesion(LesionKind.TARGET, "lung")).label == "T2"


@pytest.mark.parametrize("reason", ["", "   ", "x" * 2001])
def test_a_deletion_needs_a_reason_of_sensible_length(reason: str) -> None:
    with pytest.raises(InvalidInput, match="reason"):
        LesionDeletion(reason)
    with pytest.raises(InvalidInput, match="amendment_reason"):
        LesionDeletion("ok", amendment_reason="y" * 2001)


def test_deleting_a_lesion_read_at_a_signed_off_timepoint_needs_an_amendment(
        world: World) -> None:
    service, store, cid, tps = world
    t1 = service.add_lesion(RAD, cid, NewLesion(LesionKind.TARGET, "liver")).id
    t2 = service.add_lesion(RAD, cid, NewLesion(LesionKind.TARGET, "lung")).id
    _measure(service, cid, t1, tps[0], 40)
    _measure(service, cid, t2, tps[0], 30)
    service.sign_off(RAD, cid, tps[0][0])
    with pytest.raises(TimepointSignedOff, match="amendment_reason"):
        service.delete_lesion(RAD, cid, t2, LesionDeletion("duplicate of T1"))
    assert len(service.list_lesions(SPEC, cid)) == 2
    gone = service.delete_lesion(RAD, cid, t2, LesionDeletion(
        "duplicate of T1", amendment_reason="T2 was T1 measured twice"))
    assert gone.deletion_amendment_reason == "T2 was T1 measured twice"


def test_a_lesion_of_another_case_is_not_found_through_this_one(world: World) -> None:
    service, store, cid, tps = world
    other = service.create_case(RAD, NewCase(PID, Criteria.IRECIST)).case.id
    foreign = service.add_lesion(RAD, other, NewLesion(LesionKind.TARGET, "liver")).id
    with pytest.raises(LesionNotFound):
        service.delete_lesion(RAD, cid, foreign, LesionDeletion("escape"))
    with pytest.raises(LesionNotFound):
        service.lesion_history(SPEC, cid, foreign)
    assert service.reader.lesion(service.reader.case(other), foreign).deleted_at is None


def test_kind_and_nodal_change_only_before_the_first_reading(world: World) -> None:
    service, store, cid, tps = world
    t1 = service.add_lesion(RAD, cid, NewLesion(LesionKind.TARGET, "mediastinum")).id
    node = service.change_lesion(RAD, cid, t1, LesionChanges(
        frozenset({"nodal"}), nodal=True))
    assert node.nodal is True
    nt = service.change_lesion(RAD, cid, t1, LesionChanges(
        frozenset({"kind"}), kind=LesionKind.NON_TARGET))
    assert (nt.kind, nt.label) == ("non_target", "NT1")
    back = service.change_lesion(RAD, cid, t1, LesionChanges(
        frozenset({"kind", "label"}), kind=LesionKind.TARGET, label="T9"))
    assert (back.kind, back.label) == ("target", "T9")
    _, _, changes = service.lesion_history(SPEC, cid, t1)
    assert [c.changes for c in changes] == [
        {"nodal": [False, True]}, {"kind": ["target", "non_target"], "label": ["T1", "NT1"]},
        {"kind": ["non_target", "target"], "label": ["NT1", "T9"]}]
    _measure(service, cid, t1, tps[0], 20)
    with pytest.raises(Conflict, match="kind") as refused:
        service.change_lesion(RAD, cid, t1, LesionChanges(
            frozenset({"kind"}), kind=LesionKind.NON_TARGET))
    assert refused.value.extra == {"fields": ["kind"]}
    with pytest.raises(Conflict, match="nodal"):
        service.change_lesion(RAD, cid, t1, LesionChanges(frozenset({"nodal"}), nodal=False))
    # Giving the value it already has changes nothing, so nothing forbids it.
    same = service.change_lesion(RAD, cid, t1, LesionChanges(frozenset({"nodal"}), nodal=True))
    assert same.nodal is True and len(service.lesion_history(SPEC, cid, t1)[2]) == 3


@pytest.mark.parametrize("changes", [
    {"kind": None}, {"nodal": None}, {"organ": None}, {"kind": LesionKind.NEW}])
def test_lesion_changes_that_cannot_be_right(changes: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        LesionChanges(frozenset(changes), **changes)  # type: ignore[arg-type]


def test_a_change_to_a_signed_off_reading_needs_an_amendment(world: World) -> None:
    service, store, cid, tps = world
    t1 = service.add_lesion(RAD, cid, NewLesion(LesionKind.TARGET, "liver")).id
    _measure(service, cid, t1, tps[0], 40)
    service.sign_off(RAD, cid, tps[0][0])
    with pytest.raises(TimepointSignedOff):
        service.change_lesion(RAD, cid, t1, LesionChanges(frozenset({"organ"}), organ="lung"))
    with pytest.raises(NotAllowed):
        service.change_lesion(SPEC, cid, t1, LesionChanges(frozenset({"organ"}), organ="lung"))
    changed = service.change_lesion(RAD, cid, t1, LesionChanges(
        frozenset({"organ", "label"}), organ=" lung ", label="L1",
        amendment_reason="the lesion is in the lung"))
    assert (changed.organ, changed.label) == ("lung", "L1")
    _, _, changes = service.lesion_history(SPEC, cid, t1)
    assert [(c.changes, c.reason) for c in changes] == [
        ({"organ": ["liver", "lung"], "label": ["T1", "L1"]}, "the lesion is in the lung")]


def test_an_undo_is_a_new_version_with_its_reason(world: World) -> None:
    service, store, cid, tps = world
    t1 = service.add_lesion(RAD, cid, NewLesion(LesionKind.TARGET, "liver")).id
    _measure(service, cid, t1, tps[0], 40)
    _measure(service, cid, t1, tps[0], 60, reason="  ")  # a blank reason is no reason
    _measure(service, cid, t1, tps[0], 40, reason="undo")
    service.record_measurement(RAD, cid, t1, tps[1][0], MeasurementInput(
        status="not_evaluable", reason="redo"))
    service.sign_off(RAD, cid, tps[0][0])
    with pytest.raises(TimepointSignedOff):
        _measure(service, cid, t1, tps[0], 60, reason="undo")
    _measure(service, cid, t1, tps[0], 60, reason="undo", amendment_reason="wrong slice")
    with pytest.raises(InvalidInput, match="reason"):
        _measure(service, cid, t1, tps[1], 60, reason="u" * 2001)
    _, versions, _ = service.lesion_history(SPEC, cid, t1)
    assert [(v.version, v.reason) for v in versions] == [
        (1, None), (2, None), (3, "undo"), (4, "redo"), (5, "undo; amendment: wrong slice")]
