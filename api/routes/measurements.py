"""Measurements on images, their versions, and sign-off of timepoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, Response

from api.auth import Measurer, Reader
from api.deps import Cases
from api.http_coding import none_match
from api.openapi import answers
from api.routes.params import CaseId, LesionId, TimepointId
from api.schemas import (
    CaseMeasurementsOut,
    HistoryOut,
    LesionChangeOut,
    LesionOut,
    MeasurementOut,
    MeasurementPut,
    SignOffOut,
    VersionOut,
)
from api.workflow.errors import IncompleteTimepoint, TimepointSignedOff
from api.workflow.reading_rules import MeasurementInput
from api.workflow.split_lesions import FragmentInput
from pacs.errors import OrthancUnavailable, PacsError

router = APIRouter(prefix="/api/v1/cases/{case_id}", tags=["measurements"])
IfMatch = Annotated[str | None, Header()]


@router.put("/lesions/{lesion_id}/measurements/{timepoint_id}",
            responses=answers(TimepointSignedOff, OrthancUnavailable, PacsError))
def put_measurement(case_id: CaseId, lesion_id: LesionId, timepoint_id: TimepointId,
                    body: MeasurementPut, response: Response, who: Measurer, cases: Cases,
                    if_match: IfMatch = None) -> MeasurementOut:
    view = cases.record_measurement(who, case_id, lesion_id, timepoint_id, MeasurementInput(
        sop_instance_uid=body.sop_instance_uid, frame=body.frame, endpoints=body.endpoints,
        length_mm=None if body.length_mm is None else float(body.length_mm),
        status=body.status, amendment_reason=body.amendment_reason, if_match=if_match,
        reason=body.reason, short_axis_endpoints=body.short_axis_endpoints, point=body.point,
        coalesced_into=body.coalesced_into,
        fragments=None if body.fragments is None else [FragmentInput(
            sop_instance_uid=f.sop_instance_uid, frame=f.frame, endpoints=f.endpoints,
            length_mm=f.length_mm) for f in body.fragments]))
    response.headers["ETag"] = view.etag
    return MeasurementOut.of(view.measurement, view.lesion)


@router.get("/lesions/{lesion_id}/measurements/{timepoint_id}")
def get_measurement(case_id: CaseId, lesion_id: LesionId, timepoint_id: TimepointId,
                    response: Response, who: Reader, cases: Cases) -> MeasurementOut:
    view = cases.read_measurement(who, case_id, lesion_id, timepoint_id)
    response.headers["ETag"] = view.etag
    return MeasurementOut.of(view.measurement, view.lesion)


@router.get("/measurements", response_model=CaseMeasurementsOut, responses={
    304: {"description": "unchanged since the ETag sent in If-None-Match"}})
def get_case_measurements(case_id: CaseId, request: Request, response: Response, who: Reader,
                          cases: Cases) -> CaseMeasurementsOut | Response:
    """Every current measurement of the case in one answer, with one ETag (the page asks
    once instead of once per lesion and timepoint)."""
    found = cases.read_measurements(who, case_id)
    if not none_match(request.headers.get("if-none-match"), found.etag):
        return Response(status_code=304, headers={"ETag": found.etag})
    response.headers["ETag"] = found.etag
    return CaseMeasurementsOut(case_id=found.case_id, measurements=[
        MeasurementOut.of(m, lesion) for lesion, m in found.readings])


@router.get("/lesions/{lesion_id}/history")
def lesion_history(case_id: CaseId, lesion_id: LesionId, who: Reader, cases: Cases
                   ) -> HistoryOut:
    lesion, versions, changes = cases.lesion_history(who, case_id, lesion_id)
    return HistoryOut(lesion_id=lesion.id, lesion=LesionOut.of(lesion), changes=[
        LesionChangeOut(at=c.at.isoformat(), author=c.author, action=c.action,
                        changes=c.changes, reason=c.reason) for c in changes], versions=[
        VersionOut(version=m.version, timepoint_id=m.timepoint_uid, author=m.author,
                   at=m.at.isoformat(), reason=m.reason,
                   measurement=MeasurementOut.of(m, lesion)) for m in versions])


@router.post("/timepoints/{timepoint_id}/sign-off", responses=answers(IncompleteTimepoint))
def sign_off(case_id: CaseId, timepoint_id: TimepointId, who: Measurer, cases: Cases
             ) -> SignOffOut:
    signoff = cases.sign_off(who, case_id, timepoint_id)
    return SignOffOut(timepoint_id=timepoint_id, signed_off_by=signoff.signed_by,
                      signed_off_at=signoff.signed_at.isoformat())
