"""Audit trail: every read or write of patient data leaves an event (who, what, when)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.auth import Principal
from api.db.models import AuditEvent


def audit(
    session: Session, who: Principal, action: str, resource: str, patient_id: str | None
) -> None:
    """Add an audit event to the caller's transaction, so it commits with the data it covers."""
    session.add(AuditEvent(user_name=who.name, action=action, resource=resource,
                           patient_id=patient_id))
