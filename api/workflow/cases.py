"""The case service: every rule of the case workflow, in one place.

Create a case, add and change lesions, record measurements (with optimistic locking and
the amendment rule after sign-off), sign timepoints off and evaluate the response. The
service works over a :class:`~api.workflow.ports.CaseStore` and a
:class:`~api.workflow.ports.Pacs`; it raises the errors of :mod:`api.workflow.errors`
and never speaks HTTP. Every read or write of patient data is audited in the same unit
of work that commits it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydicom.uid import generate_uid

from api.workflow.caliper import axes_on_image, image_points, point_on_image
from api.workflow.case_response import CaseResponse, case_response, missing_readings
from api.workflow.domain import (
    Case,
    Lesion,
    LesionChange,
    MeasurementVersion,
    PatientMarker,
    TimepointSignoff,
    utcnow,
)
from api.workflow.errors import (
    Blinded,
    CaseNotFound,
    Conflict,
    DuplicateCase,
    IncompleteTimepoint,
    InvalidInput,
    InvalidMeasurement,
    LesionNotFound,
    NotAllowed,
    NotEvaluable,
    NotFound,
    PatientNotFound,
    StaleVersion,
    TimepointNotFound,
    TimepointSignedOff,
)
from api.workflow.events import CaseEvent, CaseEventPublisher, ChangeKind, now_iso
from api.workflow.lesion_edits import (
    LesionChanges,
    LesionDeletion,
    check_change,
    differences,
    reason_text,
    signed_timepoints_read,
    version_reason,
)
from api.workflow.ports import CaseStore, Pacs, Study
from api.workflow.reviews import blinding_reason, dating_case
from api.workflow.roles import CASE_MANAGERS, MEASURERS, READERS, Principal, Role, check_role
from api.workflow.split_lesions import (
    FragmentInput,
    check_absorbing,
    check_coalescence,
    check_not_absorbing,
    fragment_rows,
    values_reading,
)
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
from measurement.markers import MARKER_WINDOW_DAYS
from measurement.model import EvaluationOptions
from measurement.readings import (
    baseline_problem,
    before_first_sighting_problem,
    confirmation_problem,
    first_sighting_problem,
    new_lesion_timepoint_problem,
    stored_new_lesion_reading,
)
from measurement.recist import evaluate
from measurement.result import EvaluationResult
from measurement.vocabulary import (
    LABEL_PREFIX,
    NON_TARGET_STATUSES,
    STATUSES_BY_KIND,
    Criteria,
    LesionKind,
    LesionStatus,
    NonTargetStatus,
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
class MeasurementInput:
    """A caliper (image + endpoints) or a status, as a client sends it."""

    sop_instance_uid: str | None = None
    frame: int | None = None
    endpoints: Sequence[Sequence[float]] | None = None
    length_mm: float | None = None
    status: str | None = None
    #: The short axis of a bidirectional measurement (two [row, column] points).
    short_axis_endpoints: Sequence[Sequence[float]] | None = None
    #: Where a non-target or new lesion read by status lies: [row, column] on the image.
    point: Sequence[float] | None = None
    amendment_reason: str | None = None
    if_match: str | None = None
    #: Why this version is written, e.g. "undo" (kept in the version history).
    reason: str | None = None
    #: A target lesion that split: one caliper per fragment (RECIST 1.1 s4.3.2).
    fragments: Sequence[FragmentInput] | None = None
    #: A target lesion merged into this other lesion of the case (RECIST 1.1 s4.3.2).
    coalesced_into: int | None = None


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


@dataclass(frozen=True)
class MeasurementView:
    lesion: Lesion
    measurement: MeasurementVersion

    @property
    def etag(self) -> str:
        return measurement_etag(self.measurement) or ""


@dataclass
class Evaluation:
    """The engine's result with the rows it was computed from."""

    case: Case
    timepoints: list[Study]
    current: CurrentMeasurements
    markers: list[PatientMarker]
    result: EvaluationResult | None = None
    error: str | None = field(default=None)


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

    def __init__(self, store: CaseStore, pacs: Pacs, *,
                 on_case_created: Callable[[int, str], None] | None = None,
                 events: CaseEventPublisher | None = None) -> None:
        self.store = store
        self.pacs = pacs
        self._on_case_created = on_case_created
        self._events = events

    def announce(self, case: Case, kind: ChangeKind, who: Principal, *,
                  lesion_id: int | None = None, timepoint_id: str | None = None,
                  version: int | None = None) -> None:
        """Tell the case's readers of a committed change (after the commit)."""
        if self._events is not None:
            self._events.publish(CaseEvent(case.id, kind, who.name, now_iso(), lesion_id,
                                           timepoint_id, version))

    # -- loading -------------------------------------------------------------------------

    def studies_of(self, patient_id: str) -> list[Study]:
        return patient_studies(self.store, patient_id)

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

    def timepoints(self, case: Case) -> list[Study]:
        return case_timepoints(self.case_studies(case), case.baseline_study_uid)

    def case_studies(self, case: Case) -> list[Study]:
        """The patient's studies, dated as the case dates them (see with_case_dates)."""
        return with_case_dates(self.store.studies_of(case.patient_id) or [],
                               dating_case(self.store, case).study_dates)

    def view(self, case: Case) -> CaseView:
        """The case with its timepoints, the images gone and the studies left out."""
        studies = self.case_studies(case)
        timepoints = case_timepoints(studies, case.baseline_study_uid)
        return CaseView(case, timepoints, self.missing_images(case),
                        tuple(left_out(studies, timepoints)))

    def timepoint(self, case: Case, timepoint_id: str) -> Study:
        for st in self.timepoints(case):
            if st.study_instance_uid == timepoint_id:
                return st
        raise TimepointNotFound(timepoint_id, case.id)

    def current(self, case: Case) -> CurrentMeasurements:
        return current_measurements(self.store.measurements(
            les.id for les in case.active_lesions))

    def current_of(self, lesion: Lesion) -> CurrentMeasurements:
        """As :meth:`current`, for one lesion: a write or read of one measurement loads
        only that lesion's versions."""
        return current_measurements(self.store.measurements([lesion.id]))

    def _commit(self) -> None:
        try:
            self.store.commit()
        except StaleVersion:
            self.store.rollback()
            raise

    # -- the frame of a use case on one case -------------------------------------------------

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

    def timepoint_uids(self, case: Case) -> list[str]:
        return [st.study_instance_uid for st in self.timepoints(case)]

    def record(self, who: Principal, action: str, case: Case, resource: str = "") -> None:
        """Audit the access to the case's data (``cases/{id}`` then ``resource``) in this
        unit of work and commit it: how a use case on one case ends."""
        self.store.audit(who, action, f"cases/{case.id}{resource}", case.patient_id)
        self._commit()

    # -- cases ---------------------------------------------------------------------------

    def create_case(self, who: Principal, new: NewCase) -> CaseView:
        check_role(who, CASE_MANAGERS)
        studies = [st for st in self.studies_of(new.patient_id) if st.study_date is not None]
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
            existing = next((c for c in self.store.cases(new.patient_id, limit=1000)
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
        self.record(who, "create", case)
        if self._on_case_created is not None:
            # SRs saved in a viewer before this case existed are offered as drafts too.
            self._on_case_created(case.id, case.patient_id)
        return self.view(case)

    def list_cases(self, who: Principal, patient_id: str | None) -> list[Case]:
        """Cases, optionally of one patient, newest first."""
        check_role(who, READERS)
        cases = self.store.cases(patient_id, limit=1000)
        self.store.audit(who, "list", "cases", patient_id)
        self._commit()
        return cases

    def read_case(self, who: Principal, case_id: int) -> CaseView:
        case = self.open_case(who, READERS, case_id)
        self.record(who, "read", case)
        return self.view(case)

    def missing_images(self, case: Case) -> tuple[str, ...]:
        """SOP Instance UIDs measured on (current versions) that the index no longer holds."""
        measured = {uid for m in self.current(case).values()
                    for uid in (m.sop_instance_uid, *(f.sop_instance_uid for f in m.fragments))
                    if uid}
        return tuple(sorted(measured - self.store.indexed_instances(measured)))

    # -- lesions -------------------------------------------------------------------------

    def add_lesion(self, who: Principal, case_id: int, new: NewLesion) -> Lesion:
        case = self.open_case(who, MEASURERS, case_id)
        tps = [st.study_instance_uid for st in self.timepoints(case)]
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
        self.record(who, "create", case, f"/lesions/{lesion.id}")
        self.announce(case, ChangeKind.LESION_ADDED, who, lesion_id=lesion.id,
                       timepoint_id=lesion.first_timepoint)
        return lesion

    def list_lesions(self, who: Principal, case_id: int, *, include_deleted: bool = False
                     ) -> list[Lesion]:
        case = self.open_case(who, READERS, case_id)
        self.record(who, "read", case, "/lesions")
        return list(case.lesions if include_deleted else case.active_lesions)

    def delete_lesion(self, who: Principal, case_id: int, lesion_id: int,
                      deletion: LesionDeletion) -> Lesion:
        """Soft delete: the lesion leaves the evaluation, the lists and the report; its
        versions, and who deleted it when and why, stay.

        Once a timepoint where it has a reading is signed off, the deletion changes that
        timepoint's result: it needs an amendment reason (TimepointSignedOff otherwise).
        """
        case = self.open_case(who, MEASURERS, case_id)
        lesion = self.lesion(case, lesion_id)
        read_at = {tp for (_, tp) in self.current_of(lesion)}
        check_not_absorbing(lesion, case.active_lesions, self.current(case), "deleting")
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
        self.record(who, "delete", case, f"/lesions/{lesion.id}")
        self.announce(case, ChangeKind.LESION_DELETED, who, lesion_id=lesion.id)
        return lesion

    def change_lesion(self, who: Principal, case_id: int, lesion_id: int,
                      changes: LesionChanges) -> Lesion:
        """Relabel, change organ, kind, nodal flag or the new-lesion fields (see
        :mod:`api.workflow.lesion_edits` for what a reading forbids); the change and its
        amendment reason are kept in the lesion's history."""
        case = self.open_case(who, MEASURERS, case_id)
        lesion = self.lesion(case, lesion_id)
        changed = differences(lesion, changes)
        if "kind" in changed and "label" not in changes.given:
            # T1 that becomes a non-target lesion is renamed NT1 (the next free label).
            changed["label"] = [lesion.label, next_label(case, changed["kind"][1])]
        read_at = [tp for (_, tp) in self.current_of(lesion)]
        if {"kind", "nodal"} & changed.keys():
            check_not_absorbing(lesion, case.active_lesions, self.current(case),
                                "changing the kind of")
        check_change(lesion, changed, len(read_at),
                     signed_timepoints_read(read_at, (s.timepoint_uid for s in case.signoffs)),
                     changes.amendment_reason)
        if "label" in changed:
            _check_label_free(case, changed["label"][1])
        if "confirmed_at" in changed:
            tps = [st.study_instance_uid for st in self.timepoints(case)]
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
        self.record(who, "update", case, f"/lesions/{lesion.id}")
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
        case = self.open_case(who, MEASURERS, case_id)
        lesion = self.lesion(case, lesion_id)
        timepoints = self.timepoints(case)
        if timepoint_id not in [st.study_instance_uid for st in timepoints]:
            raise TimepointNotFound(timepoint_id, case.id)
        # Read once: the If-Match check and the new version number come from the same state.
        latest = self.store.latest_version(lesion.id)
        current = self.current_of(lesion).get((lesion.id, timepoint_id))
        _check_if_match(given.if_match, current)
        amendment = reason_text("amendment_reason", given.amendment_reason, required=False)
        if case.signoff(timepoint_id) is not None and amendment is None:
            raise TimepointSignedOff(timepoint_id)
        reason = version_reason(reason_text("reason", given.reason, required=False),
                                amendment)
        order = [st.study_instance_uid for st in timepoints]
        values = self.checked_reading(case, lesion, order, timepoint_id, given)
        try:
            m = self.add_version(case, lesion, timepoint_id, who.name, values, reason=reason,
                                 latest=latest)
            self.record(who, "measure", case, f"/lesions/{lesion.id}/measurements/{timepoint_id}")
        except StaleVersion:
            raise StaleVersion("another change to this lesion was saved at the same time; "
                               "read it again and retry") from None
        self.announce(case, ChangeKind.MEASUREMENT, who, lesion_id=lesion.id,
                       timepoint_id=timepoint_id, version=m.version)
        return MeasurementView(lesion, m)

    def checked_reading(self, case: Case, lesion: Lesion, order: list[str], timepoint_id: str,
                        given: MeasurementInput) -> dict[str, Any]:
        """The values of a reading of ``lesion`` at ``timepoint_id`` (``order``: the case's
        timepoints, baseline first), checked as one typed in by hand: not before a new
        lesion's first sighting, a status the kind takes, a caliper or point that fits its
        image of the timepoint, what a baseline or a first sighting cannot be, and what a
        split or merge allows (InvalidMeasurement). Nothing is written.

        ``lesion`` may be one not yet added to the case (an SR import creating it): no
        reading can have coalesced into it yet."""
        if lesion.kind == LesionKind.NEW and lesion.first_timepoint:
            problem = before_first_sighting_problem(order, lesion.first_timepoint, timepoint_id)
            if problem is not None:
                raise InvalidMeasurement(problem)
        values = self._measurement_values(lesion, timepoint_id, given)
        _check_reading(lesion, values, timepoint_id, order)
        if any(les is lesion for les in case.active_lesions):
            self._check_split_or_merged(case, lesion, timepoint_id, values)
        return values

    def _check_split_or_merged(self, case: Case, lesion: Lesion, timepoint_id: str,
                               values: dict[str, Any]) -> None:
        """RECIST 1.1 s4.3.2: what a coalesced reading may merge into, and the reading of
        a lesion others merged into (it carries the merged diameter)."""
        current = self.current(case)
        into = values.get("coalesced_into")
        if into is not None:
            check_coalescence(lesion, self.store.lesion(into), into, timepoint_id, current)
        check_absorbing(lesion, timepoint_id, values_reading(values),
                        case.active_lesions, current)

    def _measurement_values(self, lesion: Lesion, timepoint_id: str,
                            given: MeasurementInput) -> dict[str, Any]:
        caliper = bool(given.sop_instance_uid or given.endpoints or given.short_axis_endpoints
                       or given.point or given.length_mm is not None)
        forms = [name for name, used in (
            ("a status", given.status is not None), ("a caliper", caliper),
            ("fragments", given.fragments is not None),
            ("coalesced_into", given.coalesced_into is not None)) if used]
        if len(forms) > 1 and (given.fragments is not None or given.coalesced_into is not None):
            raise InvalidMeasurement("give one of a status, a caliper (sop_instance_uid with "
                                     "endpoints), fragments or coalesced_into; got "
                                     + " and ".join(forms))
        if given.fragments is not None:
            rows, total = fragment_rows(self.pacs, self.store, lesion, timepoint_id,
                                        given.fragments)
            return {"fragments": rows, "length_mm": total}
        if given.coalesced_into is not None:
            # RECIST 1.1 s4.3.2: it counts 0 mm; the merged diameter is on the other lesion.
            return {"coalesced_into": given.coalesced_into, "length_mm": 0.0}
        if given.status is not None:
            return self._status_values(lesion, timepoint_id, given)
        if given.point is not None:
            raise InvalidMeasurement("a point goes with a status (a non-target or new "
                                     "lesion); a caliper is given by endpoints")
        if lesion.kind == LesionKind.NON_TARGET:
            raise InvalidMeasurement("a non-target lesion takes a status: "
                                     + ", ".join(NON_TARGET_STATUSES))
        if given.sop_instance_uid is None or (given.endpoints is None
                                              and given.short_axis_endpoints is None):
            raise InvalidMeasurement("give sop_instance_uid and endpoints, or a status")
        long_axis, short_axis = (
            None if raw is None else image_points(raw, name, 2)
            for name, raw in (("endpoints", given.endpoints),
                              ("short_axis_endpoints", given.short_axis_endpoints)))
        located = self.store.locate_instance(given.sop_instance_uid)
        values = axes_on_image(
            self.pacs, located, timepoint_id, given.sop_instance_uid, given.frame,
            nodal=lesion.nodal, endpoints=_segment(long_axis), short_axis=_segment(short_axis),
            claimed_length_mm=given.length_mm)
        assert located is not None  # axes_on_image refuses an unknown instance
        return {"sop_instance_uid": given.sop_instance_uid,
                "series_instance_uid": located.series_instance_uid, "frame": given.frame,
                **values}

    def _status_values(self, lesion: Lesion, timepoint_id: str,
                       given: MeasurementInput) -> dict[str, Any]:
        """A status reading, with the point where the lesion lies when one is given."""
        if given.endpoints or given.short_axis_endpoints or given.length_mm is not None:
            raise InvalidMeasurement("give either a status or sop_instance_uid with "
                                     "endpoints")
        allowed = STATUSES_BY_KIND[LesionKind(lesion.kind)]
        if given.status not in allowed:
            raise InvalidMeasurement(
                f"status {given.status!r} is not valid for a {lesion.kind} lesion; "
                f"one of: {', '.join(allowed)}")
        status = LesionStatus(given.status)
        values: dict[str, Any] = {
            "status": status.value,
            "length_mm": 0.0 if status is LesionStatus.DISAPPEARED else None}
        if given.sop_instance_uid is None and given.point is None:
            return values
        if lesion.kind == LesionKind.TARGET:
            raise InvalidMeasurement("a point marks a non-target or new lesion; a target "
                                     "lesion is measured with endpoints")
        if given.sop_instance_uid is None or given.point is None:
            raise InvalidMeasurement("a point needs its sop_instance_uid, and "
                                     "sop_instance_uid with a status needs the point")
        (point,) = image_points([given.point], "point", 1)
        located = self.store.locate_instance(given.sop_instance_uid)
        point_on_image(self.pacs, located, timepoint_id, given.sop_instance_uid, given.frame,
                       point)
        assert located is not None  # point_on_image refuses an unknown instance
        return {**values, "sop_instance_uid": given.sop_instance_uid,
                "series_instance_uid": located.series_instance_uid, "frame": given.frame,
                "point": list(point)}

    def add_version(self, case: Case, lesion: Lesion, timepoint_uid: str, author: str,
                    values: dict[str, Any], *, reason: str | None, source: str = "manual",
                    latest: int | None = None) -> MeasurementVersion:
        """Add version ``latest + 1`` (the caller commits).

        A writer that checked ``If-Match`` passes the ``latest`` version it saw: if another
        change was saved since, the store refuses this one (StaleVersion) instead of
        stacking it silently on top.
        """
        if latest is None:
            latest = self.store.latest_version(lesion.id)
        m = MeasurementVersion(lesion_id=lesion.id, timepoint_uid=timepoint_uid,
                               version=latest + 1, author=author, reason=reason, source=source,
                               at=utcnow(), **values)
        self.store.add(m)
        return m

    def read_measurement(self, who: Principal, case_id: int, lesion_id: int,
                         timepoint_id: str) -> MeasurementView:
        case = self.open_case(who, READERS, case_id)
        lesion = self.lesion(case, lesion_id)
        self.timepoint(case, timepoint_id)
        current = self.current_of(lesion).get((lesion.id, timepoint_id))
        if current is None:
            raise NotFound(f"lesion {lesion.id} has no measurement at {timepoint_id!r}")
        self.record(who, "read", case, f"/lesions/{lesion.id}/measurements/{timepoint_id}")
        return MeasurementView(lesion, current)

    def read_measurements(self, who: Principal, case_id: int) -> CaseMeasurements:
        """Every current measurement of the case's lesions, read (and audited) at once."""
        case = self.open_case(who, READERS, case_id)
        lesions = {les.id: les for les in case.active_lesions}
        current = self.current(case)
        self.record(who, "read", case, "/measurements")
        return CaseMeasurements(case.id, tuple(
            (lesions[lesion_id], m) for (lesion_id, _), m in sorted(current.items())
            if lesion_id in lesions))

    def lesion_history(self, who: Principal, case_id: int, lesion_id: int
                       ) -> tuple[Lesion, list[MeasurementVersion], list[LesionChange]]:
        case = self.open_case(who, READERS, case_id)
        lesion = self.lesion(case, lesion_id, deleted=True)
        versions = sorted(self.store.measurements([lesion.id]), key=lambda m: m.version)
        self.record(who, "read", case, f"/lesions/{lesion.id}/history")
        return lesion, versions, self.store.lesion_changes(lesion.id)

    def sign_off(self, who: Principal, case_id: int, timepoint_id: str) -> TimepointSignoff:
        """Sign a timepoint off; signing twice keeps the first sign-off.

        Refused (IncompleteTimepoint) while a lesion that exists at the timepoint has no
        reading there, or while the case has no lesion: a signed-off timepoint must not look
        complete when it is not.
        """
        case = self.open_case(who, MEASURERS, case_id)
        self.timepoint(case, timepoint_id)
        existing = case.signoff(timepoint_id)
        if existing is None:
            missing = missing_readings(case.active_lesions, self.timepoints(case),
                                       self.current(case))[timepoint_id]
            if missing or not case.active_lesions:
                raise IncompleteTimepoint(timepoint_id, [(m.lesion_id, m.label, m.kind)
                                                         for m in missing])
            existing = TimepointSignoff(case_id=case.id, timepoint_uid=timepoint_id,
                                        signed_by=who.name, signed_at=utcnow())
            case.signoffs.append(existing)
            self.store.add(existing)
            self.record(who, "sign_off", case, f"/timepoints/{timepoint_id}")
            self.announce(case, ChangeKind.SIGNED_OFF, who, timepoint_id=timepoint_id)
        return existing

    def watch(self, who: Principal, case_id: int) -> Case:
        """A reader opens the case's live event stream (audited like a read)."""
        case = self.open_case(who, READERS, case_id)
        self.record(who, "watch", case, "/events")
        return case

    # -- response ------------------------------------------------------------------------

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

    def case_response(self, case: Case) -> CaseResponse:
        """The response with each timepoint's completeness; incomplete ones blank."""
        try:
            return case_response(case, case.active_lesions, self.timepoints(case),
                                 self.current(case), self.store.markers_of(case.patient_id))
        except MeasurementError as exc:
            raise NotEvaluable(f"case {case.id} cannot be evaluated: {exc.message}") from None

    def response(self, who: Principal, case_id: int) -> CaseResponse:
        """The case's response for a reader, whatever stage the reading is at."""
        case = self.open_case(who, READERS, case_id)
        self.record(who, "read", case, "/response")
        return self.case_response(case)


def patient_studies(store: CaseStore, patient_id: str) -> list[Study]:
    """A patient's indexed studies, oldest first (undated ones last)."""
    studies = store.studies_of(patient_id)
    if studies is None:
        raise PatientNotFound(patient_id)
    return studies


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


def _check_reading(lesion: Lesion, values: dict[str, Any], timepoint_id: str,
                   order: list[str]) -> None:
    """The engine's own checks of one reading (measurement.readings): what a baseline
    cannot be (RECIST 1.1 s.3.1.1, s.4.2) and what a new lesion cannot be where it is first
    seen (s.4.3.5; iRECIST Table 2), with the engine's words."""
    kind = LesionKind(lesion.kind)
    status, length = values.get("status"), values.get("length_mm")
    problem = None
    if kind is LesionKind.NEW:
        if timepoint_id == lesion.first_timepoint:
            problem = first_sighting_problem(stored_new_lesion_reading(status, length))
    elif timepoint_id == order[0]:
        # A non-target lesion always takes a status (_measurement_values checked it).
        reading = (NonTargetStatus(str(status)) if kind is LesionKind.NON_TARGET
                   else values_reading(values))
        problem = baseline_problem(kind, reading)
    if problem is not None:
        raise InvalidMeasurement(problem)


def _check_if_match(if_match: str | None, current: MeasurementVersion | None) -> None:
    if if_match is None:
        return
    tag = if_match.strip()
    if (tag == "*" and current is not None) or tag == measurement_etag(current):
        return
    raise StaleVersion(f"measurement changed since it was read (If-Match {if_match}, "
                       f"current {measurement_etag(current) or 'none'}); nothing was changed")


def _segment(points: tuple[tuple[float, float], ...] | None
             ) -> tuple[tuple[float, float], tuple[float, float]] | None:
    return None if points is None else (points[0], points[1])
