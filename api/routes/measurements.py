"""Measurements on images, their versions, sign-off of timepoints, and the audit log."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.audit import audit
from api.auth import READERS, Principal, Role, require
from api.case_logic import (
    NON_TARGET_STATUSES,
    TARGET_STATUSES,
    case_timepoints,
    current_measurements,
    get_case,
    get_lesion,
    get_timepoint,
    is_signed_off,
    latest_version,
    record_measurement,
)
from api.db.models import (
    AuditEvent,
    Lesion,
    MeasurementVersion,
    Study,
    TimepointSignoff,
)
from api.deps import db_session
from api.errors import ApiError
from api.measuring import caliper_on_image
from pacs.orthanc import OrthancClient

router = APIRouter(prefix="/api/v1")


class MeasurementPut(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False, strict=True)

    sop_instance_uid: str | None = Field(default=None, min_length=1, max_length=64)
    frame: int | None = Field(default=None, ge=1)
    endpoints: list[list[float | int]] | None = None
    length_mm: float | int | None = Field(default=None, ge=0)
    status: str | None = None
    amendment_reason: str | None = Field(default=None, max_length=2000)


def measurement_json(m: MeasurementVersion, lesion: Lesion) -> dict[str, Any]:
    return {
        "lesion_id": lesion.id, "timepoint_id": m.timepoint_uid, "version": m.version,
        "status": m.status, "sop_instance_uid": m.sop_instance_uid,
        "series_instance_uid": m.series_instance_uid, "frame": m.frame,
        "endpoints": m.endpoints, "length_mm": m.length_mm,
        "author": m.author, "at": m.at.isoformat(), "reason": m.reason, "source": m.source,
    }


def etag(m: MeasurementVersion | None) -> str | None:
    return None if m is None else f'"m{m.lesion_id}-v{m.version}"'


def _check_status(lesion: Lesion, status: str) -> None:
    allowed = NON_TARGET_STATUSES if lesion.kind == "non_target" else TARGET_STATUSES
    if status not in allowed:
        raise ApiError(422, f"status {status!r} is not valid for a {lesion.kind} lesion; "
                       f"one of: {', '.join(allowed)}")


def _endpoints(raw: list[list[float | int]]) -> tuple[tuple[float, float], tuple[float, float]]:
    if len(raw) != 2 or any(len(p) != 2 for p in raw):
        raise ApiError(422, "endpoints must be two [row, column] points")
    (r1, c1), (r2, c2) = raw
    values = [float(v) for v in (r1, c1, r2, c2)]
    if not all(math.isfinite(v) for v in values):
        raise ApiError(422, "endpoints must be finite numbers")
    return (values[0], values[1]), (values[2], values[3])


def _measured_length(
    session: Session, orthanc: OrthancClient, timepoint: Study, body: MeasurementPut
) -> tuple[float, str, list[list[float]]]:
    if body.sop_instance_uid is None or body.endpoints is None:
        raise ApiError(422, "give sop_instance_uid and endpoints, or a status")
    start, end = _endpoints(body.endpoints)
    length, series_uid = caliper_on_image(
        session, orthanc, timepoint.study_instance_uid, body.sop_instance_uid, body.frame,
        start, end, None if body.length_mm is None else float(body.length_mm))
    return length, series_uid, [list(start), list(end)]


@router.put("/cases/{case_id}/lesions/{lesion_id}/measurements/{timepoint_id}")
def put_measurement(
    case_id: int, lesion_id: int, timepoint_id: str, body: MeasurementPut,
    request: Request, response: Response,
    if_match: str | None = Header(default=None),
    who: Principal = Depends(require(Role.RADIOLOGIST)),  # noqa: B008
    session: Session = Depends(db_session),  # noqa: B008
) -> dict[str, Any]:
    case = get_case(session, case_id)
    lesion = get_lesion(session, case, lesion_id)
    timepoint = get_timepoint(session, case, timepoint_id)
    # Read once: the If-Match check and the new version number come from the same state.
    latest = latest_version(session, lesion)
    current = current_measurements(session, [lesion.id]).get((lesion.id, timepoint_id))
    if if_match is not None and not (
        (if_match.strip() == "*" and current is not None) or if_match.strip() == etag(current)
    ):
        raise ApiError(412, f"measurement changed since it was read (If-Match {if_match}, "
                       f"current {etag(current) or 'none'}); nothing was changed")
    reason = (body.amendment_reason or "").strip() or None
    if is_signed_off(session, case, timepoint_id) and reason is None:
        raise ApiError(409, f"timepoint {timepoint_id!r} is signed off: a change needs an "
                       "amendment_reason")
    if lesion.kind == "new" and lesion.first_timepoint and timepoint_id != lesion.first_timepoint:
        tps = [st.study_instance_uid for st in case_timepoints(session, case)]
        if tps.index(timepoint_id) < tps.index(lesion.first_timepoint):
            raise ApiError(422, "a new lesion cannot be measured before its first sighting")
    if body.status is not None:
        if body.sop_instance_uid or body.endpoints or body.length_mm is not None:
            raise ApiError(422, "give either a status or sop_instance_uid with endpoints")
        _check_status(lesion, body.status)
        values: dict[str, Any] = {"status": body.status,
                                  "length_mm": 0.0 if body.status == "disappeared" else None}
    elif lesion.kind == "non_target":
        raise ApiError(422, "a non-target lesion takes a status: "
                       + ", ".join(NON_TARGET_STATUSES))
    else:
        length, series_uid, points = _measured_length(
            session, request.app.state.orthanc, timepoint, body)
        values = {"sop_instance_uid": body.sop_instance_uid, "series_instance_uid": series_uid,
                  "frame": body.frame, "endpoints": points, "length_mm": length}
    try:
        m = record_measurement(session, case, lesion, timepoint_id, who.name, values,
                               reason=reason, latest=latest)
        audit(session, who, "measure", f"cases/{case.id}/lesions/{lesion.id}/measurements/"
              f"{timepoint_id}", case.patient_id)
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ApiError(412, "another change to this lesion was saved at the same time; "
                       "read it again and retry") from None
    response.headers["ETag"] = etag(m) or ""
    return measurement_json(m, lesion)


@router.get("/cases/{case_id}/lesions/{lesion_id}/measurements/{timepoint_id}")
def get_measurement(
    case_id: int, lesion_id: int, timepoint_id: str, response: Response,
    who: Principal = Depends(require(*READERS)),  # noqa: B008
    session: Session = Depends(db_session),  # noqa: B008
) -> dict[str, Any]:
    case = get_case(session, case_id)
    lesion = get_lesion(session, case, lesion_id)
    get_timepoint(session, case, timepoint_id)
    current = current_measurements(session, [lesion.id]).get((lesion.id, timepoint_id))
    if current is None:
        raise ApiError(404, f"lesion {lesion.id} has no measurement at {timepoint_id!r}")
    audit(session, who, "read", f"cases/{case.id}/lesions/{lesion.id}/measurements/"
          f"{timepoint_id}", case.patient_id)
    session.commit()
    response.headers["ETag"] = etag(current) or ""
    return measurement_json(current, lesion)


@router.get("/cases/{case_id}/lesions/{lesion_id}/history")
def lesion_history(
    case_id: int, lesion_id: int,
    who: Principal = Depends(require(*READERS)),  # noqa: B008
    session: Session = Depends(db_session),  # noqa: B008
) -> dict[str, Any]:
    case = get_case(session, case_id)
    lesion = get_lesion(session, case, lesion_id)
    versions = session.scalars(select(MeasurementVersion)
                               .where(MeasurementVersion.lesion_id == lesion.id)
                               .order_by(MeasurementVersion.version))
    audit(session, who, "read", f"cases/{case.id}/lesions/{lesion.id}/history", case.patient_id)
    session.commit()
    return {"lesion_id": lesion.id, "versions": [
        {"version": m.version, "timepoint_id": m.timepoint_uid, "author": m.author,
         "at": m.at.isoformat(), "reason": m.reason, "measurement": measurement_json(m, lesion)}
        for m in versions]}


@router.post("/cases/{case_id}/timepoints/{timepoint_id}/sign-off")
def sign_off(
    case_id: int, timepoint_id: str,
    who: Principal = Depends(require(Role.RADIOLOGIST)),  # noqa: B008
    session: Session = Depends(db_session),  # noqa: B008
) -> dict[str, Any]:
    case = get_case(session, case_id)
    get_timepoint(session, case, timepoint_id)
    existing = session.scalar(select(TimepointSignoff).where(
        TimepointSignoff.case_id == case.id, TimepointSignoff.timepoint_uid == timepoint_id))
    if existing is None:
        existing = TimepointSignoff(case_id=case.id, timepoint_uid=timepoint_id,
                                    signed_by=who.name)
        session.add(existing)
        session.flush()
        audit(session, who, "sign_off", f"cases/{case.id}/timepoints/{timepoint_id}",
              case.patient_id)
        session.commit()
    return {"timepoint_id": timepoint_id, "signed_off_by": existing.signed_by,
            "signed_off_at": existing.signed_at.isoformat()}


@router.get("/audit")
def audit_log(
    patient_id: str | None = None, user: str | None = None, limit: int = 1000,
    who: Principal = Depends(require(Role.ADMIN)),  # noqa: B008
    session: Session = Depends(db_session),  # noqa: B008
) -> dict[str, Any]:
    if not 1 <= limit <= 10_000:
        raise ApiError(422, "limit must be between 1 and 10000")
    query = select(AuditEvent).order_by(AuditEvent.id)
    if patient_id is not None:
        query = query.where(AuditEvent.patient_id == patient_id)
    if user is not None:
        query = query.where(AuditEvent.user_name == user)
    events = list(session.scalars(query.limit(limit)))
    audit(session, who, "read", "audit", patient_id)
    session.commit()
    return {"events": [{"at": e.at.isoformat(), "user": e.user_name, "action": e.action,
                        "resource": e.resource, "patient_id": e.patient_id} for e in events]}
