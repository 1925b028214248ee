"""POST /api/v1/recist/evaluate: the response engine for measurements made elsewhere."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from api.auth import CurrentUser
from api.openapi import answers
from api.schemas import EvaluateRequest, EvaluationOut
from api.workflow.errors import InvalidInput
from measurement.codec import evaluate_request
from measurement.errors import MeasurementError

router = APIRouter(prefix="/api/v1/recist", tags=["recist"])

EXAMPLE = {
    "criteria": "RECIST1.1",
    "timepoints": [{"id": "BL", "date": "2026-01-05"}, {"id": "FU1", "date": "2026-03-02"}],
    "lesions": [
        {"id": "T1", "kind": "target", "organ": "lung", "nodal": False,
         "measurements": {"BL": 32.0, "FU1": 20.0}},
    ],
}


async def _json_body(request: Request) -> Any:
    body = await request.body()
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"body: not valid JSON ({exc})") from None


@router.post(
    "/evaluate", response_class=JSONResponse,
    responses={200: {"model": EvaluationOut, "description": "Responses per timepoint"},
               **answers(InvalidInput, MeasurementError)},
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{EvaluateRequest.__name__}"},
        "example": EXAMPLE}}}},
)
async def evaluate(_: CurrentUser, payload: Annotated[Any, Depends(_json_body)]
                   ) -> JSONResponse:
    """Stateless evaluation: the request is parsed strictly by the engine's own codec, so
    that every 422 names the lesion or timepoint id and the field at fault.

    The engine takes well under a millisecond, so it runs on the event loop, and its
    output (the codec's, described by ``EvaluationOut``) is sent as it is."""
    return JSONResponse(evaluate_request(payload))
