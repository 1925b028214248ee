"""GET /api/v1/cases/{id}/report as JSON, HTML or PDF (by ?format= or by Accept)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from api.auth import Reader
from api.deps import Cases
from api.openapi import answers
from api.report.assemble import read_report
from api.report.model import ReportData
from api.report.notes import DISCLAIMER, report_notes
from api.routes.params import CaseId
from api.schemas import CaseResponseOut, ReportOut
from api.workflow.case_response import CaseResponse
from api.workflow.errors import InvalidInput, NotAcceptable, NotEvaluable
from imaging.render import png_data_uri

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
    "model": ReportOut, "description": "The report as JSON, HTML or PDF",
    "content": {"text/html": {}, "application/pdf": {}}},
    **answers(NotAcceptable, NotEvaluable)})
def get_report(case_id: CaseId, request: Request, who: Reader, cases: Cases,
               format: Annotated[Format | None, Query(  # noqa: A002
                   description="the report's type; without it, the Accept header decides")
               ] = None) -> Response:
    kind = negotiate(format, request.headers.get("accept", "*/*"))
    data, response = read_report(cases, who, case_id, kind, now=dt.datetime.now(dt.UTC))
    if kind == "json":
        return JSONResponse(report_json(data, response))
    from api.report.render import render_html, render_pdf

    if kind == "html":
        return HTMLResponse(render_html(data))
    return Response(render_pdf(data), media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="nadir-case-{case_id}-report.pdf"'})


def report_json(data: ReportData, case_response: CaseResponse) -> dict[str, Any]:
    response = CaseResponseOut.of(case_response).model_dump(exclude_unset=True)
    return {
        "case_id": int(data.case_id),
        "patient": {"patient_id": data.patient_id, "patient_name": data.patient_name,
                    "birth_date": data.birth_date.isoformat() if data.birth_date else None,
                    "sex": data.sex},
        "criteria": data.criteria,
        "generated_at": data.generated_at.isoformat(),
        "preliminary": data.preliminary,
        "complete": response["complete"],
        "next_step": response["next_step"],
        "software_version": data.software_version,
        "timepoints": response["timepoints"],
        "best_overall_response": response["best_overall_response"],
        "warnings": response["warnings"],
        "signoffs": [{"timepoint_id": t.id, "date": t.date.isoformat(),
                      "description": t.description, "signed_off_by": t.signed_off_by,
                      "signed_off_at": t.signed_off_at.isoformat() if t.signed_off_at else None}
                     for t in data.timepoints],
        "series_compared": [{"baseline": p.baseline_description,
                             "followup": p.followup_description, "score": p.score,
                             "source": p.source} for p in data.pairs],
        "lesions": [{
            "label": les.label, "kind": les.kind, "organ": les.organ, "nodal": les.nodal,
            "change_from_baseline_pct": les.change_from_baseline_pct,
            "measurements": [{"timepoint_id": c.timepoint_id, "length_mm": c.value_mm,
                              "status": c.status, "fragments_mm": list(c.fragments_mm),
                              "coalesced_into": c.coalesced_into,
                              "long_axis_mm": c.long_axis_mm,
                              "short_axis_mm": c.short_axis_mm} for c in les.cells],
            "key_images": [{
                "timepoint_id": im.timepoint_id, "sop_instance_uid": im.sop_instance_uid,
                "length_mm": im.length_mm, "window": im.window_name,
                "crop": png_data_uri(im.crop_png) if im.crop_png else None,
                "thumbnail": png_data_uri(im.thumbnail_png) if im.thumbnail_png else None,
                "error": im.error} for im in les.images],
        } for les in data.lesions],
        "markers": [{"name": m.name, "unit": m.unit,
                     "upper_limit_normal": m.upper_limit_normal,
                     "points": [{"date": p.date.isoformat(), "value": p.value,
                                 "timepoint_id": p.timepoint_id} for p in m.points]}
                    for m in data.markers],
        "notes": [{"kind": n.kind, "title": n.title, "text": n.text}
                  for n in report_notes(data)],
        "disclaimer": DISCLAIMER,
    }
