"""Prior fetches: one row per request to bring a patient's earlier studies from the
hospital PACS (C-FIND, then C-MOVE of the studies Nadir lacks). The row is the job: its
state, its progress study by study, its attempts and last error. A background fetcher
(api/workers/priors.py) runs the due rows. Changes go through Alembic migrations.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models import Base, utcnow
from api.workflow import priors

PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
FETCH_STATES = (PENDING, RUNNING, DONE, FAILED)
#: Who started the fetch: a person (``POST .../priors``) or the arrival of a study.
REQUESTED, AUTOMATIC = priors.REQUESTED, priors.AUTOMATIC
#: The state of each study found: Nadir had it, still to move, moved, or its move failed.
HELD, TO_RETRIEVE, RETRIEVED, MOVE_FAILED = "held", "to_retrieve", "retrieved", "failed"


class PriorFetch(Base):
    __tablename__ = "prior_fetches"
    __table_args__ = (Index("ix_prior_fetches_due", "state", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(128), index=True)
    modality: Mapped[str | None] = mapped_column(String(16))
    date_from: Mapped[dt.date | None] = mapped_column(Date)
    date_to: Mapped[dt.date | None] = mapped_column(Date)
    trigger: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str | None] = mapped_column(String(128))
    #: Where it asks, as ``AET@host:port``, written when the job is made.
    source: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: The studies found: [{"study_instance_uid", "study_date", "modalities", "state"}].
    studies: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True),
                                                         default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
