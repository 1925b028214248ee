"""Recording the linear measurements of a TID 1500 report made elsewhere on a case."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from pydicom.uid import generate_uid

from api.workflow.caliper import Segment, axes_on_image
from api.workflow.cases import CaseService
from api.workflow.domain import Case, Lesion, utcnow
from api.workflow.errors import InvalidMeasurement
from api.workflow.split_lesions import (
    FragmentInput,
    check_absorbing,
    check_coalescence,
    fragment_rows,
    values_reading,
)
from imaging.sr import ImportedMeasurement, ImportedReport, LengthConcept
from measurement.vocabulary import LABEL_PREFIX, LesionKind

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
    cases: CaseService, case: Case, author: str, report: ImportedReport, *, source: str,
) -> dict[str, list[dict[str, Any]]]:
    """Map each linear measurement to a lesion and timepoint of the case; list the rest.

    A reading goes to the lesion whose Tracking UID or, failing that, Tracking Identifier
    (label) matches; one matching none creates a target lesion. Its timepoint is the study
    of the measured image. The caller commits.
    """
    imported: list[dict[str, Any]] = []
    not_mapped = [{"what": n.what, "why": n.why} for n in report.not_mapped]
    store = cases.store
    timepoints = {st.study_instance_uid for st in cases.timepoints(case)}
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
            outcome = _import_split_or_merged(cases, case, lesion, chosen, report, author,
                                              source, by_uid)
            (imported if "lesion_id" in outcome else not_mapped).append(outcome)
            continue
        why = _unusable(cases, chosen, timepoints)
        if why:
            not_mapped.append({"what": _what(chosen), "why": why})
            continue
        assert chosen.source is not None and chosen.polyline_rc is not None
        located = store.locate_instance(chosen.source.sop_instance_uid)
        assert located is not None
        tp = located.study_instance_uid
        if lesion is None:
            lesion = _new_target(cases, case, chosen, author, by_label)
            by_uid[lesion.tracking_uid] = lesion
            by_label[lesion.label] = lesion
        if lesion.kind == LesionKind.NON_TARGET:
            not_mapped.append({"what": _what(chosen), "why": f"lesion {lesion.label} is a "
                               "non-target lesion, followed by status, not by length"})
            continue
        if case.signoff(tp) is not None:
            not_mapped.append({"what": _what(chosen), "why": "timepoint is signed off; "
                               "amend it by hand with a reason"})
            continue
        axes = _segments(chosen, other)
        try:
            values = axes_on_image(
                cases.pacs, located, tp, located.sop_instance_uid, chosen.source.frame,
                nodal=lesion.nodal, endpoints=axes[0], short_axis=axes[1],
                claimed_length_mm=chosen.length_mm)
        except InvalidMeasurement as exc:
            not_mapped.append({"what": _what(chosen), "why": exc.message})
            continue
        cases.add_version(
            case, lesion, tp, author,
            {"sop_instance_uid": located.sop_instance_uid,
             "series_instance_uid": located.series_instance_uid,
             "frame": chosen.source.frame, **values},
            reason=f"imported from SR {report.sop_instance_uid}", source=source)
        imported.append({"lesion_id": lesion.id, "timepoint_id": tp,
                         "length_mm": values["length_mm"]})
    return {"imported": imported, "not_mapped": not_mapped}


def _import_split_or_merged(cases: CaseService, case: Case, lesion: Lesion | None,
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
    order = [st.study_instance_uid for st in cases.timepoints(case)]
    if tp not in order:
        return {"what": what, "why": f"the report's study {tp} is not a timepoint of this case"}
    if tp == order[0]:
        return {"what": what, "why": "a lesion splits or coalesces on treatment, not at "
                "baseline (RECIST 1.1 sections 4.2, 4.3.2)"}
    if case.signoff(tp) is not None:
        return {"what": what, "why": "timepoint is signed off; amend it by hand with a reason"}
    current = cases.current(case)
    try:
        if m.coalesced_into is not None:
            into = by_uid.get(m.coalesced_into)
            if into is None:
                raise InvalidMeasurement("the lesion it coalesced into is not a lesion of "
                                         "this case")
            check_coalescence(lesion, into, into.id, tp, current)
            values: dict[str, Any] = {"coalesced_into": into.id, "length_mm": 0.0}
        else:
            rows, total = fragment_rows(cases.pacs, cases.store, lesion, tp, [FragmentInput(
                sop_instance_uid=f.source.sop_instance_uid, frame=f.source.frame,
                endpoints=[list(p) for p in f.polyline_rc], length_mm=f.length_mm)
                for f in m.fragments])
            values = {"fragments": rows, "length_mm": total}
        check_absorbing(lesion, tp, values_reading(values), case.active_lesions, current)
    except InvalidMeasurement as exc:
        return {"what": what, "why": exc.message}
    cases.add_version(case, lesion, tp, author, values,
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
    concept = m.concept.value if m.concept else "measurement"
    return f"{concept} of {name!r}"


def _unusable(cases: CaseService, m: ImportedMeasurement, timepoints: set[str]) -> str | None:
    if m.status is not None and m.length_mm is None:
        return f"status {m.status.value!r} without a length: record it by hand"
    if m.length_mm is None:
        return "no length value"
    if m.source is None or m.polyline_rc is None:
        return "no caliper on a source image: Nadir keeps every length traceable to its image"
    located = cases.store.locate_instance(m.source.sop_instance_uid)
    if located is None:
        return f"image {m.source.sop_instance_uid} is not in the PACS index"
    if located.study_instance_uid not in timepoints:
        return f"image belongs to study {located.study_instance_uid}, not a timepoint of " \
               "this case"
    return None


def _new_target(cases: CaseService, case: Case, m: ImportedMeasurement, author: str,
                by_label: dict[str, Lesion]) -> Lesion:
    label = (m.tracking_id or "").strip()[:64]
    if not label or label in by_label:
        prefix = LABEL_PREFIX[LesionKind.TARGET]
        n = 1 + sum(1 for les in case.active_lesions if les.kind == LesionKind.TARGET)
        while f"{prefix}{n}" in by_label:
            n += 1
        label = f"{prefix}{n}"
    lesion = Lesion(case_id=case.id, kind=LesionKind.TARGET,
                    organ=(m.finding_site or UNSPECIFIED_ORGAN)[:128],
                    nodal=m.concept is LengthConcept.SHORT_AXIS, label=label,
                    tracking_uid=m.tracking_uid or generate_uid(), created_by=author,
                    created_at=utcnow())
    case.lesions.append(lesion)
    cases.store.add(lesion)
    return lesion
