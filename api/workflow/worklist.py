"""The worklist: every patient, their studies and cases, and what each case still needs.

Built from rows loaded at once (a fixed number of queries for any number of cases), then
judged here without I/O: each case's response with its completeness
(:func:`api.workflow.case_response.case_response`), the lesions still to measure at its
latest timepoint, the timepoints still to sign off. Cases with work to do come first; a
follow-up that arrived after the reading began is "new follow-up to read".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from api.workflow.case_response import CaseResponse, TimepointState, case_response
from api.workflow.domain import Case, MeasurementVersion, PatientMarker
from api.workflow.ports import Study
from api.workflow.reviews import copy_review
from api.workflow.timeline import case_timepoints, current_measurements, with_case_dates
from measurement.errors import MeasurementError
from measurement.result import Response


@dataclass(frozen=True)
class WorklistCase:
    case: Case
    response: CaseResponse | None
    #: Why there is no response (stored data the engine refuses), else None.
    problem: str | None = None

    @property
    def latest(self) -> TimepointState | None:
        return self.response.states[-1] if self.response and self.response.states else None

    @property
    def to_measure(self) -> int:
        """Lesions without a reading at the latest timepoint."""
        latest = self.latest
        return len(latest.missing) if latest is not None else 0

    @property
    def unsigned(self) -> tuple[str, ...]:
        states = self.response.states if self.response else ()
        return tuple(s.timepoint_uid for s in states if not s.signed_off)

    @property
    def new_followup(self) -> bool:
        """A follow-up joined the case and is not read yet (the baseline was)."""
        if self.response is None or len(self.response.states) < 2:
            return False
        latest = self.response.states[-1]
        return self.response.states[0].complete and not latest.complete \
            and not latest.signed_off

    @property
    def latest_response(self) -> tuple[str, Response] | None:
        """The newest complete timepoint's overall response (never a partial one's)."""
        result = self.response.result if self.response else None
        if result is None:
            return None
        for row in reversed(result.timepoints):
            if row.overall_response is not None:
                return row.timepoint.id, row.overall_response
        return None

    @property
    def work_to_do(self) -> bool:
        return self.to_measure > 0 or bool(self.unsigned) or self.problem is not None


@dataclass(frozen=True)
class WorklistPatient:
    patient_id: str
    patient_name: str | None
    studies: tuple[Study, ...]


def judge_cases(cases: Iterable[Case], studies_by_patient: Mapping[str, Sequence[Study]],
                measurements: Iterable[MeasurementVersion],
                markers: Iterable[PatientMarker]) -> list[WorklistCase]:
    """Each case judged, work first: new follow-ups, then most lesions to measure, then
    unsigned timepoints, then the newest."""
    by_lesion: dict[int, list[MeasurementVersion]] = {}
    for m in measurements:
        by_lesion.setdefault(m.lesion_id, []).append(m)
    markers_of: dict[str, list[PatientMarker]] = {}
    for marker in sorted(markers, key=lambda mk: (mk.date, mk.id)):
        markers_of.setdefault(marker.patient_id, []).append(marker)
    judged = []
    cases = list(cases)
    by_id = {c.id: c for c in cases}
    for case in cases:
        lesions = case.active_lesions
        current = current_measurements(m for les in lesions for m in by_lesion.get(les.id, []))
        # Dated as this case dates its undated studies (see with_case_dates).
        timepoints = case_timepoints(
            with_case_dates(studies_by_patient.get(case.patient_id, ()),
                            _dating(case, by_id).study_dates),
            case.baseline_study_uid)
        try:
            response = case_response(case, lesions, timepoints, current,
                                     markers_of.get(case.patient_id, []))
            judged.append(WorklistCase(case, response))
        except MeasurementError as exc:
            judged.append(WorklistCase(case, None, exc.message))
    # Stable sorts: newest first, then work ahead of it.
    judged.sort(key=lambda e: (_newest(e), e.case.id), reverse=True)
    judged.sort(key=lambda e: (not e.work_to_do, not e.new_followup, -e.to_measure,
                               not e.unsigned))
    return judged


def copies_read_in(cases: Iterable[Case]) -> dict[str, int]:
    """Patient id -> the review case, for each patient that is a share's de-identified copy
    (:func:`api.workflow.reviews.copy_review`): no other case may be opened on it."""
    by_patient: dict[str, list[Case]] = {}
    for case in cases:
        by_patient.setdefault(case.patient_id, []).append(case)
    found = {pid: copy_review(group) for pid, group in by_patient.items()}
    return {pid: review.id for pid, review in found.items() if review is not None}


def _dating(case: Case, by_id: Mapping[int, Case]) -> Case:
    """A review of the same studies is dated by its reviewed case (api.workflow.reviews)."""
    if case.review_of is None or case.timepoint_map is not None:
        return case
    return by_id.get(case.review_of, case)


def hidden_from(who_name: str, judged: Sequence[WorklistCase]) -> set[int]:
    """The cases a blinded reviewer may not see yet (api.workflow.reviews.blinding_reason):
    the case their unfinished blinded review reviews, and its other reviews."""
    blind = {e.case.review_of for e in judged
             if e.case.reader == who_name and e.case.blinded and e.case.review_of is not None
             and (e.unsigned or e.response is None or not e.response.states)}
    return {e.case.id for e in judged
            if e.case.id in blind or (e.case.review_of in blind and e.case.reader != who_name)}


def _newest(entry: WorklistCase) -> str:
    latest = entry.latest
    return latest.study.study_date.isoformat() if latest and latest.study.study_date else ""
