"""The outbox: every DICOM object Nadir sends to another system, one row per object and
destination, written in the same transaction as what caused the send (a publication).

A background sender (api/workers/outbox.py) delivers the due rows and keeps them: ``pending``
(waiting for its next attempt), ``sent``, or ``failed`` (refused by the destination, or
out of attempts). Changes go through Alembic migrations in api/migrations.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models import Base, utcnow

PENDING, SENT, FAILED = "pending", "sent", "failed"
OUTBOX_STATES = (PENDING, SENT, FAILED)


class OutboxItem(Base):
    """One object to deliver to one DICOM destination (C-STORE)."""

    __tablename__ = "outbox"
    __table_args__ = (
        # One row per object and destination: sending it twice is never queued.
        UniqueConstraint("ae_title", "host", "port", "sop_instance_uid"),
        Index("ix_outbox_due", "state", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    publication_id: Mapped[int | None] = mapped_column(
        ForeignKey("publications.id", ondelete="CASCADE"), index=True)
    ae_title: Mapped[str] = mapped_column(String(16))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    sop_class_uid: Mapped[str] = mapped_column(String(64))
    sop_instance_uid: Mapped[str] = mapped_column(String(64))
    # The Part 10 file to send; dropped once the destination has acknowledged it.
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True),
                                                         default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def destination(self) -> str:
        return f"{self.ae_title}@{self.host}:{self.port}"
