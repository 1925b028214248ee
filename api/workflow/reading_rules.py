"""The checks of one reading before it is written: what an image, a lesion kind, a
baseline, a first sighting, a split or a merge allow (RECIST 1.1, iRECIST), and the new
version that records it.

Measurements typed in (:class:`~api.workflow.cases.CaseService`) and imported from an SR
(:mod:`api.workflow.sr_import`) pass the same checks here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from api.workflow.caliper import axes_on_image, image_points, point_on_image
from api.workflow.case_reader import CaseReader
from api.workflow.domain import Case, Lesion, MeasurementVersion, utcnow
from api.workflow.errors import InvalidMeasurement
from api.workflow.ports import Pacs
from api.workflow.split_lesions import (
    FragmentInput,
    check_absorbing,
    check_coalescence,
    fragment_rows,
    values_reading,
)
from measurement.readings import (
    baseline_problem,
    before_first_sighting_problem,
    first_sighting_problem,
    stored_new_lesion_reading,
)
from measurement.vocabulary import (
    NON_TARGET_STATUSES,
    STATUSES_BY_KIND,
    LesionKind,
    LesionStatus,
    NonTargetStatus,
)


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


class ReadingRules:
    """The checks of a reading over a case's loaded state and its images in the PACS."""

    def __init__(self, reader: CaseReader, pacs: Pacs) -> None:
        self.reader = reader
        self.store = reader.store
        self.pacs = pacs

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
        current = self.reader.current(case)
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


def _segment(points: tuple[tuple[float, float], ...] | None
             ) -> tuple[tuple[float, float], tuple[float, float]] | None:
    return None if points is None else (points[0], points[1])
