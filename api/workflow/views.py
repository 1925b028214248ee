"""Read-only views straight from the database (the index and the audit log).

These reads need no domain rule, so they query SQL directly, as cosmicpython's views
do; each still leaves its audit event.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from api.adapters.sql_store import SqlCaseStore
from api.db.image_checks import ImageCheck
from api.db.models import (
    AuditEvent,
    Case,
    Lesion,
    MeasurementVersion,
    Patient,
    PatientMarker,
    Study,
)
from api.workflow.cases import patient_studies
from api.workflow.errors import InvalidInput
from api.workflow.roles import READERS, Principal, Role, check_role
from api.workflow.worklist import WorklistCase, WorklistPatient, judge_cases

MAX_AUDIT_EVENTS = 10_000


def patients(session: Session, who: Principal) -> list[tuple[str, str | None, int]]:
    """(patient_id, name, number of studies) of every indexed patient."""
    check_role(who, READERS)
    rows = session.execute(
        select(Patient.patient_id, Patient.patient_name, func.count(Study.id))
        .outerjoin(Study, Study.patient_pk == Patient.id)
        .group_by(Patient.id)
        .order_by(Patient.patient_id)
    ).all()
    store = SqlCaseStore(session)
    store.audit(who, "list", "patients", None)
    store.commit()
    return [(pid, name, count) for pid, name, count in rows]


def studies(session: Session, who: Principal, patient_id: str) -> list[Study]:
    """A patient's studies with their series, oldest first."""
    check_role(who, READERS)
    store = SqlCaseStore(session)
    found = patient_studies(store, patient_id)
    store.audit(who, "read", f"patients/{patient_id}/studies", patient_id)
    store.commit()
    return found


def audit_log(session: Session, who: Principal, *, patient_id: str | None, user: str | None,
              limit: int) -> list[AuditEvent]:
    """The audit trail, oldest first, optionally of one patient or one user (admin)."""
    check_role(who, (Role.ADMIN,))
    if not 1 <= limit <= MAX_AUDIT_EVENTS:
        raise InvalidInput(f"limit must be between 1 and {MAX_AUDIT_EVENTS}")
    query = select(AuditEvent).order_by(AuditEvent.id)
    if patient_id is not None:
        query = query.where(AuditEvent.patient_id == patient_id)
    if user is not None:
        query = query.where(AuditEvent.user_name == user)
    events = list(session.scalars(query.limit(limit)))
    store = SqlCaseStore(session)
    store.audit(who, "read", "audit", patient_id)
    store.commit()
    return events


def worklist(session: Session, who: Principal
             ) -> tuple[list[WorklistPatient], list[WorklistCase]]:
    """Every patient with their studies, and every case judged (work first), in a fixed
    number of queries whatever the number of cases; audited once."""
    check_role(who, READERS)
    patients = list(session.scalars(select(Patient).options(selectinload(Patient.studies))
                                    .order_by(Patient.patient_id)))
    studies_by_patient = {p.patient_id: sorted(p.studies, key=_study_order) for p in patients}
    cases = list(session.scalars(select(Case).options(selectinload(Case.lesions),
                                                      selectinload(Case.signoffs),
                                                      selectinload(Case.study_dates))))
    measurements = session.scalars(
        select(MeasurementVersion).join(Lesion, Lesion.id == MeasurementVersion.lesion_id)
        .where(Lesion.deleted_at.is_(None)).order_by(MeasurementVersion.version))
    judged = judge_cases(cases, studies_by_patient, measurements,
                         session.scalars(select(PatientMarker)))
    store = SqlCaseStore(session)
    store.audit(who, "list", "worklist", None)
    store.commit()
    return [WorklistPatient(p.patient_id, p.patient_name, tuple(studies_by_patient[p.patient_id]))
            for p in patients], judged


def images_flagged(session: Session, study_uids: list[str]) -> list[ImageCheck]:
    """The flagged images of these studies (came by C-STORE and would be refused by the
    upload, or sent again with other attributes; see api/workers/image_checks.py)."""
    if not study_uids:
        return []
    return list(session.scalars(select(ImageCheck).where(
        ImageCheck.study_instance_uid.in_(study_uids),
        or_(ImageCheck.refused_reason.is_not(None), ImageCheck.resent_attributes.is_not(None)))
        .order_by(ImageCheck.study_instance_uid, ImageCheck.series_instance_uid,
                  ImageCheck.sop_instance_uid)))


def _study_order(st: Study) -> tuple[bool, object, str, str]:
    # As the case store orders a patient's studies: oldest first, undated last.
    return (st.study_date is None, st.study_date, st.study_time or "", st.study_instance_uid)
