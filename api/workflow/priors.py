"""Priors from the hospital PACS: asking for a fetch, reading its progress, and the
automatic fetch when a patient's first study of a modality arrives.

A fetch is a row (api/db/priors.py) that the background fetcher runs
(api/workers/priors.py): C-FIND on the PACS, then C-MOVE to Orthanc of every study Nadir
does not hold. Nothing here talks DICOM.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from api.workflow.errors import Conflict, InvalidInput, NotFound, PatientNotFound
from api.workflow.ports import PriorFetch, PriorRequest, PriorStore
from api.workflow.roles import CASE_MANAGERS, READERS, Principal, check_role

#: Who started the fetch: a person (``POST .../priors``) or the arrival of a study.
REQUESTED, AUTOMATIC = "request", "automatic"

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


def request_priors(store: PriorStore, who: Principal, hospital: HospitalPacs | None,
                   wanted: PriorRequest) -> PriorFetch:
    """Queue a fetch of the patient's studies from the hospital PACS (a radiologist or an
    admin); the answer is the job, still pending."""
    check_role(who, CASE_MANAGERS)
    if hospital is None:
        raise Conflict("no hospital PACS is configured (NADIR_REMOTE_AE_TITLE, "
                       "NADIR_REMOTE_AE_HOST, NADIR_REMOTE_AE_PORT): nothing to fetch from")
    if not store.patient_known(wanted.patient_id):
        raise PatientNotFound(wanted.patient_id)
    problem = store.query_problem(wanted)
    if problem is not None:
        raise InvalidInput(problem)
    fetch = store.queue(wanted, REQUESTED, who.name, str(hospital))
    store.audit(who, "fetch_priors", f"patients/{wanted.patient_id}/priors", wanted.patient_id)
    store.commit()
    return fetch


def read_fetch(store: PriorStore, who: Principal, patient_id: str, fetch_id: int
               ) -> PriorFetch:
    check_role(who, READERS)
    fetch = store.fetch(fetch_id)
    if fetch is None or fetch.patient_id != patient_id:
        raise NotFound(f"no prior fetch {fetch_id} for this patient")
    _audit_read(store, who, patient_id, f"patients/{patient_id}/priors/{fetch_id}")
    return fetch


def list_fetches(store: PriorStore, who: Principal, patient_id: str) -> list[PriorFetch]:
    check_role(who, READERS)
    fetches = store.fetches_of(patient_id)
    _audit_read(store, who, patient_id, f"patients/{patient_id}/priors")
    return fetches


def _audit_read(store: PriorStore, who: Principal, patient_id: str, resource: str) -> None:
    store.audit(who, "read", resource, patient_id)
    store.commit()


def automatic_fetch(store: PriorStore, hospital: HospitalPacs, patient_id: str,
                    study_uid: str, modality: str) -> PriorFetch | None:
    """The fetch that the arrival of ``study_uid`` starts, if any: when it is the patient's
    first study of an image modality (no other indexed study of that modality is dated
    before it), its earlier studies of that modality are looked for. One automatic fetch
    per patient and modality (a failed one excepted), so the priors it brings, which are
    also "first" studies, start no other."""
    if modality not in AUTOMATIC_MODALITIES:
        return None
    found = store.study_date_of(patient_id, study_uid)
    if found is None:
        return None
    (date,) = found
    if store.automatic_fetch_started(patient_id, modality):
        return None
    others = store.other_dates_of_modality(study_uid, modality)
    if any(other is None or date is None or other < date for other in others):
        return None  # an earlier study is here already (or cannot be ruled out)
    before = date - dt.timedelta(days=1) if date else None
    fetch = store.queue(PriorRequest(patient_id, modality, None, before), AUTOMATIC, None,
                        str(hospital))
    store.commit()
    return fetch
