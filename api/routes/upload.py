"""POST /api/v1/dicom: upload instances over HTTP; all of them are stored, or none.

The body is spooled to disk as it arrives (413 past ``NADIR_MAX_UPLOAD_MB`` or past
100,000 multipart parts) and unpacked here; the rules (every file checked before the first
is stored, a failure removes what this request stored, the audit) are the use case's
(api/workflow/uploads.py).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.adapters.sql_store import SqlCaseStore
from api.adapters.upload_archive import OrthancUploadArchive
from api.auth import Uploader
from api.openapi import answers
from api.schemas import UploadOut
from api.upload import ZipLimits, media_type, spool, spool_space, unpacked
from api.workflow import uploads
from api.workflow.errors import (
    Conflict,
    MalformedPayload,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from imaging.dicomfile import InstanceIdentity
from pacs.errors import OrthancUnavailable, PacsError
from pacs.orthanc import OrthancClient

router = APIRouter(prefix="/api/v1")
#: A zip may expand to this many times the upload limit (a zip bomb does not stop there).
ZIP_EXPANSION_LIMIT = 4


@router.post("/dicom", tags=["upload"], openapi_extra={"requestBody": {
    "required": True, "content": {m: {"schema": {"type": "string", "format": "binary"}}
                                  for m in ("application/dicom", "application/zip",
                                            "multipart/related")}}},
             responses=answers(MalformedPayload, Conflict, PayloadTooLarge,
                               UnsupportedMediaType, OrthancUnavailable, PacsError))
async def upload_dicom(request: Request, who: Uploader) -> UploadOut:
    settings = request.app.state.settings
    content_type = request.headers.get("content-type", "")
    media_type(content_type)  # 415 before reading anything
    # api.body_guard has refused a declared length over the limit and counts the bytes;
    # the spool checks the same limit again.
    limit = settings.max_upload_mb * 1024**2
    limits = ZipLimits(max_total_bytes=ZIP_EXPANSION_LIMIT * limit)
    with spool_space(settings.data_dir) as folder:
        body = folder / "body"
        with body.open("wb") as target:
            await spool(request.stream(), target, limit_bytes=limit)
        identities = await run_in_threadpool(_check_and_store, request.app.state.orthanc,
                                             content_type, body, folder, limits)
    with request.app.state.sessions() as session:
        uploads.audit_upload(SqlCaseStore(session), who, identities)
    return UploadOut.model_validate({"instances": [
        {"sop_instance_uid": i.sop_instance_uid, "series_instance_uid": i.series_instance_uid,
         "study_instance_uid": i.study_instance_uid} for i in identities
    ]})


def _check_and_store(orthanc: OrthancClient, content_type: str, body: Path, folder: Path,
                     limits: ZipLimits) -> list[InstanceIdentity]:
    with unpacked(content_type, body, folder, limits) as files:
        return uploads.check_and_store(OrthancUploadArchive(orthanc), files)
