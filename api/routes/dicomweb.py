"""/dicom-web/: the browser's image reads (QIDO-RS, WADO-RS), proxied to Orthanc's plugin.

Streamed, with the user's bearer token checked here and Orthanc's own credentials added
on the way out; reads are audited once per study and user per hour.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from api.auth import Reader
from api.workflow.errors import NotFound
from api.workflow.image_reads import ImageReads
from pacs.dicomweb import DicomWebGateway

router = APIRouter(tags=["images"])
#: What the proxy passes on: a study search (``studies?...``) or anything below one study.
_PATH = re.compile(r"^studies(?:/(?P<study>[0-9.]{1,64})(?:/.*)?)?/?$")


@router.get(
    "/dicom-web/{path:path}", response_class=StreamingResponse,
    responses={200: {"description": "DICOM JSON (QIDO-RS, metadata) or multipart frames "
                     "(WADO-RS), as Orthanc's DICOMweb plugin answers",
                     "content": {"application/dicom+json": {}, "multipart/related": {}}}})
async def dicomweb(path: Annotated[str, Path(max_length=1024)], request: Request,
                   who: Reader) -> StreamingResponse:
    match = _PATH.match(path)
    # No dot segments: "studies/1.2/../../system" would leave the study (and DICOMweb).
    if match is None or any(part in (".", "..") for part in path.split("/")):
        raise NotFound(f"/dicom-web/{path} is not served: Nadir passes on studies/ and "
                       "studies/{StudyInstanceUID}/...")
    state = request.app.state
    reads: ImageReads = state.image_reads
    await run_in_threadpool(reads.admit, who, match.group("study"),
                            request.query_params.get("PatientID"))
    gateway: DicomWebGateway = state.dicomweb
    upstream = await gateway.get(path, request.url.query, request.headers,
                                 public_host=request.headers.get("host", "localhost"),
                                 public_proto=request.url.scheme)
    return StreamingResponse(upstream.body(), status_code=upstream.status,
                             headers=upstream.headers, background=BackgroundTask(upstream.close))
