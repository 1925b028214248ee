"""Documents: SR import, SR drafts, publishing and the sends of each publication."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from api.db.models import Publication, SrDraft
from api.db.outbox import OutboxItem
from api.schemas.common import iso_text, one_of

DraftState = Literal["pending", "confirmed", "rejected"]
DRAFT_STATES: tuple[DraftState, ...] = ("pending", "confirmed", "rejected")
PublicationKind = Literal["sr", "pdf"]
PUBLICATION_KINDS: tuple[PublicationKind, ...] = ("sr", "pdf")
SendState = Literal["pending", "sent", "failed"]
SEND_STATES: tuple[SendState, ...] = ("pending", "sent", "failed")


class ImportedOut(BaseModel):
    """One reading recorded from the SR: a length, or a lesion status (``length_mm`` is
    then null, or 0 for a disappeared lesion)."""

    lesion_id: int
    timepoint_id: str
    length_mm: float | None
    status: str | None = None


class NotMappedOut(BaseModel):
    what: str
    why: str


class ImportOut(BaseModel):
    imported: list[ImportedOut]
    not_mapped: list[NotMappedOut]


class DraftOut(BaseModel):
    id: int
    sop_instance_uid: str
    status: DraftState
    received_at: str
    summary: dict[str, Any]
    decided_by: str | None

    @classmethod
    def of(cls, d: SrDraft) -> DraftOut:
        return cls(id=d.id, sop_instance_uid=d.sop_instance_uid,
                   status=one_of(d.status, DRAFT_STATES),
                   received_at=iso_text(d.received_at) or "", summary=d.summary,
                   decided_by=d.decided_by)


class DraftsOut(BaseModel):
    drafts: list[DraftOut]


class DraftDecisionOut(ImportOut):
    draft: DraftOut


class PublishedObject(BaseModel):
    sop_instance_uid: str
    study_instance_uid: str
    kind: PublicationKind
    replaces: str | None


class RemoteSend(BaseModel):
    """The hospital PACS: each object is queued in the outbox and sent in the background
    (``GET /api/v1/cases/{id}/publications`` shows how each send went)."""

    configured: bool
    destination: str | None = Field(default=None, description="AE title@host:port")
    queued: int = 0


class PublishOut(BaseModel):
    objects: list[PublishedObject]
    remote: RemoteSend


class PublicationSendOut(BaseModel):
    """One object's delivery to one destination: ``pending`` until it is acknowledged
    (``sent``), or ``failed`` when refused or out of attempts (``last_error`` says why)."""

    destination: str = Field(description="AE title@host:port")
    state: SendState
    attempts: int
    last_error: str | None
    next_attempt_at: str | None = Field(description="when a pending send is tried again")
    sent_at: str | None

    @classmethod
    def of(cls, item: OutboxItem) -> PublicationSendOut:
        return cls(destination=item.destination,
                   state=one_of(item.state, SEND_STATES),
                   attempts=item.attempts, last_error=item.last_error,
                   next_attempt_at=iso_text(item.next_attempt_at) if item.state == "pending"
                   else None, sent_at=iso_text(item.sent_at))


class PublicationOut(BaseModel):
    sop_instance_uid: str
    study_instance_uid: str
    kind: PublicationKind
    timepoint_id: str
    published_by: str
    published_at: str
    sends: list[PublicationSendOut]

    @classmethod
    def of(cls, p: Publication, sends: list[OutboxItem]) -> PublicationOut:
        return cls(sop_instance_uid=p.sop_instance_uid, study_instance_uid=p.study_instance_uid,
                   kind=one_of(p.kind, PUBLICATION_KINDS),
                   timepoint_id=p.timepoint_uid, published_by=p.published_by,
                   published_at=iso_text(p.published_at) or "",
                   sends=[PublicationSendOut.of(item) for item in sends])


class PublicationsOut(BaseModel):
    publications: list[PublicationOut]
