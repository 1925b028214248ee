"""Prior studies fetched from the hospital PACS."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field

from api.schemas.common import RequestModel, iso_date_text, iso_text, one_of
from api.workflow.ports import PriorFetch

#: PS3.5 6.2: a Modality is a code string (upper-case letters, digits, space, underscore).
ModalityText = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Z0-9_ ]+$")]
IsoDate = Annotated[dt.date, BeforeValidator(iso_date_text)]

FetchTrigger = Literal["request", "automatic"]
FETCH_TRIGGERS: tuple[FetchTrigger, ...] = ("request", "automatic")
FetchState = Literal["pending", "running", "done", "failed"]
FETCH_STATES: tuple[FetchState, ...] = ("pending", "running", "done", "failed")


class PriorFetchIn(RequestModel):
    """What to fetch: the patient's studies of a modality (optional), within dates (both
    inclusive, both optional)."""

    modality: ModalityText | None = None
    date_from: IsoDate | None = None
    date_to: IsoDate | None = None


class PriorStudyOut(BaseModel):
    study_instance_uid: str
    study_date: str | None
    modalities: list[str]
    description: str | None
    state: Literal["held", "to_retrieve", "retrieved", "failed"] = Field(description=(
        "held: Nadir had it; to_retrieve: still to move; retrieved: moved to Orthanc; "
        "failed: its move failed (the fetch is tried again)"))


class PriorProgressOut(BaseModel):
    found: int = Field(description="studies the hospital PACS answered with")
    held: int = Field(description="of those, already in Nadir")
    to_retrieve: int
    retrieved: int


class PriorFetchOut(BaseModel):
    id: int
    patient_id: str
    modality: str | None
    date_from: str | None
    date_to: str | None
    trigger: FetchTrigger
    requested_by: str | None
    source: str = Field(description="the hospital PACS asked, AET@host:port")
    state: FetchState
    progress: PriorProgressOut
    studies: list[PriorStudyOut]
    attempts: int = Field(description="failed attempts so far")
    last_error: str | None = Field(description="why the last attempt failed (the PACS down, "
                                   "a refused move, ...); retried with the outbox's back-off")
    next_attempt_at: str | None
    created_at: str
    finished_at: str | None

    @classmethod
    def of(cls, row: PriorFetch) -> PriorFetchOut:
        studies = [PriorStudyOut(**st) for st in row.studies or []]
        count = {state: sum(st.state == state for st in studies)
                 for state in ("held", "to_retrieve", "retrieved", "failed")}
        waiting = row.state in ("pending", "running")
        return cls(id=row.id, patient_id=row.patient_id, modality=row.modality,
                   date_from=iso_text(row.date_from), date_to=iso_text(row.date_to),
                   trigger=one_of(row.trigger, FETCH_TRIGGERS),
                   requested_by=row.requested_by, source=row.source,
                   state=one_of(row.state, FETCH_STATES),
                   progress=PriorProgressOut(
                       found=len(studies), held=count["held"], retrieved=count["retrieved"],
                       to_retrieve=count["to_retrieve"] + count["failed"]),
                   studies=studies, attempts=row.attempts, last_error=row.last_error,
                   next_attempt_at=iso_text(row.next_attempt_at) if waiting else None,
                   created_at=iso_text(row.created_at) or "", finished_at=iso_text(row.finished_at))
