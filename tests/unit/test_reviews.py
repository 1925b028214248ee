"""Second readings (issue 21) on in-memory fakes: the review case, its timepoints one to one
with the reviewed case's, and who may read it."""

from __future__ import annotations

import datetime as dt

import pytest

from api.workflow.cases import CaseService, NewCase
from api.workflow.domain import Adjudication, Case
from api.workflow.errors import Conflict, DuplicateCase, InvalidInput
from api.workflow.reviews import dating_case, new_review
from api.workflow.roles import Principal, Role
from api.workflow.study_dates import StudyDateChange, set_study_date
from measurement.model import EvaluationOptions
from measurement.vocabulary import Criteria
from tests.unit.workflow_fakes import FakeCaseStore, FakePacs

PID = "P-1"
RAD = Principal(1, "rad", Role.RADIOLOGIST)
RAD2 = Principal(2, "rad2", Role.RADIOLOGIST)

World = tuple[CaseService, FakeCaseStore, list[str]]


@pytest.fixture
def world() -> World:
    store = FakeCaseStore()
    uids = [store.add_study(PID, d)[0].study_instance_uid
            for d in (dt.date(2026, 1, 5), dt.date(2026, 3, 2), None)]
    store.users.update({"rad": "radiologist", "rad2": "radiologist", "spec": "specialist"})
    return CaseService(store, FakePacs()), store, uids


def _primary(service: CaseService) -> Case:
    options = EvaluationOptions(confirmation_required=True, min_sd_duration_days=42)
    return service.create_case(RAD, NewCase(PID, Criteria.IRECIST, options=options,
                                            marker_window_days=7)).case


def _stored_review(service: CaseService, primary: Case, **kw: object) -> Case:
    review = new_review(primary, reader="rad2", blinded=True, created_by="rad", **kw)  # type: ignore[arg-type]
    service.store.add(review)
    service.store.commit()
    return review


def test_a_case_cannot_be_built_half_a_review() -> None:
    base = {"patient_id": PID, "criteria": Criteria.RECIST_1_1, "baseline_study_uid": "1.2",
            "created_by": "rad"}
    with pytest.raises(ValueError, match="review_of is None"):
        Case(**base, reader="rad2")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="review_of is None"):
        Case(**base, blinded=True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs its reader"):
        Case(**base, review_of=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="reason"):
        Adjudication(timepoint_uid="1.2", chosen_case_id=1, reason="  ", adjudicated_by="a")


def test_a_review_copies_the_reviewed_case_and_maps_timepoints(world: World) -> None:
    service, _, _ = world
    primary = _primary(service)
    review = _stored_review(service, primary)
    assert (review.review_of, review.reader, review.blinded, review.is_review) \
        == (primary.id, "rad2", True, True)
    assert (review.patient_id, review.criteria, review.baseline_study_uid) \
        == (primary.patient_id, primary.criteria, primary.baseline_study_uid)
    assert (review.confirmation_required, review.min_sd_duration_days,
            review.marker_window_days) == (True, 42, 7)
    assert review.lesions == [] and review.signoffs == []
    # Same studies: the identity; copies of the studies: the stored map.
    assert review.reviewed_timepoint("1.2.3") == "1.2.3"
    copy = new_review(primary, reader="rad2", blinded=False, created_by="admin",
                      patient_id="PSEUDO-1", baseline_study_uid="9.1",
                      timepoint_map={"9.1": primary.baseline_study_uid})
    assert copy.reviewed_timepoint("9.1") == primary.baseline_study_uid
    assert copy.patient_id == "PSEUDO-1"


def test_a_review_is_of_a_primary_case_and_copies_come_whole(world: World) -> None:
    service, _, _ = world
    primary = _primary(service)
    review = _stored_review(service, primary)
    with pytest.raises(InvalidInput, match="itself a review"):
        new_review(review, reader="rad", blinded=True, created_by="rad")
    with pytest.raises(InvalidInput, match="together"):
        new_review(primary, reader="rad2", blinded=True, created_by="rad",
                   patient_id="PSEUDO-1")


def test_review_timepoints_are_the_reviewed_cases_with_its_dates(world: World) -> None:
    service, store, (bl, fu, undated) = world
    primary = _primary(service)
    set_study_date(service, RAD, primary.id, undated,
                   StudyDateChange.parse("2026-05-04", None, dt.date(2026, 12, 1)))
    review = _stored_review(service, primary)
    assert dating_case(store, review) is primary
    tps = [st.study_instance_uid for st in service.view(review).timepoints]
    assert tps == [st.study_instance_uid for st in service.view(primary).timepoints]
    assert tps == [bl, fu, undated]
    with pytest.raises(Conflict, match=f"dates are set on case {primary.id}"):
        set_study_date(service, RAD2, review.id, undated,
                       StudyDateChange.parse("2026-06-01", None, dt.date(2026, 12, 1)))


def test_a_review_does_not_count_as_a_duplicate_case(world: World) -> None:
    service, _, _ = world
    primary = _primary(service)
    _stored_review(service, primary)
    with pytest.raises(DuplicateCase, match=str(primary.id)):
        _primary(service)  # the primary itself is the duplicate, not its review
