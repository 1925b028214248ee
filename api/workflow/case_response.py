"""A case's response as a reader may see it: complete timepoints only (pure functions).

A timepoint is *complete* when every lesion that exists there has a reading there: every
target and non-target lesion from the baseline on, and a new lesion from its first
sighting on (RECIST 1.1 s.4.3.5). A reading may be a status (``not_evaluable`` too): it
is the reader's decision. An incomplete timepoint has no sums and no response, never a
partial one: the engine's verdict on it would rest on the lesions measured so far only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from api.workflow.domain import Case, Lesion, PatientMarker
from api.workflow.ports import Study
from api.workflow.timeline import CurrentMeasurements, engine_input
from measurement.errors import MeasurementError
from measurement.recist import evaluate
from measurement.result import EvaluationResult, Response, TimepointResult
from measurement.vocabulary import LesionKind

#: What an empty case shows instead of an error: the first step of a reading.
FIRST_STEP = ("Add the target lesions on the baseline and measure each one there; "
              "record the non-target lesions as present.")


@dataclass(frozen=True)
class MissingReading:
    """A lesion without a reading at a timepoint where it exists."""

    lesion_id: int
    label: str
    kind: str


@dataclass(frozen=True)
class TimepointState:
    """One timepoint of a case: the lesions it still waits for, and its sign-off."""

    study: Study
    missing: tuple[MissingReading, ...]
    signed_off: bool
    #: Some lesion is recorded and none is missing (a case without lesions is not complete).
    complete: bool

    @property
    def timepoint_uid(self) -> str:
        return self.study.study_instance_uid


@dataclass(frozen=True)
class CaseResponse:
    """The engine's verdict with incomplete timepoints blanked.

    ``result`` is None when the baseline itself is incomplete (or the case has no lesion):
    nothing can be computed then. Its rows of incomplete timepoints carry no sum, change
    or response. ``best_overall_response`` is judged on the timepoints before the first
    incomplete one (None while the baseline is incomplete). ``next_step`` says in plain
    words what the reading still needs (None when every timepoint is complete).
    """

    case: Case
    states: tuple[TimepointState, ...]
    result: EvaluationResult | None
    best_overall_response: Response | None
    next_step: str | None

    @property
    def complete(self) -> bool:
        return bool(self.states) and all(s.complete for s in self.states)

    def state(self, timepoint_uid: str) -> TimepointState | None:
        return next((s for s in self.states if s.timepoint_uid == timepoint_uid), None)


def lesion_exists_at(lesion: Lesion, order: Sequence[str], timepoint_uid: str) -> bool:
    """Whether a reading of the lesion is due at the timepoint (``order``: oldest first)."""
    if lesion.kind != LesionKind.NEW:
        return True
    first = lesion.first_timepoint
    if first not in order or timepoint_uid not in order:
        return False
    return order.index(timepoint_uid) >= order.index(first)


def missing_readings(lesions: Sequence[Lesion], timepoints: Sequence[Study],
                     current: CurrentMeasurements) -> dict[str, tuple[MissingReading, ...]]:
    """For each timepoint, the lesions that exist there and have no reading there."""
    order = [st.study_instance_uid for st in timepoints]
    return {tp: tuple(MissingReading(les.id, les.label, les.kind) for les in lesions
                      if lesion_exists_at(les, order, tp) and (les.id, tp) not in current)
            for tp in order}


def case_response(case: Case, lesions: Sequence[Lesion], timepoints: Sequence[Study],
                  current: CurrentMeasurements, markers: Sequence[PatientMarker]
                  ) -> CaseResponse:
    """The case's response with completeness (see :class:`CaseResponse`).

    Raises the engine's :class:`MeasurementError` only for stored data the engine refuses
    although the baseline is complete (which the case service's checks should prevent).
    """
    gaps = missing_readings(lesions, timepoints, current)
    signed = {s.timepoint_uid for s in case.signoffs}
    states = tuple(TimepointState(st, gaps[st.study_instance_uid],
                                  st.study_instance_uid in signed,
                                  bool(lesions) and not gaps[st.study_instance_uid])
                   for st in timepoints)
    step = next_step(lesions, states)
    if not lesions or not states or not states[0].complete:
        return CaseResponse(case, states, None, None, step)
    result = evaluate(engine_input(case, timepoints, current, markers, lesions=lesions))
    incomplete = {s.timepoint_uid for s in states if not s.complete}
    if not incomplete:
        return CaseResponse(case, states, result, _best(result.best_overall_response, states),
                            step)
    masked = replace(result, timepoints=tuple(
        _blank(row) if row.timepoint.id in incomplete else row for row in result.timepoints))
    return CaseResponse(case, states, masked,
                        _best_before_gap(case, lesions, states, current, markers), step)


def _blank(row: TimepointResult) -> TimepointResult:
    """A row without any figure or verdict: only the timepoint and its marker levels."""
    return TimepointResult(timepoint=row.timepoint, is_baseline=row.is_baseline, sum_mm=None,
                           reasons=("not every lesion has a reading here yet",),
                           markers=row.markers)


def _best_before_gap(case: Case, lesions: Sequence[Lesion], states: Sequence[TimepointState],
                     current: CurrentMeasurements, markers: Sequence[PatientMarker]
                     ) -> Response | None:
    """Best overall response over the timepoints before the first incomplete one."""
    first_gap = next(i for i, s in enumerate(states) if not s.complete)
    if first_gap < 2:  # no follow-up read in full yet: nothing to judge
        return None
    kept = [s.study for s in states[:first_gap]]
    known = {st.study_instance_uid for st in kept}
    # A new lesion first seen at or after the gap does not exist yet in this span.
    seen = [les for les in lesions if les.kind != LesionKind.NEW or les.first_timepoint in known]
    try:
        return evaluate(engine_input(case, kept, current, markers,
                                     lesions=seen)).best_overall_response
    except MeasurementError:
        return None


def _best(best: Response | None, states: Sequence[TimepointState]) -> Response | None:
    """No best overall response before a follow-up has been read: the baseline alone is no
    assessment (RECIST 1.1 s4.4: best response is recorded from the start of treatment), and
    "not evaluable" would say a follow-up was assessed and could not be judged."""
    return best if len(states) >= 2 else None


def next_step(lesions: Sequence[Lesion], states: Sequence[TimepointState]) -> str | None:
    """What the reading needs next, in neutral words (None when nothing is missing)."""
    if not states:
        return "This case has no dated timepoint yet; its studies must be indexed first."
    if not lesions:
        return FIRST_STEP
    for index, state in enumerate(states):
        if state.missing:
            names = ", ".join(m.label for m in state.missing)
            where = "the baseline" if index == 0 else \
                f"follow-up {index} ({_day(state.study)})"
            extra = "" if index == 0 else " (or mark them not evaluable)"
            return f"Record a reading of {names} on {where}{extra} to complete that timepoint."
    return None


def _day(study: Study) -> str:
    """The date as the workstation writes it: 8 Apr 2024."""
    day = study.study_date
    return f"{day.day} {day.strftime('%b %Y')}" if day else "undated"
