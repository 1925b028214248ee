"""A case's timepoints and the engine's input, built from stored rows (pure functions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from api.db.models import Case, Lesion, MeasurementVersion, PatientMarker, Study
from measurement.markers import engine_markers
from measurement.model import (
    EvaluationInput,
    EvaluationOptions,
    NewLesion,
    NonTargetLesion,
    TargetLesion,
    Timepoint,
)
from measurement.readings import stored_new_lesion_reading, stored_target_reading
from measurement.vocabulary import (
    NON_TARGET_STATUSES,
    Criteria,
    LesionKind,
    LesionStatus,
    NonTargetStatus,
)

#: A target or new lesion recorded as disappeared counts 0 mm (RECIST 1.1 s.4.3.2:
#: "if the lesion has disappeared, the measurement should be recorded as 0 mm").
DISAPPEARED_MM = 0.0

CurrentMeasurements = dict[tuple[int, str], MeasurementVersion]


def stored_length_mm(status: str | None, length_mm: float | None) -> float | None:
    """The length a recorded status stands for: 0 mm for ``disappeared``, else none."""
    if status == LesionStatus.DISAPPEARED:
        return DISAPPEARED_MM
    return None if status is not None else length_mm


def case_timepoints(studies: Sequence[Study], baseline_uid: str) -> list[Study]:
    """The patient's dated studies from the baseline on, oldest first.

    ``studies`` come oldest first. A study indexed after the case was created joins as a
    new timepoint automatically. Undated studies cannot be placed in time: left out.
    """
    dated = [st for st in studies if st.study_date is not None]
    for index, st in enumerate(dated):
        if st.study_instance_uid == baseline_uid:
            return dated[index:]
    return []


def current_measurements(rows: Iterable[MeasurementVersion]) -> CurrentMeasurements:
    """The newest version of each (lesion, timepoint) measurement."""
    current: CurrentMeasurements = {}
    for row in sorted(rows, key=lambda m: (m.lesion_id, m.version)):
        current[(row.lesion_id, row.timepoint_uid)] = row
    return current


def engine_input(case: Case, timepoints: Sequence[Study], current: CurrentMeasurements,
                 markers: Sequence[PatientMarker] = (), *,
                 lesions: Sequence[Lesion] | None = None) -> EvaluationInput:
    """The engine's input: lesion ids are the lesions' labels, timepoints study UIDs.

    ``lesions`` are those to evaluate (by default the case's lesions not deleted)."""
    known = {st.study_instance_uid for st in timepoints}
    chosen: list[TargetLesion | NonTargetLesion | NewLesion] = []
    for les in case.active_lesions if lesions is None else lesions:
        mine = {tp: m for (lid, tp), m in current.items() if lid == les.id and tp in known}
        if les.kind == LesionKind.TARGET:
            chosen.append(TargetLesion(
                id=les.label, organ=les.organ, nodal=les.nodal,
                measurements={tp: stored_target_reading(m.status, m.length_mm)
                              for tp, m in mine.items()}))
        elif les.kind == LesionKind.NON_TARGET:
            chosen.append(NonTargetLesion(
                id=les.label, organ=les.organ, nodal=les.nodal,
                assessments={tp: NonTargetStatus(m.status) for tp, m in mine.items()
                             if m.status in NON_TARGET_STATUSES}))
        else:
            chosen.append(NewLesion(
                id=les.label, organ=les.organ, nodal=les.nodal,
                timepoint_id=les.first_timepoint or "", equivocal=les.equivocal,
                confirmed_at=les.confirmed_at if les.confirmed_at in known else None,
                measurements={tp: stored_new_lesion_reading(m.status, m.length_mm)
                              for tp, m in mine.items()}))
    return EvaluationInput(
        criteria=Criteria(case.criteria),
        timepoints=[Timepoint(id=st.study_instance_uid, date=st.study_date)  # type: ignore[arg-type]
                    for st in timepoints],
        lesions=chosen,
        markers=engine_markers(markers, scans(timepoints), case.marker_window_days),
        options=case_options(case),
    )


def case_options(case: Case) -> EvaluationOptions:
    """The engine's options as the case stores them."""
    return EvaluationOptions(
        confirmation_required=case.confirmation_required,
        min_sd_duration_days=case.min_sd_duration_days,
        min_confirmation_interval_days=case.min_confirmation_interval_days,
        min_icpd_confirmation_days=case.min_icpd_confirmation_days,
    )


def scans(timepoints: Sequence[Study]) -> list[tuple[str, dt.date]]:
    """(timepoint id, scan date) of dated studies, as the marker rules take them."""
    return [(st.study_instance_uid, st.study_date) for st in timepoints
            if st.study_date is not None]
