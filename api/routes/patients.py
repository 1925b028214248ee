"""Reading the index: patients and their studies with series; the audit log."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import Admin, Reader
from api.deps import SessionDep
from api.schemas import AuditEventOut, AuditOut, PatientOut, StudyOut
from api.workflow import views

router = APIRouter(prefix="/api/v1")


@router.get("/patients", tags=["index"])
def list_patients(who: Reader, session: SessionDep) -> list[PatientOut]:
    return [PatientOut(patient_id=pid, patient_name=name, studies_count=count)
            for pid, name, count in views.patients(session, who)]


@router.get("/patients/{patient_id:path}/studies", tags=["index"])
def list_studies(patient_id: str, who: Reader, session: SessionDep) -> list[StudyOut]:
    return [StudyOut.of(st) for st in views.studies(session, who, patient_id)]


@router.get("/audit", tags=["audit"])
def audit_log(who: Admin, session: SessionDep, patient_id: str | None = None,
              user: str | None = None, limit: int = 1000) -> AuditOut:
    events = views.audit_log(session, who, patient_id=patient_id, user=user, limit=limit)
    return AuditOut(events=[AuditEventOut.of(e) for e in events])
