"""Reading the index: patients and their studies with series; the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.auth import Admin, CaseManager, Reader
from api.deps import Cases, SessionDep
from api.schemas import AuditEventOut, AuditOut, MarkerIn, MarkerOut, PatientOut, StudyOut
from api.workflow import views
from api.workflow.service import NewMarkerValue

PatientIdPath = Annotated[str, Path(max_length=128)]

router = APIRouter(prefix="/api/v1")


@router.get("/patients", tags=["index"])
def list_patients(who: Reader, session: SessionDep) -> list[PatientOut]:
    return [PatientOut(patient_id=pid, patient_name=name, studies_count=count)
            for pid, name, count in views.patients(session, who)]


@router.get("/patients/{patient_id:path}/studies", tags=["index"])
def list_studies(patient_id: PatientIdPath, who: Reader,
                 session: SessionDep) -> list[StudyOut]:
    return [StudyOut.of(st) for st in views.studies(session, who, patient_id)]


@router.post("/patients/{patient_id:path}/markers", status_code=201, tags=["markers"])
def record_marker(patient_id: PatientIdPath, body: MarkerIn, who: CaseManager, cases: Cases
                  ) -> MarkerOut:
    """Record a tumour marker level (e.g. CEA, CA-125, PSA) of an indexed patient."""
    return MarkerOut.of(cases.record_marker(who, patient_id, NewMarkerValue(
        name=body.name, unit=body.unit, upper_limit_normal=body.upper_limit_normal,
        value=body.value, date=body.date)))


@router.get("/patients/{patient_id:path}/markers", tags=["markers"])
def list_markers(patient_id: PatientIdPath, who: Reader, cases: Cases) -> list[MarkerOut]:
    """The patient's tumour marker levels, oldest first."""
    return [MarkerOut.of(m) for m in cases.markers(who, patient_id)]


@router.get("/audit", tags=["audit"])
def audit_log(who: Admin, session: SessionDep,
              patient_id: Annotated[str | None, Query(max_length=128)] = None,
              user: Annotated[str | None, Query(max_length=128)] = None,
              limit: Annotated[int, Query(ge=1, le=views.MAX_AUDIT_EVENTS)] = 1000
              ) -> AuditOut:
    events = views.audit_log(session, who, patient_id=patient_id, user=user, limit=limit)
    return AuditOut(events=[AuditEventOut.of(e) for e in events])
