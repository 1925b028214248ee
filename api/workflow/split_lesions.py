"""Lesions that split or coalesce in a case (RECIST 1.1 section 4.3.2): the readings' rules.

A target lesion that splits is recorded at a timepoint as its fragments, each a caliper on
an image of that timepoint; its diameter there is the sum of the fragments' longest
diameters, computed here from the calipers, never taken from the client. A target lesion
that coalesced with another is recorded as ``coalesced_into`` that other lesion, which
carries the merged lesion's diameter: it counts 0 mm, but it has not disappeared.

The clinical rules themselves live in :mod:`measurement.readings` (``split_problem``,
``coalescence_problem``, ``merged_diameter_problem``); this module applies them to the
case's stored lesions and readings, and refuses with :class:`InvalidMeasurement` (422) or
:class:`Conflict` (409) naming the lesion and the timepoint.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from api.workflow.caliper import caliper_on_image, image_points
from api.workflow.domain import Lesion, MeasurementFragment, MeasurementVersion
from api.workflow.errors import Conflict, InvalidMeasurement
from api.workflow.ports import CaseStore, Pacs
from measurement.errors import InvalidEvaluationInput
from measurement.readings import (
    CoalescedInto,
    Fragments,
    TargetReading,
    coalescence_problem,
    merged_diameter_problem,
    mm,
    split_problem,
    stored_target_reading,
)
from measurement.vocabulary import LesionKind

#: Nadir contract: a split lesion is recorded as at most this many fragments (RECIST sets
#: no number; a bound keeps one request, one row set and one report cell readable).
MAX_FRAGMENTS = 20

CurrentMeasurements = Mapping[tuple[int, str], MeasurementVersion]


@dataclass(frozen=True)
class FragmentInput:
    """One fragment's caliper as a client sends it: an image and two [row, column] points."""

    sop_instance_uid: str
    endpoints: Sequence[Sequence[float]]
    frame: int | None = None
    #: The length the client computed; refused if it differs from the server's.
    length_mm: float | None = None


def fragment_rows(pacs: Pacs, store: CaseStore, lesion: Lesion, timepoint_id: str,
                  fragments: Sequence[FragmentInput]) -> tuple[list[MeasurementFragment], float]:
    """The fragments' rows (each caliper checked on its image) and the lesion's diameter,
    their sum in mm (RECIST 1.1 section 4.3.2)."""
    if lesion.kind != LesionKind.TARGET:
        raise InvalidMeasurement(f"fragments: only a target lesion is recorded as fragments "
                                 f"(RECIST 1.1 section 4.3.2); {lesion.label} is a "
                                 f"{lesion.kind} lesion")
    problem = split_problem(lesion.nodal)
    if problem is not None:
        raise InvalidMeasurement(f"fragments: {problem}")
    if not 2 <= len(fragments) <= MAX_FRAGMENTS:
        raise InvalidMeasurement(f"fragments: a split lesion has from 2 to {MAX_FRAGMENTS} "
                                 f"fragments, got {len(fragments)}")
    rows = []
    for position, given in enumerate(fragments):
        try:
            start, end = image_points(given.endpoints, "endpoints", 2)
            located = store.locate_instance(given.sop_instance_uid)
            length = caliper_on_image(pacs, located, timepoint_id, given.sop_instance_uid,
                                      given.frame, start, end, given.length_mm)
        except InvalidMeasurement as exc:
            raise InvalidMeasurement(f"fragments[{position}]: {exc}") from None
        assert located is not None  # caliper_on_image refuses an unknown instance
        rows.append(MeasurementFragment(
            position=position, sop_instance_uid=given.sop_instance_uid,
            series_instance_uid=located.series_instance_uid, frame=given.frame,
            endpoints=[list(start), list(end)], length_mm=length))
    try:
        split = Fragments(tuple(mm(row.length_mm) for row in rows))
    except InvalidEvaluationInput as exc:  # a zero-length caliper, or over a metre in all
        raise InvalidMeasurement(str(exc)) from None
    return rows, float(split.total_mm)


def check_coalescence(lesion: Lesion, into: Lesion | None, into_id: int, timepoint_id: str,
                      current: CurrentMeasurements) -> None:
    """Refuse recording ``lesion`` as coalesced into lesion ``into_id`` at the timepoint:
    not a target, into itself, into a lesion that is not one of the case's target lesions
    (deleted, of another case, of another kind), or into one that does not carry the
    merged diameter there (itself coalesced, a status, fragments)."""
    where = f"coalesced_into: {lesion.label} cannot coalesce into lesion {into_id}"
    if lesion.kind != LesionKind.TARGET:
        raise InvalidMeasurement(f"coalesced_into: only a target lesion is recorded as "
                                 f"coalesced (RECIST 1.1 section 4.3.2); {lesion.label} is a "
                                 f"{lesion.kind} lesion")
    if into is None or into.case_id != lesion.case_id:
        raise InvalidMeasurement(f"{where}: no such lesion in this case")
    if into.deleted_at is not None:
        raise InvalidMeasurement(f"{where}: {into.label} was deleted")
    # Labels name the lesions in the engine's words (unique among the case's lesions).
    problem = coalescence_problem(lesion.label, lesion.nodal, into.label,
                                  into_is_target=into.kind == LesionKind.TARGET,
                                  into_nodal=into.nodal)
    if problem is not None:
        raise InvalidMeasurement(f"{where}: {problem}")
    merged = current.get((into.id, timepoint_id))
    if merged is None:
        return  # the merged lesion is measured next: the timepoint waits for it
    if merged.coalesced_into is not None:
        raise InvalidMeasurement(f"{where}: {into.label} is itself recorded as coalesced "
                                 f"into another lesion at this timepoint")
    problem = merged_diameter_problem(into.label, timepoint_id, merged_reading(merged))
    if problem is not None:
        raise InvalidMeasurement(f"{where}: {problem}")


def check_absorbing(lesion: Lesion, timepoint_id: str, reading: TargetReading,
                    lesions: Iterable[Lesion], current: CurrentMeasurements) -> None:
    """Refuse a reading of ``lesion`` that cannot carry the merged diameter while other
    lesions are recorded as coalesced into it at the timepoint (RECIST 1.1 s4.3.2)."""
    absorbed = [les.label for les in lesions if les.id != lesion.id
                and _coalesced_into(current.get((les.id, timepoint_id))) == lesion.id]
    if not absorbed:
        return
    problem = merged_diameter_problem(lesion.label, timepoint_id, reading)
    if problem is not None:
        raise InvalidMeasurement(f"{', '.join(absorbed)} coalesced into {lesion.label} at "
                                 f"this timepoint: {problem}; change "
                                 f"{'that reading' if len(absorbed) == 1 else 'those readings'}"
                                 f" first")


def check_not_absorbing(lesion: Lesion, lesions: Iterable[Lesion],
                        current: CurrentMeasurements, what: str) -> None:
    """Refuse deleting (or changing the kind of) a lesion others coalesced into (409)."""
    absorbed = sorted({les.label for les in lesions if les.id != lesion.id
                       for (lid, _), m in current.items()
                       if lid == les.id and m.coalesced_into == lesion.id})
    if absorbed:
        raise Conflict(f"{', '.join(absorbed)} recorded as coalesced into {lesion.label}: "
                       f"change {'that reading' if len(absorbed) == 1 else 'those readings'} "
                       f"before {what} it")


def target_reading(status: str | None, length_mm: float | None,
                   fragments: Sequence[MeasurementFragment] = (),
                   coalesced_into: int | None = None) -> TargetReading:
    """A stored target reading as the engine reads it (a coalesced lesion named by its id:
    :func:`api.workflow.timeline.engine_input` names lesions by their labels)."""
    if coalesced_into is not None:
        return CoalescedInto(str(coalesced_into))
    if fragments:
        return Fragments(tuple(mm(f.length_mm) for f in fragments))
    return stored_target_reading(status, length_mm)


def values_reading(values: Mapping[str, Any]) -> TargetReading:
    """:func:`target_reading` of a measurement version's values before it is written."""
    return target_reading(values.get("status"), values.get("length_mm"),
                          values.get("fragments") or (), values.get("coalesced_into"))


def merged_reading(m: MeasurementVersion) -> TargetReading:
    """:func:`target_reading` of a stored version."""
    return target_reading(m.status, m.length_mm, m.fragments, m.coalesced_into)


def _coalesced_into(m: MeasurementVersion | None) -> int | None:
    return None if m is None else m.coalesced_into

