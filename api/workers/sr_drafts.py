"""SR documents arriving in the PACS from a viewer become drafts on the patient's cases.

A radiologist who measures in a viewer connected to the same Orthanc (OHIF over DICOMweb)
saves a TID 1500 report there; the change feed brings the new SR series here, and each
case of that patient gets a draft that a radiologist confirms or rejects.
"""

from __future__ import annotations

import logging
from io import BytesIO
from typing import Any

from pydicom import dcmread
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from api.db.models import (
    Instance,
    Patient,
    Series,
    SrDraft,
    Study,
    cases_table,
    publications_table,
)
from imaging.errors import ImagingError
from imaging.sr import read_measurement_report
from pacs.errors import PacsError
from pacs.metadata import SeriesRecord
from pacs.orthanc import OrthancClient

_publications = publications_table.c

log = logging.getLogger(__name__)
SR_MODALITY = "SR"
OWN_MANUFACTURER = "Nadir"


class SrDraftCollector:
    """A change-feed observer: called with every newly indexed series."""

    def __init__(self, sessions: sessionmaker[Any], orthanc: OrthancClient) -> None:
        self._sessions = sessions
        self._orthanc = orthanc

    def __call__(self, record: SeriesRecord) -> None:
        if record.series.modality != SR_MODALITY:
            return
        with self._sessions() as s:
            cases = list(s.scalars(select(cases_table.c.id).where(
                cases_table.c.patient_id == record.patient.patient_id)))
            ours = set(s.scalars(select(_publications.sop_instance_uid).where(
                _publications.sop_instance_uid.in_([i.sop_instance_uid
                                                  for i in record.instances]))))
        if not cases:
            return
        for instance in record.instances:
            if instance.sop_instance_uid not in ours:
                self._collect(instance.orthanc_id, cases)

    def collect_existing(self, case_id: int, patient_id: str) -> None:
        """Draft the SRs of the patient that arrived before the case was created."""
        with self._sessions() as s:
            rows = s.execute(
                select(Instance.orthanc_id, Instance.sop_instance_uid)
                .join(Series, Instance.series_pk == Series.id)
                .join(Study, Series.study_pk == Study.id)
                .join(Patient, Study.patient_pk == Patient.id)
                .where(Patient.patient_id == patient_id, Series.modality == SR_MODALITY)
            ).all()
            ours = set(s.scalars(select(_publications.sop_instance_uid)))
        for orthanc_id, sop_uid in rows:
            if sop_uid not in ours:
                self._collect(orthanc_id, [case_id])

    def _collect(self, orthanc_id: str, cases: list[int]) -> None:
        try:
            ds = dcmread(BytesIO(self._orthanc.instance_file(orthanc_id)))
            if str(ds.get("Manufacturer", "")) == OWN_MANUFACTURER:
                return
            report = read_measurement_report(ds)
        except (ImagingError, PacsError, ValueError, EOFError) as exc:
            # Not a measurement report (or unreadable): nothing to draft.
            log.info("SR instance skipped: %s", type(exc).__name__)
            return
        summary = {"study_instance_uid": report.study_instance_uid,
                   "title": report.title, "observers": list(report.observer_names),
                   "measurements": len(report.measurements),
                   "not_mapped": len(report.not_mapped)}
        for case_id in cases:
            try:
                with self._sessions.begin() as s:
                    s.add(SrDraft(case_id=case_id, sop_instance_uid=report.sop_instance_uid,
                                  orthanc_id=orthanc_id, summary=summary))
            except IntegrityError:
                pass  # already drafted: the change feed can replay a series
