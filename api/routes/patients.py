"""Reading the index: patients and their studies with series; the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

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
def list_studies(patient_id: Annotated[str, Path(max_length=128)], who: Reader,
                 session: SessionDep) -> list[StudyOut]:
    return [StudyOut.of(st) for st in views.studies(session, who, patient_id)]


@router.get("/audit", tags=["audit"])
def audit_log(who: Admin, session: SessionDep,
              patient_id: Annotated[str | None, Query(max_length=128)] = None,
              user: Annotated[str | None, Query(max_length=128)] = None,
              limit: Annotated[int, Query(ge=1, le=views.MAX_AUDIT_EVENTS)] = 1000
              ) -> AuditOut:
    events = views.audit_log(session, who, patient_id=patient_id, user=user, limit=limit)
    return AuditOut(events=[AuditEventOut.of(e) for e in events])
