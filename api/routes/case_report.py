"""GET /api/v1/cases/{id}/report as JSON, HTML or PDF (by ?format= or by Accept)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from api.auth import Reader
from api.deps import CaseLoader
from api.http_coding import none_match
from api.openapi import answers
from api.report.assemble import read_report
from api.report.cache import report_digest, reports_for
from api.report.key_images import ENCODINGS, encode_key_images
from api.report.model import ReportData
from api.routes.params import CaseId
from api.schemas import ReportOut
from api.schemas.cases import CaseResponseOut
from api.workflow.case_response import CaseResponse
from api.workflow.errors import InvalidInput, NotAcceptable, NotEvaluable
from api.workflow.readings import FinalReading

router = APIRouter(prefix="/api/v1/cases", tags=["reports"])
FORMATS = {"json": "application/json", "html": "text/html", "pdf": "application/pdf"}
Format = Literal["json", "html", "pdf"]


def negotiate(format_: str | None, accept: str) -> str:
    if format_ is not None:
        if format_ not in FORMATS:
            raise InvalidInput(f"format must be one of {', '.join(FORMATS)}, got {format_!r}")
        return format_
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        for name, mime in FORMATS.items():
            if media == mime:
                return name
        if media in ("*/*", "application/*", ""):
            return "json"
    raise NotAcceptable("acceptable report types: application/json, text/html, "
                        "application/pdf")


@router.get("/{case_id}/report", response_model=None, responses={200: {
    "model": ReportOut, "description": "The report as JSON, HTML or PDF; its ETag changes "
    "whenever anything it shows changes",
    "content": {"text/html": {}, "application/pdf": {}}},
    304: {"description": "unchanged since the ETag sent in If-None-Match"},
    **answers(NotAcceptable, NotEvaluable)})
def get_report(case_id: CaseId, request: Request, who: Reader, cases: CaseLoader,
               format: Annotated[Format | None, Query(  # noqa: A002
                   description="the report's type; without it, the Accept header decides")
               ] = None) -> Response:
    """Every request is audited, answered from the cache or not (see
    :mod:`api.report.cache`)."""
    kind = negotiate(format, request.headers.get("accept", "*/*"))
    data, response, final = read_report(cases, request.app.state.pacs, who, case_id, kind,
                                        now=dt.datetime.now(dt.UTC))
    response_json = CaseResponseOut.of(response, final).model_dump(mode="json")
    etag = f'"report-{kind}-{report_digest(data, response_json, kind)}"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if not none_match(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    body = reports_for(request.app.state.pacs).get_or_render(
        etag, lambda: _render(kind, data, response, final))
    if kind == "pdf":
        headers["Content-Disposition"] = f'inline; filename="nadir-case-{case_id}-report.pdf"'
    return Response(body, media_type=FORMATS[kind], headers=headers)


def _render(kind: str, data: ReportData, case_response: CaseResponse,
            final: FinalReading | None) -> bytes:
    from api.report.render import render_html, render_pdf

    # The key images not encoded for this format yet (served before in another), in threads.
    encode_key_images(data, ENCODINGS[kind])
    if kind == "pdf":
        return render_pdf(data)
    if kind == "json":
        return bytes(JSONResponse(report_json(data, case_response, final)).body)
    return bytes(HTMLResponse(render_html(data)).body)


def report_json(data: ReportData, case_response: CaseResponse,
                final: FinalReading | None = None) -> dict[str, Any]:
    return ReportOut.of(data, case_response, final).to_json()
