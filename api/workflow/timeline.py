"""A case's timepoints and the engine's input, built from stored rows (pure functions)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from api.workflow.domain import Case, CaseStudyDate, Lesion, MeasurementVersion, PatientMarker
from api.workflow.errors import InvalidInput
from api.workflow.ports import Study
from api.workflow.split_lesions import target_reading
from measurement.markers import engine_markers
from measurement.model import (
    EvaluationInput,
    EvaluationOptions,
    NewLesion,
    NonTargetLesion,
    TargetLesion,
    Timepoint,
)
from measurement.readings import CoalescedInto, TargetReading, stored_new_lesion_reading
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
    new timepoint automatically. Undated studies cannot be placed in time: left out, and
    :func:`left_out` says so.
    """
    dated = sorted((st for st in studies if st.study_date is not None),
                   key=lambda st: (st.study_date, st.study_time or "", st.study_instance_uid))
    for index, st in enumerate(dated):
        if st.study_instance_uid == baseline_uid:
            return dated[index:]
    return []


#: ``date_source`` of a study dated by a radiologist for the case.
SET_FOR_CASE = "set for this case"
NO_DATE = ("date unknown: the DICOM has no StudyDate, SeriesDate, AcquisitionDate or "
           "ContentDate; a radiologist can set the study's date for this case")


@dataclass(frozen=True)
class LeftOut:
    """A study of the patient that is not a timepoint of the case, and why."""

    study: Study
    reason: str


def with_case_dates(studies: Sequence[Study], dates: Sequence[CaseStudyDate]
                    ) -> list[Study]:
    """The studies as the case sees them: a study whose DICOM has no date takes the date a
    radiologist set for this case (the newest), with ``date_source`` :data:`SET_FOR_CASE`.

    The date is shown on the loaded study (:meth:`Study.show_date`, never written back):
    each use case reads one case, and the index keeps the DICOM's own (absent) date.
    """
    newest = {d.study_uid: d for d in sorted(dates, key=lambda d: d.id or 0)}
    for st in studies:
        if st.study_date is None or st.date_source == SET_FOR_CASE:
            chosen = newest.get(st.study_instance_uid)
            st.show_date(chosen.date if chosen else None, SET_FOR_CASE if chosen else None)
    return list(studies)


def left_out(studies: Sequence[Study], timepoints: Sequence[Study]) -> list[LeftOut]:
    """Every study of the patient that is not a timepoint, with the reason: no date, or a
    date before the case's baseline."""
    if not timepoints:
        return [LeftOut(st, NO_DATE if st.study_date is None else "the case has no "
                        "baseline among the indexed studies") for st in studies]
    kept = {st.study_instance_uid for st in timepoints}
    baseline = timepoints[0]
    return [LeftOut(st, NO_DATE if st.study_date is None else
                    f"dated {st.study_date.isoformat()}, before the case's baseline of "
                    f"{baseline.study_date.isoformat() if baseline.study_date else '?'}")
            for st in studies if st.study_instance_uid not in kept]


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
    labels = {les.id: les.label for les in case.lesions}
    for les in case.active_lesions if lesions is None else lesions:
        mine = {tp: m for (lid, tp), m in current.items() if lid == les.id and tp in known}
        if les.kind == LesionKind.TARGET:
            chosen.append(TargetLesion(
                id=les.label, organ=les.organ, nodal=les.nodal,
                measurements={tp: _target_reading(m, labels, current)
                              for tp, m in mine.items()
                              if not _merged_into_unmeasured(m, current)}))
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
        timepoints=[Timepoint(id=st.study_instance_uid, date=_date_of(st)) for st in timepoints],
        lesions=chosen,
        markers=engine_markers(markers, scans(timepoints), case.marker_window_days),
        options=case_options(case),
    )


def _target_reading(m: MeasurementVersion, labels: dict[int, str],
                    current: CurrentMeasurements) -> TargetReading:
    """RECIST 1.1 s4.3.2: fragments add up; a coalesced lesion names the lesion it merged
    into by that lesion's label (the engine's lesion id)."""
    if m.coalesced_into is not None:
        return CoalescedInto(labels.get(m.coalesced_into, str(m.coalesced_into)))
    return target_reading(m.status, m.length_mm, m.fragments)


def _merged_into_unmeasured(m: MeasurementVersion, current: CurrentMeasurements) -> bool:
    """A lesion recorded as coalesced into one not measured there yet: that timepoint is
    incomplete (the merged lesion's reading is missing), so its row is blank; the engine
    sees the coalesced lesion as not yet read there rather than refusing the case."""
    return m.coalesced_into is not None and (m.coalesced_into, m.timepoint_uid) not in current


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


def _date_of(timepoint: Study) -> dt.date:
    # case_timepoints keeps dated studies only: an undated one cannot be placed in time.
    if timepoint.study_date is None:
        raise InvalidInput(f"study {timepoint.study_instance_uid} has no date and cannot be "
                           "a timepoint")
    return timepoint.study_date
