"""Status readings of a TID 1500 report imported onto a case, on in-memory fakes.

Nadir writes a lesion read by status (a not-evaluable or too-small target, a non-target
or new lesion) as a TID 1501 qualitative evaluation ``99NADIR LESION_STATUS``, with the
lesion's Baseline Category (CID 6145) and, where it was clicked on an image, a TID 1410
Image Region SCOORD POINT (PS3.3 C.18.6.1.2); a new lesion also names its first sighting.
Importing such a report records the same readings, each checked as one typed in by hand,
and lists every reading it refuses with why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from api.workflow.case_reader import CaseReader
from api.workflow.cases import CaseService, NewCase, NewLesion
from api.workflow.reading_rules import MeasurementInput
from api.workflow.roles import Principal, Role
from api.workflow.sr_export import timepoint_sr
from api.workflow.sr_import import import_report
from imaging.sr import ImageReference, ImportedReport, read_measurement_report
from measurement.vocabulary import Criteria, LesionKind, LesionStatus
from tests.unit.test_sr_factories import reread
from tests.unit.workflow_fakes import FakeCaseStore, FakePacs

PID = "P-1"
RAD = Principal(1, "rad", Role.RADIOLOGIST)
NOW = dt.datetime(2026, 3, 3, 12, 0, tzinfo=dt.UTC)


class World:
    """Baseline and follow-up of one patient; a case read there: T1 and T2 measured, NT1
    present with a point, at follow-up T2 not evaluable and N1 new with a point."""

    def __init__(self) -> None:
        self.store = FakeCaseStore()
        bl, self.bl_imgs = self.store.add_study(PID, dt.date(2026, 1, 5))
        fu, self.fu_imgs = self.store.add_study(PID, dt.date(2026, 3, 2))
        _, self.other_imgs = self.store.add_study("P-2", dt.date(2026, 3, 2))
        self.bl, self.fu = bl.study_instance_uid, fu.study_instance_uid
        self.service = CaseService(CaseReader(self.store), FakePacs())
        self.case = self.new_case()
        add = self.service.add_lesion
        self.t1 = add(RAD, self.case, NewLesion(LesionKind.TARGET, "liver")).id
        self.t2 = add(RAD, self.case, NewLesion(LesionKind.TARGET, "lung")).id
        self.nt1 = add(RAD, self.case, NewLesion(LesionKind.NON_TARGET, "bone")).id
        self.n1 = add(RAD, self.case, NewLesion(LesionKind.NEW, "liver",
                                                 timepoint=self.fu)).id
        for tp, imgs, columns in ((self.bl, self.bl_imgs, 40), (self.fu, self.fu_imgs, 30)):
            self.put(self.t1, tp, MeasurementInput(sop_instance_uid=imgs[0],
                                                   endpoints=[[1, 0], [1, columns]]))
            self.put(self.nt1, tp, MeasurementInput(status="present", point=[20.5, 31.0],
                                                    sop_instance_uid=imgs[1]))
        self.put(self.t2, self.bl, MeasurementInput(sop_instance_uid=self.bl_imgs[2],
                                                    endpoints=[[5, 5], [5, 30]]))
        self.put(self.t2, self.fu, MeasurementInput(status="not_evaluable"))
        self.put(self.n1, self.fu, MeasurementInput(status="present", point=[40.0, 12.25],
                                                    sop_instance_uid=self.fu_imgs[2]))

    def new_case(self) -> int:
        return self.service.create_case(RAD, NewCase(PID, Criteria.RECIST_1_1,
                                                     allow_duplicate=True)).case.id

    def put(self, lesion: int, tp: str, given: MeasurementInput, case: int | None = None
            ) -> None:
        self.service.record_measurement(RAD, case or self.case, lesion, tp, given)

    def report(self, tp: str) -> ImportedReport:
        case = self.service.reader.case(self.case)
        ds = timepoint_sr(self.store, case, self.service.reader.timepoint(case, tp),
                          self.service.reader.current(case), None, now=NOW)
        assert ds is not None
        return read_measurement_report(reread(ds))

    def import_into(self, case_id: int, report: ImportedReport) -> dict[str, Any]:
        return import_report(self.service.rules, self.service.reader.case(case_id), "rad", report,
                             source="sr-import")

    def readings(self, case_id: int) -> dict[tuple[str, str], tuple[Any, ...]]:
        """(label, timepoint) -> what a reader sees of the reading and its lesion."""
        case = self.service.reader.case(case_id)
        lesions = {les.id: les for les in case.active_lesions}
        return {(lesions[lid].label, tp): (
            lesions[lid].kind, lesions[lid].first_timepoint, lesions[lid].tracking_uid,
            m.status, m.length_mm, m.point, m.sop_instance_uid, m.frame, m.endpoints)
            for (lid, tp), m in self.service.reader.current(case).items()}


@pytest.fixture
def world() -> World:
    return World()


def _by_label(report: ImportedReport, label: str) -> Any:
    return next(m for m in report.measurements if m.tracking_id == label)


def _only(report: ImportedReport, label: str, **changes: Any) -> ImportedReport:
    """The report with only the lesion ``label``'s reading, changed as given."""
    return replace(report, measurements=(replace(_by_label(report, label), **changes),))


def test_a_report_nadir_wrote_reads_back_in_full(world: World) -> None:
    """Targets, a not-evaluable target, a non-target with its point and a new lesion with
    its first sighting: imported into a new case of the patient, timepoint by timepoint,
    they are the original's readings, and the response is the same."""
    other = world.new_case()
    for tp in (world.bl, world.fu):
        outcome = world.import_into(other, world.report(tp))
        assert outcome["not_mapped"] == [], outcome
    assert world.readings(other) == world.readings(world.case)
    assert len(world.readings(other)) == 7
    original, imported = (_response(world, case) for case in (world.case, other))
    assert imported == original
    assert original[-1][:4] == (world.fu, 30 * 0.8, "NE", "NON_CR_NON_PD")


def _response(world: World, case_id: int) -> list[tuple[Any, ...]]:
    result = world.service.reader.case_response(world.service.reader.case(case_id)).result
    assert result is not None
    return [(row.timepoint.id, float(row.sum_mm) if row.sum_mm is not None else None,
             getattr(row.target_response, "value", None),
             getattr(row.non_target_response, "value", None), row.new_lesions,
             getattr(row.overall_response, "value", None)) for row in result.timepoints]


def test_statuses_come_in_whatever_the_order_of_the_reports(world: World) -> None:
    """The follow-up's report first: the new lesion still counts from the first sighting
    the report names, and the baseline's report then finds every lesion by Tracking UID."""
    other = world.new_case()
    first = world.import_into(other, world.report(world.fu))
    assert {i["status"] for i in first["imported"]} == {None, "present", "not_evaluable"}
    world.import_into(other, world.report(world.bl))
    assert world.readings(other) == world.readings(world.case)


def test_importing_twice_adds_versions_not_lesions(world: World) -> None:
    other = world.new_case()
    world.import_into(other, world.report(world.fu))
    world.import_into(other, world.report(world.fu))
    assert len(world.service.reader.case(other).active_lesions) == 4


def _refusal(world: World, report: ImportedReport, case: int | None = None) -> str:
    other = case or world.new_case()
    before = len(world.store.versions)
    outcome = world.import_into(other, report)
    assert outcome["imported"] == [], outcome
    assert len(world.store.versions) == before  # nothing written
    (refused,) = outcome["not_mapped"]
    return str(refused["why"])


def test_a_signed_off_timepoint_is_not_changed(world: World) -> None:
    other = world.new_case()
    world.import_into(other, world.report(world.fu))
    reader = world.service.reader
    for lesion in reader.case(other).active_lesions:
        assert (lesion.id, world.fu) in reader.current(reader.case(other))
    world.service.sign_off(RAD, other, world.fu)
    why = _refusal(world, _only(world.report(world.fu), "NT1", status=LesionStatus.ABSENT),
                   other)
    assert "signed off" in why


def test_an_image_not_in_the_index_is_refused(world: World) -> None:
    report = world.report(world.fu)
    gone = replace(_by_label(report, "NT1").source, sop_instance_uid="1.2.3.999")
    assert "1.2.3.999 is not in the PACS index" in _refusal(
        world, _only(report, "NT1", source=gone))


def test_an_image_of_another_patient_is_refused(world: World) -> None:
    report = world.report(world.fu)
    foreign = replace(_by_label(report, "NT1").source, sop_instance_uid=world.other_imgs[0])
    assert "not a timepoint of this case" in _refusal(
        world, _only(report, "NT1", source=foreign))


def test_a_status_without_image_needs_the_report_study_to_be_a_timepoint(world: World
                                                                          ) -> None:
    report = replace(world.report(world.fu), study_instance_uid="1.2.3.4")
    assert "report's study 1.2.3.4 is not a timepoint" in _refusal(world, _only(report, "T2"))


def test_a_status_the_kind_does_not_take_is_refused(world: World) -> None:
    report = world.report(world.fu)
    why = _refusal(world, _only(report, "T2", status=LesionStatus.PRESENT))
    assert "'present' is not valid for a target lesion" in why
    why = _refusal(world, _only(report, "NT1", status=LesionStatus.NOT_EVALUABLE))
    assert "'not_evaluable' is not valid for a non_target lesion" in why


def test_a_point_on_a_target_status_is_refused(world: World) -> None:
    report = world.report(world.fu)
    nt1 = _by_label(report, "NT1")
    why = _refusal(world, _only(report, "T2", source=nt1.source, point=nt1.point))
    assert "a point marks a non-target or new lesion" in why


def test_a_kind_other_than_the_case_lesion_is_refused(world: World) -> None:
    report = _only(world.report(world.fu), "NT1", lesion_kind=LesionKind.NEW)
    why = _refusal(world, report, world.case)
    assert "NT1 is a non_target lesion in this case" in why


def test_a_status_of_an_unknown_lesion_without_its_kind_is_refused(world: World) -> None:
    why = _refusal(world, _only(world.report(world.fu), "NT1", lesion_kind=None))
    assert "without its kind (Baseline Category)" in why


def test_a_new_lesion_first_seen_at_baseline_is_refused(world: World) -> None:
    why = _refusal(world, _only(world.report(world.fu), "N1", first_seen=world.bl))
    assert "cannot be first seen at baseline" in why


def test_a_new_lesion_absent_where_first_seen_is_refused(world: World) -> None:
    why = _refusal(world, _only(world.report(world.fu), "N1", status=LesionStatus.ABSENT))
    assert 'cannot be "absent" at its first sighting' in why


def test_a_non_target_at_baseline_must_be_present(world: World) -> None:
    why = _refusal(world, _only(world.report(world.bl), "NT1", status=LesionStatus.ABSENT))
    assert "baseline" in why


def test_a_status_with_a_length_is_refused(world: World) -> None:
    why = _refusal(world, _only(world.report(world.fu), "T2", length_mm=12.0))
    assert "only a disappeared lesion has a length" in why


def test_a_point_outside_its_image_is_refused(world: World) -> None:
    why = _refusal(world, _only(world.report(world.fu), "NT1", point=(500.0, 3.0)))
    assert "point" in why


def test_the_image_frame_goes_with_the_point(world: World) -> None:
    source: ImageReference = _by_label(world.report(world.fu), "NT1").source
    assert source.frame is None
    assert _by_label(world.report(world.fu), "NT1").point_rc == (20.5, 31.0)
