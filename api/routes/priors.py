"""Priors from the hospital PACS: ask for a fetch, read its state and progress."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Request, Response

from api.adapters.prior_store import SqlPriorStore
from api.auth import CaseManager, Reader
from api.deps import SessionDep
from api.openapi import answers
from api.schemas import PriorFetchIn, PriorFetchOut
from api.workflow import priors
from api.workflow.errors import Conflict
from api.workflow.ports import PriorRequest

PatientIdPath = Annotated[str, Path(max_length=128)]
FetchIdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]

router = APIRouter(prefix="/api/v1", tags=["priors"])


@router.post("/patients/{patient_id:path}/priors", status_code=202, responses=answers(Conflict))
def fetch_priors(patient_id: PatientIdPath, body: PriorFetchIn, who: CaseManager,
                 session: SessionDep, request: Request, response: Response) -> PriorFetchOut:
    """Query the hospital PACS (C-FIND, study level: PatientID, modality, dates) and
    retrieve by C-MOVE to Orthanc the studies Nadir lacks. Answers at once with the job
    (202); read it at ``Location``. 409 without a configured hospital PACS."""
    fetcher = request.app.state.priors
    fetch = priors.request_priors(SqlPriorStore(session), who, fetcher.hospital, PriorRequest(
        patient_id, body.modality, body.date_from, body.date_to))
    fetcher.wake()
    response.headers["Location"] = (f"/api/v1/patients/{quote(patient_id, safe='')}"
                                    f"/priors/{fetch.id}")
    return PriorFetchOut.of(fetch)


@router.get("/patients/{patient_id:path}/priors/{fetch_id}")
def read_prior_fetch(patient_id: PatientIdPath, fetch_id: FetchIdPath, who: Reader,
                     session: SessionDep) -> PriorFetchOut:
    """One fetch: its state (pending, running, done, failed), progress and last error."""
    return PriorFetchOut.of(priors.read_fetch(SqlPriorStore(session), who, patient_id, fetch_id))


@router.get("/patients/{patient_id:path}/priors")
def list_prior_fetches(patient_id: PatientIdPath, who: Reader,
                       session: SessionDep) -> list[PriorFetchOut]:
    """The patient's fetches, oldest first (requested and automatic)."""
    fetches = priors.list_fetches(SqlPriorStore(session), who, patient_id)
    return [PriorFetchOut.of(f) for f in fetches]
