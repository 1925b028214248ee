"""POST /api/v1/dicom: upload instances over HTTP; all of them are stored, or none.

The body is spooled to disk as it arrives (413 past ``NADIR_MAX_UPLOAD_MB`` or past
100,000 multipart parts), every file is checked, one at a time, before the first one is
stored, and a failure while storing removes what this request stored.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.adapters.sql_store import SqlCaseStore
from api.auth import Uploader
from api.openapi import answers
from api.schemas import UploadOut
from api.upload import UploadedFile, ZipLimits, media_type, spool, spool_space, unpacked
from api.workflow.errors import (
    Conflict,
    MalformedPayload,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from imaging.dicomfile import (
    InstanceIdentity,
    InvalidDicomFile,
    differing_attributes,
    inspect_part10,
)
from pacs.errors import OrthancRequestError, OrthancUnavailable, PacsError
from pacs.orthanc import OrthancClient

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1")
#: A zip may expand to this many times the upload limit (a zip bomb does not stop there).
ZIP_EXPANSION_LIMIT = 4
#: A refusal names this many bad files with their reasons, then counts the rest.
MAX_NAMED_REFUSALS = 50


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
        store = SqlCaseStore(session)
        for study_uid, patient_id in sorted({(i.study_instance_uid, i.patient_id)
                                             for i in identities}):
            store.audit(who, "upload", f"studies/{study_uid}", patient_id or None)
        store.commit()
    return UploadOut.model_validate({"instances": [
        {"sop_instance_uid": i.sop_instance_uid, "series_instance_uid": i.series_instance_uid,
         "study_instance_uid": i.study_instance_uid} for i in identities
    ]})


def _check_and_store(orthanc: OrthancClient, content_type: str, body: Path, folder: Path,
                     limits: ZipLimits) -> list[InstanceIdentity]:
    with unpacked(content_type, body, folder, limits) as files:
        identities = _check_all(files)
        _store_all(orthanc, files)
    return identities


def _check_all(files: list[UploadedFile]) -> list[InstanceIdentity]:
    """Every file checked; every bad one named with its reason (up to a bound)."""
    identities: list[InstanceIdentity] = []
    refused: list[dict[str, str]] = []
    for f in files:
        try:
            identities.append(inspect_part10(f.read()))
        except InvalidDicomFile as exc:
            refused.append({"file": f.name, "reason": exc.reason})
    if refused:
        shown = refused[:MAX_NAMED_REFUSALS]
        listed = "; ".join(f"file {r['file']!r}: {r['reason']}" for r in shown)
        more = len(refused) - len(shown)
        rest = f"; and {more:,} more bad files" if more else ""
        raise MalformedPayload(
            f"{len(refused):,} of {len(files):,} files refused: {listed}{rest}; nothing was "
            "stored", extra={"file": refused[0]["file"], "refused": shown,
                             "refused_count": len(refused)})
    return identities


def _store_all(orthanc: OrthancClient, files: list[UploadedFile]) -> None:
    created: list[str] = []
    for f in files:
        try:
            stored = orthanc.store(f.read())
        except (PacsError, MalformedPayload) as exc:
            _roll_back(orthanc, created)
            if isinstance(exc, OrthancRequestError) and exc.status == 400:
                raise MalformedPayload(f"file {f.name!r}: refused by the PACS "
                                       f"({exc.orthanc_message or 'bad file'}); nothing was "
                                       "stored", extra={"file": f.name}) from None
            raise
        if stored.status == "Success":
            created.append(stored.orthanc_id)
        elif stored.status == "AlreadyStored":
            _same_or_conflict(orthanc, f, stored.orthanc_id, created)


def _same_or_conflict(orthanc: OrthancClient, f: UploadedFile, orthanc_id: str,
                      created: list[str]) -> None:
    """A SOP Instance UID Orthanc already holds: the same content again is a quiet success;
    other content under that UID is refused (Orthanc would keep the first one silently)."""
    try:
        differing = differing_attributes(orthanc.instance_file(orthanc_id), f.read())
    except PacsError:
        _roll_back(orthanc, created)
        raise
    if differing:
        _roll_back(orthanc, created)
        raise Conflict(
            f"file {f.name!r}: its SOP Instance UID is already stored with other content "
            f"(differing: {', '.join(differing)}); a corrected instance needs a new SOP "
            "Instance UID. Nothing was stored",
            extra={"file": f.name, "differing_attributes": differing})


def _roll_back(orthanc: OrthancClient, created: list[str]) -> None:
    """Remove what this request stored before a later file failed (not what was there before)."""
    for orthanc_id in created:
        try:
            orthanc.delete_instance(orthanc_id)
        except PacsError:
            log.warning("could not roll back an uploaded instance")
