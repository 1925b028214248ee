"""Second reading use cases (issue 21): ask for a review, compare the readings, adjudicate,
and the readers' agreement over every case read twice.

The rules of who may do what are here; the comparison itself is pure
(:mod:`api.workflow.readings`), the review case's model in :mod:`api.workflow.reviews`.
Every read and write is audited in the unit of work that commits it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from api.workflow.case_reader import CaseReader, CaseView
from api.workflow.case_response import CaseResponse
from api.workflow.domain import Adjudication, Case, utcnow
from api.workflow.errors import Conflict, InvalidInput, NotAllowed
from api.workflow.ports import Pacs, RegistrationStore
from api.workflow.reading_places import ReadingPlaces
from api.workflow.readings import (
    Agreement,
    FinalReading,
    FinalResponse,
    LesionComparison,
    LocatedReading,
    Reading,
    TimepointComparison,
    cohen_kappa,
    compare_lesions,
    final_best_overall_response,
    final_responses,
    located,
)
from api.workflow.reviews import check_reader, fully_signed_off, new_review, primary_readers
from api.workflow.roles import CASE_MANAGERS, READERS, Principal, Role, check_role
from api.workflow.timeline import case_options
from measurement.model import Criteria
from measurement.result import Response, TimepointResult
from measurement.vocabulary import LesionKind

#: Longest adjudication reason kept (the API refuses longer ones first).
MAX_REASON = 2000


@dataclass(frozen=True)
class ReviewComparison:
    """The primary reading against one signed-off review."""

    review: Case
    timepoints: tuple[TimepointComparison, ...]
    #: None where the caller asked for the responses only (the report, the agreement).
    lesions: LesionComparison | None
    primary_best: Response | None
    review_best: Response | None

    @property
    def compared(self) -> tuple[TimepointComparison, ...]:
        return tuple(t for t in self.timepoints if t.compared)

    @property
    def best_agree(self) -> bool | None:
        if self.primary_best is None or self.review_best is None:
            return None
        return self.primary_best == self.review_best


@dataclass(frozen=True)
class CaseReadings:
    case: Case
    comparisons: tuple[ReviewComparison, ...]
    #: Reviews not yet signed off at every timepoint: not compared yet.
    pending: tuple[Case, ...]
    #: The primary's timepoints, oldest first.
    order: tuple[str, ...] = ()

    #: The primary's timepoints' dates (for the best overall response over the final ones).
    dates: Mapping[str, dt.date] = field(default_factory=dict)
    #: The primary reading has target lesions (RECIST 1.1 Table 2: without them, no SD).
    target_disease: bool = True
    #: The primary reading's overall response by timepoint.
    primary_responses: Mapping[str, Response | None] = field(default_factory=dict)

    @property
    def final(self) -> list[FinalResponse]:
        """The response that counts per timepoint (agreed, adjudicated or pending)."""
        return final_responses(self.order, [t for c in self.comparisons for t in c.timepoints],
                               newest_adjudications(self.case), self.primary_responses)

    @property
    def final_reading(self) -> FinalReading | None:
        """The responses that count and their best overall response; None for a case not
        read twice (no review signed off at every timepoint)."""
        if not self.comparisons:
            return None
        final = self.final
        return FinalReading(tuple(final), final_best_overall_response(
            Criteria(self.case.criteria), case_options(self.case), self.dates, final,
            target_disease=self.target_disease))


@dataclass(frozen=True)
class CohortAgreement:
    cases: int
    reviews: int
    agreement: Agreement


class SecondReadings:
    """Second readings of cases, for one unit of work (a request)."""

    def __init__(self, reader: CaseReader, pacs: Pacs,
                 registrations: RegistrationStore | None = None) -> None:
        """``registrations``: where lesions in different frames of reference are matched
        through (None: they are not)."""
        self.reader = reader
        self.store = reader.store
        self.pacs = pacs
        self.registrations = registrations

    # -- asking for a review ---------------------------------------------------------------

    def create_review(self, who: Principal, case_id: int, reader: str, blinded: bool
                      ) -> CaseView:
        """A review of the case, over the same studies, for another radiologist."""
        check_role(who, CASE_MANAGERS)
        primary = self.reader.case_for(who, case_id)
        check_reader(self.store, primary, reader)
        review = new_review(primary, reader=reader, blinded=blinded, created_by=who.name)
        self.store.add(review)
        self.store.audit(who, "create_review", f"cases/{primary.id}/reviews/{review.id}",
                         primary.patient_id)
        self.store.commit()
        return self.reader.view(review)

    # -- comparing -------------------------------------------------------------------------

    def readings(self, who: Principal, case_id: int) -> CaseReadings:
        """The primary reading against each signed-off review (audited as a read)."""
        check_role(who, READERS)
        primary = self._primary(who, case_id)
        found = case_readings(self.reader, primary, places=self._places())
        self.store.audit(who, "read", f"cases/{primary.id}/readings", primary.patient_id)
        self.store.commit()
        return found

    def response(self, who: Principal, case_id: int
                 ) -> tuple[CaseResponse, FinalReading | None]:
        """The case's response for a reader (audited as a read) with, for a case read
        twice, the response that counts at each timepoint (None otherwise, and for a
        review: its reading is its own)."""
        case = self.reader.open_case(who, READERS, case_id)
        self.reader.record(who, "read", case, "/response")
        first = self.reader.case_response(case)
        if case.review_of is not None:
            return first, None
        return first, case_readings(self.reader, case, first=first).final_reading

    def _places(self) -> ReadingPlaces:
        """Where the readings lie, to match the lesions of two readings."""
        return ReadingPlaces(self.store, self.pacs, self.registrations)

    def _primary(self, who: Principal, case_id: int) -> Case:
        case = self.reader.case_for(who, case_id)
        if case.review_of is not None:
            raise Conflict(f"case {case.id} is a review of case {case.review_of}: the "
                           f"readings are those of case {case.review_of}")
        return case

    # -- adjudicating ----------------------------------------------------------------------

    def adjudicate(self, who: Principal, case_id: int, timepoint_id: str,
                   chosen_case_id: int, reason: str) -> tuple[Adjudication, CaseReadings]:
        """A third reader chooses, where the readings disagree, the reading that counts."""
        check_role(who, CASE_MANAGERS)
        primary = self._primary(who, case_id)
        self.reader.timepoint(primary, timepoint_id)
        found = case_readings(self.reader, primary)
        _check_adjudicator(who, primary, found, primary_readers(self.store, primary))
        if not found.comparisons:
            raise Conflict(f"case {primary.id} has no review signed off at every timepoint: "
                           "there is nothing to adjudicate yet")
        chosen = next((c for c in found.comparisons if c.review.id == chosen_case_id), None)
        if chosen is None and chosen_case_id != primary.id:
            names = ", ".join(str(i) for i in (primary.id, *(c.review.id
                                                             for c in found.comparisons)))
            raise InvalidInput(f"chosen_case_id: {chosen_case_id} is not one of the readings "
                               f"of case {primary.id} ({names})")
        comparison = chosen or found.comparisons[0]
        row = next(t for t in comparison.timepoints if t.timepoint_uid == timepoint_id) \
            if any(t.timepoint_uid == timepoint_id for t in comparison.timepoints) else None
        if row is None or row.agree is not False:
            state = "are not both complete" if row is None or not row.compared else "agree"
            raise Conflict(f"the readings {state} at timepoint {timepoint_id!r}: only a "
                           "disagreement is adjudicated")
        text = reason.strip()
        if not text or len(text) > MAX_REASON:
            raise InvalidInput(f"reason: give why, in 1 to {MAX_REASON} characters")
        decision = Adjudication(timepoint_uid=timepoint_id, chosen_case_id=chosen_case_id,
                                reason=text, adjudicated_by=who.name, adjudicated_at=utcnow())
        primary.adjudications.append(decision)
        self.store.audit(who, "adjudicate", f"cases/{primary.id}/timepoints/{timepoint_id}/"
                         f"adjudication/{chosen_case_id}", primary.patient_id)
        self.store.commit()
        return decision, case_readings(self.reader, primary, places=self._places())

    # -- the cohort --------------------------------------------------------------------------

    def agreement(self, who: Principal) -> CohortAgreement:
        """Agreement on the overall response over every case with a signed-off review.

        Only reviews signed off somewhere are loaded (one query), then only their primary
        cases: a case without a review, or with none signed off anywhere, costs nothing."""
        check_role(who, READERS)
        done: dict[int, list[Case]] = {}
        for review in self.store.reviews_signed_off_somewhere():
            if review.review_of is not None and \
                    fully_signed_off(review, self.reader.timepoint_uids(review)):
                done.setdefault(review.review_of, []).append(review)
        pairs: list[tuple[str, str]] = []
        cases = reviews = 0
        for primary_id in sorted(done):
            primary = self.store.case(primary_id)
            if primary is None:
                continue
            found = case_readings(self.reader, primary, done=done[primary_id])
            cases += 1
            reviews += len(found.comparisons)
            pairs += [(str(t.primary.overall_response), str(t.review.overall_response))
                      for c in found.comparisons for t in c.compared]
            self.store.audit(who, "read", f"cases/{primary.id}/readings/agreement",
                             primary.patient_id)
        self.store.commit()
        return CohortAgreement(cases, reviews, cohen_kappa(pairs))


def case_readings(reader: CaseReader, primary: Case, *, first: CaseResponse | None = None,
                  done: Sequence[Case] | None = None, places: ReadingPlaces | None = None
                  ) -> CaseReadings:
    """The primary reading against each review signed off at every timepoint; for a
    caller that checked and audits the access itself (:class:`SecondReadings`, the
    report). ``done``: the reviews signed off at every timepoint when the caller knows
    them (then none is listed as pending); without ``places`` the lesions are left
    unmatched (``None``)."""
    pending: list[Case] = []
    if done is None:
        done = []
        for review in reader.store.reviews_of(primary.id):
            signed = fully_signed_off(review, reader.timepoint_uids(review))
            (done if signed else pending).append(review)
    if not done:
        return CaseReadings(primary, (), tuple(pending))
    first = first or reader.case_response(primary)
    return CaseReadings(
        primary, tuple(_compare(reader, primary, first, r, places) for r in done),
        tuple(pending), tuple(st.timepoint_uid for st in first.states),
        {st.timepoint_uid: st.study.study_date for st in first.states
         if st.study.study_date is not None},
        any(les.kind == LesionKind.TARGET for les in primary.active_lesions),
        {tp: row.overall_response for tp, row in _rows(first).items()})

def _compare(reader: CaseReader, primary: Case, first: CaseResponse, review: Case,
             places: ReadingPlaces | None) -> ReviewComparison:
    second = reader.case_response(review)
    adjudicated = newest_adjudications(primary)
    rows_a = _rows(first)
    rows_b = _rows(second)
    signed_a = {s.timepoint_uid for s in primary.signoffs}
    signed_b = {s.timepoint_uid for s in review.signoffs}
    pairs = [(review.reviewed_timepoint(st.timepoint_uid), st.timepoint_uid)
             for st in second.states]
    primary_tps = {st.timepoint_uid for st in first.states}
    pairs = [(a, b) for a, b in pairs if a in primary_tps]
    timepoints = tuple(TimepointComparison(
        a, Reading.of(primary.id, primary.created_by, a in signed_a, rows_a.get(a)),
        Reading.of(review.id, review.reader or "", b in signed_b, rows_b.get(b)),
        adjudicated.get(a)) for a, b in pairs)
    matched = None if places is None else _matched(reader, places, primary, review, pairs)
    return ReviewComparison(review, timepoints, matched, first.best_overall_response,
                            second.best_overall_response)

def _matched(reader: CaseReader, places: ReadingPlaces, primary: Case, review: Case,
             pairs: Sequence[tuple[str, str]]) -> LesionComparison:
    """The two readings' lesions matched in patient space (:mod:`.reading_places`)."""
    frames = places.copy_frames(primary, review)
    return compare_lesions(pairs, _located(reader, primary), _located(reader, review),
                           lambda r: places.place(r, frames), places.through)

def _located(reader: CaseReader, case: Case) -> dict[str, list[LocatedReading]]:
    lesions = {les.id: les for les in case.active_lesions}
    out: dict[str, list[LocatedReading]] = {}
    for (lesion_id, tp), m in sorted(reader.current(case).items()):
        lesion = lesions.get(lesion_id)
        spot = None if lesion is None else located(lesion, m)
        if spot is not None:
            out.setdefault(tp, []).append(spot)
    return out


def newest_adjudications(case: Case) -> dict[str, Adjudication]:
    """The adjudication that counts per timepoint: the newest."""
    out: dict[str, Adjudication] = {}
    for a in case.adjudications:
        out[a.timepoint_uid] = a
    return out


def _rows(response: CaseResponse) -> dict[str, TimepointResult]:
    result = response.result
    return {} if result is None else {r.timepoint.id: r for r in result.timepoints}


def _check_adjudicator(who: Principal, primary: Case, found: CaseReadings,
                       first_readers: set[str]) -> None:
    """A radiologist who read neither reading, or an admin (NotAllowed naming why)."""
    if who.role is Role.ADMIN:
        return
    if who.name in first_readers:
        raise NotAllowed(f"{who.name} read case {primary.id} (the primary reading): an "
                         "adjudicator reads neither reading")
    readers: Sequence[Case] = (*(c.review for c in found.comparisons), *found.pending)
    for review in readers:
        if who.name == review.reader:
            raise NotAllowed(f"{who.name} reads case {review.id}, a review of case "
                             f"{primary.id}: an adjudicator reads neither reading")
