"""Read-only views of the index and the audit log.

These reads need no domain rule, so the store answers them with one query each
(cosmicpython's views; ``ViewStore`` in ``ports.py``); each still leaves its audit event.
"""

from __future__ import annotations

from api.workflow.case_reader import patient_studies
from api.workflow.errors import InvalidInput
from api.workflow.ports import AuditEvent, ImageCheck, Study, ViewStore
from api.workflow.roles import READERS, Principal, Role, check_role
from api.workflow.worklist import WorklistCase, WorklistPatient, hidden_from, judge_cases

MAX_AUDIT_EVENTS = 10_000


def patients(store: ViewStore, who: Principal) -> list[tuple[str, str | None, int]]:
    """(patient_id, name, number of studies) of every indexed patient."""
    check_role(who, READERS)
    rows = store.patient_counts()
    store.audit(who, "list", "patients", None)
    store.commit()
    return rows


def studies(store: ViewStore, who: Principal, patient_id: str) -> list[Study]:
    """A patient's studies with their series, oldest first."""
    check_role(who, READERS)
    found = patient_studies(store, patient_id)
    store.audit(who, "read", f"patients/{patient_id}/studies", patient_id)
    store.commit()
    return found


def audit_log(store: ViewStore, who: Principal, *, patient_id: str | None, user: str | None,
              limit: int) -> list[AuditEvent]:
    """The audit trail, oldest first, optionally of one patient or one user (admin)."""
    check_role(who, (Role.ADMIN,))
    if not 1 <= limit <= MAX_AUDIT_EVENTS:
        raise InvalidInput(f"limit must be between 1 and {MAX_AUDIT_EVENTS}")
    events = store.audit_events(patient_id, user, limit)
    store.audit(who, "read", "audit", patient_id)
    store.commit()
    return events


def worklist(store: ViewStore, who: Principal
             ) -> tuple[list[WorklistPatient], list[WorklistCase]]:
    """Every patient with their studies, and every case judged (work first), in a fixed
    number of queries whatever the number of cases; audited once."""
    check_role(who, READERS)
    rows = store.worklist_rows()
    studies_by_patient = {p.patient_id: sorted(p.studies, key=_study_order)
                          for p in rows.patients}
    judged = judge_cases(rows.cases, studies_by_patient, rows.measurements, rows.markers)
    if who.role is Role.RADIOLOGIST:
        hidden = hidden_from(who.name, judged)
        judged = [e for e in judged if e.case.id not in hidden]
    store.audit(who, "list", "worklist", None)
    store.commit()
    return [WorklistPatient(p.patient_id, p.patient_name, tuple(studies_by_patient[p.patient_id]))
            for p in rows.patients], judged


def images_flagged(store: ViewStore, study_uids: list[str]) -> list[ImageCheck]:
    """The flagged images of these studies (came by C-STORE and would be refused by the
    upload, or sent again with other attributes; see api/workers/image_checks.py)."""
    return store.images_flagged(study_uids) if study_uids else []


def _study_order(st: Study) -> tuple[bool, object, str, str]:
    # As the case store orders a patient's studies: oldest first, undated last.
    return (st.study_date is None, st.study_date, st.study_time or "", st.study_instance_uid)
