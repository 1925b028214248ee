"""Reading the index: patients and their studies with series; the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy.orm import Session

from api.adapters.sql_store import SqlCaseStore
from api.auth import Admin, CaseManager, Reader
from api.deps import Markers, SessionDep
from api.schemas import (
    AuditEventOut,
    AuditOut,
    LatestResponseOut,
    MarkerIn,
    MarkerOut,
    PatientOut,
    StudyOut,
    WorklistCaseOut,
    WorklistOut,
    WorklistPatientOut,
    WorklistStudyOut,
)
from api.workflow import views
from api.workflow.markers import NewMarkerValue
from api.workflow.roles import Principal
from api.workflow.worklist import WorklistCase, copies_read_in

PatientIdPath = Annotated[str, Path(max_length=128)]

router = APIRouter(prefix="/api/v1")


@router.get("/patients", tags=["index"])
def list_patients(who: Reader, session: SessionDep) -> list[PatientOut]:
    return [PatientOut(patient_id=pid, patient_name=name, studies_count=count)
            for pid, name, count in views.patients(SqlCaseStore(session), who)]


@router.get("/worklist", tags=["index"])
def worklist(who: Reader, session: SessionDep) -> WorklistOut:
    """Patients, studies, cases, each case's latest response and what is left to read, in
    one answer (cases with work to do first)."""
    patients, cases = views.worklist(SqlCaseStore(session), who)
    ids: dict[str, list[int]] = {}
    for entry in cases:
        ids.setdefault(entry.case.patient_id, []).append(entry.case.id)
    copies = copies_read_in(entry.case for entry in cases)
    return WorklistOut(
        patients=[WorklistPatientOut(
            patient_id=p.patient_id, patient_name=p.patient_name,
            studies=[WorklistStudyOut(study_instance_uid=st.study_instance_uid,
                                      study_date=_iso(st.study_date),
                                      description=st.description,
                                      accession_number=st.accession_number)
                     for st in p.studies],
            case_ids=sorted(ids.get(p.patient_id, [])),
            copy_read_in=copies.get(p.patient_id)) for p in patients],
        cases=[_worklist_case(entry) for entry in cases])


def _worklist_case(entry: WorklistCase) -> WorklistCaseOut:
    latest, case = entry.latest, entry.case
    shown = entry.latest_response
    return WorklistCaseOut(
        id=case.id, patient_id=case.patient_id, criteria=case.criteria,
        baseline_study_uid=case.baseline_study_uid,
        latest_timepoint_id=latest.timepoint_uid if latest else None,
        latest_timepoint_date=_iso(latest.study.study_date) if latest else None,
        latest_response=LatestResponseOut(timepoint_id=shown[0],
                                          overall_response=shown[1].value) if shown else None,
        new_followup=entry.new_followup, to_measure=entry.to_measure,
        unsigned_timepoints=list(entry.unsigned),
        complete=bool(entry.response and entry.response.complete),
        next_step=entry.response.next_step if entry.response else None,
        problem=entry.problem, status=_status(entry))


def _status(entry: WorklistCase) -> str:
    if entry.problem is not None:
        return "cannot be evaluated: " + entry.problem
    if entry.new_followup:
        return f"new follow-up to read: {entry.to_measure} lesions to measure"
    if entry.to_measure:
        return f"{entry.to_measure} lesions to measure"
    if entry.unsigned:
        return f"{len(entry.unsigned)} timepoints to sign off"
    return "read and signed off"


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


@router.get("/patients/{patient_id:path}/studies", tags=["index"])
def list_studies(patient_id: PatientIdPath, who: Reader,
                 session: SessionDep) -> list[StudyOut]:
    return studies_out(session, who, patient_id)


def studies_out(session: Session, who: Principal, patient_id: str) -> list[StudyOut]:
    """The patient's studies with their series and flagged images (role checked,
    audited)."""
    store = SqlCaseStore(session)
    found = views.studies(store, who, patient_id)
    flagged = views.images_flagged(store, [st.study_instance_uid for st in found])
    return [StudyOut.of(st, flagged) for st in found]


@router.post("/patients/{patient_id:path}/markers", status_code=201, tags=["markers"])
def record_marker(patient_id: PatientIdPath, body: MarkerIn, who: CaseManager,
                  markers: Markers) -> MarkerOut:
    """Record a tumour marker level (e.g. CEA, CA-125, PSA) of an indexed patient."""
    return MarkerOut.of(markers.record_marker(who, patient_id, NewMarkerValue(
        name=body.name, unit=body.unit, upper_limit_normal=body.upper_limit_normal,
        value=body.value, date=body.date)))


@router.get("/patients/{patient_id:path}/markers", tags=["markers"])
def list_markers(patient_id: PatientIdPath, who: Reader, markers: Markers) -> list[MarkerOut]:
    """The patient's tumour marker levels, oldest first."""
    return [MarkerOut.of(m) for m in markers.markers(who, patient_id)]


@router.get("/audit", tags=["audit"])
def audit_log(who: Admin, session: SessionDep,
              patient_id: Annotated[str | None, Query(max_length=128)] = None,
              user: Annotated[str | None, Query(max_length=128)] = None,
              limit: Annotated[int, Query(ge=1, le=views.MAX_AUDIT_EVENTS)] = 1000
              ) -> AuditOut:
    events = views.audit_log(SqlCaseStore(session), who, patient_id=patient_id, user=user,
                             limit=limit)
    return AuditOut(events=[AuditEventOut.of(e) for e in events])
