"""Reading the index: patients and their studies with series."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from api.audit import audit
from api.auth import READERS, Principal, require
from api.db.models import Patient, Series, Study
from api.deps import db_session
from api.errors import ApiError
from api.index_store import split_floats

router = APIRouter(prefix="/api/v1")


def series_json(s: Series) -> dict[str, Any]:
    return {
        "series_instance_uid": s.series_instance_uid,
        "modality": s.modality,
        "description": s.description,
        "series_number": s.series_number,
        "instances": s.instance_count,
        "body_part": s.body_part,
        "protocol": s.protocol,
        "image_type": s.image_type.split("\\") if s.image_type else [],
        "convolution_kernel": s.convolution_kernel,
        "slice_thickness_mm": s.slice_thickness_mm,
        "pixel_spacing_mm": split_floats(s.pixel_spacing),
        "orientation": split_floats(s.orientation),
        "frame_of_reference_uid": s.frame_of_reference_uid,
        "contrast_agent": s.contrast_agent,
        "sop_class_uid": s.sop_class_uid,
    }


def studies_of(session: Session, patient_id: str) -> list[Study]:
    """A patient's indexed studies, oldest first (undated ones last)."""
    patient = session.scalar(select(Patient).where(Patient.patient_id == patient_id))
    if patient is None:
        raise ApiError(404, f"unknown patient_id {patient_id!r}")
    studies = list(session.scalars(
        select(Study).where(Study.patient_pk == patient.id).options(selectinload(Study.series))
    ))
    studies.sort(key=lambda st: (st.study_date is None, st.study_date, st.study_time or "",
                                 st.study_instance_uid))
    return studies


@router.get("/patients")
def list_patients(
    who: Principal = Depends(require(*READERS)),  # noqa: B008
    session: Session = Depends(db_session),  # noqa: B008
) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Patient.patient_id, Patient.patient_name, func.count(Study.id))
        .outerjoin(Study, Study.patient_pk == Patient.id)
        .group_by(Patient.id)
        .order_by(Patient.patient_id)
    ).all()
    audit(session, who, "list", "patients", None)
    session.commit()
    return [{"patient_id": pid, "patient_name": name, "studies_count": count}
            for pid, name, count in rows]


@router.get("/patients/{patient_id:path}/studies")
def list_studies(
    patient_id: str,
    who: Principal = Depends(require(*READERS)),  # noqa: B008
    session: Session = Depends(db_session),  # noqa: B008
) -> list[dict[str, Any]]:
    studies = studies_of(session, patient_id)
    audit(session, who, "read", f"patients/{patient_id}/studies", patient_id)
    session.commit()
    return [
        {
            "study_instance_uid": st.study_instance_uid,
            "study_date": st.study_date.isoformat() if st.study_date else None,
            "description": st.description,
            "accession_number": st.accession_number,
            "series": [series_json(s) for s in sorted(
                st.series, key=lambda s: (s.series_number is None, s.series_number or 0,
                                          s.series_instance_uid))],
        }
        for st in studies
    ]
