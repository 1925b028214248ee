"""POST /api/v1/recist/evaluate: the response engine for measurements made elsewhere."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from api.auth import Principal, current_principal
from api.errors import ApiError
from measurement.codec import evaluate_request

router = APIRouter(prefix="/api/v1/recist")

_EXAMPLE = {
    "criteria": "RECIST1.1",
    "timepoints": [{"id": "BL", "date": "2026-01-05"}, {"id": "FU1", "date": "2026-03-02"}],
    "lesions": [
        {"id": "T1", "kind": "target", "organ": "lung", "nodal": False,
         "measurements": {"BL": 32.0, "FU1": 20.0}},
    ],
}


@router.post(
    "/evaluate",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"type": "object"}, "example": _EXAMPLE}}}},
)
async def evaluate(
    request: Request,
    _: Principal = Depends(current_principal),  # noqa: B008
) -> JSONResponse:
    """Stateless evaluation: the request is parsed strictly by the engine's own codec, so
    that every 422 names the lesion or timepoint id and the field at fault."""
    body = await request.body()
    try:
        payload: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(422, f"body: not valid JSON ({exc})") from None
    return JSONResponse(evaluate_request(payload))
