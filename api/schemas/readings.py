"""Wire types of second readings (issue 21): asking for a review, the readings side by
side, adjudication and the readers' agreement."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field, StrictBool

from api.schemas.common import RequestModel, Text, UidText, WholeNumber, iso_text
from api.workflow.domain import Adjudication
from api.workflow.readings import (
    Agreement,
    FinalResponse,
    LesionComparison,
    LesionMatch,
    LocatedReading,
    Reading,
    TimepointComparison,
)
from api.workflow.second_reading import CaseReadings, CohortAgreement, ReviewComparison

#: A user name as the users table holds it.
UserName = Text


class ReviewCreate(RequestModel):
    reader: UserName = Field(min_length=1, max_length=128, description=(
        "the user name of the radiologist who reads the review: not one who read the case"))
    blinded: StrictBool = Field(default=True, description=(
        "the reader sees neither the case's lesions, measurements, response nor report "
        "until the review is signed off at every timepoint"))


class AdjudicationIn(RequestModel):
    timepoint_id: UidText = Field(description="a timepoint of the primary case where the "
                                  "readings disagree")
    chosen_case_id: WholeNumber = Field(ge=1, description=(
        "the reading that counts there: the primary case's id or a signed-off review's"))
    reason: Text = Field(min_length=1, max_length=2000)


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


class ReadingOut(BaseModel):
    case_id: int
    reader: str
    signed_off: bool
    sum_mm: float | None
    nadir_mm: float | None
    change_from_baseline_pct: float | None
    change_from_nadir_pct: float | None
    overall_response: str | None

    @classmethod
    def of(cls, r: Reading) -> ReadingOut:
        return cls(case_id=r.case_id, reader=r.reader, signed_off=r.signed_off,
                   sum_mm=_num(r.sum_mm), nadir_mm=_num(r.nadir_mm),
                   change_from_baseline_pct=_num(r.change_from_baseline_pct),
                   change_from_nadir_pct=_num(r.change_from_nadir_pct),
                   overall_response=None if r.overall_response is None
                   else str(r.overall_response))


class AdjudicationOut(BaseModel):
    case_id: int
    timepoint_id: str
    chosen_case_id: int
    reason: str
    adjudicated_by: str
    adjudicated_at: str

    @classmethod
    def of(cls, case_id: int, a: Adjudication) -> AdjudicationOut:
        return cls(case_id=case_id, timepoint_id=a.timepoint_uid,
                   chosen_case_id=a.chosen_case_id, reason=a.reason,
                   adjudicated_by=a.adjudicated_by,
                   adjudicated_at=iso_text(a.adjudicated_at) or "")


class TimepointReadingsOut(BaseModel):
    timepoint_id: str = Field(description="the primary case's timepoint")
    review_timepoint_id: str | None = Field(
        default=None, description="the review's timepoint (the same id for a review of the "
        "same studies)")
    primary: ReadingOut
    review: ReadingOut
    agree: bool | None = Field(description="both overall responses are the same; null where "
                               "either reading has none (the baseline, an incomplete one)")


class LesionReadingOut(BaseModel):
    lesion_id: int
    label: str
    kind: str
    length_mm: float | None
    status: str | None
    sop_instance_uid: str
    frame: int | None

    @classmethod
    def of(cls, r: LocatedReading) -> LesionReadingOut:
        m = r.measurement
        return cls(lesion_id=r.lesion.id, label=r.lesion.label, kind=str(r.lesion.kind),
                   length_mm=m.length_mm, status=None if m.status is None else str(m.status),
                   sop_instance_uid=r.sop_instance_uid, frame=r.frame)


class LesionMatchOut(BaseModel):
    timepoint_id: str
    primary: LesionReadingOut
    review: LesionReadingOut
    distance_mm: float = Field(description="between the two readings' places in patient "
                               "space (mm), through the registration for two frames")
    difference_mm: float | None = Field(description="review's length minus the primary's")

    @classmethod
    def of(cls, m: LesionMatch) -> LesionMatchOut:
        return cls(timepoint_id=m.timepoint_uid, primary=LesionReadingOut.of(m.primary),
                   review=LesionReadingOut.of(m.review), distance_mm=m.distance_mm,
                   difference_mm=m.difference_mm)


class LoneLesionOut(LesionReadingOut):
    timepoint_id: str


class LesionsOut(BaseModel):
    matched: list[LesionMatchOut]
    primary_only: list[LoneLesionOut]
    review_only: list[LoneLesionOut]

    @classmethod
    def of(cls, c: LesionComparison) -> LesionsOut:
        def lone(tp: str, r: LocatedReading) -> LoneLesionOut:
            return LoneLesionOut(timepoint_id=tp, **LesionReadingOut.of(r).model_dump())

        return cls(matched=[LesionMatchOut.of(m) for m in c.matched],
                   primary_only=[lone(tp, r) for tp, r in c.primary_only],
                   review_only=[lone(tp, r) for tp, r in c.review_only])


class ComparisonSummaryOut(BaseModel):
    timepoints_compared: int
    timepoints_agreeing: int
    agreement: float | None = Field(description="timepoints_agreeing / timepoints_compared")
    primary_best_overall_response: str | None
    review_best_overall_response: str | None
    best_overall_response_agree: bool | None


class ReviewReadingsOut(BaseModel):
    review_case_id: int
    reader: str
    blinded: bool
    timepoints: list[TimepointReadingsOut]
    lesions: LesionsOut
    summary: ComparisonSummaryOut

    @classmethod
    def of(cls, c: ReviewComparison) -> ReviewReadingsOut:
        compared = c.compared
        agreeing = sum(1 for t in compared if t.agree)
        return cls(
            review_case_id=c.review.id, reader=c.review.reader or "",
            blinded=c.review.blinded,
            timepoints=[_timepoint(c, t) for t in c.timepoints],
            lesions=LesionsOut.of(_matched(c)),
            summary=ComparisonSummaryOut(
                timepoints_compared=len(compared), timepoints_agreeing=agreeing,
                agreement=agreeing / len(compared) if compared else None,
                primary_best_overall_response=_word(c.primary_best),
                review_best_overall_response=_word(c.review_best),
                best_overall_response_agree=c.best_agree))


def _matched(c: ReviewComparison) -> LesionComparison:
    if c.lesions is None:  # a programming error: these readings were asked without them
        raise ValueError(f"the lesions of review {c.review.id} were not matched")
    return c.lesions


def _timepoint(c: ReviewComparison, t: TimepointComparison) -> TimepointReadingsOut:
    mapped = c.review.timepoint_map or {}
    review_tp = next((k for k, v in mapped.items() if v == t.timepoint_uid), t.timepoint_uid)
    return TimepointReadingsOut(timepoint_id=t.timepoint_uid, review_timepoint_id=review_tp,
                                primary=ReadingOut.of(t.primary),
                                review=ReadingOut.of(t.review), agree=t.agree)


def _word(value: object) -> str | None:
    return None if value is None else str(value)


class FinalResponseOut(BaseModel):
    timepoint_id: str
    overall_response: str | None
    source: str = Field(description="agreed | adjudicated | adjudication_pending | primary")
    adjudication: AdjudicationOut | None

    @classmethod
    def of(cls, case_id: int, f: FinalResponse) -> FinalResponseOut:
        at = TimepointFinalOut.of(case_id, f)
        return cls(timepoint_id=f.timepoint_uid, overall_response=at.overall_response,
                   source=at.source, adjudication=at.adjudication)


class TimepointFinalOut(BaseModel):
    """The overall response that counts at one timepoint of a case read twice."""

    overall_response: str | None
    source: str = Field(description="agreed | adjudicated | adjudication_pending | primary")
    adjudication: AdjudicationOut | None = Field(description="the adjudication that counts "
                                                 "(source adjudicated), else null")

    @classmethod
    def of(cls, case_id: int, f: FinalResponse) -> TimepointFinalOut:
        return cls(overall_response=_word(f.response), source=f.source,
                   adjudication=None if f.adjudication is None
                   else AdjudicationOut.of(case_id, f.adjudication))


class PendingReviewOut(BaseModel):
    review_case_id: int
    reader: str
    blinded: bool


class CaseReadingsOut(BaseModel):
    case_id: int
    reviews: list[ReviewReadingsOut] = Field(description="each review signed off at every "
                                             "timepoint, against the primary reading")
    pending_reviews: list[PendingReviewOut] = Field(description="reviews not yet signed off "
                                                    "at every timepoint (not compared)")
    final: list[FinalResponseOut] = Field(description=(
        "per timepoint, the overall response that counts: the readers' common one, the "
        "adjudicated reading's, or the primary's while an adjudication is pending"))
    adjudications: list[AdjudicationOut] = Field(description="every adjudication, oldest "
                                                 "first (the newest per timepoint counts)")

    @classmethod
    def of(cls, r: CaseReadings) -> CaseReadingsOut:
        cid = r.case.id
        return cls(case_id=cid, reviews=[ReviewReadingsOut.of(c) for c in r.comparisons],
                   pending_reviews=[PendingReviewOut(review_case_id=p.id, reader=p.reader or "",
                                                     blinded=p.blinded) for p in r.pending],
                   final=[FinalResponseOut.of(cid, f) for f in r.final],
                   adjudications=[AdjudicationOut.of(cid, a) for a in r.case.adjudications])


class AgreementCellOut(BaseModel):
    primary: str
    review: str
    count: int


class AgreementOut(BaseModel):
    cases: int = Field(description="cases with at least one review signed off at every "
                       "timepoint")
    reviews: int
    timepoints_compared: int = Field(description="timepoints where both readings give an "
                                     "overall response")
    timepoints_agreeing: int
    proportion: float | None = Field(description="timepoints_agreeing / timepoints_compared")
    kappa: float | None = Field(description=(
        "Cohen's kappa (Cohen 1960) over the overall responses; null when undefined"))
    table: list[AgreementCellOut]

    @classmethod
    def of(cls, c: CohortAgreement) -> AgreementOut:
        a: Agreement = c.agreement
        return cls(cases=c.cases, reviews=c.reviews, timepoints_compared=a.pairs,
                   timepoints_agreeing=a.agreeing, proportion=a.proportion, kappa=a.kappa,
                   table=[AgreementCellOut(primary=p, review=q, count=n)
                          for (p, q), n in sorted(a.table.items())])


class AdjudicatedOut(BaseModel):
    adjudication: AdjudicationOut
    readings: CaseReadingsOut
