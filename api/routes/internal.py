"""Internal: Orthanc posts here when a series is stable (pacs/stable_push.py), and when a
copy of an instance it holds came again by C-STORE (pacs/resent.py).

Not in the public OpenAPI and not for clients: only the shared secret opens it (api/push_auth.py),
never a bearer token. The answer is immediate and asks Orthanc nothing (Orthanc's REST API
waits while its Lua waits for this answer): it wakes the change-feed follower, which reads
the ``StableSeries`` change Orthanc logged and indexes the series. So a series Orthanc does
not hold is accepted as well and indexes nothing; the answer names the series it was told.
A re-sent copy is only queued (a row in ``resent_copies``, so a restart loses none); the
ingest leader compares it with the stored instance later (api/workers/image_checks.py). Its
attributes are patient data: neither they nor the UIDs are logged here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from api.push_auth import orthanc_push
from api.schemas.internal import ResentCopyIn, ResentCopyOut, StableSeriesIn, StableSeriesOut

STABLE_SERIES_PATH = "/internal/orthanc/stable-series"
RESENT_COPY_PATH = "/internal/orthanc/resent-copy"

router = APIRouter(include_in_schema=False)


@router.post(STABLE_SERIES_PATH, status_code=202)
def stable_series(body: StableSeriesIn, request: Request,
                  _: Annotated[None, Depends(orthanc_push)]) -> StableSeriesOut:
    ingest = request.app.state.ingest
    ingest.pushed()
    return StableSeriesOut(series=body.series, leader=ingest.leader)


@router.post(RESENT_COPY_PATH, status_code=202)
def resent_copy(body: ResentCopyIn, request: Request,
                _: Annotated[None, Depends(orthanc_push)]) -> ResentCopyOut:
    request.app.state.image_checks.queue_copy(body.instance, body.to_copy())
    return ResentCopyOut(instance=body.instance, queued=True)
