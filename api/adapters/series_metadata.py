"""Series metadata from the index: ``/dicom-web/studies/{s}/series/{se}/metadata`` in
one query (the store; api/workers/series_metadata.py fills it).

Orthanc's DICOMweb plugin (1.7) reads every file of a series to answer its metadata (about
0.9 s for 300 slices), and the viewer waits for it before its first image. Nadir keeps each
instance's DICOM JSON without bulk data in its index (``instances.dicom_json``, cut from
Orthanc's own answer by :mod:`pacs.dicomjson`, so every attribute is Orthanc's text) and
answers from there. Orthanc stays the source of pixels and of everything else.

When: after ingest indexes a series (an observer of the change-feed follower), a worker
thread asks Orthanc once for the series' metadata and stores it. Until every indexed
instance of the series has its JSON (a series just indexed, one that grew, an index older
than this store), the proxy passes the request to Orthanc as before and the series is
queued to be filled.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import sessionmaker

from api.db.models import Instance, Series, Study
from pacs.dicomjson import InstanceJson, join_series_metadata


@dataclass(frozen=True)
class SeriesMetadata:
    """The answer: a DICOM JSON array and its entity tag (a digest of the bytes)."""

    body: bytes
    etag: str


class SeriesMetadataStore:
    """Reads and writes ``instances.dicom_json``."""

    def __init__(self, sessions: sessionmaker[Any]) -> None:
        self._sessions = sessions

    def answer(self, study_uid: str, series_uid: str) -> SeriesMetadata | None:
        """The series' metadata, or None while any indexed instance of it has none."""
        with self._sessions() as s:
            rows = s.scalars(
                select(Instance.dicom_json)
                .join(Series, Instance.series_pk == Series.id)
                .join(Study, Series.study_pk == Study.id)
                .where(Series.series_instance_uid == series_uid,
                       Study.study_instance_uid == study_uid)
                .order_by(Instance.instance_number, Instance.id)).all()
        if not rows or any(row is None for row in rows):
            return None
        body = join_series_metadata([row.encode("utf-8") for row in rows if row is not None])
        return SeriesMetadata(body, f'"md-{hashlib.sha256(body).hexdigest()[:32]}"')

    def store(self, study_uid: str, series_uid: str, instances: list[InstanceJson]) -> int:
        """Keep each instance's JSON on the index's row of it; return how many rows took one.
        Instances Orthanc has and the index does not (yet) are left out."""
        with self._sessions.begin() as s:
            series_pk = s.scalar(select(Series.id).join(Study, Series.study_pk == Study.id)
                                 .where(Series.series_instance_uid == series_uid,
                                        Study.study_instance_uid == study_uid))
            if series_pk is None or not instances:
                return 0
            table = cast(Table, Instance.__table__)
            result = s.connection().execute(
                update(table)
                .where(table.c.series_pk == series_pk,
                       table.c.sop_instance_uid == bindparam("uid"))
                .values(dicom_json=bindparam("text")),
                [{"uid": i.sop_instance_uid, "text": i.text} for i in instances])
            return int(result.rowcount or 0)
