"""/dicom-web/: the browser's image reads (QIDO-RS, WADO-RS), proxied to Orthanc's plugin.

Only DICOMweb, and only reads: the raw request target is parsed against an allow-list of
DICOMweb resources (:mod:`pacs.dicomweb_routes`) and Orthanc's request is built from the
parsed parts, as the proxy's own read-only Orthanc user. Anything else is 404 and audited.
Streamed, with the user's bearer token checked here; reads are audited once per study and
user per hour.

A series' metadata answered from Nadir's index is gzipped for a client that accepts it:
DICOM JSON repeats each attribute's tag and VR in every instance, so a 300-slice series'
1.4 MB is mostly repetition, and on a slow link it was the largest download before the
first images. Each version of a series (its entity tag) is compressed once, in a worker
thread, and kept (:data:`GZIPPED_MAX_BYTES`); the gzipped answer has its own entity tag.

Thumbnails (PS3.18 10.4.4, Supplement 203: "the origin server determines the pixel content")
of a series, an instance or a frame are rendered images: Orthanc's plugin 1.7 has no
thumbnail resources, so the proxy asks it for the rendered resource of the image the
thumbnail shows, with the same parameters. A series' image is its middle one, picked by the
index (:meth:`~api.adapters.series_metadata.SeriesMetadataStore.representative_image`). A
study's thumbnail is passed on as it is.
"""

from __future__ import annotations

import gzip
from dataclasses import replace

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from api.adapters.series_metadata import SeriesMetadata, SeriesMetadataStore
from api.auth import Reader
from api.http_coding import accepted_codings, none_match
from api.lru import SizedLRU
from api.openapi import answers
from api.workers.series_metadata import MetadataFiller
from api.workflow.errors import NotFound
from api.workflow.image_reads import ImageReads
from pacs.dicomweb import DicomWebGateway
from pacs.dicomweb_routes import DicomWebRoute, Kind, RouteRefused, parse
from pacs.errors import OrthancUnavailable, PacsError

router = APIRouter(tags=["images"])
PREFIX = "/dicom-web/"
#: Media ranges of an Accept header that a DICOM JSON answer satisfies (PS3.18 8.7.3.5).
_JSON_RANGES = frozenset({"*/*", "application/*", "application/json", "application/dicom+json"})
#: Revalidated at every use: the entity tag changes when the series does.
_METADATA_CACHE = "private, no-cache"
#: zlib's default level: compressed once per version of a series, so the ratio matters
#: more than the time.
GZIP_LEVEL = 6
#: Gzipped metadata kept, by the identity answer's entity tag (a digest of its bytes).
GZIPPED_MAX_BYTES = 32 * 1024 * 1024
_gzipped: SizedLRU[str, bytes] = SizedLRU(GZIPPED_MAX_BYTES, len)


@router.get(
    "/dicom-web/{path:path}", response_class=StreamingResponse,
    responses={200: {"description": "DICOM JSON (QIDO-RS, metadata) or multipart frames "
                     "(WADO-RS), as Orthanc's DICOMweb plugin answers",
                     "content": {"application/dicom+json": {}, "multipart/related": {}}},
               404: {"description": "not a DICOMweb resource the proxy serves, or a study "
                     "Nadir does not know"}, **answers(OrthancUnavailable, PacsError)})
async def dicomweb(path: str, request: Request,
                   who: Reader) -> Response:
    reads: ImageReads = request.app.state.image_reads
    route = await _route_of(request, who, reads)
    await run_in_threadpool(reads.admit, who, route.study, dict(route.query).get("PatientID"),
                            route.series, search=route.kind is Kind.SEARCH)
    if route.kind is Kind.RENDERED and route.view == "thumbnail" and route.study \
            and route.series:
        route = await _rendered_for_thumbnail(route, route.study, route.series,
                                              request.app.state.series_metadata)
    if route.study and route.series and _series_metadata_in_json(route, request):
        stored: SeriesMetadataStore = request.app.state.series_metadata
        found = await run_in_threadpool(stored.answer, route.study, route.series)
        if found is not None:
            return await _metadata_answer(found, request.headers.get("if-none-match"),
                                          request.headers.get("accept-encoding", ""))
        filler: MetadataFiller = request.app.state.metadata_filler
        filler.want(route.study, route.series)
    gateway: DicomWebGateway = request.app.state.dicomweb
    upstream = await gateway.get(route, request.headers)
    return StreamingResponse(upstream.body(), status_code=upstream.status,
                             headers=upstream.headers, background=BackgroundTask(upstream.close))


async def _rendered_for_thumbnail(route: DicomWebRoute, study: str, series: str,
                                  store: SeriesMetadataStore) -> DicomWebRoute:
    """The rendered resource the thumbnail of a series (``study``, ``series``), or of one of
    its instances or frames, is."""
    if route.instance is not None:
        return replace(route, view="rendered")
    image = await run_in_threadpool(store.representative_image, study, series)
    if image is None:
        raise NotFound("the index has no image of this series in this study: no thumbnail")
    return replace(route, instance=image.sop_instance_uid, view="rendered",
                   frames=None if image.frame is None else str(image.frame))


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


def _series_metadata_in_json(route: DicomWebRoute, request: Request) -> bool:
    """A series' metadata asked for in DICOM JSON, with no parameter: the index answers it."""
    if (route.kind is not Kind.RETRIEVE or route.view != "metadata" or route.instance
            or route.frames or route.bulk or route.query):
        return False
    accept = request.headers.get("accept", "").strip()
    ranges = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return not accept or bool(ranges & _JSON_RANGES)


async def _metadata_answer(found: SeriesMetadata, if_none_match: str | None,
                           accept_encoding: str) -> Response:
    gzipped = "gzip" in accepted_codings(accept_encoding)
    # Each representation has its own strong entity tag (RFC 9110 8.8.3).
    etag = found.etag.removesuffix('"') + '-gz"' if gzipped else found.etag
    headers = {"ETag": etag, "Cache-Control": _METADATA_CACHE, "Vary": "Accept-Encoding"}
    if not none_match(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    if not gzipped:
        return Response(found.body, media_type="application/dicom+json", headers=headers)
    body = _gzipped.get(found.etag)
    if body is None:
        body = await run_in_threadpool(gzip.compress, found.body, GZIP_LEVEL, mtime=0)
        _gzipped.put(found.etag, body)
    return Response(body, media_type="application/dicom+json",
                    headers={**headers, "Content-Encoding": "gzip"})
