"""Series metadata from the index: ``/dicom-web/studies/{s}/series/{se}/metadata`` in one query.

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
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import sessionmaker

from api.db.models import Instance, Series, Study
from pacs.dicomjson import (
    InstanceJson,
    MetadataRefused,
    join_series_metadata,
    split_series_metadata,
)
from pacs.dicomweb_routes import is_uid
from pacs.errors import OrthancNotFound
from pacs.metadata import SeriesRecord
from pacs.orthanc import OrthancClient

log = logging.getLogger(__name__)
#: A series' worth of queued fills at most; past that, new ones are dropped (the request
#: that finds the series unfilled queues it again).
QUEUE_LIMIT = 10_000


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


class MetadataFiller:
    """A worker thread that fills a series' metadata from Orthanc, one series at a time.

    ``want`` queues a series (idempotent while it is queued); ingest calls it through
    :meth:`observe` for every series it indexes, the proxy for a series it found unfilled.
    """

    def __init__(self, store: SeriesMetadataStore,
                 client_factory: Callable[[], OrthancClient]) -> None:
        self._store = store
        self._client_factory = client_factory
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue(QUEUE_LIMIT)
        self._queued: set[tuple[str, str]] = set()
        #: Series whose metadata holds bulk data the viewer needs: Orthanc answers them.
        self._refused: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.filled_series = 0

    def observe(self, record: SeriesRecord) -> None:
        """Observer of the change-feed follower: a series was (re)indexed."""
        key = (record.study.study_instance_uid, record.series.series_instance_uid)
        with self._lock:
            self._refused.discard(key)  # it changed: try again
        self.want(*key)

    def want(self, study_uid: str, series_uid: str) -> None:
        if not (is_uid(study_uid) and is_uid(series_uid)):
            return
        key = (study_uid, series_uid)
        with self._lock:
            if key in self._queued or key in self._refused:
                return
            self._queued.add(key)
        try:
            self._queue.put_nowait(key)
        except queue.Full:
            with self._lock:
                self._queued.discard(key)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="nadir-series-metadata",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        with self._client_factory() as client:
            while (key := self._queue.get()) is not None:
                with self._lock:
                    self._queued.discard(key)
                try:
                    self.fill(client, *key)
                except Exception as exc:  # a bad series must not stop the worker
                    # Type only: messages may quote UIDs or values.
                    log.warning("series metadata not stored (%s)", type(exc).__name__)

    def fill(self, client: OrthancClient, study_uid: str, series_uid: str) -> int:
        """Ask Orthanc for the series' metadata once and keep it; how many instances took it."""
        try:
            body = client.series_dicom_json(study_uid, series_uid)
        except OrthancNotFound:
            return 0  # deleted meanwhile
        try:
            instances = split_series_metadata(body)
        except MetadataRefused:
            with self._lock:
                self._refused.add((study_uid, series_uid))
            raise
        stored = self._store.store(study_uid, series_uid, instances)
        self.filled_series += 1
        return stored
