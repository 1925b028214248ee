"""DICOM documents of a case: SR per timepoint, publishing to the PACS, SR import, drafts."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from api.auth import CaseManager, Measurer, Reader
from api.deps import Documents
from api.openapi import answers
from api.report.assemble import report_pdf
from api.routes.params import CaseId, DraftId, TimepointId
from api.schemas import (
    DraftDecisionOut,
    DraftOut,
    DraftsOut,
    ImportOut,
    PublicationOut,
    PublicationsOut,
    PublishOut,
)
from api.workflow.errors import Conflict, MalformedPayload
from imaging.errors import ImagingError
from pacs.errors import OrthancUnavailable, PacsError

router = APIRouter(prefix="/api/v1/cases/{case_id}", tags=["documents"])
DICOM = "application/dicom"


async def _raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


@router.get("/timepoints/{timepoint_id}/sr", response_class=Response,
            responses={200: {"content": {DICOM: {}},
                             "description": "TID 1500 Measurement Report (Part 10 file)"}})
def get_timepoint_sr(case_id: CaseId, timepoint_id: TimepointId, who: Reader,
                     documents: Documents) -> Response:
    body = documents.export_sr(who, case_id, timepoint_id, dt.datetime.now(dt.UTC))
    return Response(body, media_type=DICOM, headers={
        "Content-Disposition": f'attachment; filename="case{case_id}-{timepoint_id}-sr.dcm"'})


@router.post("/sr", responses=answers(MalformedPayload, ImagingError), openapi_extra={
    "requestBody": {"required": True, "content": {
        DICOM: {"schema": {"type": "string", "format": "binary"}}}}})
def import_sr(case_id: CaseId, body: RawBody, who: Measurer, documents: Documents
              ) -> ImportOut:
    """Record the linear measurements of a TID 1500 report made elsewhere."""
    return ImportOut.model_validate(documents.import_sr(who, case_id, body))


@router.get("/sr-drafts")
def list_drafts(case_id: CaseId, who: Reader, documents: Documents) -> DraftsOut:
    return DraftsOut(drafts=[DraftOut.of(d) for d in documents.drafts(who, case_id)])


@router.post("/sr-drafts/{draft_id}/confirm",
             responses=answers(Conflict, OrthancUnavailable, PacsError))
def confirm_draft(case_id: CaseId, draft_id: DraftId, who: Measurer, documents: Documents
                  ) -> DraftDecisionOut:
    """Record the draft's measurements on the case."""
    draft, result = documents.decide_draft(who, case_id, draft_id, "confirm")
    return DraftDecisionOut(draft=DraftOut.of(draft), **result)


@router.post("/sr-drafts/{draft_id}/reject", responses=answers(Conflict))
def reject_draft(case_id: CaseId, draft_id: DraftId, who: Measurer, documents: Documents
                 ) -> DraftDecisionOut:
    """Discard the draft; nothing is recorded."""
    draft, result = documents.decide_draft(who, case_id, draft_id, "reject")
    return DraftDecisionOut(draft=DraftOut.of(draft), **result)


@router.post("/publish", status_code=201, response_model=PublishOut,
             response_model_exclude_unset=True,
             responses=answers(Conflict, OrthancUnavailable, PacsError))
def publish(case_id: CaseId, who: CaseManager, documents: Documents) -> object:
    """Store each measured timepoint's SR, and the PDF report, into the PACS."""
    return documents.publish(who, case_id, dt.datetime.now(dt.UTC), report_pdf)


@router.get("/publications")
def list_publications(case_id: CaseId, who: Reader, documents: Documents) -> PublicationsOut:
    """Every object published for the case, oldest first, with how each send to another
    system went (the outbox: destination, state, attempts, last error)."""
    return PublicationsOut(publications=[PublicationOut.of(p, sends) for p, sends
                                         in documents.publications(who, case_id)])
