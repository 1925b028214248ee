"""What ingest found about each instance that came by C-STORE (or any way other than
Nadir's own upload, which checks before it stores): whether the upload's acceptance rule
(imaging/dicomfile.py) would have refused the file, and whether a copy with other
attributes was sent again under its SOP Instance UID. One row per indexed instance, gone
with it (a deleted instance sent again is checked again); flagged when
``refused_reason`` or ``resent_attributes`` is set. Changes go through Alembic migrations.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models import Base, utcnow


class ImageCheck(Base):
    __tablename__ = "image_checks"
    instance_pk: Mapped[int] = mapped_column(
        ForeignKey("instances.id", ondelete="CASCADE"), primary_key=True)
    orthanc_id: Mapped[str] = mapped_column(String(64))
    sop_instance_uid: Mapped[str] = mapped_column(String(64), index=True)
    series_instance_uid: Mapped[str | None] = mapped_column(String(64))
    study_instance_uid: Mapped[str | None] = mapped_column(String(64), index=True)
    #: How Orthanc received it (its ``Origin`` metadata: DicomProtocol, RestApi, ...).
    origin: Mapped[str | None] = mapped_column(String(32))
    #: Whether the file itself was checked (the acceptance rule ran on it).
    checked: Mapped[bool] = mapped_column(Boolean, default=False)
    refused_reason: Mapped[str | None] = mapped_column(Text)
    #: The attributes a copy sent again differed in (the first version is kept).
    resent_attributes: Mapped[list[str] | None] = mapped_column(JSON)
    resent_by: Mapped[str | None] = mapped_column(String(16))
    resent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    checked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

