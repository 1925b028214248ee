"""Recording the lesion readings of a TID 1500 report (lengths, and Nadir's lesion statuses
with their points) on a case, checked as readings typed in by hand."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pydicom.uid import generate_uid

from api.workflow.caliper import Segment
from api.workflow.cases import next_label
from api.workflow.domain import Case, Lesion, utcnow
from api.workflow.errors import InvalidMeasurement
from api.workflow.reading_rules import MeasurementInput, ReadingRules
from api.workflow.split_lesions import (
    FragmentInput,
    check_absorbing,
    check_coalescence,
    fragment_rows,
    values_reading,
)
from imaging.sr import ImportedMeasurement, ImportedReport, LengthConcept
from measurement.readings import new_lesion_timepoint_problem
from measurement.vocabulary import LesionKind, LesionStatus

UNSPECIFIED_ORGAN = "unspecified"


def _choose(lesion: Lesion | None, readings: list[ImportedMeasurement]
            ) -> tuple[ImportedMeasurement, list[ImportedMeasurement]]:
    """From a bidirectional reading the axis RECIST measures (1.1, section 3.1.1): the
    short axis for a lymph node, the long axis otherwise. The other axis is kept with it
    when both were drawn on the same image (see :func:`_other_axis`)."""
    if len(readings) == 1:
        return readings[0], []
    site = (readings[0].finding_site or "").lower()
    nodal = lesion.nodal if lesion is not None else ("lymph" in site or "node" in site)
    wanted = LengthConcept.SHORT_AXIS if nodal else LengthConcept.LONG_AXIS
    chosen = next((r for r in readings if r.concept is wanted), readings[0])
    return chosen, [r for r in readings if r is not chosen]


def _other_axis(chosen: ImportedMeasurement, dropped: list[ImportedMeasurement]
                ) -> ImportedMeasurement | None:
    """The other diameter of a bidirectional measurement, when it lies on the same image
    and frame as the chosen one and both are long and short axes."""
    axes = {LengthConcept.LONG_AXIS, LengthConcept.SHORT_AXIS}
    if len(dropped) != 1 or {chosen.concept, dropped[0].concept} != axes:
        return None
    other = dropped[0]
    same = (other.source is not None and chosen.source is not None
            and other.source.sop_instance_uid == chosen.source.sop_instance_uid
            and other.source.frame == chosen.source.frame)
    return other if same and other.polyline_rc is not None else None


def import_report(
    rules: ReadingRules, case: Case, author: str, report: ImportedReport, *, source: str,
) -> dict[str, list[dict[str, Any]]]:
    """Map each lesion reading of the report to a lesion and timepoint of the case; list
    the rest, each with why.

    PS3.16 TID 1500 row 6 "Imaging Measurements" holds one TID 1501/1410 Measurement
    Group per lesion. A group goes to the lesion whose Tracking Unique Identifier or,
    failing that, Tracking Identifier (label) matches (TID 4108); one matching none
    creates a lesion of the kind its "Baseline Category" qualitative evaluation
    (TID 1501 row 13, CID 6145) gives, a target when a length has none. A reading is a
    length on its caliper, or Nadir's lesion status (a TID 1501 row 13 qualitative
    evaluation, ``99NADIR LESION_STATUS``) with, for a non-target or new lesion, the
    Image Region SCOORD POINT (TID 1410 row 7) where it lies. Its timepoint is the study
    of the image it was read on, else the report's own study (TID 1502 Time Point
    Context names the same timepoint). Every reading goes through the checks of one
    typed in by hand (:meth:`ReadingRules.checked_reading`). The caller commits.
    """
    imported: list[dict[str, Any]] = []
    not_mapped = [{"what": n.what, "why": n.why} for n in report.not_mapped]
    order = [st.study_instance_uid for st in rules.reader.timepoints(case)]
    by_uid = {les.tracking_uid: les for les in case.active_lesions}
    by_label = {les.label: les for les in case.active_lesions}
    groups: dict[str, list[ImportedMeasurement]] = defaultdict(list)
    for m in report.measurements:
        groups[m.tracking_uid or m.tracking_id or f"#{len(groups)}"].append(m)
    for readings in groups.values():
        first = readings[0]
        lesion = by_uid.get(first.tracking_uid or "") or by_label.get(first.tracking_id or "")
        chosen, dropped = _choose(lesion, readings)
        other = _other_axis(chosen, dropped)
        dropped = [d for d in dropped if d is not other]
        for d in dropped:
            not_mapped.append({"what": _what(d), "why": "other axis of a bidirectional "
                               "measurement; RECIST 1.1 records one axis per lesion"})
        if chosen.fragments or chosen.coalesced_into is not None:
            outcome = _import_split_or_merged(rules, case, lesion, chosen, report, author,
                                              source, by_uid)
        else:
            outcome = _import_reading(rules, case, lesion, chosen, other, report, author,
                                      source, order)
            created = rules.store.lesion(outcome["lesion_id"]) if "lesion_id" in outcome \
                else None
            if created is not None:
                by_uid[created.tracking_uid] = by_label[created.label] = created
        (imported if "lesion_id" in outcome else not_mapped).append(outcome)
    return {"imported": imported, "not_mapped": not_mapped}


class _Refused(Exception):
    """Why one reading of the report is not recorded (listed in ``not_mapped``)."""


def _import_reading(rules: ReadingRules, case: Case, lesion: Lesion | None,
                    m: ImportedMeasurement, other: ImportedMeasurement | None,
                    report: ImportedReport, author: str, source: str, order: list[str]
                    ) -> dict[str, Any]:
    """One length or status reading onto ``lesion`` (or a lesion made for it), checked as
    a reading typed in by hand; what was recorded, or what was not and why."""
    what = _what(m)
    try:
        given = _reading_input(m, other)
        tp = _timepoint(rules, m, report, order)
        if case.signoff(tp) is not None:
            raise _Refused("timepoint is signed off; amend it by hand with a reason")
        new = lesion is None
        target = _new_lesion(case, m, tp, order, author) if lesion is None \
            else _same_kind(lesion, m)
        values = rules.checked_reading(case, target, order, tp, given)
    except _Refused as exc:
        return {"what": what, "why": str(exc)}
    except InvalidMeasurement as exc:
        return {"what": what, "why": exc.message}
    if new:
        case.lesions.append(target)
        rules.store.add(target)
    rules.add_version(case, target, tp, author, values,
                      reason=f"imported from SR {report.sop_instance_uid}", source=source)
    return {"lesion_id": target.id, "timepoint_id": tp, "length_mm": values["length_mm"],
            "status": values.get("status")}


def _reading_input(m: ImportedMeasurement, other: ImportedMeasurement | None
                   ) -> MeasurementInput:
    """The reading as a client would type it in: a status, with its point on its image
    when the group has one (TID 1410 Image Region, SCOORD POINT, PS3.3 C.18.6.1.2), or
    a caliper (sop_instance_uid, endpoints) with the length it claims."""
    if m.status is not None:
        if m.polyline is not None:
            raise _Refused(f"status {m.status.value!r} with a caliper: Nadir records a "
                           "status or a caliper, not both")
        if m.length_mm not in (None, 0.0) or (
                m.length_mm == 0.0 and m.status is not LesionStatus.DISAPPEARED):
            raise _Refused(f"status {m.status.value!r} with a length of {m.length_mm} mm: "
                           "only a disappeared lesion has a length (0 mm) with its status")
        point = m.point_rc
        if point is None or m.source is None:
            return MeasurementInput(status=m.status.value)
        return MeasurementInput(status=m.status.value, point=list(point),
                                sop_instance_uid=m.source.sop_instance_uid,
                                frame=m.source.frame)
    if m.length_mm is None:
        raise _Refused("no length value and no lesion status")
    if m.source is None or m.polyline_rc is None:
        raise _Refused("no caliper on a source image: Nadir keeps every length traceable "
                       "to its image")
    long_axis, short_axis = _segments(m, other)
    return MeasurementInput(
        sop_instance_uid=m.source.sop_instance_uid, frame=m.source.frame,
        endpoints=None if long_axis is None else [list(p) for p in long_axis],
        short_axis_endpoints=None if short_axis is None else [list(p) for p in short_axis],
        length_mm=m.length_mm)


def _timepoint(rules: ReadingRules, m: ImportedMeasurement, report: ImportedReport,
               order: list[str]) -> str:
    """The study of the image the reading was made on, else the report's own study."""
    if m.source is None:
        if report.study_instance_uid not in order:
            raise _Refused(f"the report's study {report.study_instance_uid} is not a "
                           "timepoint of this case")
        return report.study_instance_uid
    located = rules.store.locate_instance(m.source.sop_instance_uid)
    if located is None:
        raise _Refused(f"image {m.source.sop_instance_uid} is not in the PACS index")
    if located.study_instance_uid not in order:
        raise _Refused(f"image belongs to study {located.study_instance_uid}, not a "
                       "timepoint of this case")
    return located.study_instance_uid


def _same_kind(lesion: Lesion, m: ImportedMeasurement) -> Lesion:
    """The case's lesion, when the report's Baseline Category (CID 6145) agrees."""
    if m.lesion_kind is not None and m.lesion_kind != lesion.kind:
        raise _Refused(f"lesion {lesion.label} is a {lesion.kind} lesion in this case; the "
                       f"report reads it as a {m.lesion_kind.value} lesion: change its kind "
                       "by hand first")
    return lesion


def _import_split_or_merged(rules: ReadingRules, case: Case, lesion: Lesion | None,
                            m: ImportedMeasurement, report: ImportedReport, author: str,
                            source: str, by_uid: dict[str, Lesion]) -> dict[str, Any]:
    """RECIST 1.1 s4.3.2: a split lesion's fragments (each caliper checked on its image,
    the sum computed here) or a lesion coalesced into another lesion of the case, at the
    timepoint of the report's study, checked as a reading typed in by hand would be.
    Returns what was imported, or what was not and why."""
    what = _what(m)
    tp = report.study_instance_uid
    if lesion is None:
        return {"what": what, "why": "no lesion of this case has this Tracking UID or label: "
                "add the lesion first"}
    order = [st.study_instance_uid for st in rules.reader.timepoints(case)]
    if tp not in order:
        return {"what": what, "why": f"the report's study {tp} is not a timepoint of this case"}
    if tp == order[0]:
        return {"what": what, "why": "a lesion splits or coalesces on treatment, not at "
                "baseline (RECIST 1.1 sections 4.2, 4.3.2)"}
    if case.signoff(tp) is not None:
        return {"what": what, "why": "timepoint is signed off; amend it by hand with a reason"}
    current = rules.reader.current(case)
    try:
        if m.coalesced_into is not None:
            into = by_uid.get(m.coalesced_into)
            if into is None:
                raise InvalidMeasurement("the lesion it coalesced into is not a lesion of "
                                         "this case")
            check_coalescence(lesion, into, into.id, tp, current)
            values: dict[str, Any] = {"coalesced_into": into.id, "length_mm": 0.0}
        else:
            rows, total = fragment_rows(rules.pacs, rules.store, lesion, tp, [FragmentInput(
                sop_instance_uid=f.source.sop_instance_uid, frame=f.source.frame,
                endpoints=[list(p) for p in f.polyline_rc], length_mm=f.length_mm)
                for f in m.fragments])
            values = {"fragments": rows, "length_mm": total}
        check_absorbing(lesion, tp, values_reading(values), case.active_lesions, current)
    except InvalidMeasurement as exc:
        return {"what": what, "why": exc.message}
    rules.add_version(case, lesion, tp, author, values,
                      reason=f"imported from SR {report.sop_instance_uid}", source=source)
    return {"lesion_id": lesion.id, "timepoint_id": tp, "length_mm": values["length_mm"]}


def _segments(chosen: ImportedMeasurement, other: ImportedMeasurement | None
              ) -> tuple[Segment | None, Segment | None]:
    """(long axis, short axis) as axes_on_image takes them: a lone caliper is the first."""
    def segment(m: ImportedMeasurement) -> Segment:
        assert m.polyline_rc is not None
        (r1, c1), (r2, c2) = m.polyline_rc
        return (r1, c1), (r2, c2)
    if other is None:
        return segment(chosen), None
    long_axis, short_axis = ((chosen, other) if chosen.concept is LengthConcept.LONG_AXIS
                             else (other, chosen))
    return segment(long_axis), segment(short_axis)


def _what(m: ImportedMeasurement) -> str:
    name = m.tracking_id or m.tracking_uid or "unnamed measurement"
    concept = m.concept.value if m.concept else (
        f"status {m.status.value}" if m.status else "measurement")
    return f"{concept} of {name!r}"


def _new_lesion(case: Case, m: ImportedMeasurement, tp: str, order: list[str],
                author: str) -> Lesion:
    """A lesion of the report's kind (TID 1501 Baseline Category; a target for a length
    without one), labelled by its Tracking Identifier when that is free. Not yet added to
    the case: it is, once its reading passed the checks. A new lesion counts from its
    first sighting (RECIST 1.1 s4.3.5): the one the report names, else this timepoint."""
    kind = m.lesion_kind
    if kind is None:
        if m.status is not None:
            raise _Refused(f"status {m.status.value!r} of a lesion this case does not have, "
                           "without its kind (Baseline Category): add the lesion first")
        kind = LesionKind.TARGET
    first = None
    if kind is LesionKind.NEW:
        first = m.first_seen or tp
        problem = new_lesion_timepoint_problem(order, first)
        if problem is not None:
            raise _Refused(f"new lesion's first sighting: {problem}")
    taken = {les.label for les in case.active_lesions}
    label = (m.tracking_id or "").strip()[:64]
    if not label or label in taken:
        label = next_label(case, kind)
    # RECIST 1.1 s.3.1.1: a node is measured in its short axis; a reading by status
    # tells it by its finding site only.
    site = (m.finding_site or "").lower()
    nodal = bool(m.nodal) if m.concept is not None else ("lymph" in site or "node" in site)
    return Lesion(case_id=case.id, kind=kind, organ=(m.finding_site or UNSPECIFIED_ORGAN)[:128],
                  nodal=nodal, label=label, first_timepoint=first,
                  tracking_uid=m.tracking_uid or generate_uid(), created_by=author,
                  created_at=utcnow())
