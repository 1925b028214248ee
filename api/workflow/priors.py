"""Priors from the hospital PACS: asking for a fetch, reading its progress, and the
automatic fetch when a patient's first study of a modality arrives.

A fetch is a row (api/db/priors.py) that the background fetcher runs
(api/workers/priors.py): C-FIND on the PACS, then C-MOVE to Orthanc of every study Nadir
does not hold. Nothing here talks DICOM.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import AuditEvent, Patient, Series, Study
from api.db.priors import AUTOMATIC, FAILED, REQUESTED, PriorFetch
from api.workflow.errors import Conflict, InvalidInput, NotFound, PatientNotFound
from api.workflow.roles import CASE_MANAGERS, READERS, Principal, check_role
from pacs.errors import PacsError
from pacs.query_retrieve import PriorQuery

#: The modalities whose first study starts an automatic fetch: the cross-sectional images
#: RECIST 1.1 measures on (Eisenhauer 2009, section 3.1.2: CT and MRI; PET/CT's CT). Not
#: the documents Nadir itself publishes (SR, the encapsulated PDF's DOC).
AUTOMATIC_MODALITIES = frozenset({"CT", "MR", "PT"})


@dataclass(frozen=True)
class HospitalPacs:
    """The hospital PACS (``NADIR_REMOTE_AE_*``) and the name Orthanc knows it by."""

    ae_title: str
    host: str
    port: int
    orthanc_name: str = "nadir-hospital-pacs"

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.host}:{self.port}"


@dataclass(frozen=True)
class PriorRequest:
    patient_id: str
    modality: str | None
    date_from: dt.date | None
    date_to: dt.date | None


def request_priors(session: Session, who: Principal, hospital: HospitalPacs | None,
                   wanted: PriorRequest) -> PriorFetch:
    """Queue a fetch of the patient's studies from the hospital PACS (a radiologist or an
    admin); the answer is the job, still pending."""
    check_role(who, CASE_MANAGERS)
    if hospital is None:
        raise Conflict("no hospital PACS is configured (NADIR_REMOTE_AE_TITLE, "
                       "NADIR_REMOTE_AE_HOST, NADIR_REMOTE_AE_PORT): nothing to fetch from")
    if session.scalar(select(Patient.id).where(Patient.patient_id == wanted.patient_id)) \
            is None:
        raise PatientNotFound(wanted.patient_id)
    try:
        PriorQuery(wanted.patient_id, wanted.modality, wanted.date_from, wanted.date_to)
    except PacsError as exc:
        raise InvalidInput(str(exc)) from None
    fetch = _new_fetch(wanted, REQUESTED, who.name, hospital)
    session.add(fetch)
    session.add(AuditEvent(user_name=who.name, action="fetch_priors",
                           resource=f"patients/{wanted.patient_id}/priors",
                           patient_id=wanted.patient_id))
    session.commit()
    return fetch


def read_fetch(session: Session, who: Principal, patient_id: str, fetch_id: int) -> PriorFetch:
    check_role(who, READERS)
    fetch = session.get(PriorFetch, fetch_id)
    if fetch is None or fetch.patient_id != patient_id:
        raise NotFound(f"no prior fetch {fetch_id} for this patient")
    _audit_read(session, who, patient_id, f"patients/{patient_id}/priors/{fetch_id}")
    return fetch


def list_fetches(session: Session, who: Principal, patient_id: str) -> list[PriorFetch]:
    check_role(who, READERS)
    fetches = list(session.scalars(select(PriorFetch).where(
        PriorFetch.patient_id == patient_id).order_by(PriorFetch.id)))
    _audit_read(session, who, patient_id, f"patients/{patient_id}/priors")
    return fetches


def _audit_read(session: Session, who: Principal, patient_id: str, resource: str) -> None:
    session.add(AuditEvent(user_name=who.name, action="read", resource=resource,
                           patient_id=patient_id))
    session.commit()


def automatic_fetch(session: Session, hospital: HospitalPacs, patient_id: str,
                    study_uid: str, modality: str) -> PriorFetch | None:
    """The fetch that the arrival of ``study_uid`` starts, if any: when it is the patient's
    first study of an image modality (no other indexed study of that modality is dated
    before it), its earlier studies of that modality are looked for. One automatic fetch
    per patient and modality (a failed one excepted), so the priors it brings, which are
    also "first" studies, start no other."""
    if modality not in AUTOMATIC_MODALITIES:
        return None
    study = session.scalar(select(Study).where(Study.study_instance_uid == study_uid))
    if study is None or study.patient.patient_id != patient_id:
        return None
    if session.scalar(select(PriorFetch.id).where(
            PriorFetch.patient_id == patient_id, PriorFetch.modality == modality,
            PriorFetch.trigger == AUTOMATIC, PriorFetch.state != FAILED).limit(1)) is not None:
        return None
    others = session.scalars(select(Study).join(Series, Series.study_pk == Study.id).where(
        Study.patient_pk == study.patient_pk, Study.id != study.id,
        Series.modality == modality)).all()
    if any(other.study_date is None or study.study_date is None
           or other.study_date < study.study_date for other in others):
        return None  # an earlier study is here already (or cannot be ruled out)
    before = study.study_date - dt.timedelta(days=1) if study.study_date else None
    fetch = _new_fetch(PriorRequest(patient_id, modality, None, before), AUTOMATIC, None,
                       hospital)
    session.add(fetch)
    session.commit()
    return fetch


def _new_fetch(wanted: PriorRequest, trigger: str, who: str | None,
               hospital: HospitalPacs) -> PriorFetch:
    return PriorFetch(patient_id=wanted.patient_id, modality=wanted.modality,
                      date_from=wanted.date_from, date_to=wanted.date_to, trigger=trigger,
                      requested_by=who, source=str(hospital), state="pending", attempts=0,
                      studies=[])
