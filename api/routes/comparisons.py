"""Comparisons: a baseline study and a follow-up study of a patient, with paired series."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response

from api.auth import CaseManager, Reader
from api.deps import Comparisons
from api.openapi import answers
from api.routes.params import ComparisonId
from api.schemas import ComparisonOut, ComparisonRequest, PairsOverride
from api.workflow.errors import NotFound, StaleVersion

router = APIRouter(prefix="/api/v1/comparisons", tags=["comparisons"])


@router.post("", status_code=201, responses={200: {
    "description": "the existing comparison of the same studies", "model": ComparisonOut},
    **answers(NotFound)})
def create_comparison(body: ComparisonRequest, response: Response, who: Reader,
                      comparisons: Comparisons) -> ComparisonOut:
    view = comparisons.create(who, body.patient_id, body.baseline_study_uid,
                              body.followup_study_uid, new=body.new)
    if not view.created:
        response.status_code = 200
    response.headers["ETag"] = view.etag
    return ComparisonOut.of(view)


@router.get("/{comparison_id}")
def get_comparison(comparison_id: ComparisonId, response: Response, who: Reader,
                   comparisons: Comparisons) -> ComparisonOut:
    view = comparisons.read(who, comparison_id)
    response.headers["ETag"] = view.etag
    return ComparisonOut.of(view)


@router.put("/{comparison_id}/pairs", responses=answers(StaleVersion))
def override_pairs(comparison_id: ComparisonId, body: PairsOverride, response: Response,
                   who: CaseManager, comparisons: Comparisons,
                   if_match: Annotated[str, Header(description=(
                       "the ETag of the comparison as it was read (its GET or POST), or `*`: "
                       "a pairing is changed only from the version the reader saw"))]
                   ) -> ComparisonOut:
    view = comparisons.override_pairs(
        who, comparison_id, [(p.baseline_series_uid, p.followup_series_uid)
                             for p in body.pairs], if_match)
    response.headers["ETag"] = view.etag
    return ComparisonOut.of(view)
