"""Assembling a case's report: engine result, lesions, key images rendered from the PACS."""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO
from typing import Any

from pydicom import dcmread

from api import __version__
from api.report.key_images import (
    ENCODINGS,
    Encoding,
    KeyImageCache,
    KeyImageKey,
    key_images_for,
)
from api.report.model import (
    KeyImageView,
    LesionCell,
    LesionRow,
    MarkerPoint,
    MarkerSeries,
    ReportData,
    SecondReadingRow,
    SeriesPairView,
    TimepointRow,
)
from api.workflow.case_reader import CaseReader
from api.workflow.case_response import CaseResponse, TimepointState
from api.workflow.comparisons import pair_studies
from api.workflow.domain import Case, MeasurementVersion, PatientMarker, TimepointSignoff
from api.workflow.errors import NotEvaluable
from api.workflow.ports import CaseStore, LocatedInstance, Pacs, Series, Study
from api.workflow.readings import FinalReading, FinalResponse
from api.workflow.roles import READERS, Principal
from api.workflow.second_reading import CaseReadings, case_readings
from api.workflow.timeline import (
    SET_FOR_CASE,
    CurrentMeasurements,
    case_timepoints,
    left_out,
    scans,
    stored_length_mm,
)
from imaging.errors import ImagingError
from imaging.render import BONE, LIVER, LUNG, MEDIASTINUM, Window, render_key_image
from measurement.markers import judging_limit, levels_at_timepoints
from measurement.result import Response, TimepointResult
from measurement.vocabulary import LesionStatus, organ_key
from pacs.errors import PacsError

log = logging.getLogger(__name__)
RENDER_WORKERS = 4
MIN_CROP_MM = 50.0
CROP_FACTOR = 2.5  # crop side = 2.5 x the lesion's largest size, the same at every timepoint


def _f(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _window_for(organ: str) -> Window | None:
    """Window preset by organ; None keeps the image's own VOI (PS3.3 C.11.2)."""
    name = organ_key(organ)
    if "lung" in name or "pulmon" in name:
        return LUNG
    if "liver" in name or "hepat" in name:
        return LIVER
    if "bone" in name or "osse" in name or "spine" in name:
        return BONE
    if "node" in name or "lymph" in name or "mediastin" in name:
        return MEDIASTINUM
    return None


def read_report(reader: CaseReader, pacs: Pacs, who: Principal, case_id: int, kind: str, *,
                now: dt.datetime) -> tuple[ReportData, CaseResponse, FinalReading | None]:
    """The case's report for a reader, with the responses that count in a case read twice
    (None otherwise); the read is audited with its format."""
    case = reader.open_case(who, READERS, case_id)
    data, response, final = _report_data(reader, pacs, case, now=now,
                                         encoding=ENCODINGS.get(kind))
    reader.record(who, f"report_{kind}", case, "/report")
    return data, response, final


def build_report_data(reader: CaseReader, pacs: Pacs, case: Case, *,
                      now: dt.datetime) -> tuple[ReportData, CaseResponse]:
    """The report's content: incomplete timepoints carry the lesions they wait for and
    no figure (see :mod:`api.workflow.case_response`)."""
    data, response, _ = _report_data(reader, pacs, case, now=now)
    return data, response


def _report_data(reader: CaseReader, pacs: Pacs, case: Case, *, now: dt.datetime,
                 encoding: Encoding | None = None
                 ) -> tuple[ReportData, CaseResponse, FinalReading | None]:
    """``encoding``: the format's, for each key image rendered anew, in the thread that
    renders it (none: the pictures are encoded when a format first asks)."""
    # Loaded once for the whole report (the response, the lesions, the left-out studies
    # and the markers all read them).
    known = reader.case_studies(case)
    current = reader.current(case)
    marker_values = reader.store.markers_of(case.patient_id)
    response = reader.case_response(case, studies=known, current=current,
                                    markers=marker_values)
    studies = [state.study for state in response.states]
    if not studies:
        raise NotEvaluable(f"case {case.id} has no dated timepoint yet")
    result = response.result
    engine_rows = {r.timepoint.id: r for r in result.timepoints} if result else {}
    patient = reader.store.patient(case.patient_id)
    assert patient is not None
    signoffs = {s.timepoint_uid: s for s in case.signoffs}
    # A case read twice (issue 21): both readings, and the response that counts.
    found = None if case.review_of is not None else \
        case_readings(reader, case, first=response)
    final = None if found is None else found.final_reading
    rows = [_timepoint_row(state, engine_rows.get(state.timepoint_uid),
                           signoffs.get(state.timepoint_uid),
                           None if final is None else final.at(state.timepoint_uid))
            for state in response.states]
    best = response.best_overall_response
    final_best = None if final is None else final.best_overall_response
    data = ReportData(
        patient_id=patient.patient_id, patient_name=patient.patient_name or "",
        birth_date=patient.birth_date, sex=patient.sex if patient.sex in ("M", "F", "O") else None,
        case_id=str(case.id), criteria=case.criteria, generated_at=now,
        software_version=__version__, timepoints=tuple(rows),
        best_overall_response=best.value if best is not None else None,
        warnings=tuple((w.code.value, w.message) for w in result.warnings) if result else (),
        pairs=_pairs(reader.store, case, studies),
        lesions=_lesions(reader.store, pacs, case, studies, current, encoding),
        markers=_markers(marker_values, studies, case.marker_window_days),
        left_out=_left_out(known, case),
        second_reading=() if found is None else _second_reading(found),
        final_best_overall_response=_code(final_best),
    )
    return data, response, final


def _second_reading(found: CaseReadings) -> tuple[SecondReadingRow, ...]:
    """Both readings of each compared timepoint of a case read twice (issue 21)."""
    final = {f.timepoint_uid: f for f in found.final}
    rows = []
    for comparison in found.comparisons:
        for t in comparison.compared:
            f = final[t.timepoint_uid]
            decision = f.adjudication if f.source == "adjudicated" else None
            rows.append(SecondReadingRow(
                timepoint_id=t.timepoint_uid, review_case_id=comparison.review.id,
                primary_reader=t.primary.reader, reader=t.review.reader,
                primary_response=_code(t.primary.overall_response),
                review_response=_code(t.review.overall_response), agree=t.agree,
                final_response=_code(f.response), final_source=f.source,
                chosen_case_id=decision.chosen_case_id if decision else None,
                adjudicated_by=decision.adjudicated_by if decision else None,
                adjudication_reason=decision.reason if decision else None))
    return tuple(rows)


def _timepoint_row(state: TimepointState, r: TimepointResult | None,
                   so: TimepointSignoff | None, final: FinalResponse | None) -> TimepointRow:
    st = state.study
    assert st.study_date is not None  # timepoints are dated studies
    return TimepointRow(
        id=st.study_instance_uid, date=st.study_date, description=_described(st),
        sum_mm=_f(r.sum_mm) if r else None, nadir_mm=_f(r.nadir_mm) if r else None,
        change_from_baseline_pct=_f(r.change_from_baseline_pct) if r else None,
        change_from_nadir_pct=_f(r.change_from_nadir_pct) if r else None,
        change_from_nadir_mm=_f(r.change_from_nadir_mm) if r else None,
        target_response=_code(r.target_response) if r else None,
        non_target_response=_code(r.non_target_response) if r else None,
        new_lesions=r.new_lesions if r else None,
        overall_response=_code(r.overall_response) if r else None,
        mixed_response=r.mixed_response if r else None,
        signed_off_by=so.signed_by if so else None,
        signed_off_at=so.signed_at if so else None,
        missing=tuple(m.label for m in state.missing),
        markers_holding_back_cr=r.markers_holding_back_cr if r else (),
        split=tuple(s.lesion_id for s in r.split_lesions) if r else (),
        coalesced=tuple((c.lesion_id, c.into) for c in r.coalesced_lesions) if r else (),
        final_response=_code(final.response) if final else None,
        final_source=final.source if final else None)


def _left_out(known: list[Study], case: Case) -> tuple[tuple[str, str], ...]:
    """The patient's studies (``known``, as the case dates them) that are not timepoints
    of the case, and why."""
    gone = left_out(known, case_timepoints(known, case.baseline_study_uid))
    return tuple((f"{lo.study.description or 'study'} {lo.study.study_instance_uid}",
                  lo.reason) for lo in gone)


def _described(st: Study) -> str:
    """The study's description, saying where its date came from when not its StudyDate
    (the reader must know a date was inferred from a series or given by hand)."""
    note = "" if st.date_source in (None, "StudyDate") else (
        f"date {st.date_source}" if st.date_source == SET_FOR_CASE
        else f"date from {st.date_source}")
    return "; ".join(part for part in (st.description or "", f"({note})" if note else "")
                     if part)


def _code(value: Response | None) -> str | None:
    return value.value if value is not None else None


def _markers(values: list[PatientMarker], studies: list[Study], window_days: int
             ) -> tuple[MarkerSeries, ...]:
    """Each marker's levels from the baseline's window to the latest scan's window: the
    values the engine used carry their timepoint; levels drawn between scans are shown
    too, unattached, so that the trend is complete."""
    if not studies:
        return ()
    first = studies[0].study_date
    last = studies[-1].study_date
    assert first is not None and last is not None
    span = (first - dt.timedelta(days=window_days), last + dt.timedelta(days=window_days))
    series = []
    by_marker = levels_at_timepoints(values, scans(studies), window_days)
    names = [name for name, _ in by_marker]
    for (name, unit), chosen in by_marker.items():
        if not chosen:
            continue
        used = {v.id: tp for tp, v in chosen.items()}
        points = [MarkerPoint(date=v.date, value=v.value, timepoint_id=used.get(v.id))
                  for v in values if (v.name, v.unit) == (name, unit)
                  and span[0] <= v.date <= span[1]]
        points.sort(key=lambda p: (p.date, p.timepoint_id is None))
        series.append(MarkerSeries(
            # The same marker in two units is two series, told apart by the unit.
            name=name if names.count(name) == 1 else f"{name} ({unit or 'no unit'})",
            unit=unit, upper_limit_normal=judging_limit(chosen, studies[0].study_instance_uid),
            points=tuple(points)))
    return tuple(series)


def _pairs(store: CaseStore, case: Case, studies: list[Study]) -> tuple[SeriesPairView, ...]:
    """The series compared: the newest comparison of baseline vs. latest follow-up, if a
    radiologist or specialist made one, else the automatic pairing computed now."""
    if len(studies) < 2:
        return ()
    baseline, latest = studies[0], studies[-1]
    names = {s.series_instance_uid: _series_name(s) for st in (baseline, latest)
             for s in st.series}
    comparison = store.newest_comparison(case.patient_id, baseline.study_instance_uid,
                                         latest.study_instance_uid)
    if comparison is not None:
        return tuple(SeriesPairView(names.get(p.baseline_series_uid, p.baseline_series_uid),
                                    names.get(p.followup_series_uid, p.followup_series_uid),
                                    p.score, p.source) for p in comparison.pairs)
    pairing = pair_studies(baseline, latest)
    return tuple(SeriesPairView(names[p.baseline_series_uid], names[p.followup_series_uid],
                                min(1.0, max(0.0, p.score)), "auto") for p in pairing.pairs)


def _series_name(s: Series) -> str:
    return f"#{s.series_number if s.series_number is not None else '?'} " \
           f"{s.description or s.modality} ({s.instance_count} images)"


#: RECIST 1.1 s.4.3.2: a lesion too small to measure counts 5 mm in the sum.
TOO_SMALL_MM = 5.0


def _cell(tp: str, m: MeasurementVersion, labels: dict[int, str]) -> LesionCell:
    if m.coalesced_into is not None:  # RECIST 1.1 s4.3.2: 0 mm, inside the other lesion
        return LesionCell(timepoint_id=tp, value_mm=m.length_mm, status=None,
                          coalesced_into=labels.get(m.coalesced_into, "another lesion"))
    if m.fragments:  # RECIST 1.1 s4.3.2: the sum of the fragments' longest diameters
        return LesionCell(timepoint_id=tp, value_mm=m.length_mm, status=None,
                          fragments_mm=tuple(f.length_mm for f in m.fragments))
    if m.status is not None:
        value = TOO_SMALL_MM if m.status == LesionStatus.TOO_SMALL \
            else stored_length_mm(m.status, m.length_mm)
        return LesionCell(timepoint_id=tp, value_mm=value, status=m.status)
    return LesionCell(timepoint_id=tp, value_mm=m.length_mm, status=None,
                      long_axis_mm=m.long_axis_mm, short_axis_mm=m.short_axis_mm)


def _lesions(store: CaseStore, pacs: Pacs, case: Case, studies: list[Study],
             current: CurrentMeasurements, encoding: Encoding | None
             ) -> tuple[LesionRow, ...]:
    order = [st.study_instance_uid for st in studies]
    dates = {st.study_instance_uid: st.study_date for st in studies}
    jobs: list[_Job] = []
    cells: dict[int, list[LesionCell]] = {}
    labels = {les.id: les.label for les in case.lesions}
    # Where each caliper's image is in Orthanc: one query for every image of the report.
    located = store.locate_instances(
        caliper.sop_instance_uid for (lid, tp), m in current.items() if tp in dates
        for caliper in _calipers(m))
    for les in case.active_lesions:
        mine = sorted(((tp, m) for (lid, tp), m in current.items() if lid == les.id
                       and tp in dates), key=lambda item: order.index(item[0]))
        cells[les.id] = [_cell(tp, m, labels) for tp, m in mine]
        sizes = [m.length_mm for _, m in mine if m.length_mm]
        crop = max(MIN_CROP_MM, CROP_FACTOR * max(sizes, default=0.0))
        # Calipers' images, or where a non-target or new lesion was pointed at.
        jobs += [_Job(les.id, tp, m.id, index, caliper, crop, _window_for(les.organ),
                      _orthanc_id(located, caliper.sop_instance_uid))
                 for tp, m in mine for index, caliper in enumerate(_calipers(m))]
    # Fetching and rendering run in threads; the database session stays in this one.
    # Renderings already made for the same measurement version come from the cache.
    cache = key_images_for(pacs)
    if all(job.cache_key is not None and job.cache_key in cache for job in jobs):
        # Every image is cached: no threads to start (about 10 ms of a warm report).
        views = [_key_image(pacs, cache, job, dates, None) for job in jobs]
    else:
        with ThreadPoolExecutor(max_workers=RENDER_WORKERS) as pool:
            views = list(pool.map(
                lambda job: _key_image(pacs, cache, job, dates, encoding), jobs))
    images: dict[int, list[KeyImageView]] = {}
    for job, view in zip(jobs, views, strict=True):
        images.setdefault(job.lesion_id, []).append(view)
    rows = []
    for les in case.active_lesions:
        rows.append(LesionRow(label=les.label, kind=les.kind, organ=les.organ, nodal=les.nodal,
                              cells=tuple(cells[les.id]),
                              change_from_baseline_pct=_change(cells[les.id], order[0]),
                              images=tuple(images.get(les.id, ()))))
    return tuple(rows)


@dataclass(frozen=True)
class Caliper:
    """One caliper drawn on an image: a measurement's, or one fragment's of a split lesion."""

    sop_instance_uid: str
    frame: int | None
    endpoints: list[Any] | None
    length_mm: float | None
    #: A bidirectional measurement's short axis, drawn too.
    short_axis_endpoints: list[Any] | None = None
    #: Where a non-target or new lesion read by status lies (no caliper).
    point: list[Any] | None = None


def _calipers(m: MeasurementVersion) -> list[Caliper]:
    """The calipers of a reading: its own, or each fragment's (RECIST 1.1 s4.3.2)."""
    if m.fragments:
        return [Caliper(f.sop_instance_uid, f.frame, f.endpoints, f.length_mm)
                for f in m.fragments]
    if m.sop_instance_uid and (m.endpoints or m.point):
        # A node measured by its short axis alone has it as endpoints too: one line.
        short_axis = m.short_axis_endpoints if m.long_axis_mm is not None else None
        return [Caliper(m.sop_instance_uid, m.frame, m.endpoints, m.length_mm, short_axis,
                        m.point)]
    return []


def _change(cells: list[LesionCell], baseline: str) -> float | None:
    first = next((c for c in cells if c.timepoint_id == baseline), None)
    last = cells[-1] if cells else None
    if first is None or last is None or last is first or not first.value_mm \
            or last.value_mm is None or last.coalesced_into is not None:
        # A lesion merged into another has not shrunk: its size is in the other's.
        return None
    return round(100 * (last.value_mm - first.value_mm) / first.value_mm, 1)


@dataclass(frozen=True)
class _Job:
    """One key image to show: a caliper of a measurement version."""

    lesion_id: int
    timepoint_uid: str
    version_id: int
    caliper_index: int
    caliper: Caliper
    crop_mm: float
    window: Window | None
    orthanc_id: str | None

    @property
    def crop_mm_drawn(self) -> float | None:
        """The crop side; an image with no caliper (a pointed-at lesion) is not cropped."""
        return self.crop_mm if self.caliper.endpoints else None

    @property
    def cache_key(self) -> KeyImageKey | None:
        if self.orthanc_id is None:
            return None
        return KeyImageKey(self.version_id, self.caliper_index, self.orthanc_id,
                           self.caliper.frame or 1, self.window, self.crop_mm_drawn)


def _key_image(pacs: Pacs, cache: KeyImageCache, job: _Job, dates: dict[str, Any],
               encoding: Encoding | None) -> KeyImageView:
    tp, m, window, orthanc_id = job.timepoint_uid, job.caliper, job.window, job.orthanc_id
    crop_mm = job.crop_mm_drawn
    base = {"timepoint_id": tp, "timepoint_date": dates[tp], "sop_instance_uid":
            m.sop_instance_uid, "length_mm": m.length_mm}
    try:
        cache_key = job.cache_key
        if orthanc_id is None or cache_key is None:
            raise KeyError(f"instance {m.sop_instance_uid} is no longer indexed")
        cached = cache.get(cache_key)
        if cached is None:
            ds = dcmread(BytesIO(pacs.instance_file(orthanc_id)))
            marker = (float(m.point[0]), float(m.point[1])) if m.point else None
            cached = render_key_image(ds, frame=m.frame or 1, endpoints=_line(m.endpoints),
                                      length_mm=m.length_mm if m.endpoints else None,
                                      window=window, crop_mm=crop_mm,
                                      short_axis=_line(m.short_axis_endpoints), marker=marker)
            cache.put(cache_key, cached)
        key = cached
        if encoding is not None:  # here, in parallel with the other images' rendering
            encoding.encode(key.crop)
            encoding.encode(key.thumbnail)
    except (ImagingError, PacsError, OSError, ValueError, KeyError) as exc:
        # One undecodable image must not sink the report: it is named instead.
        return KeyImageView(**base, crop=None, thumbnail=None, window_name="",
                            scale_bar_mm=None,
                            error=f"image {m.sop_instance_uid} could not be shown: {exc}")
    return KeyImageView(**base, crop=key.crop, thumbnail=key.thumbnail,
                        window_name=key.window.name or "image window",
                        scale_bar_mm=key.crop_scale_bar_mm, error=None)


def _line(points: list[Any] | None) -> tuple[tuple[float, float], tuple[float, float]] | None:
    if not points:
        return None
    (r1, c1), (r2, c2) = points
    return (float(r1), float(c1)), (float(r2), float(c2))


def _orthanc_id(located: dict[str, LocatedInstance], sop_instance_uid: str | None
                ) -> str | None:
    found = located.get(sop_instance_uid) if sop_instance_uid else None
    return found.orthanc_id if found else None


def report_pdf(reader: CaseReader, pacs: Pacs, case: Case, now: dt.datetime) -> bytes:
    """The case's PDF report (what ``publish`` stores as an Encapsulated PDF)."""
    from api.report.render import render_pdf

    data, _ = build_report_data(reader, pacs, case, now=now)
    pdf: bytes = render_pdf(data)
    return pdf
