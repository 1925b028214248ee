"""Cases: timepoints from the index, and the engine's input built from stored measurements."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.models import Case, Lesion, MeasurementVersion, Study, TimepointSignoff
from api.errors import ApiError
from api.routes.patients import studies_of
from measurement.errors import MeasurementError
from measurement.model import (
    Criteria,
    EvaluationInput,
    EvaluationOptions,
    NewLesion,
    NonTargetLesion,
    NonTargetStatus,
    TargetLesion,
    TargetReading,
    TargetStatus,
    Timepoint,
    mm,
)
from measurement.recist import evaluate
from measurement.result import EvaluationResult

TARGET_STATUSES = ("too_small", "not_evaluable", "disappeared")
NON_TARGET_STATUSES = tuple(s.value for s in NonTargetStatus)
LABEL_PREFIX = {"target": "T", "non_target": "NT", "new": "N"}


def case_timepoints(session: Session, case: Case) -> list[Study]:
    """The patient's dated studies from the baseline on, oldest first.

    A study indexed after the case was created joins as a new timepoint automatically.
    Undated studies cannot be placed in time and are left out.
    """
    studies = [st for st in studies_of(session, case.patient_id) if st.study_date is not None]
    for index, st in enumerate(studies):
        if st.study_instance_uid == case.baseline_study_uid:
            return studies[index:]
    return []


def get_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise ApiError(404, f"unknown case {case_id}")
    return case


def get_lesion(session: Session, case: Case, lesion_id: int) -> Lesion:
    lesion = session.get(Lesion, lesion_id)
    if lesion is None or lesion.case_id != case.id:
        raise ApiError(404, f"unknown lesion {lesion_id} in case {case.id}")
    return lesion


def get_timepoint(session: Session, case: Case, timepoint_id: str) -> Study:
    for st in case_timepoints(session, case):
        if st.study_instance_uid == timepoint_id:
            return st
    raise ApiError(404, f"unknown timepoint {timepoint_id!r} in case {case.id}")


def current_measurements(
    session: Session, lesion_ids: Iterable[int]
) -> dict[tuple[int, str], MeasurementVersion]:
    """The newest version of each (lesion, timepoint) measurement."""
    ids = list(lesion_ids)
    if not ids:
        return {}
    current: dict[tuple[int, str], MeasurementVersion] = {}
    rows = session.scalars(select(MeasurementVersion)
                           .where(MeasurementVersion.lesion_id.in_(ids))
                           .order_by(MeasurementVersion.version))
    for row in rows:
        current[(row.lesion_id, row.timepoint_uid)] = row
    return current


def _reading(m: MeasurementVersion) -> TargetReading:
    if m.status == "disappeared":
        return mm(0)
    if m.status in ("too_small", "not_evaluable"):
        return TargetStatus(m.status)
    return mm(m.length_mm if m.length_mm is not None else 0)


def engine_input(session: Session, case: Case) -> EvaluationInput:
    """Build the engine's input; lesion ids are the lesions' labels, timepoints study UIDs."""
    timepoints = case_timepoints(session, case)
    known = {st.study_instance_uid for st in timepoints}
    current = current_measurements(session, (les.id for les in case.lesions))
    lesions: list[TargetLesion | NonTargetLesion | NewLesion] = []
    for les in case.lesions:
        mine = {tp: m for (lid, tp), m in current.items() if lid == les.id and tp in known}
        if les.kind == "target":
            lesions.append(TargetLesion(id=les.label, organ=les.organ, nodal=les.nodal,
                                        measurements={tp: _reading(m) for tp, m in mine.items()}))
        elif les.kind == "non_target":
            lesions.append(NonTargetLesion(
                id=les.label, organ=les.organ, nodal=les.nodal,
                assessments={tp: NonTargetStatus(m.status) for tp, m in mine.items()
                             if m.status in NON_TARGET_STATUSES}))
        else:
            lesions.append(NewLesion(
                id=les.label, organ=les.organ, nodal=les.nodal,
                timepoint_id=les.first_timepoint or "", equivocal=les.equivocal,
                confirmed_at=les.confirmed_at if les.confirmed_at in known else None,
                measurements={tp: _reading(m) for tp, m in mine.items()}))
    return EvaluationInput(
        criteria=Criteria(case.criteria),
        timepoints=[Timepoint(id=st.study_instance_uid, date=st.study_date)  # type: ignore[arg-type]
                    for st in timepoints],
        lesions=lesions,
        options=EvaluationOptions(
            confirmation_required=case.confirmation_required,
            min_sd_duration_days=case.min_sd_duration_days,
            min_confirmation_interval_days=case.min_confirmation_interval_days,
        ),
    )


def evaluate_case(session: Session, case: Case) -> EvaluationResult:
    """The case's response from the engine; 409 naming what keeps it from being evaluated."""
    try:
        return evaluate(engine_input(session, case))
    except MeasurementError as exc:
        raise ApiError(409, f"case {case.id} cannot be evaluated yet: {exc.message}") from None


def evaluation_or_none(session: Session, case: Case) -> EvaluationResult | None:
    """The case's response, or None while it cannot be evaluated (e.g. no baseline yet)."""
    try:
        return evaluate(engine_input(session, case))
    except MeasurementError:
        return None


def is_signed_off(session: Session, case: Case, timepoint_uid: str) -> bool:
    return session.scalar(select(TimepointSignoff.id).where(
        TimepointSignoff.case_id == case.id,
        TimepointSignoff.timepoint_uid == timepoint_uid)) is not None


def latest_version(session: Session, lesion: Lesion) -> int:
    return session.scalar(select(func.max(MeasurementVersion.version))
                          .where(MeasurementVersion.lesion_id == lesion.id)) or 0


def record_measurement(
    session: Session, case: Case, lesion: Lesion, timepoint_uid: str, who: str,
    values: dict[str, Any], *, reason: str | None, source: str = "manual",
    latest: int | None = None,
) -> MeasurementVersion:
    """Add version ``latest + 1``; the caller commits and turns an IntegrityError into 412.

    A writer that checked ``If-Match`` passes the ``latest`` version it saw when checking:
    if another change was saved since, the unique (lesion, version) constraint refuses
    this one instead of stacking it silently on top.
    """
    if latest is None:
        latest = latest_version(session, lesion)
    m = MeasurementVersion(lesion_id=lesion.id, timepoint_uid=timepoint_uid,
                           version=latest + 1, author=who, reason=reason, source=source,
                           **values)
    session.add(m)
    session.flush()
    return m
