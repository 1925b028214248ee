"""Internal: Orthanc posts here when a series is stable (pacs/stable_push.py).

Not in the public OpenAPI and not for clients: only the shared secret opens it (api/push_auth.py),
never a bearer token. The answer is immediate and asks Orthanc nothing (Orthanc's REST API
waits while its Lua waits for this answer): it wakes the change-feed follower, which reads
the ``StableSeries`` change Orthanc logged and indexes the series. So a series Orthanc does
not hold is accepted as well and indexes nothing; the answer names the series it was told.
Copies sent again by C-STORE do not come here: Orthanc's Python plugin spools them to a
folder that ingest drains (pacs/resent_spool.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.push_auth import orthanc_push
from api.schemas.internal import StableSeriesIn, StableSeriesOut

STABLE_SERIES_PATH = "/internal/orthanc/stable-series"

router = APIRouter(include_in_schema=False)


@router.post(STABLE_SERIES_PATH, status_code=202)
def stable_series(body: StableSeriesIn, request: Request,
                  _: Annotated[None, Depends(orthanc_push)]) -> StableSeriesOut:
    ingest = request.app.state.ingest
    ingest.pushed()
    return StableSeriesOut(series=body.series, leader=ingest.leader)
