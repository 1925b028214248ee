"""Shares of a case for a second opinion (issue 21): create, list, read and revoke.

Radiologists and admins only; the share's own token (role reviewer) reaches none of these.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from api.auth import CaseManager
from api.deps import Shares
from api.openapi import answers
from api.routes.params import CaseId, ShareId
from api.schemas.shares import ShareCreate, ShareCreatedOut, ShareOut
from api.workflow.domain import utcnow
from api.workflow.errors import Conflict, GoneFromPacs, InvalidInput, NotFound
from api.workflow.share_types import NewShare
from pacs.errors import OrthancUnavailable, PacsError

router = APIRouter(prefix="/api/v1", tags=["shares"])


def _public_url(request: Request) -> str:
    return str(request.app.state.settings.public_url)


@router.post("/cases/{case_id}/shares", status_code=201,
             responses=answers(NotFound, GoneFromPacs, InvalidInput, OrthancUnavailable,
                               PacsError))
def create_share(case_id: CaseId, body: ShareCreate, who: CaseManager, shares: Shares,
                 request: Request) -> ShareCreatedOut:
    """De-identify the case's studies into a copy, open a review case over it, and answer
    the reviewer's token (shown once), the workstation URL, the pseudonym and the expiry."""
    created = shares.create(who, case_id, NewShare(
        expires_in_days=body.expires_in_days, blinded=body.blinded,
        include_measurements=body.include_measurements, note=body.note))
    out = ShareOut.of(created.share, _public_url(request), utcnow())
    return ShareCreatedOut(**out.model_dump(), token=created.token)


@router.get("/shares")
def list_shares(who: CaseManager, shares: Shares, request: Request,
                case_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None
                ) -> list[ShareOut]:
    """Shares, newest first, optionally of one case."""
    now = utcnow()
    return [ShareOut.of(s, _public_url(request), now)
            for s in shares.list_shares(who, case_id)]


@router.get("/shares/{share_id}", responses=answers(NotFound))
def read_share(share_id: ShareId, who: CaseManager, shares: Shares,
               request: Request) -> ShareOut:
    return ShareOut.of(shares.read_share(who, share_id), _public_url(request), utcnow())


@router.delete("/shares/{share_id}",
               responses=answers(NotFound, OrthancUnavailable, PacsError))
def revoke_share(share_id: ShareId, who: CaseManager, shares: Shares,
                 request: Request) -> ShareOut:
    """Revoke the share: its token answers 401 from now on; the copy is deleted."""
    return ShareOut.of(shares.revoke(who, share_id), _public_url(request), utcnow())


@router.get("/shares/{share_id}/package", response_class=StreamingResponse,
            responses={200: {"description": "a zip of DICOM media: the copy's instances "
                             "(images; the review's SR and PDF once published) and a "
                             "DICOMDIR", "content": {"application/zip": {}}},
                       **answers(NotFound, Conflict, OrthancUnavailable, PacsError)})
def share_package(share_id: ShareId, who: CaseManager, shares: Shares) -> StreamingResponse:
    """The share's copy for a reviewer with a viewer of their own (the share's own token,
    or a radiologist or admin)."""
    share, chunks = shares.package(who, share_id)
    return StreamingResponse(chunks, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{share.pseudonym}.zip"'})
