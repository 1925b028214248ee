"""A comparison's registration and the lesion position it proposes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import one_of
from api.workflow.registration import ComparisonRegistration, Proposal

RegistrationState = Literal["pending", "done", "failed"]
REGISTRATION_STATES: tuple[RegistrationState, ...] = ("pending", "done", "failed")
ProposalSource = Literal["registration", "position"]
PROPOSAL_SOURCES: tuple[ProposalSource, ...] = ("registration", "position")


class RegistrationOut(BaseModel):
    """A comparison's registration. ``matrix`` (row-major 4 x 4) maps a baseline patient
    coordinate (mm, DICOM LPS, homogeneous) to the follow-up coordinate of the same
    anatomy; it, ``metric`` and ``elapsed_s`` are null while pending."""

    comparison_id: int
    status: RegistrationState
    baseline_series_uid: str
    followup_series_uid: str
    matrix: list[list[float]] | None
    metric: float | None = Field(description="Mattes mutual information (negative; lower "
                                             "is better)")
    elapsed_s: float | None = Field(description="reading both series from the PACS and "
                                                "registering them")
    read_s: float | None
    reason: str | None
    method: str | None = Field(description="rigid, or rigid+affine where that helped")
    rotation_deg: float | None
    translation_mm: float | None = Field(description="how far the anatomy at the centre of "
                                                     "the baseline volume moved")

    @classmethod
    def of(cls, view: ComparisonRegistration) -> RegistrationOut:
        s = view.state
        return cls(comparison_id=view.comparison_id,
                   status=one_of(s.status, REGISTRATION_STATES),
                   baseline_series_uid=s.pair.baseline_series_uid,
                   followup_series_uid=s.pair.followup_series_uid, matrix=s.matrix,
                   metric=s.metric, elapsed_s=s.elapsed_s, read_s=s.read_s, reason=s.reason,
                   method=s.details.get("method"), rotation_deg=s.details.get("rotation_deg"),
                   translation_mm=s.details.get("translation_mm"))


class ProposalOut(BaseModel):
    """Where a lesion, as last measured at ``from_timepoint_id``, should be at
    ``timepoint_id``: ``point`` is (row, column) on ``sop_instance_uid``, the image of the
    paired series nearest ``position_mm``. ``source`` is ``registration`` when the series'
    registration is done, else ``position`` (the same patient coordinate), and
    ``registration_status`` says why."""

    timepoint_id: str
    series_instance_uid: str
    sop_instance_uid: str
    point: list[float]
    position_mm: list[float]
    source: ProposalSource
    from_timepoint_id: str
    from_series_instance_uid: str
    from_sop_instance_uid: str
    from_position_mm: list[float]
    slice_distance_mm: float = Field(description="from position_mm to the proposed image's "
                                                 "plane")
    inside_image: bool
    registration_status: RegistrationState
    registration_reason: str | None
    frame: int | None = Field(None, description="the frame (1-based) of a multi-frame "
                                                "image the point lies on; null for a "
                                                "single-frame image")
    from_frame: int | None = Field(None, description="the measured frame of a multi-frame "
                                                     "image")

    @classmethod
    def of(cls, p: Proposal) -> ProposalOut:
        return cls(timepoint_id=p.timepoint_id, series_instance_uid=p.series_instance_uid,
                   sop_instance_uid=p.sop_instance_uid, point=list(p.point),
                   position_mm=list(p.position_mm),
                   source=one_of(p.source, PROPOSAL_SOURCES),
                   from_timepoint_id=p.from_timepoint_id,
                   from_series_instance_uid=p.from_series_instance_uid,
                   from_sop_instance_uid=p.from_sop_instance_uid,
                   from_position_mm=list(p.from_position_mm),
                   slice_distance_mm=p.slice_distance_mm, inside_image=p.inside_image,
                   registration_status=one_of(p.registration.status, REGISTRATION_STATES),
                   registration_reason=p.registration.reason,
                   frame=p.frame, from_frame=p.from_frame)
