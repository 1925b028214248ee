"""Loading a case for a caller: the frame every use case on one case shares.

A :class:`CaseReader` checks the caller's role and blinding, loads the case, its
timepoints (as the case dates them) and current measurements, evaluates it, and audits the
access in the unit of work that commits it. The case, document, registration, share and
second-reading services and the report all take one: none of them builds or wraps another
service to load a case.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from api.workflow.case_response import CaseResponse, case_response
from api.workflow.domain import Case, Lesion, PatientMarker
from api.workflow.errors import (
    Blinded,
    CaseNotFound,
    LesionNotFound,
    NotAllowed,
    NotEvaluable,
    PatientNotFound,
    StaleVersion,
    TimepointNotFound,
)
from api.workflow.ports import CaseStore, Study
from api.workflow.reviews import blinding_reason, dating_case
from api.workflow.roles import MEASURERS, Principal, Role, check_role
from api.workflow.timeline import (
    CurrentMeasurements,
    LeftOut,
    case_timepoints,
    current_measurements,
    engine_input,
    left_out,
    with_case_dates,
)
from measurement.errors import MeasurementError
from measurement.recist import evaluate
from measurement.result import EvaluationResult


@dataclass(frozen=True)
class CaseView:
    """A case with its timepoints (oldest first) as the index knows them now.

    ``missing_images`` are the images the current measurements were made on that the
    index no longer holds (deleted in the PACS): the measurements stay, and count.
    """

    case: Case
    timepoints: list[Study]
    missing_images: tuple[str, ...] = ()
    #: The patient's studies that are not timepoints, each with the reason.
    left_out: tuple[LeftOut, ...] = ()

    @property
    def images_missing(self) -> bool:
        """A measured image is gone, or a timepoint has no series left."""
        return bool(self.missing_images) or any(not st.series for st in self.timepoints)


@dataclass
class Evaluation:
    """The engine's result with the rows it was computed from."""

    case: Case
    timepoints: list[Study]
    current: CurrentMeasurements
    markers: list[PatientMarker]
    result: EvaluationResult | None = None
    error: str | None = field(default=None)


class CaseReader:
    """Loads cases for one unit of work (a request): role, blinding, audit, commit."""

    def __init__(self, store: CaseStore) -> None:
        self.store = store

    def case(self, case_id: int) -> Case:
        case = self.store.case(case_id)
        if case is None:
            raise CaseNotFound(case_id)
        return case

    def lesion(self, case: Case, lesion_id: int, *, deleted: bool = False) -> Lesion:
        """The case's lesion; a deleted one only when ``deleted`` (its history is read)."""
        lesion = self.store.lesion(lesion_id)
        if lesion is None or lesion.case_id != case.id \
                or (lesion.deleted_at is not None and not deleted):
            raise LesionNotFound(lesion_id, case.id)
        return lesion

    def studies_of(self, patient_id: str) -> list[Study]:
        return patient_studies(self.store, patient_id)

    def case_studies(self, case: Case) -> list[Study]:
        """The patient's studies, dated as the case dates them (see with_case_dates)."""
        return with_case_dates(self.store.studies_of(case.patient_id) or [],
                               dating_case(self.store, case).study_dates)

    def timepoints(self, case: Case) -> list[Study]:
        return case_timepoints(self.case_studies(case), case.baseline_study_uid)

    def timepoint(self, case: Case, timepoint_id: str) -> Study:
        for st in self.timepoints(case):
            if st.study_instance_uid == timepoint_id:
                return st
        raise TimepointNotFound(timepoint_id, case.id)

    def timepoint_uids(self, case: Case) -> list[str]:
        return [st.study_instance_uid for st in self.timepoints(case)]

    def view(self, case: Case) -> CaseView:
        """The case with its timepoints, the images gone and the studies left out."""
        studies = self.case_studies(case)
        timepoints = case_timepoints(studies, case.baseline_study_uid)
        return CaseView(case, timepoints, self.missing_images(case),
                        tuple(left_out(studies, timepoints)))

    def missing_images(self, case: Case) -> tuple[str, ...]:
        """SOP Instance UIDs measured on (current versions) that the index no longer holds."""
        measured = {uid for m in self.current(case).values()
                    for uid in (m.sop_instance_uid, *(f.sop_instance_uid for f in m.fragments))
                    if uid}
        return tuple(sorted(measured - self.store.indexed_instances(measured)))

    def current(self, case: Case) -> CurrentMeasurements:
        return current_measurements(self.store.newest_measurements(
            les.id for les in case.active_lesions))

    def current_of(self, lesion: Lesion) -> CurrentMeasurements:
        """As :meth:`current`, for one lesion: a write or read of one measurement loads
        only that lesion's versions."""
        return current_measurements(self.store.newest_measurements([lesion.id]))

    def open_case(self, who: Principal, roles: tuple[Role, ...], case_id: int) -> Case:
        """Check the caller's role, then load the case (CaseNotFound): how a use case on
        one case begins."""
        check_role(who, roles)
        # A use case open to the measurers alone writes the reading.
        return self.case_for(who, case_id, write=roles == MEASURERS)

    def case_for(self, who: Principal, case_id: int, *, write: bool = False) -> Case:
        """The case, for ``who``: refused (Blinded) to the reader of a blinded review of it
        until that review is signed off at every timepoint; a review's reading (``write``)
        only by its reader."""
        case = self.case(case_id)
        reason = blinding_reason(self.store, who, case, self.timepoint_uids)
        if reason is not None:
            raise Blinded(reason)
        if write and case.review_of is not None and who.name != case.reader:
            raise NotAllowed(f"case {case.id} is a review of case {case.review_of} read by "
                             f"{case.reader}: only its reader records its reading")
        return case

    def record(self, who: Principal, action: str, case: Case, resource: str = "") -> None:
        """Audit the access to the case's data (``cases/{id}`` then ``resource``) in this
        unit of work and commit it: how a use case on one case ends."""
        self.store.audit(who, action, f"cases/{case.id}{resource}", case.patient_id)
        self.commit()

    def commit(self) -> None:
        """Commit the unit of work; a stale version rolls it back first."""
        try:
            self.store.commit()
        except StaleVersion:
            self.store.rollback()
            raise

    def evaluation(self, case: Case) -> Evaluation:
        """The engine's verdict on the case; ``error`` says what keeps it from one."""
        timepoints = self.timepoints(case)
        current = self.current(case)
        ev = Evaluation(case, timepoints, current, self.store.markers_of(case.patient_id))
        try:
            ev.result = evaluate(engine_input(case, timepoints, current, ev.markers))
        except MeasurementError as exc:
            ev.error = exc.message
        return ev

    def evaluated(self, case: Case) -> Evaluation:
        """As :meth:`evaluation`, refusing a case that cannot be evaluated yet."""
        ev = self.evaluation(case)
        if ev.result is None:
            raise NotEvaluable(f"case {case.id} cannot be evaluated yet: {ev.error}")
        return ev

    def case_response(self, case: Case, *, studies: list[Study] | None = None,
                      current: CurrentMeasurements | None = None,
                      markers: list[PatientMarker] | None = None) -> CaseResponse:
        """The response with each timepoint's completeness; incomplete ones blank. A
        caller that has loaded the case's studies (:meth:`case_studies`), its current
        measurements or the patient's markers in this unit of work passes them."""
        timepoints = self.timepoints(case) if studies is None else \
            case_timepoints(studies, case.baseline_study_uid)
        try:
            return case_response(
                case, case.active_lesions, timepoints,
                self.current(case) if current is None else current,
                self.store.markers_of(case.patient_id) if markers is None else markers)
        except MeasurementError as exc:
            raise NotEvaluable(f"case {case.id} cannot be evaluated: {exc.message}") from None


def patient_studies(store: CaseStore, patient_id: str) -> list[Study]:
    """A patient's indexed studies, oldest first (undated ones last)."""
    studies = store.studies_of(patient_id)
    if studies is None:
        raise PatientNotFound(patient_id)
    return studies
