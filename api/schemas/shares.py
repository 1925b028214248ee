"""Shares of a case for a second opinion (issue 21): the request, the share, its token."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field, StrictBool

from api.schemas.common import RequestModel, WholeNumber, iso_text, one_of
from api.workflow.share_types import (
    MAX_EXPIRY_DAYS,
    MAX_NOTE_CHARS,
    MIN_EXPIRY_DAYS,
    Share,
)

ShareState = Literal["active", "expired", "revoked"]
SHARE_STATES: tuple[ShareState, ...] = ("active", "expired", "revoked")


class ShareCreate(RequestModel):
    expires_in_days: WholeNumber = Field(default=14, ge=MIN_EXPIRY_DAYS, le=MAX_EXPIRY_DAYS,
                                       description="days until the token stops working")
    blinded: StrictBool = Field(default=True, description="the reviewer reads without "
                                "the primary reading (needed for a second opinion)")
    include_measurements: StrictBool = Field(
        default=False, description="copy the primary reading's lesions and measurements "
        "onto the review (non-blinded shares only)")
    note: str = Field(default="", max_length=MAX_NOTE_CHARS,
                      description="for the reviewer: the question asked")


class ShareStudyOut(BaseModel):
    source_study_uid: str
    copy_study_uid: str


class ShareLeftOutOut(BaseModel):
    study_uid: str
    series_uid: str
    series_number: int | None
    modality: str
    reason: str


class ShareOut(BaseModel):
    id: int
    case_id: int
    review_case_id: int
    pseudonym: str = Field(description="the copy's Patient Name and Patient ID")
    reviewer: str = Field(description="the share's user (role reviewer)")
    state: ShareState
    workstation_url: str
    blinded: bool
    include_measurements: bool
    note: str
    created_by: str
    created_at: str
    expires_at: str
    revoked_at: str | None
    revoked_by: str | None
    purged_at: str | None = Field(description="when the de-identified copy was deleted from "
                                  "the PACS, NADIR_SHARE_PURGE_AFTER_DAYS after the share "
                                  "expired or was revoked (the review case stays)")
    studies: list[ShareStudyOut]
    left_out: list[ShareLeftOutOut] = Field(description="series not shared, with the reason")

    @classmethod
    def of(cls, share: Share, public_url: str, now: dt.datetime) -> ShareOut:
        return cls(
            id=share.id, case_id=share.case_id, review_case_id=share.review_case_id,
            pseudonym=share.pseudonym, reviewer=share.reviewer,
            state=one_of(share.state(now), SHARE_STATES),
            workstation_url=workstation_url(public_url, share.review_case_id),
            blinded=share.blinded, include_measurements=share.include_measurements,
            note=share.note, created_by=share.created_by,
            created_at=iso_text(share.created_at) or "",
            expires_at=iso_text(share.expires_at) or "", revoked_at=iso_text(share.revoked_at),
            revoked_by=share.revoked_by, purged_at=iso_text(share.purged_at),
            studies=[ShareStudyOut(source_study_uid=s["source"], copy_study_uid=s["copy"])
                     for s in share.studies],
            left_out=[ShareLeftOutOut.model_validate(lo) for lo in share.left_out])


class ShareCreatedOut(ShareOut):
    token: str = Field(description="the reviewer's bearer token: shown in this answer only")


def workstation_url(public_url: str, review_case_id: int) -> str:
    """Where the reviewer reads: the workstation's page of the review case."""
    return f"{public_url.rstrip('/')}/cases/{review_case_id}"
