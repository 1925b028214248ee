"""The database side of ingest: implements pacs.feed.IndexSink with idempotent upserts."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.db.models import (
    FeedState,
    Instance,
    Patient,
    PendingSeries,
    Series,
    Study,
    cases_table,
    comparisons_table,
    measurement_versions_table,
    timepoint_signoffs_table,
)
from pacs.metadata import DATE_SOURCES, InstanceRecord, SeriesRecord

_comparisons = comparisons_table.c

CURSOR_KEY = "orthanc_changes"
log = logging.getLogger(__name__)


class DatabaseIndex:
    def __init__(self, sessions: sessionmaker[Any]) -> None:
        self._sessions = sessions

    def load_cursor(self) -> int:
        with self._sessions() as s:
            state = s.get(FeedState, CURSOR_KEY)
            return state.value if state else 0

    def save_cursor(self, seq: int) -> None:
        with self._sessions.begin() as s:
            state = s.get(FeedState, CURSOR_KEY)
            if state is None:
                s.add(FeedState(key=CURSOR_KEY, value=seq))
            else:
                state.value = seq

    def add_pending(self, series_ids: list[str]) -> None:
        with self._sessions.begin() as s:
            known = set(
                s.scalars(select(PendingSeries.orthanc_id).where(
                    PendingSeries.orthanc_id.in_(series_ids)))
            )
            for series_id in dict.fromkeys(series_ids):
                if series_id not in known:
                    s.add(PendingSeries(orthanc_id=series_id))

    def pending(self) -> list[str]:
        with self._sessions() as s:
            return list(s.scalars(select(PendingSeries.orthanc_id).order_by(PendingSeries.seen_at)))

    def drop_pending(self, series_id: str) -> None:
        with self._sessions.begin() as s:
            s.execute(delete(PendingSeries).where(PendingSeries.orthanc_id == series_id))

    def indexed_series(self) -> dict[str, int]:
        with self._sessions() as s:
            return {oid: n for oid, n in s.execute(select(Series.orthanc_id,
                                                          Series.instance_count))}

    def forget_series(self, series_ids: list[str]) -> None:
        """Mirror a deletion in Orthanc: the series and their instances leave the index, and
        so do the studies and patients left without series, except what a case or a
        comparison refers to.

        A study that is a case's baseline, carries a case's measurement or sign-off, or is
        one side of a comparison stays as the record of that timepoint, with the series
        that remain (possibly none), so the case keeps every measurement and shows that
        images are missing; its patient stays too. A patient left without a study goes,
        as it has from Orthanc; its tumour markers, kept by PatientID, are shown again
        when its images come back. If the images are sent again, they join these rows
        (upserts by UID).
        """
        if not series_ids:
            return
        with self._sessions.begin() as s:
            doomed = list(s.scalars(select(Series).where(Series.orthanc_id.in_(series_ids))))
            study_pks = {series.study_pk for series in doomed}
            for series in doomed:
                s.execute(delete(Instance).where(Instance.series_pk == series.id))
                s.delete(series)
            s.flush()
            for study in s.scalars(select(Study).where(Study.id.in_(study_pks))):
                if study.series or _study_in_use(s, study.study_instance_uid):
                    continue
                s.delete(study)
            s.flush()
            _drop_empty_patients(s)

    def record_series(self, record: SeriesRecord) -> None:
        """Upsert patient, study, series and its instances, keyed by their DICOM UIDs."""
        for attempt in range(3):
            try:
                with self._sessions.begin() as s:
                    self._upsert(s, record)
                return
            except IntegrityError:
                # Another writer inserted the same UID between our read and write: retry,
                # the second pass finds the row and updates it.
                if attempt == 2:
                    raise

    def _upsert(self, s: Session, record: SeriesRecord) -> None:
        p = record.patient
        if _held_by_another_patient(s, record):
            return
        patient = s.scalar(select(Patient).where(Patient.patient_id == p.patient_id))
        if patient is None:
            patient = Patient(patient_id=p.patient_id)
            s.add(patient)
        patient.patient_name, patient.birth_date, patient.sex = p.patient_name, p.birth_date, p.sex
        s.flush()
        st = record.study
        study = s.scalar(select(Study).where(Study.study_instance_uid == st.study_instance_uid))
        if study is None:
            study = Study(study_instance_uid=st.study_instance_uid, patient_pk=patient.id,
                          orthanc_id=st.orthanc_id)
            s.add(study)
        study.patient_pk = patient.id
        study.orthanc_id = st.orthanc_id
        study.study_date, study.date_source = better_date(
            (study.study_date, study.date_source), (st.study_date, st.date_source))
        study.study_time = st.study_time
        study.accession_number, study.description = st.accession_number, st.description
        s.flush()
        d = record.series
        series = s.scalar(select(Series).where(Series.series_instance_uid == d.series_instance_uid))
        if series is None:
            series = Series(series_instance_uid=d.series_instance_uid, study_pk=study.id,
                            orthanc_id=record.orthanc_id, modality=d.modality, instance_count=0)
            s.add(series)
        series.study_pk = study.id
        series.orthanc_id = record.orthanc_id
        series.modality = d.modality
        series.sop_class_uid = d.sop_class_uid
        series.body_part = d.body_part
        series.description = d.description
        series.protocol = d.protocol
        series.series_number = d.series_number
        series.image_type = list(d.image_type) or None
        series.convolution_kernel = d.convolution_kernel
        series.slice_thickness_mm = d.slice_thickness_mm
        series.pixel_spacing_mm = list(d.pixel_spacing_mm) if d.pixel_spacing_mm else None
        series.orientation = list(d.orientation) if d.orientation else None
        series.frame_of_reference_uid = d.frame_of_reference_uid
        series.contrast_agent = d.contrast_agent
        series.instance_count = d.instance_count
        series.z_min_mm, series.z_max_mm = d.z_range_mm if d.z_range_mm else (None, None)
        s.flush()
        self._sync_instances(s, series, record)

    @staticmethod
    def _sync_instances(s: Session, series: Series, record: SeriesRecord) -> None:
        existing = {
            i.sop_instance_uid: i
            for i in s.scalars(select(Instance).where(Instance.series_pk == series.id))
        }
        in_orthanc = {inst.sop_instance_uid for inst in record.instances}
        for uid, gone in existing.items():
            if uid not in in_orthanc:  # deleted in Orthanc since the series was indexed
                s.delete(gone)
        for inst in record.instances:
            row = existing.get(inst.sop_instance_uid)
            if row is None:
                s.add(Instance(sop_instance_uid=inst.sop_instance_uid, series_pk=series.id,
                               orthanc_id=inst.orthanc_id, instance_number=inst.instance_number,
                               position_mm=inst.position_mm, frames=_frames(inst)))
            else:
                row.orthanc_id = inst.orthanc_id
                row.instance_number = inst.instance_number
                row.position_mm = inst.position_mm
                row.frames = _frames(inst)


def _frames(inst: InstanceRecord) -> list[Any] | None:
    """The stored form of a multi-frame image's frames (see ``Instance.frames``)."""
    if not inst.frames:
        return None
    return [{"frame": f.frame, "position_mm": f.position_mm,
             "image_position": list(f.image_position) if f.image_position else None}
            for f in inst.frames]


def better_date(held: tuple[dt.date | None, str | None],
                new: tuple[dt.date | None, str | None]) -> tuple[dt.date | None, str | None]:
    """The study's date when one more of its series is indexed: a StudyDate wins (it is
    the same in every series); otherwise the earliest date found, since a study begins
    with its first series."""
    if new[1] == DATE_SOURCES[0] or held[0] is None:
        return new if new[0] is not None or held[0] is None else held
    if held[1] == DATE_SOURCES[0] or new[0] is None:
        return held
    return new if new[0] < held[0] else held


def _study_in_use(s: Session, study_uid: str) -> bool:
    """Whether a case or a comparison refers to the study (see forget_series)."""
    uses = (
        select(cases_table.c.id).where(cases_table.c.baseline_study_uid == study_uid),
        select(measurement_versions_table.c.id).where(
            measurement_versions_table.c.timepoint_uid == study_uid),
        select(timepoint_signoffs_table.c.id).where(
            timepoint_signoffs_table.c.timepoint_uid == study_uid),
        select(_comparisons.id).where(or_(_comparisons.baseline_study_uid == study_uid,
                                        _comparisons.followup_study_uid == study_uid)),
    )
    return any(s.scalar(use.limit(1)) is not None for use in uses)


def _held_by_another_patient(s: Session, record: SeriesRecord) -> bool:
    """Whether the record's Study Instance UID is indexed under another PatientID.

    Orthanc keys a study under its patient, so one UID sent under two PatientIDs (even
    ``'id1 '`` and ``'id1'``) is two studies there; the index keys it by UID alone. The
    study stays with the patient it came with first (a case may hang on it), and says
    which other PatientIDs Orthanc also holds it under (``other_patient_ids``), rather
    than moving between patients at each arrival.
    """
    study = s.scalar(select(Study).where(
        Study.study_instance_uid == record.study.study_instance_uid))
    if study is None or study.patient.patient_id == record.patient.patient_id:
        return False
    others = list(study.other_patient_ids or [])
    if record.patient.patient_id not in others:
        study.other_patient_ids = [*others, record.patient.patient_id]
    # Orthanc identifiers only: PatientIDs are patient data.
    log.warning("Orthanc study %s has the Study Instance UID of indexed study %s under "
                "another PatientID: not indexed, flagged", record.study.orthanc_id,
                study.orthanc_id)
    return True


def _drop_empty_patients(s: Session) -> None:
    """Patients with no study left leave the index, as they leave Orthanc. (A patient
    with a case keeps its baseline study, which is in use, see forget_series.)"""
    s.execute(delete(Patient).where(~select(Study.id).where(
        Study.patient_pk == Patient.id).exists()))
