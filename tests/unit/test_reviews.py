"""Second readings (issue 21) on in-memory fakes: the review case, its timepoints one to one
with the reviewed case's, and who may read it."""

from __future__ import annotations

import datetime as dt

import pytest

# The domain classes' mapping (a CaseStudyDate's ``id``, None until stored) must be loaded
# before the first fake case is made, or the file fails when it runs alone (see ea099a3).
import api.db.models  # noqa: F401
from api.workflow.case_reader import CaseReader
from api.workflow.cases import CaseService, NewCase
from api.workflow.domain import Adjudication, Case, Lesion, MeasurementVersion
from api.workflow.errors import Conflict, CopyOfAShare, DuplicateCase, InvalidInput
from api.workflow.readings import (
    FinalResponse,
    LocatedReading,
    Place,
    Reading,
    TimepointComparison,
    cohen_kappa,
    final_best_overall_response,
    final_responses,
    located,
    match_lesions,
)
from api.workflow.reviews import copy_review, dating_case, new_review
from api.workflow.roles import Principal, Role
from api.workflow.study_dates import StudyDateChange, set_study_date
from measurement.model import EvaluationOptions
from measurement.result import Response
from measurement.vocabulary import Criteria, LesionKind
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
    return CaseService(CaseReader(store), FakePacs()), store, uids


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


def test_a_shares_copy_is_read_in_its_review_only(world: World) -> None:
    """A patient whose cases include a review over copies is a share's copy: the worklist
    names that review, and no case is opened on the copy, duplicate or not."""
    from api.workflow.worklist import copies_read_in

    service, store, _ = world
    primary = _primary(service)
    copy_uid = store.add_study("PSEUDO-1", dt.date(2025, 1, 5))[0].study_instance_uid
    review = _stored_review(service, primary, patient_id="PSEUDO-1",
                            baseline_study_uid=copy_uid,
                            timepoint_map={copy_uid: primary.baseline_study_uid})
    internal = _stored_review(service, primary)  # the same studies: not a copy
    assert copy_review([primary, internal]) is None
    assert copy_review([primary, internal, review]) is review
    assert copies_read_in([primary, internal, review]) == {"PSEUDO-1": review.id}
    for allow_duplicate in (False, True):
        with pytest.raises(CopyOfAShare, match=f"review case {review.id}"):
            service.create_case(RAD, NewCase("PSEUDO-1", Criteria.RECIST_1_1,
                                             allow_duplicate=allow_duplicate))
    assert [c.id for c in store.cases("PSEUDO-1", limit=10)] == [review.id]


def test_review_timepoints_are_the_reviewed_cases_with_its_dates(world: World) -> None:
    service, store, (bl, fu, undated) = world
    primary = _primary(service)
    set_study_date(service, RAD, primary.id, undated,
                   StudyDateChange.parse("2026-05-04", None, dt.date(2026, 12, 1)))
    review = _stored_review(service, primary)
    assert dating_case(store, review) is primary
    tps = [st.study_instance_uid for st in service.reader.view(review).timepoints]
    assert tps == [st.study_instance_uid for st in service.reader.view(primary).timepoints]
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


# -- the comparison and the agreement (pure) -------------------------------------------------

def test_cohen_kappa_on_a_worked_example() -> None:
    """The worked example of Wikipedia's "Cohen's kappa" article (50 grant proposals, two
    readers: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no): p_o = 0.7, p_e = 0.5, kappa = 0.4.
    The same table is worked through at https://www.tutorialspoint.com/statistics/
    cohen_kappa_coefficient.htm."""
    pairs = ([("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10
             + [("no", "no")] * 15)
    found = cohen_kappa(pairs)
    assert (found.pairs, found.agreeing, found.proportion) == (50, 35, 0.7)
    assert found.kappa == pytest.approx(0.4, abs=1e-12)
    assert found.table[("no", "yes")] == 10


@pytest.mark.parametrize(("pairs", "kappa"), [
    ([], None),  # nothing to compare
    ([("PR", "PR")] * 4, None),  # one category throughout: p_e = 1, undefined
    ([("PR", "PR"), ("SD", "SD")], 1.0),  # perfect agreement
    ([("PR", "SD"), ("SD", "PR")], -1.0),  # perfect disagreement over two categories
    ([("PR", "SD"), ("PR", "PR")], 0.0),  # agreement no better than chance
])
def test_cohen_kappa_edges(pairs: list[tuple[str, str]], kappa: float | None) -> None:
    found = cohen_kappa(pairs)
    assert found.kappa == (None if kappa is None else pytest.approx(kappa))


def _lesion(label: str) -> Lesion:
    les = Lesion(case_id=1, kind=LesionKind.TARGET, organ="liver", label=label,
                 tracking_uid="2.25.1", created_by="rad")
    les.id = int(label[1:])
    return les


def _at(label: str, img: str, endpoints: list[list[float]], length: float) -> LocatedReading:
    les = _lesion(label)
    m = MeasurementVersion(lesion_id=les.id, timepoint_uid="tp", version=1, author="rad",
                           sop_instance_uid=img, endpoints=endpoints, length_mm=length)
    spot = located(les, m)
    assert spot is not None
    return spot


#: Image -> (frame of reference, slice position z in mm); 0.5 mm pixels.
IMAGES = {"img": ("F1", 0.0), "slice+3": ("F1", 3.0), "other": ("F2", 0.0),
          "other2": ("F3", 0.0)}


def _place(r: LocatedReading) -> Place | None:
    if r.sop_instance_uid not in IMAGES:  # no usable geometry
        return None
    frame, z = IMAGES[r.sop_instance_uid]
    return Place(frame, r.sop_instance_uid, (r.at[1] * 0.5, r.at[0] * 0.5, z))


def _unregistered(a: Place, b: Place) -> tuple[float, float, float] | None:
    return None


def test_lesions_match_within_10_mm_in_one_frame_of_reference_nearest_first() -> None:
    # 0.5 mm pixels: 20 pixels are 10 mm.
    primary = [_at("T1", "img", [[100, 100], [100, 140]], 20),
               _at("T2", "img", [[200, 100], [200, 120]], 10),
               _at("T3", "other", [[10, 10], [10, 30]], 10),
               _at("T4", "unknown", [[10, 10], [10, 30]], 10)]
    review = [_at("T7", "img", [[104, 100], [104, 140]], 21),  # 2 mm from T1
              _at("T8", "img", [[100, 110], [100, 150]], 22),  # 2.5 mm from T1, T1 taken
              _at("T9", "img", [[220, 100], [220, 120]], 11),  # 10.0 mm from T2: matched
              _at("T5", "other2", [[10, 10], [10, 30]], 10),  # another frame, unregistered
              _at("T6", "unknown", [[10, 10], [10, 30]], 10)]
    pairs, only_a, only_b = match_lesions("tp", primary, review, _place, _unregistered)
    assert [(p.primary.lesion.label, p.review.lesion.label, p.distance_mm, p.difference_mm)
            for p in pairs] == [("T1", "T7", 2.0, 1.0), ("T2", "T9", 10.0, 1.0)]
    assert [r.lesion.label for r in only_a] == ["T3", "T4"]
    assert [r.lesion.label for r in only_b] == ["T8", "T5", "T6"]
    # Just beyond 10 mm: no match.
    far = [_at("T9", "img", [[220, 101], [220, 121]], 11)]  # hypot(10, 0.5) mm
    assert match_lesions("tp", primary[1:2], far, _place, _unregistered)[0] == []
    # Another slice of the same frame, 3 mm away along z and 4 mm in plane: 5 mm.
    other_slice = [_at("T9", "slice+3", [[208, 100], [208, 120]], 10)]
    [pair] = match_lesions("tp", primary[1:2], other_slice, _place, _unregistered)[0]
    assert pair.distance_mm == 5.0


def test_lesions_in_two_frames_match_through_their_registration() -> None:
    # F3 is F2 moved 40 mm along x: the registration maps F3's points back onto F2.
    def registered(a: Place, b: Place) -> tuple[float, float, float] | None:
        if (a.frame_of_reference, b.frame_of_reference) != ("F2", "F3"):
            return None
        return (b.mm[0] - 40.0, b.mm[1], b.mm[2])

    primary = [_at("T3", "other", [[10, 10], [10, 30]], 10)]
    review = [_at("T5", "other2", [[10, 92], [10, 112]], 10)]  # 41 mm along x in F3
    [pair] = match_lesions("tp", primary, review, _place, registered)[0]
    assert (pair.review.lesion.label, pair.distance_mm) == ("T5", 1.0)
    assert match_lesions("tp", primary, review, _place, _unregistered)[0] == []


def _reading(case_id: int, response: Response | None) -> Reading:
    return Reading(case_id, "r", True, None, None, None, None, response)


def test_the_final_response_is_the_agreed_or_adjudicated_one() -> None:
    rows = [TimepointComparison("bl", _reading(1, None), _reading(2, None), None),
            TimepointComparison("fu1", _reading(1, Response.PR), _reading(2, Response.SD),
                                None),
            TimepointComparison("fu2", _reading(1, Response.PR), _reading(2, Response.PR),
                                None)]
    found = final_responses(["bl", "fu1", "fu2"], rows, {})
    assert [(f.response, f.source) for f in found] == [
        (None, "primary"), (Response.PR, "adjudication_pending"), (Response.PR, "agreed")]
    choice = Adjudication(timepoint_uid="fu1", chosen_case_id=2, reason="r",
                          adjudicated_by="third")
    found = final_responses(["bl", "fu1", "fu2"], rows, {"fu1": choice})
    assert [(f.response, f.source) for f in found][1] == (Response.SD, "adjudicated")
    # An adjudication where the readings (since amended) agree no longer overrides them.
    found = final_responses(["fu2"], rows, {"fu2": choice})
    assert [(f.response, f.source) for f in found] == [(Response.PR, "agreed")]
    # A timepoint no review reads (a share's copy without it): the primary's counts.
    found = final_responses(["bl", "fu3"], rows, {}, {"fu3": Response.PD})
    assert [(f.timepoint_uid, f.response, f.source) for f in found] == [
        ("bl", None, "primary"), ("fu3", Response.PD, "primary")]


def _finals(*responses: Response | None) -> list[FinalResponse]:
    return [FinalResponse("bl", None, "primary", None)] + [
        FinalResponse(f"fu{i}", r, "agreed", None) for i, r in enumerate(responses, 1)]


DAYS = {"bl": dt.date(2026, 1, 5), "fu1": dt.date(2026, 3, 2), "fu2": dt.date(2026, 5, 4),
        "fu3": dt.date(2026, 7, 6)}
CONFIRMED = EvaluationOptions(confirmation_required=True)


@pytest.mark.parametrize(("criteria", "options", "finals", "best"), [
    # RECIST 1.1 Table 3: PR confirmed by a PR >= 4 weeks later (s4.6).
    (Criteria.RECIST_1_1, CONFIRMED, _finals(Response.PR, Response.PR), Response.PR),
    # The adjudicated SD first: the PR after it has nothing to confirm it, and counts as SD.
    (Criteria.RECIST_1_1, CONFIRMED, _finals(Response.SD, Response.PR), Response.SD),
    # Without confirmation the best is the best time-point response.
    (Criteria.RECIST_1_1, EvaluationOptions(), _finals(Response.SD, Response.PR), Response.PR),
    # Up to the first PD only (RECIST 1.1 s4.4.3).
    (Criteria.RECIST_1_1, EvaluationOptions(), _finals(Response.SD, Response.PD, Response.PR),
     Response.SD),
    # Judged before the first follow-up without a response.
    (Criteria.RECIST_1_1, EvaluationOptions(), _finals(Response.SD, None, Response.CR),
     Response.SD),
    (Criteria.RECIST_1_1, EvaluationOptions(), _finals(None, Response.PR), None),
    (Criteria.RECIST_1_1, EvaluationOptions(), _finals(), None),
    # iRECIST: an iUPD confirmed by iCPD counts as iCPD.
    (Criteria.IRECIST, EvaluationOptions(), _finals(Response.IUPD, Response.ICPD),
     Response.ICPD),
])
def test_the_best_overall_response_over_the_final_responses(
        criteria: Criteria, options: EvaluationOptions, finals: list[FinalResponse],
        best: Response | None) -> None:
    from measurement.model import Criteria as EngineCriteria

    assert final_best_overall_response(EngineCriteria(criteria), options, DAYS, finals,
                                       target_disease=True) == best


def test_a_copy_is_paired_with_its_original_by_series_number_and_modality() -> None:
    from api.workflow.reading_places import frame_key, paired_series
    from tests.unit.workflow_fakes import FakeSeries

    def s(uid: str, number: int | None, modality: str = "CT",
          frame: str | None = None) -> FakeSeries:
        return FakeSeries(id=0, series_instance_uid=uid, series_number=number,
                          modality=modality, frame_of_reference_uid=frame)

    copies = [s("c1", 1, frame="F1'"), s("c2", 2), s("c3", 3), s("c3b", 3), s("c4", None),
              s("c5", 5, "MR")]
    originals = [s("o1", 1, frame="F1"), s("o2", 2), s("o3", 3), s("o4", None),
                 s("o5", 5, "CT")]
    pairs = paired_series(copies, originals)  # type: ignore[arg-type]
    # Series 3 is ambiguous on the copy's side; no number, or another modality: unpaired.
    assert [(a.series_instance_uid, b.series_instance_uid) for a, b in pairs] == [
        ("c1", "o1"), ("c2", "o2")]
    assert [(frame_key(a, a.series_instance_uid), frame_key(b, b.series_instance_uid))
            for a, b in pairs] == [("F1'", "F1"), ("series:c2", "series:o2")]


def test_a_registration_brings_a_point_over_in_either_direction() -> None:
    from api.workflow.ports import DONE, FAILED, RegistrationPair, RegistrationState
    from api.workflow.reading_places import ReadingPlaces

    class Registrations:
        def __init__(self, states: dict[tuple[str, str], RegistrationState]) -> None:
            self.states = states

        def get(self, pair: RegistrationPair) -> RegistrationState | None:
            return self.states.get((pair.baseline_series_uid, pair.followup_series_uid))

    shift = [[1.0, 0, 0, 100.0], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1.0]]
    a = Place("F1", "A", (10.0, 20.0, 0.0))
    b = Place("F2", "B", (110.0, 22.0, 0.0))

    def through(states: dict[tuple[str, str], RegistrationState]
                ) -> tuple[float, float, float] | None:
        places = ReadingPlaces(FakeCaseStore(), FakePacs(), Registrations(states))  # type: ignore[arg-type]
        return places.through(a, b)

    pair = RegistrationPair("A", "B")
    # A onto B: B's point comes back through the inverse; B onto A: through the matrix.
    assert through({("A", "B"): RegistrationState(pair, DONE, shift)}) \
        == pytest.approx((10.0, 22.0, 0.0))
    back = [[1.0, 0, 0, -100.0], [0, 1.0, 0, 0], [0, 0, 1.0, 0], [0, 0, 0, 1.0]]
    assert through({("B", "A"): RegistrationState(pair, DONE, back)}) \
        == pytest.approx((10.0, 22.0, 0.0))
    assert through({("A", "B"): RegistrationState(pair, FAILED, None)}) is None
    assert through({("A", "B"): RegistrationState(pair, DONE, [[0.0] * 4] * 4)}) is None
    assert through({}) is None
    assert ReadingPlaces(FakeCaseStore(), FakePacs(), None).through(a, b) is None  # type: ignore[arg-type]
