"""Registration of a comparison's series, and where a measured lesion lies at a later scan."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import Reader
from api.deps import Registrations
from api.openapi import answers
from api.routes.params import CaseId, ComparisonId, LesionId
from api.schemas import ProposalOut, RegistrationOut
from api.workflow.errors import Conflict
from pacs.errors import OrthancUnavailable, PacsError

router = APIRouter(prefix="/api/v1", tags=["registration"])


@router.get("/comparisons/{comparison_id}/registration", responses=answers(Conflict))
def comparison_registration(
    comparison_id: ComparisonId, who: Reader, registrations: Registrations,
    wait_s: Annotated[float, Query(ge=0, le=60, description=(
        "wait up to this long for a registration that is not done yet (default: answer "
        "at once, with status pending)"))] = 0.0,
) -> RegistrationOut:
    return RegistrationOut.of(registrations.comparison_registration(who, comparison_id, wait_s))


@router.get("/cases/{case_id}/lesions/{lesion_id}/proposal",
            responses=answers(Conflict, OrthancUnavailable, PacsError))
def lesion_proposal(
    case_id: CaseId, lesion_id: LesionId, who: Reader, registrations: Registrations,
    timepoint: Annotated[str, Query(min_length=1, max_length=64, description=(
        "the timepoint (Study Instance UID) to propose the lesion's position on"))],
) -> ProposalOut:
    return ProposalOut.of(registrations.proposal(who, case_id, lesion_id, timepoint))
