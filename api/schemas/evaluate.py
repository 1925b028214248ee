"""POST /api/v1/recist/evaluate: the request as documented and the engine's answer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import CriteriaName, LesionKindName, StrictModel
from api.workflow.cases import DEFAULT_OPTIONS


class WarningOut(BaseModel):
    code: str
    message: str


class SplitOut(BaseModel):
    id: str
    fragments_mm: list[float]
    sum_mm: float


class CoalescedOut(BaseModel):
    id: str
    into: str


class TimepointResponseOut(BaseModel):
    """One timepoint's row; at baseline only ``id``, ``date`` and ``sum_mm`` are sent."""

    model_config = ConfigDict(extra="allow")

    id: str
    date: str
    sum_mm: float | None
    nadir_mm: float | None = None
    change_from_baseline_pct: float | None = None
    change_from_nadir_pct: float | None = None
    change_from_nadir_mm: float | None = None
    target_response: str | None = None
    non_target_response: str | None = None
    new_lesions: bool | None = None
    overall_response: str | None = None
    mixed_response: bool | None = None
    split: Sequence[SplitOut] | None = Field(
        default=None, description="sent on every follow-up once a target split or "
        "coalesced at any timepoint: "
        "the targets recorded as fragments here (RECIST 1.1 s.4.3.2)")
    coalesced: Sequence[CoalescedOut] | None = Field(
        default=None, description="sent with split: the targets merged into another here")


class EvaluationOut(BaseModel):
    """RECIST 1.1 / iRECIST responses: a computed reading for an oncologist to interpret."""

    model_config = ConfigDict(extra="allow")

    criteria: CriteriaName
    timepoints: list[TimepointResponseOut]
    best_overall_response: str
    warnings: list[WarningOut]


# The engine's own codec (measurement.codec) parses the body, so that every 422 names the

# lesion, timepoint and field at fault; these models describe the same wire format in

# /openapi.json (unknown keys are refused: extra="forbid").
TargetReadingIn = Annotated[float, Field(ge=0, le=1000)] | Literal[
    "too_small", "not_evaluable", "disappeared"]


# iRECIST new-lesion non-targets (Seymour 2017, Table 2): new lesions only.
NewLesionStatusIn = Literal["present", "increased", "absent"]


NonTargetStatusName = Literal["present", "absent", "unequivocal_progression",
                              "unequivocal_further_increase", "not_evaluated"]


class FragmentsIn(StrictModel):
    """A target that split (RECIST 1.1 s.4.3.2): its fragments' longest diameters, summed."""

    fragments: list[Annotated[float, Field(ge=0.01, le=1000)]] = Field(min_length=2)


class CoalescedIn(StrictModel):
    """A target merged into another (RECIST 1.1 s.4.3.2): 0 mm here, not disappeared; the
    target named carries the merged lesion's diameter in mm at this timepoint."""

    coalesced_into: str = Field(min_length=1)


class EvaluateTimepoint(StrictModel):
    id: str = Field(min_length=1)
    date: dt.date


class EvaluateLesion(StrictModel):
    id: str = Field(min_length=1)
    kind: LesionKindName
    # null is read as the default here and below (the codec's lenient optional keys).
    organ: str | None = ""
    nodal: bool | None = False
    measurements: dict[str, TargetReadingIn | NewLesionStatusIn | FragmentsIn | CoalescedIn
                       ] | None = Field(
        default=None, description="target and new lesions: mm or a status, by timepoint id; "
        "present, increased and absent are for new lesions only (iRECIST new-lesion "
        "non-targets); fragments and coalesced_into for target lesions only")
    assessments: dict[str, NonTargetStatusName] | None = Field(
        default=None, description="non-target lesions: a status by timepoint id")
    timepoint: str | None = Field(default=None,
                                  description="new lesions: the timepoint of first sighting")
    equivocal: bool | None = False
    confirmed_at: str | None = None


class EvaluateMarker(StrictModel):
    """A tumour marker's values by timepoint (RECIST 1.1 s.4.3.3)."""

    id: str = Field(min_length=1)
    unit: str = ""
    upper_limit_normal: float = Field(gt=0)
    values: dict[str, Annotated[float, Field(ge=0)]] | None = None


class EvaluateRequest(StrictModel):
    criteria: CriteriaName
    timepoints: list[EvaluateTimepoint]
    lesions: list[EvaluateLesion]
    markers: list[EvaluateMarker] | None = []
    # The codec reads null as "the default" for these options.
    confirmation_required: bool | None = DEFAULT_OPTIONS.confirmation_required
    min_sd_duration_days: Annotated[int, Field(ge=0)] | None = \
        DEFAULT_OPTIONS.min_sd_duration_days
    min_confirmation_interval_days: Annotated[int, Field(ge=0)] | None = \
        DEFAULT_OPTIONS.min_confirmation_interval_days
    min_icpd_confirmation_days: Annotated[int, Field(ge=0)] | None = \
        DEFAULT_OPTIONS.min_icpd_confirmation_days
