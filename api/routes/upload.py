"""POST /api/v1/dicom: upload instances over HTTP; all of them are stored, or none."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api.auth import Uploader
from api.schemas import UploadOut
from api.upload import UploadedFile, unpack
from api.workflow.errors import MalformedPayload
from api.workflow.sql_store import SqlCaseStore
from imaging.dicomfile import InvalidDicomFile, inspect_part10
from pacs.errors import OrthancRequestError, PacsError
from pacs.orthanc import OrthancClient

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1")


@router.post("/dicom", tags=["upload"], openapi_extra={"requestBody": {
    "required": True, "content": {m: {"schema": {"type": "string", "format": "binary"}}
                                  for m in ("application/dicom", "application/zip",
                                            "multipart/related")}}})
async def upload_dicom(request: Request, who: Uploader) -> UploadOut:
    body = await request.body()
    files = unpack(request.headers.get("content-type", ""), body)
    identities = []
    for f in files:
        try:
            identities.append(inspect_part10(f.data))
        except InvalidDicomFile as exc:
            raise MalformedPayload(f"file {f.name!r}: {exc.reason}; nothing was stored",
                                   extra={"file": f.name}) from None
    await run_in_threadpool(_store_all, request.app.state.orthanc, files)
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


def _store_all(orthanc: OrthancClient, files: list[UploadedFile]) -> None:
    created: list[str] = []
    for f in files:
        try:
            stored = orthanc.store(f.data)
        except PacsError as exc:
            _roll_back(orthanc, created)
            if isinstance(exc, OrthancRequestError) and exc.status == 400:
                raise MalformedPayload(f"file {f.name!r}: refused by the PACS "
                                       f"({exc.orthanc_message or 'bad file'}); nothing was "
                                       "stored", extra={"file": f.name}) from None
            raise
        if stored.status == "Success":
            created.append(stored.orthanc_id)


def _roll_back(orthanc: OrthancClient, created: list[str]) -> None:
    """Remove what this request stored before a later file failed (not what was there before)."""
    for orthanc_id in created:
        try:
            orthanc.delete_instance(orthanc_id)
        except PacsError:
            log.warning("could not roll back an uploaded instance")
