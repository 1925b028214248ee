"""/dicom-web/: the browser's image reads (QIDO-RS, WADO-RS), proxied to Orthanc's plugin.

Only DICOMweb, and only reads: the raw request target is parsed against an allow-list of
DICOMweb resources (:mod:`pacs.dicomweb_routes`) and Orthanc's request is built from the
parsed parts, as the proxy's own read-only Orthanc user. Anything else is 404 and audited.
Streamed, with the user's bearer token checked here; reads are audited once per study and
user per hour.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from api.auth import Reader
from api.openapi import answers
from api.workflow.errors import NotFound
from api.workflow.image_reads import ImageReads
from pacs.dicomweb import DicomWebGateway
from pacs.dicomweb_routes import DicomWebRoute, RouteRefused, parse
from pacs.errors import OrthancUnavailable, PacsError

router = APIRouter(tags=["images"])
PREFIX = "/dicom-web/"


@router.get(
    "/dicom-web/{path:path}", response_class=StreamingResponse,
    responses={200: {"description": "DICOM JSON (QIDO-RS, metadata) or multipart frames "
                     "(WADO-RS), as Orthanc's DICOMweb plugin answers",
                     "content": {"application/dicom+json": {}, "multipart/related": {}}},
               404: {"description": "not a DICOMweb resource the proxy serves, or a study "
                     "Nadir does not know"}, **answers(OrthancUnavailable, PacsError)})
async def dicomweb(path: str, request: Request,
                   who: Reader) -> StreamingResponse:
    reads: ImageReads = request.app.state.image_reads
    route = await _route_of(request, who, reads)
    await run_in_threadpool(reads.admit, who, route.study, dict(route.query).get("PatientID"))
    gateway: DicomWebGateway = request.app.state.dicomweb
    upstream = await gateway.get(route, request.headers)
    return StreamingResponse(upstream.body(), status_code=upstream.status,
                             headers=upstream.headers, background=BackgroundTask(upstream.close))


async def _route_of(request: Request, who: Reader, reads: ImageReads) -> DicomWebRoute:
    """The DICOMweb resource of the raw request target, or 404 (audited with the path)."""
    raw: bytes = request.scope.get("raw_path") or request.scope["path"].encode()
    query: bytes = request.scope.get("query_string", b"")
    try:
        if not raw.startswith(PREFIX.encode()):
            # Reached through an encoded prefix ("/dicom%2Dweb/"): not the proxy's path.
            raise RouteRefused("the path does not start with /dicom-web/")
        return parse(raw[len(PREFIX):], query)
    except RouteRefused as refused:
        shown = (raw + (b"?" + query if query else b"")).decode("ascii", "replace")
        await run_in_threadpool(reads.refuse, who, shown)
        raise NotFound(f"not served: {refused}. The image proxy passes on DICOMweb reads "
                       "only: studies, studies/{study}/series/{series}/instances/{instance}, "
                       "their metadata, frames, rendered, thumbnail and bulk data") from None
