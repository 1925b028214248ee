"""The case workflow's rules on in-memory fakes: every refusal, no HTTP, no servers."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest

from api.workers.outbox import RetryPolicy
from api.workflow.case_reader import CaseReader
from api.workflow.cases import (
    CaseService,
    MeasurementInput,
    NewCase,
    NewLesion,
)
from api.workflow.comparisons import ComparisonService
from api.workflow.errors import (
    CaseNotFound,
    Conflict,
    InvalidInput,
    InvalidMeasurement,
    LesionNotFound,
    MalformedPayload,
    NotAllowed,
    NotFound,
    PatientNotFound,
    StaleVersion,
    TimepointNotFound,
    TimepointSignedOff,
)
from api.workflow.lesion_edits import LesionChanges
from api.workflow.markers import MarkerService, NewMarkerValue
from api.workflow.publishing import DocumentService
from api.workflow.roles import Principal, Role
from measurement.model import EvaluationOptions
from measurement.result import EvaluationResult
from measurement.vocabulary import Criteria, LesionKind
from pacs.dimse import DicomPeer
from tests.unit.workflow_fakes import FakeCaseStore, FakePacs

PID = "P-1"
RADIOLOGIST = Principal(1, "rad", Role.RADIOLOGIST)
RADIOLOGIST_2 = Principal(4, "rad2", Role.RADIOLOGIST)
SPECIALIST = Principal(2, "spec", Role.SPECIALIST)
ADMIN = Principal(3, "admin", Role.ADMIN)
UPLOADER = Principal(5, "up", Role.UPLOADER)


World = tuple[CaseService, FakeCaseStore, dict[str, list[str]]]


@pytest.fixture
def world() -> World:
    store = FakeCaseStore()
    bl, bl_imgs = store.add_study(PID, dt.date(2026, 1, 5))
    fu, fu_imgs = store.add_study(PID, dt.date(2026, 3, 2))
    store.add_study(PID, None)  # undated: never a timepoint
    _, other_imgs = store.add_study("P-2", dt.date(2026, 1, 5))
    service = CaseService(CaseReader(store), FakePacs())
    return service, store, {"bl": [bl.study_instance_uid, *bl_imgs],
                            "fu": [fu.study_instance_uid, *fu_imgs], "other": other_imgs}


def _case(service: CaseService) -> int:
    return service.create_case(RADIOLOGIST, NewCase(PID, Criteria.RECIST_1_1)).case.id


def _result(service: CaseService, cid: int) -> EvaluationResult:
    result = service.response(SPECIALIST, cid).result
    assert result is not None
    return result


def _caliper(img: str, cols: float = 20.0, **kw: Any) -> MeasurementInput:
    return MeasurementInput(sop_instance_uid=img, endpoints=[[0, 0], [0, cols]], **kw)


def test_case_takes_dated_studies_from_the_baseline_and_audits(world: World) -> None:
    service, store, uids = world
    view = service.create_case(RADIOLOGIST, NewCase(PID, Criteria.IRECIST))
    assert [st.study_instance_uid for st in view.timepoints] == [uids["bl"][0], uids["fu"][0]]
    assert store.audit_events[-1] == ("rad", "create", f"cases/{view.case.id}", PID)
    later = service.create_case(ADMIN, NewCase(PID, Criteria.RECIST_1_1,
                                               baseline_study_uid=uids["fu"][0]))
    assert [st.study_instance_uid for st in later.timepoints] == [uids["fu"][0]]


def test_case_creation_refusals(world: World) -> None:
    service, store, uids = world
    with pytest.raises(NotAllowed, match="needs one of: admin, radiologist"):
        service.create_case(SPECIALIST, NewCase(PID, Criteria.RECIST_1_1))
    with pytest.raises(PatientNotFound):
        service.create_case(RADIOLOGIST, NewCase("nobody", Criteria.RECIST_1_1))
    with pytest.raises(InvalidInput, match="baseline_study_uid"):
        service.create_case(RADIOLOGIST, NewCase(PID, Criteria.RECIST_1_1,
                                                 baseline_study_uid="1.2.3"))
    assert store.cases_by_id == {}


def test_lesion_rules(world: World) -> None:
    service, store, uids = world
    cid = _case(service)
    t1 = service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.TARGET, " liver "))
    assert (t1.label, t1.organ) == ("T1", "liver")
    assert service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.TARGET, "lung")).label == "T2"
    with pytest.raises(Conflict, match="label 'T1' is already used"):
        service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.TARGET, "lung", label="T1"))
    with pytest.raises(InvalidInput, match="first seen at baseline"):
        service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.NEW, "bone",
                                                       timepoint=uids["bl"][0]))
    with pytest.raises(InvalidInput, match="needs the timepoint"):
        service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.NEW, "bone"))
    with pytest.raises(InvalidInput, match="apply to new lesions only"):
        service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.TARGET, "bone",
                                                       equivocal=True))
    with pytest.raises(NotAllowed):
        service.add_lesion(ADMIN, cid, NewLesion(LesionKind.TARGET, "lung"))
    with pytest.raises(CaseNotFound):
        service.add_lesion(RADIOLOGIST, 999, NewLesion(LesionKind.TARGET, "lung"))
    with pytest.raises(LesionNotFound):
        service.change_lesion(RADIOLOGIST, cid, 999, LesionChanges(frozenset({"organ"}), "x"))
    with pytest.raises(InvalidInput, match="new lesions only"):
        service.change_lesion(RADIOLOGIST, cid, t1.id,
                              LesionChanges(frozenset({"equivocal"}), equivocal=True))
    with pytest.raises(Conflict):
        service.change_lesion(RADIOLOGIST, cid, t1.id,
                              LesionChanges(frozenset({"label"}), label="T2"))
    assert t1.label == "T1"  # a refused change leaves the lesion as it was
    new = service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.NEW, "bone",
                                                         timepoint=uids["fu"][0]))
    assert new.label == "N1"


def test_measurement_versions_etags_and_amendment(world: World) -> None:
    service, store, uids = world
    cid = _case(service)
    t1 = service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.TARGET, "liver")).id
    bl = uids["bl"][0]
    first = service.record_measurement(RADIOLOGIST, cid, t1, bl, _caliper(uids["bl"][1]))
    # Row spacing 0.5 mm, column spacing 0.8 mm: 20 columns are 16 mm.
    assert (first.measurement.version, first.measurement.length_mm) == (1, 16.0)
    assert first.etag == f'"m{t1}-v1"'
    with pytest.raises(StaleVersion, match="changed since it was read"):
        service.record_measurement(RADIOLOGIST, cid, t1, bl,
                                   _caliper(uids["bl"][1], if_match='"m1-v9"'))
    with pytest.raises(StaleVersion):  # "*" needs a current version: there is none at FU
        service.record_measurement(RADIOLOGIST, cid, t1, uids["fu"][0],
                                   _caliper(uids["fu"][1], if_match="*"))
    second = service.record_measurement(RADIOLOGIST_2, cid, t1, bl,
                                        _caliper(uids["bl"][1], 10, if_match=first.etag))
    assert (second.measurement.version, second.measurement.author) == (2, "rad2")
    service.sign_off(RADIOLOGIST, cid, bl)
    with pytest.raises(TimepointSignedOff, match="amendment_reason"):
        service.record_measurement(RADIOLOGIST, cid, t1, bl, _caliper(uids["bl"][1]))
    amended = service.record_measurement(
        RADIOLOGIST, cid, t1, bl, _caliper(uids["bl"][1], amendment_reason=" typo "))
    assert amended.measurement.reason == "typo"
    assert [v.version for v in store.versions] == [1, 2, 3]


def test_measurement_refusals_record_nothing(world: World) -> None:
    service, store, uids = world
    cid = _case(service)
    t1 = service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.TARGET, "liver")).id
    nt = service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.NON_TARGET, "bone")).id
    bl, fu = uids["bl"][0], uids["fu"][0]
    refusals: list[tuple[int, str, MeasurementInput, type[Exception], str]] = [
        (t1, bl, _caliper(uids["bl"][1], 65), InvalidMeasurement, "outside the 64x64"),
        (t1, bl, _caliper(uids["fu"][1]), InvalidMeasurement, "not an instance of timepoint"),
        (t1, bl, _caliper(uids["other"][0]), InvalidMeasurement, "not an instance"),
        (t1, bl, _caliper(uids["bl"][1], length_mm=8.0), InvalidMeasurement, "differs"),
        (t1, bl, MeasurementInput(sop_instance_uid=uids["bl"][1], endpoints=[[0, 0]]),
         InvalidMeasurement, r"two \[row, column\] points"),
        (t1, bl, MeasurementInput(sop_instance_uid=uids["bl"][1],
                                  endpoints=[[0, 0], [0, float("inf")]]),
         InvalidMeasurement, "finite"),
        (t1, bl, MeasurementInput(status="present"), InvalidMeasurement, "not valid for a target"),
        (t1, bl, MeasurementInput(status="too_small", length_mm=3.0), InvalidMeasurement,
         "either a status"),
        (t1, bl, MeasurementInput(), InvalidMeasurement, "give sop_instance_uid"),
        (nt, bl, MeasurementInput(status="too_small"), InvalidMeasurement, "not valid for a non"),
        (nt, bl, _caliper(uids["bl"][1]), InvalidMeasurement, "takes a status"),
        (t1, "1.2.999", MeasurementInput(status="too_small"), TimepointNotFound, "unknown"),
        (999, bl, MeasurementInput(status="too_small"), LesionNotFound, "unknown lesion"),
    ]
    for lesion, tp, given, error, message in refusals:
        with pytest.raises(error, match=message):
            service.record_measurement(RADIOLOGIST, cid, lesion, tp, given)
    with pytest.raises(NotAllowed):
        service.record_measurement(SPECIALIST, cid, t1, bl, MeasurementInput(status="too_small"))
    new = service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.NEW, "bone",
                                                         timepoint=fu)).id
    with pytest.raises(InvalidMeasurement, match="before its first sighting"):
        service.record_measurement(RADIOLOGIST, cid, new, bl, MeasurementInput(
            status="too_small"))
    assert store.versions == []


def test_a_concurrent_write_is_refused_as_stale(world: World) -> None:
    service, store, uids = world
    cid = _case(service)
    t1 = service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.TARGET, "liver")).id
    store.collide_next_write = True
    with pytest.raises(StaleVersion, match="another change to this lesion"):
        service.record_measurement(RADIOLOGIST, cid, t1, uids["fu"][0],
                                   MeasurementInput(status="disappeared"))
    assert store.versions == []


def test_disappeared_counts_zero_and_response_needs_a_baseline(world: World) -> None:
    service, store, uids = world
    cid = _case(service)
    t1 = service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.TARGET, "liver")).id
    early = service.response(SPECIALIST, cid)
    assert early.result is None and early.best_overall_response is None
    assert early.next_step is not None and "T1" in early.next_step
    service.record_measurement(RADIOLOGIST, cid, t1, uids["bl"][0], _caliper(uids["bl"][1], 20))
    gone = service.record_measurement(RADIOLOGIST, cid, t1, uids["fu"][0],
                                      MeasurementInput(status="disappeared"))
    assert gone.measurement.length_mm == 0.0
    result = _result(service, cid)
    assert result.timepoints[-1].overall_response is not None
    assert result.timepoints[-1].overall_response.value == "CR"
    with pytest.raises(NotAllowed):
        service.response(UPLOADER, cid)


def test_case_options_reach_the_engine(world: World) -> None:
    service, store, uids = world
    options = replace(EvaluationOptions(), confirmation_required=True, min_sd_duration_days=90)
    view = service.create_case(RADIOLOGIST, NewCase(PID, Criteria.RECIST_1_1, options=options))
    assert (view.case.confirmation_required, view.case.min_sd_duration_days) == (True, 90)


def test_sign_off_is_idempotent_and_needs_a_timepoint(world: World) -> None:
    service, store, uids = world
    cid = _case(service)
    t1 = service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.TARGET, "liver")).id
    service.record_measurement(RADIOLOGIST, cid, t1, uids["bl"][0], _caliper(uids["bl"][1]))
    first = service.sign_off(RADIOLOGIST, cid, uids["bl"][0])
    again = service.sign_off(RADIOLOGIST_2, cid, uids["bl"][0])
    assert again is first and again.signed_by == "rad"
    with pytest.raises(TimepointNotFound):
        service.sign_off(RADIOLOGIST, cid, "1.2.3")
    with pytest.raises(NotAllowed):
        service.sign_off(ADMIN, cid, uids["bl"][0])


def test_publish_needs_measurements_and_sign_off(world: World) -> None:
    service, store, uids = world
    documents = DocumentService(service.reader, service.pacs)
    cid = _case(service)
    now = dt.datetime(2026, 3, 3, tzinfo=dt.UTC)
    with pytest.raises(Conflict, match="nothing is measured"):
        documents.publish(RADIOLOGIST, cid, now, lambda *_: b"%PDF")
    t1 = service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.TARGET, "liver")).id
    service.record_measurement(RADIOLOGIST, cid, t1, uids["bl"][0], _caliper(uids["bl"][1]))
    with pytest.raises(Conflict, match="must be signed off first") as refused:
        documents.publish(RADIOLOGIST, cid, now, lambda *_: b"%PDF")
    assert refused.value.extra == {"unsigned": [uids["bl"][0]]}
    with pytest.raises(NotAllowed):
        documents.publish(SPECIALIST, cid, now, lambda *_: b"%PDF")
    assert store.published == []
    with pytest.raises(NotFound):
        documents.export_sr(SPECIALIST, cid, uids["fu"][0], now)


def test_publish_queues_every_object_for_the_hospital_in_the_same_unit_of_work(
    world: World
) -> None:
    _, store, uids = world
    hospital = DicomPeer("pacs.hospital.test", 104, "HOSPITAL", "NADIR")
    pacs = FakePacs(hospital=hospital)
    service = CaseService(CaseReader(store), pacs)
    documents = DocumentService(service.reader, service.pacs)
    cid = _case(service)
    t1 = service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.TARGET, "liver")).id
    service.record_measurement(RADIOLOGIST, cid, t1, uids["bl"][0], _caliper(uids["bl"][1]))
    service.sign_off(RADIOLOGIST, cid, uids["bl"][0])
    commits = store.commits
    now = dt.datetime(2026, 3, 3, tzinfo=dt.UTC)
    result = documents.publish(RADIOLOGIST, cid, now, lambda *_: b"%PDF-1.4 report")
    assert result["remote"] == {"configured": True, "queued": 2,
                                "destination": "HOSPITAL@pacs.hospital.test:104"}
    assert store.commits == commits + 1 and pacs.outbox_changes == 1
    assert len(pacs.stored) == 2  # the SR and the PDF, in Orthanc first
    rows = {item.sop_instance_uid: item for item in store.outbox}
    assert {(r.state, r.attempts, r.destination) for r in rows.values()} == {
        ("pending", 0, "HOSPITAL@pacs.hospital.test:104")}
    listed = documents.publications(SPECIALIST, cid)
    assert [(p.kind, [s.sop_instance_uid for s in sends]) for p, sends in listed] == [
        (p.kind, [p.sop_instance_uid]) for p in store.published]
    assert all(rows[p.sop_instance_uid].payload == stored
               for p, stored in zip(store.published, pacs.stored, strict=True))
    with pytest.raises(NotAllowed):
        documents.publications(UPLOADER, cid)


def test_without_a_hospital_pacs_nothing_is_queued(world: World) -> None:
    service, store, uids = world
    documents = DocumentService(service.reader, service.pacs)
    cid = _case(service)
    t1 = service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.TARGET, "liver")).id
    service.record_measurement(RADIOLOGIST, cid, t1, uids["bl"][0], _caliper(uids["bl"][1]))
    service.sign_off(RADIOLOGIST, cid, uids["bl"][0])
    now = dt.datetime(2026, 3, 3, tzinfo=dt.UTC)
    result = documents.publish(RADIOLOGIST, cid, now, lambda *_: b"%PDF-1.4 report")
    assert result["remote"] == {"configured": False, "destination": None, "queued": 0}
    assert store.outbox == [] and len(store.published) == 2


def test_a_case_whose_measured_image_was_deleted_says_so_and_keeps_the_measurement(
    world: World
) -> None:
    service, store, uids = world
    cid = _case(service)
    t1 = service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.TARGET, "liver")).id
    service.record_measurement(RADIOLOGIST, cid, t1, uids["bl"][0], _caliper(uids["bl"][1]))
    view = service.read_case(SPECIALIST, cid)
    assert (view.images_missing, view.missing_images) == (False, ())
    del store.instances[uids["bl"][1]]  # as ingest mirrors a deletion in the PACS
    view = service.read_case(SPECIALIST, cid)
    assert (view.images_missing, view.missing_images) == (True, (uids["bl"][1],))
    assert len(store.versions) == 1


@pytest.mark.parametrize(("attempts", "delay"), [
    (1, 5.0), (2, 10.0), (3, 20.0), (8, 640.0), (9, 900.0), (30, 900.0), (10**6, 900.0)])
def test_outbox_back_off_doubles_up_to_its_cap(attempts: int, delay: float) -> None:
    assert RetryPolicy(base_s=5.0, max_s=900.0).delay_s(attempts) == delay


def test_sr_drafts_refusals(world: World) -> None:
    service, store, uids = world
    documents = DocumentService(service.reader, service.pacs)
    cid = _case(service)
    with pytest.raises(NotFound, match="unknown SR draft"):
        documents.decide_draft(RADIOLOGIST, cid, 7, "confirm")
    with pytest.raises(NotFound, match="unknown action"):
        documents.decide_draft(RADIOLOGIST, cid, 7, "maybe")
    with pytest.raises(MalformedPayload, match="not a readable DICOM file"):
        documents.import_sr(RADIOLOGIST, cid, b"not dicom")


def test_comparison_override_rules(world: World) -> None:
    service, store, uids = world
    comparisons = ComparisonService(store)
    view = comparisons.create(SPECIALIST, PID, None, None)
    c = view.comparison
    b = view.baseline.series[0].series_instance_uid
    f = view.followup.series[0].series_instance_uid
    with pytest.raises(NotAllowed):
        comparisons.override_pairs(SPECIALIST, c.id, [(b, f)], None)
    with pytest.raises(StaleVersion, match="changed since it was read"):
        comparisons.override_pairs(RADIOLOGIST, c.id, [(b, f)], '"comparison-1-v0"')
    with pytest.raises(InvalidInput, match=r"pairs\[0\].baseline_series_uid"):
        comparisons.override_pairs(RADIOLOGIST, c.id, [(f, f)], None)
    with pytest.raises(InvalidInput, match="one pair only"):
        comparisons.override_pairs(RADIOLOGIST, c.id, [(b, f), (b, f)], None)
    done = comparisons.override_pairs(RADIOLOGIST, c.id, [(b, f)], view.etag)
    assert done.comparison.version == 2 and done.comparison.pairs[0].source == "manual"
    with pytest.raises(NotFound):
        comparisons.read(SPECIALIST, 999)
    with pytest.raises(InvalidInput, match="same study"):
        comparisons.create(SPECIALIST, PID, uids["bl"][0], uids["bl"][0])


def test_baseline_readings_that_recist_forbids_are_refused(world: World) -> None:
    service, store, uids = world
    cid = _case(service)
    t1 = service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.TARGET, "liver")).id
    nt = service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.NON_TARGET, "bone")).id
    bl, fu = uids["bl"][0], uids["fu"][0]
    # Issue 16: the engine's checks and words (measurement.readings), not a copy of them.
    for status, words in (("too_small", "cannot be too_small at baseline: it must be "
                                        "measurable"),
                          ("not_evaluable", "cannot be not_evaluable at baseline"),
                          ("disappeared", r"cannot measure 0 mm \(disappeared\) at baseline")):
        with pytest.raises(InvalidMeasurement, match=words):
            service.record_measurement(RADIOLOGIST, cid, t1, bl, MeasurementInput(status=status))
    with pytest.raises(InvalidMeasurement, match="cannot measure 0 mm"):
        service.record_measurement(RADIOLOGIST, cid, t1, bl, MeasurementInput(
            sop_instance_uid=uids["bl"][1], endpoints=[[3, 3], [3, 3]]))
    for status in ("absent", "not_evaluated", "unequivocal_progression"):
        with pytest.raises(InvalidMeasurement, match='must be "present" at baseline, got'):
            service.record_measurement(RADIOLOGIST, cid, nt, bl, MeasurementInput(status=status))
    assert store.versions == []
    # At a follow-up the same readings are what RECIST expects.
    service.record_measurement(RADIOLOGIST, cid, t1, fu, MeasurementInput(status="too_small"))
    service.record_measurement(RADIOLOGIST, cid, nt, fu, MeasurementInput(
        status="unequivocal_further_increase"))
    new = service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.NEW, "bone", timepoint=fu))
    # RECIST 1.1 s.4.3.5; iRECIST Table 2 (issue 16): not gone, nor grown, where first seen.
    for status in ("disappeared", "absent", "increased"):
        with pytest.raises(InvalidMeasurement, match="at its first sighting"):
            service.record_measurement(RADIOLOGIST, cid, new.id, fu,
                                       MeasurementInput(status=status))
    service.record_measurement(RADIOLOGIST, cid, new.id, fu, MeasurementInput(status="present"))
    with pytest.raises(InvalidMeasurement, match="not valid for a target lesion"):
        service.record_measurement(RADIOLOGIST, cid, t1, fu, MeasurementInput(status="increased"))


def test_markers_are_recorded_audited_and_reach_the_engine(world: World) -> None:
    """RECIST 1.1 s.4.3.3: with every lesion gone, a marker still above its upper limit
    keeps the non-target response from CR, so the overall response is PR, not CR."""
    service, store, uids = world
    cid = _case(service)
    t1 = service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.TARGET, "liver")).id
    service.record_measurement(RADIOLOGIST, cid, t1, uids["bl"][0], _caliper(uids["bl"][1]))
    service.record_measurement(RADIOLOGIST, cid, t1, uids["fu"][0],
                               MeasurementInput(status="disappeared"))
    assert _result(service, cid).timepoints[-1].overall_response.value == "CR"  # type: ignore[union-attr]
    # Baseline scan 2026-01-05, follow-up 2026-03-02.
    MarkerService(store).record_marker(RADIOLOGIST, PID, _marker(12.0, dt.date(2026, 1, 2)))
    MarkerService(store).record_marker(ADMIN, PID, _marker(9.5, dt.date(2026, 3, 10)))
    result = _result(service, cid)
    assert result.timepoints[-1].non_target_response.value == "NON_CR_NON_PD"  # type: ignore[union-attr]
    assert result.timepoints[-1].overall_response.value == "PR"  # type: ignore[union-attr]
    # A normal value drawn nearer the follow-up than the high one restores CR.
    MarkerService(store).record_marker(RADIOLOGIST, PID, _marker(3.1, dt.date(2026, 3, 1)))
    assert _result(service, cid).timepoints[-1].overall_response.value == "CR"  # type: ignore[union-attr]
    assert [m.value for m in MarkerService(store).markers(SPECIALIST, PID)] == [12.0, 3.1, 9.5]
    assert ("rad", "record_marker") in {(e[0], e[1]) for e in store.audit_events}
    with pytest.raises(NotAllowed):
        MarkerService(store).record_marker(SPECIALIST, PID, _marker(1.0, dt.date(2026, 3, 1)))
    with pytest.raises(PatientNotFound):
        MarkerService(store).record_marker(RADIOLOGIST, "nobody",
                                           _marker(1.0, dt.date(2026, 3, 1)))


def test_a_marker_outside_the_window_is_not_used(world: World) -> None:
    service, store, uids = world
    view = service.create_case(RADIOLOGIST, NewCase(PID, Criteria.RECIST_1_1,
                                                    marker_window_days=3))
    cid = view.case.id
    t1 = service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.TARGET, "liver")).id
    service.record_measurement(RADIOLOGIST, cid, t1, uids["bl"][0], _caliper(uids["bl"][1]))
    service.record_measurement(RADIOLOGIST, cid, t1, uids["fu"][0],
                               MeasurementInput(status="disappeared"))
    # 4 days off
    MarkerService(store).record_marker(RADIOLOGIST, PID, _marker(12.0, dt.date(2026, 1, 1)))
    assert _result(service, cid).timepoints[-1].overall_response.value == "CR"  # type: ignore[union-attr]


@pytest.mark.parametrize(("field", "value"), [
    ("upper_limit_normal", 0.0), ("value", -1.0), ("value", float("nan")),
    ("upper_limit_normal", float("inf")), ("name", " ")])
def test_marker_values_that_cannot_be_right(field: str, value: object) -> None:
    good = {"name": "CEA", "unit": "ng/mL", "upper_limit_normal": 5.0, "value": 4.0,
            "date": dt.date(2026, 1, 1)}
    with pytest.raises(InvalidInput, match=field):
        NewMarkerValue(**{**good, field: value})  # type: ignore[arg-type]


def _marker(value: float, date: dt.date) -> NewMarkerValue:
    return NewMarkerValue(name="CEA", unit="ng/mL", upper_limit_normal=5.0, value=value,
                          date=date)


def test_bidirectional_axes_and_which_one_counts(world: World) -> None:
    """Both diameters are kept; the long axis counts for a lesion and the short axis for a
    node (RECIST 1.1 s.4.2); perpendicular is judged in mm, not in pixels."""
    service, store, uids = world
    cid = _case(service)
    liver = service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.TARGET, "liver")).id
    node = service.add_lesion(RADIOLOGIST, cid, NewLesion(LesionKind.TARGET, "node",
                                                          nodal=True)).id
    bl, img = uids["bl"][0], uids["bl"][1]
    long_axis, short_axis = [[20, 10], [20, 40]], [[8, 25], [40, 25]]  # 24 mm, 16 mm
    for lesion, counted in ((liver, 24.0), (node, 16.0)):
        m = service.record_measurement(RADIOLOGIST, cid, lesion, bl, MeasurementInput(
            sop_instance_uid=img, endpoints=long_axis,
            short_axis_endpoints=short_axis)).measurement
        assert (m.long_axis_mm, m.short_axis_mm, m.length_mm) == (24.0, 16.0, counted)
    # 20 rows (10 mm) against 20 columns (16 mm) are perpendicular in pixels only.
    with pytest.raises(InvalidMeasurement, match=r"from perpendicular .* meet at 64\.0"):
        service.record_measurement(RADIOLOGIST, cid, liver, bl, MeasurementInput(
            sop_instance_uid=img, endpoints=[[10, 10], [30, 30]],
            short_axis_endpoints=[[10, 30], [30, 10]]))
    with pytest.raises(InvalidMeasurement, match=r"\(16\.00 mm\) is longer than .* \(8\.00"):
        service.record_measurement(RADIOLOGIST, cid, liver, bl, MeasurementInput(
            sop_instance_uid=img, endpoints=[[20, 20], [20, 30]], short_axis_endpoints=short_axis))
    assert len(store.versions) == 2


def test_a_case_read_with_its_studies_is_one_unit_of_work_audited_as_both_reads(
        world: World) -> None:
    service, store, uids = world
    cid = _case(service)
    events, commits = len(store.audit_events), store.commits
    view, studies = service.read_case_and_studies(SPECIALIST, cid)
    assert view.case.id == cid
    assert studies == store.studies_of(PID) and len(studies) >= 2
    assert store.audit_events[events:] == [
        ("spec", "read", f"patients/{PID}/studies", PID), ("spec", "read", f"cases/{cid}", PID)]
    assert store.commits == commits + 1
    with pytest.raises(NotAllowed):
        service.read_case_and_studies(UPLOADER, cid)
    assert len(store.audit_events) == events + 2 and store.commits == commits + 1
