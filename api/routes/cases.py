"""Cases: lesion tracking for a patient (radiologists write, specialists read)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, StrictBool, StrictInt
from pydicom.uid import generate_uid
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit import audit
from api.auth import READERS, Principal, Role, require
from api.case_logic import LABEL_PREFIX, case_timepoints, evaluate_case, get_case, get_lesion
from api.db.models import Case, Lesion
from api.deps import db_session
from api.errors import ApiError
from api.routes.patients import studies_of
from measurement.codec import result_to_json

router = APIRouter(prefix="/api/v1/cases")
WRITERS = (Role.RADIOLOGIST,)


class CaseCreate(BaseModel):
    patient_id: str = Field(min_length=1)
    criteria: Literal["RECIST1.1", "iRECIST"]
    baseline_study_uid: str | None = None
    # Best-overall-response parameters, as for POST /api/v1/recist/evaluate.
    confirmation_required: StrictBool = False
    min_sd_duration_days: StrictInt = Field(default=42, ge=0, le=3650)
    min_confirmation_interval_days: StrictInt = Field(default=28, ge=0, le=3650)


class LesionCreate(BaseModel):
    kind: Literal["target", "non_target", "new"]
    organ: str = Field(min_length=1, max_length=128)
    nodal: bool = False
    label: str | None = Field(default=None, min_length=1, max_length=64)
    timepoint: str | None = None
    equivocal: bool = False
    confirmed_at: str | None = None


class LesionPatch(BaseModel):
    organ: str | None = Field(default=None, min_length=1, max_length=128)
    label: str | None = Field(default=None, min_length=1, max_length=64)
    equivocal: bool | None = None
    confirmed_at: str | None = None


def timepoint_json(case: Case, st: Any) -> dict[str, Any]:
    signoff = next((s for s in case.signoffs if s.timepoint_uid == st.study_instance_uid), None)
    return {
        "id": st.study_instance_uid,
        "study_instance_uid": st.study_instance_uid,
        "date": st.study_date.isoformat() if st.study_date else None,
        "description": st.description,
        "signed_off_by": signoff.signed_by if signoff else None,
        "signed_off_at": signoff.signed_at.isoformat() if signoff else None,
    }


def lesion_json(les: Lesion) -> dict[str, Any]:
    return {
        "id": les.id, "case_id": les.case_id, "kind": les.kind, "organ": les.organ,
        "nodal": les.nodal, "label": les.label, "timepoint": les.first_timepoint,
        "equivocal": les.equivocal, "confirmed_at": les.confirmed_at,
        "tracking_uid": les.tracking_uid,
    }


def case_json(session: Session, case: Case) -> dict[str, Any]:
    return {
        "id": case.id, "patient_id": case.patient_id, "criteria": case.criteria,
        "baseline_study_uid": case.baseline_study_uid,
        "confirmation_required": case.confirmation_required,
        "min_sd_duration_days": case.min_sd_duration_days,
        "min_confirmation_interval_days": case.min_confirmation_interval_days,
        "timepoints": [timepoint_json(case, st) for st in case_timepoints(session, case)],
        "lesions": [lesion_json(les) for les in case.lesions],
    }


@router.post("", status_code=201)
def create_case(
    body: CaseCreate,
    request: Request,
    who: Principal = Depends(require(Role.RADIOLOGIST, Role.ADMIN)),  # noqa: B008
    session: Session = Depends(db_session),  # noqa: B008
) -> dict[str, Any]:
    studies = [st for st in studies_of(session, body.patient_id) if st.study_date is not None]
    if not studies:
        raise ApiError(422, f"patient {body.patient_id!r} has no dated indexed study")
    baseline = studies[0]
    if body.baseline_study_uid is not None:
        matches = [st for st in studies if st.study_instance_uid == body.baseline_study_uid]
        if not matches:
            raise ApiError(422, f"baseline_study_uid {body.baseline_study_uid!r} is not a "
                           "dated indexed study of this patient")
        baseline = matches[0]
    case = Case(patient_id=body.patient_id, criteria=body.criteria,
                baseline_study_uid=baseline.study_instance_uid, created_by=who.name,
                confirmation_required=body.confirmation_required,
                min_sd_duration_days=body.min_sd_duration_days,
                min_confirmation_interval_days=body.min_confirmation_interval_days)
    session.add(case)
    session.flush()
    audit(session, who, "create", f"cases/{case.id}", case.patient_id)
    session.commit()
    # SRs saved in a viewer before this case existed are offered as drafts too.
    request.app.state.sr_drafts.collect_existing(case.id, case.patient_id)
    return case_json(session, case)


@router.get("")
def list_cases(
    patient_id: str | None = None,
    who: Principal = Depends(require(*READERS)),  # noqa: B008
    session: Session = Depends(db_session),  # noqa: B008
) -> list[dict[str, Any]]:
    """Cases, optionally of one patient, newest first (without their timepoints)."""
    query = select(Case).order_by(Case.id.desc())
    if patient_id is not None:
        query = query.where(Case.patient_id == patient_id)
    cases = list(session.scalars(query.limit(1000)))
    audit(session, who, "list", "cases", patient_id)
    session.commit()
    return [{"id": c.id, "patient_id": c.patient_id, "criteria": c.criteria,
             "baseline_study_uid": c.baseline_study_uid, "created_by": c.created_by,
             "created_at": c.created_at.isoformat()} for c in cases]


@router.get("/{case_id}")
def read_case(
    case_id: int,
    who: Principal = Depends(require(*READERS)),  # noqa: B008
    session: Session = Depends(db_session),  # noqa: B008
) -> dict[str, Any]:
    case = get_case(session, case_id)
    audit(session, who, "read", f"cases/{case.id}", case.patient_id)
    session.commit()
    return case_json(session, case)


@router.post("/{case_id}/lesions", status_code=201)
def create_lesion(
    case_id: int,
    body: LesionCreate,
    who: Principal = Depends(require(*WRITERS)),  # noqa: B008
    session: Session = Depends(db_session),  # noqa: B008
) -> dict[str, Any]:
    case = get_case(session, case_id)
    tps = [st.study_instance_uid for st in case_timepoints(session, case)]
    if body.kind == "new":
        if body.timepoint is None:
            raise ApiError(422, "timepoint: a new lesion needs the timepoint of its first sighting")
        if body.timepoint not in tps:
            raise ApiError(422, f"timepoint {body.timepoint!r} is not a timepoint of "
                           f"case {case.id}")
        if body.timepoint == tps[0]:
            raise ApiError(422, "timepoint: a new lesion cannot be first seen at baseline")
        _check_confirmation(tps, body.timepoint, body.confirmed_at)
    elif body.timepoint is not None or body.confirmed_at is not None or body.equivocal:
        raise ApiError(422, "timepoint, equivocal and confirmed_at apply to new lesions only")
    label = body.label or _next_label(case, body.kind)
    if any(les.label == label for les in case.lesions):
        raise ApiError(409, f"label {label!r} is already used in case {case.id}")
    lesion = Lesion(case_id=case.id, kind=body.kind, organ=body.organ.strip(), nodal=body.nodal,
                    label=label, first_timepoint=body.timepoint, equivocal=body.equivocal,
                    confirmed_at=body.confirmed_at, tracking_uid=generate_uid(),
                    created_by=who.name)
    session.add(lesion)
    session.flush()
    audit(session, who, "create", f"cases/{case.id}/lesions/{lesion.id}", case.patient_id)
    session.commit()
    return lesion_json(lesion)


def _check_confirmation(tps: list[str], first: str, confirmed_at: str | None) -> None:
    if confirmed_at is None:
        return
    if confirmed_at not in tps:
        raise ApiError(422, f"confirmed_at {confirmed_at!r} is not a timepoint of this case")
    if tps.index(confirmed_at) < tps.index(first):
        raise ApiError(422, "confirmed_at is before the lesion's first sighting")


def _next_label(case: Case, kind: str) -> str:
    prefix = LABEL_PREFIX[kind]
    used = {les.label for les in case.lesions}
    n = 1 + sum(1 for les in case.lesions if les.kind == kind)
    while f"{prefix}{n}" in used:
        n += 1
    return f"{prefix}{n}"


@router.get("/{case_id}/lesions")
def list_lesions(
    case_id: int,
    who: Principal = Depends(require(*READERS)),  # noqa: B008
    session: Session = Depends(db_session),  # noqa: B008
) -> list[dict[str, Any]]:
    case = get_case(session, case_id)
    audit(session, who, "read", f"cases/{case.id}/lesions", case.patient_id)
    session.commit()
    return [lesion_json(les) for les in case.lesions]


@router.patch("/{case_id}/lesions/{lesion_id}")
def patch_lesion(
    case_id: int,
    lesion_id: int,
    body: LesionPatch,
    who: Principal = Depends(require(*WRITERS)),  # noqa: B008
    session: Session = Depends(db_session),  # noqa: B008
) -> dict[str, Any]:
    case = get_case(session, case_id)
    lesion = get_lesion(session, case, lesion_id)
    fields = body.model_fields_set
    if ({"equivocal", "confirmed_at"} & fields) and lesion.kind != "new":
        raise ApiError(422, "equivocal and confirmed_at apply to new lesions only")
    if "confirmed_at" in fields:
        tps = [st.study_instance_uid for st in case_timepoints(session, case)]
        _check_confirmation(tps, lesion.first_timepoint or "", body.confirmed_at)
        lesion.confirmed_at = body.confirmed_at
    if body.equivocal is not None:
        lesion.equivocal = body.equivocal
    if body.organ is not None:
        lesion.organ = body.organ.strip()
    if body.label is not None and body.label != lesion.label:
        if any(les.label == body.label for les in case.lesions):
            raise ApiError(409, f"label {body.label!r} is already used in case {case.id}")
        lesion.label = body.label
    audit(session, who, "update", f"cases/{case.id}/lesions/{lesion.id}", case.patient_id)
    session.commit()
    return lesion_json(lesion)


@router.get("/{case_id}/response")
def case_response(
    case_id: int,
    who: Principal = Depends(require(*READERS)),  # noqa: B008
    session: Session = Depends(db_session),  # noqa: B008
) -> dict[str, Any]:
    case = get_case(session, case_id)
    audit(session, who, "read", f"cases/{case.id}/response", case.patient_id)
    session.commit()
    return result_to_json(evaluate_case(session, case))
