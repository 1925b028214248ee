"""Case events (issue 18): what the case service announces, and the process's own bus."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading

import pytest

from api.workflow.case_reader import CaseReader
from api.workflow.cases import CaseService, NewCase, NewLesion
from api.workflow.event_bus import QUEUE_SIZE, LocalEventBus
from api.workflow.events import CaseEvent, ChangeKind
from api.workflow.lesion_edits import LesionChanges, LesionDeletion
from api.workflow.reading_rules import MeasurementInput
from api.workflow.roles import Principal, Role
from api.workflow.study_dates import StudyDateChange, set_study_date
from measurement.vocabulary import Criteria, LesionKind
from tests.unit.workflow_fakes import FakeCaseStore, FakePacs

RAD = Principal(1, "rad", Role.RADIOLOGIST)
SPEC = Principal(2, "spec", Role.SPECIALIST)


class Recorder:
    """A CaseEventPublisher that keeps what it is given."""

    def __init__(self) -> None:
        self.events: list[CaseEvent] = []

    def publish(self, event: CaseEvent) -> None:
        self.events.append(event)


def test_each_committed_change_is_announced_once() -> None:
    store = FakeCaseStore()
    bl, images = store.add_study("P", dt.date(2026, 1, 5))
    recorder = Recorder()
    service = CaseService(CaseReader(store), FakePacs(), events=recorder)
    cid = service.create_case(RAD, NewCase("P", Criteria.RECIST_1_1)).case.id
    t1 = service.add_lesion(RAD, cid, NewLesion(LesionKind.TARGET, "lung")).id
    service.record_measurement(RAD, cid, t1, bl.study_instance_uid, MeasurementInput(
        sop_instance_uid=images[0], endpoints=[[0, 0], [0, 20]]))
    service.change_lesion(RAD, cid, t1, LesionChanges(frozenset({"organ"}), organ="lung"))
    service.change_lesion(RAD, cid, t1, LesionChanges(frozenset({"organ"}), organ="liver"))
    service.sign_off(RAD, cid, bl.study_instance_uid)
    service.sign_off(RAD, cid, bl.study_instance_uid)  # kept: nothing changes
    service.response(SPEC, cid)
    service.delete_lesion(RAD, cid, t1, LesionDeletion("x", amendment_reason="y"))
    assert [(e.kind, e.lesion_id, e.version, e.who) for e in recorder.events] == [
        (ChangeKind.LESION_ADDED, t1, None, "rad"), (ChangeKind.MEASUREMENT, t1, 1, "rad"),
        (ChangeKind.LESION_CHANGED, t1, None, "rad"), (ChangeKind.SIGNED_OFF, None, None, "rad"),
        (ChangeKind.LESION_DELETED, t1, None, "rad")]
    assert all(e.case_id == cid for e in recorder.events)
    assert recorder.events[1].timepoint_id == bl.study_instance_uid


def test_an_event_reads_back_from_its_json_and_refuses_garbage() -> None:
    event = CaseEvent(3, ChangeKind.MEASUREMENT, "rad", "2026-01-01T00:00:00+00:00", 7,
                      "1.2.3", 4)
    assert CaseEvent.from_json(event.to_json()) == event
    for bad in ("[]", '{"case_id": 0, "kind": "measurement", "who": "x", "at": "t"}',
                '{"case_id": 1, "kind": "party", "who": "x", "at": "t"}', "not json"):
        with pytest.raises(ValueError):
            CaseEvent.from_json(bad)
    with pytest.raises(TypeError):
        CaseEvent.from_json('{"case_id": 1}')


def test_the_bus_delivers_from_any_thread_to_the_case_s_streams_only() -> None:
    bus = LocalEventBus()

    async def scenario() -> tuple[list[int], list[int], bool]:
        mine, other = bus.subscribe(1), bus.subscribe(2)
        sender = threading.Thread(target=lambda: [
            bus.publish(CaseEvent(case, ChangeKind.LESION_ADDED, "rad", "t", n))
            for n, case in enumerate((1, 2, 1))])
        sender.start()
        sender.join()
        got = [(await asyncio.wait_for(mine.queue.get(), 5)).lesion_id or 0 for _ in range(2)]
        got_other = [(await asyncio.wait_for(other.queue.get(), 5)).lesion_id or 0]
        for n in range(QUEUE_SIZE + 1):  # a stream that falls behind is told to reload
            bus.publish(CaseEvent(1, ChangeKind.MEASUREMENT, "rad", "t", n))
        await asyncio.sleep(0.1)
        bus.unsubscribe(mine)
        bus.unsubscribe(other)
        return got, got_other, mine.overflowed

    got, got_other, overflowed = asyncio.run(scenario())
    assert (got, got_other, overflowed) == ([0, 2], [1], True)
    assert bus.subscribers(1) == bus.subscribers(2) == 0


def test_dating_a_study_by_hand_is_announced() -> None:
    store = FakeCaseStore()
    store.add_study("P", dt.date(2026, 1, 5))
    undated, _ = store.add_study("P", None)
    recorder = Recorder()
    service = CaseService(CaseReader(store), FakePacs(), events=recorder)
    cid = service.create_case(RAD, NewCase("P", Criteria.RECIST_1_1)).case.id
    set_study_date(service, RAD, cid, undated.study_instance_uid,
                   StudyDateChange(dt.date(2026, 3, 2), "from the requisition"))
    assert [(e.kind, e.timepoint_id) for e in recorder.events] == [
        (ChangeKind.TIMEPOINT_DATED, undated.study_instance_uid)]
