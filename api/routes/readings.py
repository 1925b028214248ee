"""Second readings (issue 21): ask for a review, the readings side by side, adjudication,
and the readers' agreement over every case read twice."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.auth import CaseManager, Reader
from api.deps import CaseLoader, SessionDep, registration_jobs
from api.openapi import answers
from api.routes.cases import case_out
from api.routes.params import CaseId
from api.schemas import CaseOut
from api.schemas.readings import (
    AdjudicatedOut,
    AdjudicationIn,
    AdjudicationOut,
    AgreementOut,
    CaseReadingsOut,
    ReviewCreate,
)
from api.workflow.errors import Blinded, Conflict, InvalidInput
from api.workflow.second_reading import SecondReadings

router = APIRouter(prefix="/api/v1", tags=["second reading"])


def second_readings(request: Request, cases: CaseLoader) -> SecondReadings:
    # Lesions in different frames of reference are matched through the registrations.
    registration_jobs(request.app.state)
    return SecondReadings(cases, request.app.state.pacs, request.app.state.registration_store)


Readings = Annotated[SecondReadings, Depends(second_readings)]


@router.post("/cases/{case_id}/reviews", status_code=201,
             responses=answers(InvalidInput, Blinded))
def create_review(case_id: CaseId, body: ReviewCreate, who: CaseManager, readings: Readings,
                  session: SessionDep) -> CaseOut:
    """A second reading of the case, over the same studies, by another radiologist."""
    return case_out(readings.create_review(who, case_id, body.reader, body.blinded), session)


@router.get("/cases/{case_id}/readings", responses=answers(Conflict, Blinded))
def case_readings(case_id: CaseId, who: Reader, readings: Readings) -> CaseReadingsOut:
    """The primary reading against each review signed off at every timepoint."""
    return CaseReadingsOut.of(readings.readings(who, case_id))


@router.post("/cases/{case_id}/adjudication", status_code=201,
             responses=answers(Conflict, InvalidInput))
def adjudicate(case_id: CaseId, body: AdjudicationIn, who: CaseManager, readings: Readings
               ) -> AdjudicatedOut:
    """Where the readings disagree, a radiologist who read neither (or an admin) chooses
    the reading that counts."""
    decision, found = readings.adjudicate(who, case_id, body.timepoint_id,
                                          body.chosen_case_id, body.reason)
    return AdjudicatedOut(adjudication=AdjudicationOut.of(case_id, decision),
                          readings=CaseReadingsOut.of(found))


@router.get("/readings/agreement")
def agreement(who: Reader, readings: Readings) -> AgreementOut:
    """Agreement on the overall response over every case with a signed-off review."""
    return AgreementOut.of(readings.agreement(who))
