"""The outbox: every DICOM object Nadir sends to another system, one row per object and
destination, written in the same transaction as what caused the send (a publication).

A background sender (api/workers/outbox.py) delivers the due rows and keeps them: ``pending``
(waiting for its next attempt), ``sent``, or ``failed`` (refused by the destination, or
out of attempts). Changes go through Alembic migrations in api/migrations.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from api.db.models import Base, utcnow
from api.workflow.domain import OUTBOX_FAILED, OUTBOX_PENDING, OUTBOX_SENT
from api.workflow.domain import OutboxItem as OutboxItem

PENDING, SENT, FAILED = OUTBOX_PENDING, OUTBOX_SENT, OUTBOX_FAILED
OUTBOX_STATES = (PENDING, SENT, FAILED)

outbox_table = Table(
    "outbox", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), index=True),
    Column("publication_id", Integer, ForeignKey("publications.id", ondelete="CASCADE"),
           index=True),
    Column("ae_title", String(16), nullable=False),
    Column("host", String(255), nullable=False),
    Column("port", Integer, nullable=False),
    Column("sop_class_uid", String(64), nullable=False),
    Column("sop_instance_uid", String(64), nullable=False),
    # The Part 10 file to send; dropped once the destination has acknowledged it.
    Column("payload", LargeBinary),
    Column("state", String(16), nullable=False, default=PENDING),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, default=utcnow),
    Column("created_at", DateTime(timezone=True), nullable=False, default=utcnow),
    Column("sent_at", DateTime(timezone=True)),
    # One row per object and destination: sending it twice is never queued.
    UniqueConstraint("ae_title", "host", "port", "sop_instance_uid"),
    Index("ix_outbox_due", "state", "next_attempt_at"),
)
Base.registry.map_imperatively(OutboxItem, outbox_table)
