"""The case service: every rule of the case workflow, in one place.

Create a case, add and change lesions, record measurements (with optimistic locking and
the amendment rule after sign-off), sign timepoints off and evaluate the response. The
service loads cases through a :class:`~api.workflow.case_reader.CaseReader`, checks
readings with :class:`~api.workflow.reading_rules.ReadingRules` and reaches images through
a :class:`~api.workflow.ports.Pacs`; it raises the errors of :mod:`api.workflow.errors`
and never speaks HTTP. Every read or write of patient data is audited in the same unit
of work that commits it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from pydicom.uid import generate_uid

from api.workflow.case_reader import CaseReader, CaseView, patient_studies
from api.workflow.case_response import CaseResponse, missing_readings
from api.workflow.domain import (
    Case,
    Lesion,
    LesionChange,
    MeasurementVersion,
    TimepointSignoff,
    utcnow,
)
from api.workflow.errors import (
    Conflict,
    CopyOfAShare,
    DuplicateCase,
    IncompleteTimepoint,
    InvalidInput,
    NotFound,
    StaleVersion,
    TimepointNotFound,
    TimepointSignedOff,
)
from api.workflow.events import CaseEventPublisher, ChangeKind, announce
from api.workflow.lesion_edits import (
    LesionChanges,
    LesionDeletion,
    check_change,
    differences,
    reason_text,
    signed_timepoints_read,
    version_reason,
)
from api.workflow.ports import Pacs, Study
from api.workflow.reading_rules import MeasurementInput, ReadingRules
from api.workflow.reviews import copy_review
from api.workflow.roles import CASE_MANAGERS, MEASURERS, READERS, Principal, check_role
from api.workflow.split_lesions import (
    check_not_absorbing,
)
from measurement.markers import MARKER_WINDOW_DAYS
from measurement.model import EvaluationOptions
from measurement.readings import (
    confirmation_problem,
    new_lesion_timepoint_problem,
)
from measurement.vocabulary import (
    LABEL_PREFIX,
    Criteria,
    LesionKind,
)

#: The best-overall-response parameters a new case gets unless the request says otherwise.
DEFAULT_OPTIONS = EvaluationOptions()


@dataclass(frozen=True)
class NewCase:
    patient_id: str
    criteria: Criteria
    baseline_study_uid: str | None = None
    options: EvaluationOptions = DEFAULT_OPTIONS
    marker_window_days: int = MARKER_WINDOW_DAYS
    #: Create it even when the patient has a case of this baseline and criteria already.
    allow_duplicate: bool = False


@dataclass(frozen=True)
class NewLesion:
    kind: LesionKind
    organ: str
    nodal: bool = False
    label: str | None = None
    timepoint: str | None = None
    equivocal: bool = False
    confirmed_at: str | None = None


@dataclass(frozen=True)
class MeasurementView:
    lesion: Lesion
    measurement: MeasurementVersion

    @property
    def etag(self) -> str:
        return measurement_etag(self.measurement) or ""


@dataclass(frozen=True)
class CaseMeasurements:
    """The current measurement of each (lesion, timepoint) of a case."""

    case_id: int
    readings: tuple[tuple[Lesion, MeasurementVersion], ...]

    @property
    def etag(self) -> str:
        """Changes whenever any measurement of the case changes (a new version or lesion)."""
        key = ",".join(f"{les.id}:{m.timepoint_uid}:{m.version}" for les, m in self.readings)
        digest = hashlib.sha256(key.encode()).hexdigest()[:20]
        return f'"case-{self.case_id}-measurements-{digest}"'


def measurement_etag(m: MeasurementVersion | None) -> str | None:
    return None if m is None else f'"m{m.lesion_id}-v{m.version}"'


class CaseService:
    """Use cases of the case workflow for one unit of work."""

    def __init__(self, reader: CaseReader, pacs: Pacs, *,
                 on_case_created: Callable[[int, str], None] | None = None,
                 events: CaseEventPublisher | None = None) -> None:
        self.reader = reader
        self.store = reader.store
        self.pacs = pacs
        self.rules = ReadingRules(reader, pacs)
        self._on_case_created = on_case_created
        self._events = events

    def announce(self, case: Case, kind: ChangeKind, who: Principal, *,
                  lesion_id: int | None = None, timepoint_id: str | None = None,
                  version: int | None = None) -> None:
        """Tell the case's readers of a committed change (after the commit)."""
        announce(self._events, case.id, kind, who.name, lesion_id=lesion_id,
                 timepoint_id=timepoint_id, version=version)

    # -- cases ---------------------------------------------------------------------------

    def create_case(self, who: Principal, new: NewCase) -> CaseView:
        check_role(who, CASE_MANAGERS)
        cases = self.store.cases(new.patient_id, limit=1000)
        review_of_copy = copy_review(cases)
        if review_of_copy is not None:
            raise CopyOfAShare(new.patient_id, review_of_copy.id)
        studies = [st for st in self.reader.studies_of(new.patient_id)
                   if st.study_date is not None]
        if not studies:
            raise InvalidInput(f"patient {new.patient_id!r} has no dated indexed study")
        baseline = studies[0]
        if new.baseline_study_uid is not None:
            matches = [st for st in studies if st.study_instance_uid == new.baseline_study_uid]
            if not matches:
                raise InvalidInput(f"baseline_study_uid {new.baseline_study_uid!r} is not a "
                                   "dated indexed study of this patient")
            baseline = matches[0]
        if not new.allow_duplicate:
            existing = next((c for c in cases
                             if c.baseline_study_uid == baseline.study_instance_uid
                             and c.criteria == new.criteria.value
                             and c.review_of is None), None)
            if existing is not None:
                raise DuplicateCase(existing.id)
        case = Case(patient_id=new.patient_id, criteria=new.criteria,
                    baseline_study_uid=baseline.study_instance_uid, created_by=who.name,
                    created_at=utcnow(), lesions=[], signoffs=[],
                    confirmation_required=new.options.confirmation_required,
                    min_sd_duration_days=new.options.min_sd_duration_days,
                    min_confirmation_interval_days=new.options.min_confirmation_interval_days,
                    min_icpd_confirmation_days=new.options.min_icpd_confirmation_days,
                    marker_window_days=new.marker_window_days)
        self.store.add(case)
        self.reader.record(who, "create", case)
        if self._on_case_created is not None:
            # SRs saved in a viewer before this case existed are offered as drafts too.
            self._on_case_created(case.id, case.patient_id)
        return self.reader.view(case)

    def list_cases(self, who: Principal, patient_id: str | None) -> list[Case]:
        """Cases, optionally of one patient, newest first."""
        check_role(who, READERS)
        cases = self.store.cases(patient_id, limit=1000)
        self.store.audit(who, "list", "cases", patient_id)
        self.reader.commit()
        return cases

    def read_case(self, who: Principal, case_id: int) -> CaseView:
        case = self.reader.open_case(who, READERS, case_id)
        self.reader.record(who, "read", case)
        return self.reader.view(case)

    def read_case_and_studies(self, who: Principal, case_id: int
                              ) -> tuple[CaseView, list[Study]]:
        """The case and its patient's studies with their series, for a page that opens
        the case: one unit of work, audited as both reads (the case, and the patient's
        studies as ``GET /patients/{id}/studies`` audits them)."""
        case = self.reader.open_case(who, READERS, case_id)
        studies = patient_studies(self.store, case.patient_id)
        self.store.audit(who, "read", f"patients/{case.patient_id}/studies", case.patient_id)
        self.reader.record(who, "read", case)
        return self.reader.view(case), studies

    # -- lesions -------------------------------------------------------------------------

    def add_lesion(self, who: Principal, case_id: int, new: NewLesion) -> Lesion:
        case = self.reader.open_case(who, MEASURERS, case_id)
        tps = [st.study_instance_uid for st in self.reader.timepoints(case)]
        if new.kind == LesionKind.NEW:
            if new.timepoint is None:
                raise InvalidInput("timepoint: a new lesion needs the timepoint of its first "
                                   "sighting")
            problem = new_lesion_timepoint_problem(tps, new.timepoint)
            if problem is not None:
                raise InvalidInput(f"timepoint: {problem}")
            _check_confirmation(tps, new.timepoint, new.confirmed_at)
        elif new.timepoint is not None or new.confirmed_at is not None or new.equivocal:
            raise InvalidInput("timepoint, equivocal and confirmed_at apply to new lesions only")
        label = new.label or next_label(case, new.kind)
        _check_label_free(case, label)
        lesion = Lesion(case_id=case.id, kind=new.kind, organ=new.organ.strip(),
                        nodal=new.nodal, label=label, first_timepoint=new.timepoint,
                        equivocal=new.equivocal, confirmed_at=new.confirmed_at,
                        tracking_uid=generate_uid(), created_by=who.name, created_at=utcnow())
        case.lesions.append(lesion)
        self.store.add(lesion)
        self.reader.record(who, "create", case, f"/lesions/{lesion.id}")
        self.announce(case, ChangeKind.LESION_ADDED, who, lesion_id=lesion.id,
                       timepoint_id=lesion.first_timepoint)
        return lesion

    def list_lesions(self, who: Principal, case_id: int, *, include_deleted: bool = False
                     ) -> list[Lesion]:
        case = self.reader.open_case(who, READERS, case_id)
        self.reader.record(who, "read", case, "/lesions")
        return list(case.lesions if include_deleted else case.active_lesions)

    def delete_lesion(self, who: Principal, case_id: int, lesion_id: int,
                      deletion: LesionDeletion) -> Lesion:
        """Soft delete: the lesion leaves the evaluation, the lists and the report; its
        versions, and who deleted it when and why, stay.

        Once a timepoint where it has a reading is signed off, the deletion changes that
        timepoint's result: it needs an amendment reason (TimepointSignedOff otherwise).
        """
        case = self.reader.open_case(who, MEASURERS, case_id)
        lesion = self.reader.lesion(case, lesion_id)
        read_at = {tp for (_, tp) in self.reader.current_of(lesion)}
        check_not_absorbing(lesion, case.active_lesions, self.reader.current(case),
                            "deleting")
        signed = sorted(s.timepoint_uid for s in case.signoffs if s.timepoint_uid in read_at)
        if signed and deletion.amendment_reason is None:
            raise TimepointSignedOff(signed[0])
        lesion.deleted_at = utcnow()
        lesion.deleted_by = who.name
        lesion.deletion_reason = deletion.reason
        lesion.deletion_amendment_reason = deletion.amendment_reason if signed else None
        self.store.add(LesionChange(
            lesion_id=lesion.id, at=lesion.deleted_at, author=who.name, action="delete",
            changes={"deleted_at": [None, lesion.deleted_at.isoformat()]},
            reason=deletion.amendment_reason or deletion.reason))
        self.reader.record(who, "delete", case, f"/lesions/{lesion.id}")
        self.announce(case, ChangeKind.LESION_DELETED, who, lesion_id=lesion.id)
        return lesion

    def change_lesion(self, who: Principal, case_id: int, lesion_id: int,
                      changes: LesionChanges) -> Lesion:
        """Relabel, change organ, kind, nodal flag or the new-lesion fields (see
        :mod:`api.workflow.lesion_edits` for what a reading forbids); the change and its
        amendment reason are kept in the lesion's history."""
        case = self.reader.open_case(who, MEASURERS, case_id)
        lesion = self.reader.lesion(case, lesion_id)
        changed = differences(lesion, changes)
        if "kind" in changed and "label" not in changes.given:
            # T1 that becomes a non-target lesion is renamed NT1 (the next free label).
            changed["label"] = [lesion.label, next_label(case, changed["kind"][1])]
        read_at = [tp for (_, tp) in self.reader.current_of(lesion)]
        if {"kind", "nodal"} & changed.keys():
            check_not_absorbing(lesion, case.active_lesions, self.reader.current(case),
                                "changing the kind of")
        check_change(lesion, changed, len(read_at),
                     signed_timepoints_read(read_at, (s.timepoint_uid for s in case.signoffs)),
                     changes.amendment_reason)
        if "label" in changed:
            _check_label_free(case, changed["label"][1])
        if "confirmed_at" in changed:
            tps = [st.study_instance_uid for st in self.reader.timepoints(case)]
            _check_confirmation(tps, lesion.first_timepoint or "", changes.confirmed_at)
        if changed.get("kind", [None, None])[0] == LesionKind.NEW:
            changed.update({name: [getattr(lesion, name), None]
                            for name in ("first_timepoint", "confirmed_at")})
            changed["equivocal"] = [lesion.equivocal, False]
        for name, (_, new) in changed.items():
            setattr(lesion, name, new)
        if changed:
            self.store.add(LesionChange(
                lesion_id=lesion.id, at=utcnow(), author=who.name, action="update",
                changes=changed, reason=changes.amendment_reason))
        self.reader.record(who, "update", case, f"/lesions/{lesion.id}")
        if changed:
            self.announce(case, ChangeKind.LESION_CHANGED, who, lesion_id=lesion.id)
        return lesion

    # -- measurements --------------------------------------------------------------------

    def record_measurement(self, who: Principal, case_id: int, lesion_id: int,
                           timepoint_id: str, given: MeasurementInput) -> MeasurementView:
        """Add a new version of the lesion's measurement at the timepoint.

        Refused: an ``If-Match`` that is not the current version (StaleVersion); a change
        to a signed-off timepoint without an amendment reason (TimepointSignedOff); a new
        lesion measured before its first sighting, a status the lesion kind does not take,
        a caliper that does not fit the image (InvalidMeasurement).
        """
        case = self.reader.open_case(who, MEASURERS, case_id)
        lesion = self.reader.lesion(case, lesion_id)
        timepoints = self.reader.timepoints(case)
        if timepoint_id not in [st.study_instance_uid for st in timepoints]:
            raise TimepointNotFound(timepoint_id, case.id)
        # Read once: the If-Match check and the new version number come from the same state.
        latest = self.store.latest_version(lesion.id)
        current = self.reader.current_of(lesion).get((lesion.id, timepoint_id))
        _check_if_match(given.if_match, current)
        amendment = reason_text("amendment_reason", given.amendment_reason, required=False)
        if case.signoff(timepoint_id) is not None and amendment is None:
            raise TimepointSignedOff(timepoint_id)
        reason = version_reason(reason_text("reason", given.reason, required=False),
                                amendment)
        order = [st.study_instance_uid for st in timepoints]
        values = self.rules.checked_reading(case, lesion, order, timepoint_id, given)
        try:
            m = self.rules.add_version(case, lesion, timepoint_id, who.name, values,
                                       reason=reason, latest=latest)
            self.reader.record(who, "measure", case,
                               f"/lesions/{lesion.id}/measurements/{timepoint_id}")
        except StaleVersion:
            raise StaleVersion("another change to this lesion was saved at the same time; "
                               "read it again and retry") from None
        self.announce(case, ChangeKind.MEASUREMENT, who, lesion_id=lesion.id,
                       timepoint_id=timepoint_id, version=m.version)
        return MeasurementView(lesion, m)

    def read_measurement(self, who: Principal, case_id: int, lesion_id: int,
                         timepoint_id: str) -> MeasurementView:
        case = self.reader.open_case(who, READERS, case_id)
        lesion = self.reader.lesion(case, lesion_id)
        self.reader.timepoint(case, timepoint_id)
        current = self.reader.current_of(lesion).get((lesion.id, timepoint_id))
        if current is None:
            raise NotFound(f"lesion {lesion.id} has no measurement at {timepoint_id!r}")
        self.reader.record(who, "read", case,
                           f"/lesions/{lesion.id}/measurements/{timepoint_id}")
        return MeasurementView(lesion, current)

    def read_measurements(self, who: Principal, case_id: int) -> CaseMeasurements:
        """Every current measurement of the case's lesions, read (and audited) at once."""
        case = self.reader.open_case(who, READERS, case_id)
        lesions = {les.id: les for les in case.active_lesions}
        current = self.reader.current(case)
        self.reader.record(who, "read", case, "/measurements")
        return CaseMeasurements(case.id, tuple(
            (lesions[lesion_id], m) for (lesion_id, _), m in sorted(current.items())
            if lesion_id in lesions))

    def lesion_history(self, who: Principal, case_id: int, lesion_id: int
                       ) -> tuple[Lesion, list[MeasurementVersion], list[LesionChange]]:
        case = self.reader.open_case(who, READERS, case_id)
        lesion = self.reader.lesion(case, lesion_id, deleted=True)
        versions = sorted(self.store.measurements([lesion.id]), key=lambda m: m.version)
        self.reader.record(who, "read", case, f"/lesions/{lesion.id}/history")
        return lesion, versions, self.store.lesion_changes(lesion.id)

    def sign_off(self, who: Principal, case_id: int, timepoint_id: str) -> TimepointSignoff:
        """Sign a timepoint off; signing twice keeps the first sign-off.

        Refused (IncompleteTimepoint) while a lesion that exists at the timepoint has no
        reading there, or while the case has no lesion: a signed-off timepoint must not look
        complete when it is not.
        """
        case = self.reader.open_case(who, MEASURERS, case_id)
        self.reader.timepoint(case, timepoint_id)
        existing = case.signoff(timepoint_id)
        if existing is None:
            missing = missing_readings(case.active_lesions, self.reader.timepoints(case),
                                       self.reader.current(case))[timepoint_id]
            if missing or not case.active_lesions:
                raise IncompleteTimepoint(timepoint_id, [(m.lesion_id, m.label, m.kind)
                                                         for m in missing])
            existing = TimepointSignoff(case_id=case.id, timepoint_uid=timepoint_id,
                                        signed_by=who.name, signed_at=utcnow())
            case.signoffs.append(existing)
            self.store.add(existing)
            self.reader.record(who, "sign_off", case, f"/timepoints/{timepoint_id}")
            self.announce(case, ChangeKind.SIGNED_OFF, who, timepoint_id=timepoint_id)
        return existing

    def watch(self, who: Principal, case_id: int) -> Case:
        """A reader opens the case's live event stream (audited like a read)."""
        case = self.reader.open_case(who, READERS, case_id)
        self.reader.record(who, "watch", case, "/events")
        return case

    def response(self, who: Principal, case_id: int) -> CaseResponse:
        """The case's response for a reader, whatever stage the reading is at."""
        case = self.reader.open_case(who, READERS, case_id)
        self.reader.record(who, "read", case, "/response")
        return self.reader.case_response(case)


def next_label(case: Case, kind: str) -> str:
    """The first free default label of the kind: T3 after T1 and T2, and so on."""
    prefix = LABEL_PREFIX[LesionKind(kind)]
    used = {les.label for les in case.active_lesions}
    n = 1 + sum(1 for les in case.active_lesions if les.kind == kind)
    while f"{prefix}{n}" in used:
        n += 1
    return f"{prefix}{n}"


def _check_label_free(case: Case, label: str) -> None:
    if any(les.label == label for les in case.active_lesions):
        raise Conflict(f"label {label!r} is already used in case {case.id}")


def _check_confirmation(tps: list[str], first: str, confirmed_at: str | None) -> None:
    problem = None if confirmed_at is None else confirmation_problem(tps, first, confirmed_at)
    if problem is not None:
        raise InvalidInput(f"confirmed_at: {problem}")


def _check_if_match(if_match: str | None, current: MeasurementVersion | None) -> None:
    if if_match is None:
        return
    tag = if_match.strip()
    if (tag == "*" and current is not None) or tag == measurement_etag(current):
        return
    raise StaleVersion(f"measurement changed since it was read (If-Match {if_match}, "
                       f"current {measurement_etag(current) or 'none'}); nothing was changed")

