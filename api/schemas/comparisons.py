"""Series pairing between a baseline and a follow-up, and its manual overrides."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.db.models import Comparison
from api.schemas.common import PatientIdText, RequestModel, UidText, one_of
from api.workflow.comparisons import ComparisonView

PairSource = Literal["auto", "manual"]
PAIR_SOURCES: tuple[PairSource, ...] = ("auto", "manual")


class ComparisonRequest(RequestModel):
    patient_id: PatientIdText
    baseline_study_uid: UidText | None = None
    followup_study_uid: UidText | None = None
    new: bool = Field(default=False, description=(
        "make a new comparison even when one of the same studies exists (otherwise that "
        "one is returned, 200, while it still covers every series of the two studies)"))


class PairIn(RequestModel):
    baseline_series_uid: UidText
    followup_series_uid: UidText


class PairsOverride(RequestModel):
    pairs: list[PairIn]


class PairOut(BaseModel):
    baseline_series_uid: str
    followup_series_uid: str
    score: float | None
    reasons: list[str]
    source: PairSource


class ExcludedOut(BaseModel):
    series_instance_uid: str
    reason: str


class ComparisonOut(BaseModel):
    id: int
    patient_id: str
    baseline_study_uid: str
    followup_study_uid: str
    version: int
    pairs: list[PairOut]
    unpaired_baseline: list[str]
    unpaired_followup: list[str]
    excluded: list[ExcludedOut]
    images_missing: bool = Field(description="a paired series, or every series of a study, "
                                 "was deleted from the PACS")

    @classmethod
    def of(cls, view: ComparisonView) -> ComparisonOut:
        c: Comparison = view.comparison
        paired_b = {p.baseline_series_uid for p in c.pairs}
        paired_f = {p.followup_series_uid for p in c.pairs}
        held_b = {s.series_instance_uid for s in view.baseline.series}
        held_f = {s.series_instance_uid for s in view.followup.series}
        return cls(
            id=c.id, patient_id=c.patient_id, baseline_study_uid=c.baseline_study_uid,
            followup_study_uid=c.followup_study_uid, version=c.version,
            pairs=[PairOut(baseline_series_uid=p.baseline_series_uid,
                           followup_series_uid=p.followup_series_uid, score=p.score,
                           reasons=list(p.reasons),
                           source=one_of(p.source, PAIR_SOURCES))
                   for p in c.pairs],
            unpaired_baseline=sorted(s.series_instance_uid for s in view.baseline.series
                                     if s.series_instance_uid not in paired_b),
            unpaired_followup=sorted(s.series_instance_uid for s in view.followup.series
                                     if s.series_instance_uid not in paired_f),
            excluded=[ExcludedOut(series_instance_uid=uid, reason=why)
                      for uid, why in c.excluded],
            images_missing=not held_b or not held_f or not paired_b <= held_b
            or not paired_f <= held_f)
