"""Cases: lesion tracking for a patient (radiologists write, specialists read)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from api.adapters.sql_store import SqlCaseStore
from api.auth import CaseManager, Measurer, Reader
from api.deps import CaseLoader, Cases, SessionDep
from api.openapi import answers
from api.routes.params import CaseId, LesionId, StudyUid
from api.schemas import (
    CaseCreate,
    CaseOut,
    CaseResponseOut,
    CaseSummary,
    LesionCreate,
    LesionDelete,
    LesionOut,
    LesionPatch,
    StudyDateSet,
    StudyOut,
)
from api.schemas.common import criteria_name
from api.workflow import views
from api.workflow.case_reader import CaseView
from api.workflow.cases import NewCase, NewLesion
from api.workflow.errors import (
    Conflict,
    CopyOfAShare,
    DuplicateCase,
    NotEvaluable,
    NotFound,
    TimepointSignedOff,
)
from api.workflow.lesion_edits import LesionChanges, LesionDeletion
from api.workflow.ports import Study
from api.workflow.second_reading import SecondReadings
from api.workflow.study_dates import StudyDateChange, set_study_date
from measurement.model import EvaluationOptions
from measurement.vocabulary import Criteria, LesionKind

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


@router.post("", status_code=201, responses=answers(DuplicateCase, CopyOfAShare, NotFound))
def create_case(body: CaseCreate, who: CaseManager, cases: Cases, session: SessionDep
                ) -> CaseOut:
    view = cases.create_case(who, NewCase(
        patient_id=body.patient_id, criteria=Criteria(body.criteria),
        baseline_study_uid=body.baseline_study_uid,
        options=EvaluationOptions(
            confirmation_required=body.confirmation_required,
            min_sd_duration_days=body.min_sd_duration_days,
            min_confirmation_interval_days=body.min_confirmation_interval_days,
            min_icpd_confirmation_days=body.min_icpd_confirmation_days),
        marker_window_days=body.marker_window_days, allow_duplicate=body.allow_duplicate))
    return case_out(view, session)


def case_out(view: CaseView, session: Session, studies: list[Study] | None = None
             ) -> CaseOut:
    """The case with the flagged images of the patient's studies, timepoints or not; with
    ``studies`` (``?include=studies``), those studies too, from the same one lookup."""
    uids = {st.study_instance_uid for st in view.timepoints} | \
        {lo.study.study_instance_uid for lo in view.left_out} | \
        {st.study_instance_uid for st in studies or []}
    flagged = views.images_flagged(SqlCaseStore(session), sorted(uids))
    out = CaseOut.of(view, flagged)
    if studies is not None:
        out.studies = [StudyOut.of(st, flagged) for st in studies]
    return out


@router.get("")
def list_cases(who: Reader, cases: Cases,
               patient_id: Annotated[str | None, Query(max_length=128)] = None
               ) -> list[CaseSummary]:
    """Cases, optionally of one patient, newest first (without their timepoints)."""
    return [CaseSummary(id=c.id, patient_id=c.patient_id,
                        criteria=criteria_name(c.criteria),
                        baseline_study_uid=c.baseline_study_uid, created_by=c.created_by,
                        created_at=c.created_at.isoformat(), review_of=c.review_of,
                        reader=c.reader, blinded=c.blinded)
            for c in cases.list_cases(who, patient_id)]


@router.get("/{case_id}")
def read_case(case_id: CaseId, who: Reader, cases: Cases, session: SessionDep,
              include: Annotated[Literal["studies"] | None, Query(description=(
                  "studies: answer the patient's studies with their series too (`studies`), "
                  "so that a page opening the case needs one request for both; dated as "
                  "the case dates them (a study without a DICOM date that this case has "
                  "dated carries that date, `date_source` \"set for this case\")"))] = None
              ) -> CaseOut:
    if include != "studies":
        return case_out(cases.read_case(who, case_id), session)
    view, studies = cases.read_case_and_studies(who, case_id)
    return case_out(view, session, studies)


@router.put("/{case_id}/studies/{study_uid}/date", responses=answers(Conflict))
def put_study_date(case_id: CaseId, study_uid: StudyUid, body: StudyDateSet, who: Measurer,
                   cases: Cases, session: SessionDep) -> CaseOut:
    """Date, for this case, a study whose DICOM has no date (radiologist; audited)."""
    change = StudyDateChange.parse(body.date, body.reason, dt.datetime.now(dt.UTC).date())
    return case_out(set_study_date(cases, who, case_id, study_uid, change), session)


@router.post("/{case_id}/lesions", status_code=201, responses=answers(Conflict))
def create_lesion(case_id: CaseId, body: LesionCreate, who: Measurer, cases: Cases
                  ) -> LesionOut:
    lesion = cases.add_lesion(who, case_id, NewLesion(
        kind=LesionKind(body.kind), organ=body.organ, nodal=body.nodal, label=body.label,
        timepoint=body.timepoint, equivocal=body.equivocal, confirmed_at=body.confirmed_at))
    return LesionOut.of(lesion)


@router.get("/{case_id}/lesions")
def list_lesions(case_id: CaseId, who: Reader, cases: Cases,
                 include_deleted: bool = False) -> list[LesionOut]:
    """The case's lesions; deleted ones too (with who, when, why) on request."""
    return [LesionOut.of(les) for les in cases.list_lesions(
        who, case_id, include_deleted=include_deleted)]


@router.delete("/{case_id}/lesions/{lesion_id}", responses=answers(TimepointSignedOff))
def delete_lesion(case_id: CaseId, lesion_id: LesionId, body: LesionDelete, who: Measurer,
                  cases: Cases) -> LesionOut:
    """Soft delete: the lesion leaves the evaluation, lists and report; its history stays."""
    lesion = cases.delete_lesion(who, case_id, lesion_id, LesionDeletion(
        reason=body.reason, amendment_reason=body.amendment_reason))
    return LesionOut.of(lesion)


@router.patch("/{case_id}/lesions/{lesion_id}", responses=answers(Conflict))
def patch_lesion(case_id: CaseId, lesion_id: LesionId, body: LesionPatch, who: Measurer,
                 cases: Cases) -> LesionOut:
    lesion = cases.change_lesion(who, case_id, lesion_id, LesionChanges(
        given=frozenset(body.model_fields_set), organ=body.organ, label=body.label,
        equivocal=body.equivocal, confirmed_at=body.confirmed_at,
        kind=None if body.kind is None else LesionKind(body.kind), nodal=body.nodal,
        amendment_reason=body.amendment_reason))
    return LesionOut.of(lesion)


@router.get("/{case_id}/response", response_model=CaseResponseOut,
            response_model_exclude_unset=True, responses=answers(NotEvaluable))
def case_response(case_id: CaseId, request: Request, who: Reader, reader: CaseLoader
                  ) -> object:
    """The case's responses at whatever stage the reading is (200 for an empty case too);
    for a case read twice, each timepoint's ``final`` response too."""
    readings = SecondReadings(reader, request.app.state.pacs)
    return CaseResponseOut.of(*readings.response(who, case_id))
