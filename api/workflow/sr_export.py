"""A case's TID 1500 Measurement Report of one timepoint, built from what is stored."""

from __future__ import annotations

import datetime as dt

from pydicom import Dataset
from pydicom.uid import generate_uid

from api import __version__
from api.workflow.domain import Case, Lesion, MeasurementVersion, Publication
from api.workflow.ports import CaseStore, Study
from api.workflow.timeline import CurrentMeasurements
from imaging.sr import (
    DocumentReference,
    Fragment,
    LinearMeasurement,
    PatientInfo,
    SignOff,
    SourceImage,
    StudyInfo,
    TimepointReport,
    TimepointResponse,
    build_measurement_report,
    scoord_from_row_col,
)
from measurement.result import EvaluationResult
from measurement.vocabulary import Criteria, LesionKind, LesionStatus

ORGANIZATION = "Nadir"
SR_SERIES_NUMBER = 9001
PDF_SERIES_NUMBER = 9002


def patient_info(store: CaseStore, case: Case) -> PatientInfo:
    patient = store.patient(case.patient_id)
    assert patient is not None  # a case is only made for an indexed patient
    sex = patient.sex if patient.sex in ("M", "F", "O") else ""
    return PatientInfo(patient_id=patient.patient_id, name=patient.patient_name or "",
                       birth_date=patient.birth_date, sex=sex)


def study_info(study: Study) -> StudyInfo:
    time = None
    if study.study_time and study.study_time[:6].isdigit() and len(study.study_time) >= 6:
        t = study.study_time
        time = dt.time(int(t[:2]) % 24, int(t[2:4]) % 60, int(t[4:6]) % 60)
    return StudyInfo(study_instance_uid=study.study_instance_uid, date=study.study_date,
                     time=time, accession_number=study.accession_number or "")


def person_name(user_name: str) -> str:
    """A user name as a DICOM PN (PS3.5 6.2.1.2): one component, marked by a trailing caret."""
    return user_name if "^" in user_name else f"{user_name}^"


def _status(m: MeasurementVersion) -> LesionStatus | None:
    return LesionStatus(m.status) if m.status else None


def _source(store: CaseStore, sop_instance_uid: str, frame: int | None
            ) -> SourceImage | None:
    located = store.locate_instance(sop_instance_uid)
    if located is None:
        return None
    return SourceImage(sop_class_uid=located.sop_class_uid,
                       sop_instance_uid=located.sop_instance_uid,
                       study_instance_uid=located.study_instance_uid,
                       series_instance_uid=located.series_instance_uid, frame=frame)


def _split_or_merged(store: CaseStore, lesion: Lesion, m: MeasurementVersion
                     ) -> LinearMeasurement | None:
    """RECIST 1.1 s4.3.2: a split lesion's fragments, each with its caliper, or the
    Tracking UID of the lesion a coalesced one merged into; None for other readings, and
    for fragments whose images are no longer indexed (a partial sum would be wrong)."""
    if m.coalesced_into is not None:
        into = store.lesion(m.coalesced_into)
        if into is None:
            return None
        return LinearMeasurement(tracking_uid=lesion.tracking_uid, tracking_id=lesion.label,
                                 length_mm=None, source=None, polyline=None,
                                 finding_site=lesion.organ or None,
                                 coalesced_into=into.tracking_uid)
    fragments = []
    for f in m.fragments:
        source = _source(store, f.sop_instance_uid, f.frame)
        if source is None:
            return None
        (r1, c1), (r2, c2) = f.endpoints
        fragments.append(Fragment(length_mm=f.length_mm, source=source,
                                  polyline=scoord_from_row_col(((r1, c1), (r2, c2)))))
    return LinearMeasurement(
        tracking_uid=lesion.tracking_uid, tracking_id=lesion.label,
        length_mm=sum(f.length_mm for f in fragments), source=None, polyline=None,
        finding_site=lesion.organ or None, fragments=tuple(fragments))


def linear_measurement(
    store: CaseStore, lesion: Lesion, m: MeasurementVersion
) -> LinearMeasurement:
    if m.fragments or m.coalesced_into is not None:
        split = _split_or_merged(store, lesion, m)
        if split is not None:
            return split
    source = polyline = short_axis = point = None
    if m.sop_instance_uid and (m.endpoints or m.point):
        source = _source(store, m.sop_instance_uid, m.frame)
        if source is not None:
            if m.endpoints:
                polyline = scoord_from_row_col(m.endpoints)
            if m.point:
                (point,) = scoord_from_row_col([m.point])
            # Both diameters drawn: the short axis goes with its own polyline.
            if m.short_axis_endpoints and m.long_axis_mm is not None:
                short_axis = scoord_from_row_col(m.short_axis_endpoints)
    status = _status(m)
    length = m.length_mm
    # Only a caliper carries a length: a status (too small, not evaluable) or a non-target
    # assessment is reported as a qualitative evaluation instead.
    if status in (LesionStatus.NOT_EVALUABLE, LesionStatus.TOO_SMALL) \
            or lesion.kind == LesionKind.NON_TARGET:
        length = None
    return LinearMeasurement(
        tracking_uid=lesion.tracking_uid, tracking_id=lesion.label,
        length_mm=length if source is not None or status is not None else None,
        source=source, polyline=polyline, finding_site=lesion.organ or None,
        lesion_kind=LesionKind(lesion.kind), nodal=lesion.nodal, status=status,
        short_axis=short_axis, point=point,
        long_axis_mm=m.long_axis_mm if short_axis else None,
        short_axis_mm=m.short_axis_mm if short_axis else None,
        first_seen=lesion.first_timepoint if lesion.kind == LesionKind.NEW else None,
    )


def reference(p: Publication | None) -> DocumentReference | None:
    if p is None:
        return None
    return DocumentReference(sop_class_uid=p.sop_class_uid, sop_instance_uid=p.sop_instance_uid,
                             study_instance_uid=p.study_instance_uid,
                             series_instance_uid=p.series_instance_uid)


def timepoint_sr(
    store: CaseStore, case: Case, study: Study, current: CurrentMeasurements,
    result: EvaluationResult | None, *, now: dt.datetime,
    replaces: DocumentReference | None = None, sop_instance_uid: str | None = None,
) -> Dataset | None:
    """The TID 1500 report of one timepoint, or None when nothing was recorded there.

    The observer is whoever recorded the measurements shown (several measurers give
    several observers, the latest first); a signed-off timepoint also carries its
    verifying observer. Who downloads the report is not its observer.
    """
    lesions = {les.id: les for les in case.active_lesions}
    shown = [(lid, m) for (lid, tp), m in sorted(current.items())
             if tp == study.study_instance_uid and lid in lesions]
    if not shown:
        return None
    measured = [linear_measurement(store, lesions[lid], m) for lid, m in shown]
    signoff = case.signoff(study.study_instance_uid)
    report = TimepointReport(
        patient=patient_info(store, case), study=study_info(study),
        timepoint_id=study.study_instance_uid, measurements=tuple(measured),
        observer_names=measurers([m for _, m in shown]), content_datetime=now,
        series_number=SR_SERIES_NUMBER, response=_response(case, study, result),
        sign_off=SignOff(observer_name=person_name(signoff.signed_by),
                         organization=ORGANIZATION,
                         signed_at=signoff.signed_at) if signoff else None,
        replaces=replaces,
    )
    return build_measurement_report(
        report, sop_instance_uid=sop_instance_uid or generate_uid(),
        series_instance_uid=generate_uid(), software_version=__version__,
    )


def measurers(shown: list[MeasurementVersion]) -> tuple[str, ...]:
    """The authors of the measurements shown, as DICOM PNs, latest measurement first.

    Each author counts once, at their most recent measurement; equal times are ordered
    by name so that the same measurements always give the same observers.
    """
    latest: dict[str, dt.datetime] = {}
    for m in shown:
        if m.author not in latest or m.at > latest[m.author]:
            latest[m.author] = m.at
    ordered = sorted(sorted(latest), key=lambda author: latest[author], reverse=True)
    # Two user names may map to one PN ("ana" and "ana^"): name that person once.
    return tuple(dict.fromkeys(person_name(author) for author in ordered))


def _response(case: Case, study: Study, result: EvaluationResult | None
              ) -> TimepointResponse | None:
    if result is None:
        return None
    for row in result.timepoints:
        if row.timepoint.id == study.study_instance_uid and row.overall_response is not None:
            return TimepointResponse(
                criteria=Criteria(case.criteria), overall=row.overall_response.value,
                target=row.target_response.value if row.target_response else None,
                non_target=row.non_target_response.value if row.non_target_response else None,
                best_overall=result.best_overall_response.value,
            )
    return None


def measured_timepoints(timepoints: list[Study], current: CurrentMeasurements) -> list[Study]:
    used = {tp for (_, tp) in current}
    return [st for st in timepoints if st.study_instance_uid in used]
