"""Fills the index's series metadata from Orthanc after ingest (api/adapters/series_metadata.py
says what is kept and why): one worker thread, one series at a time."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from api.adapters.series_metadata import SeriesMetadataStore
from pacs.dicomjson import MetadataRefused, split_series_metadata
from pacs.dicomweb_routes import is_uid
from pacs.errors import OrthancNotFound
from pacs.metadata import SeriesRecord
from pacs.orthanc import OrthancClient

log = logging.getLogger(__name__)
#: A series' worth of queued fills at most; past that, new ones are dropped (the request
#: that finds the series unfilled queues it again).
QUEUE_LIMIT = 10_000
#: While Orthanc is still receiving series, a fill waits (checking this often), at most
#: :data:`MAX_DEFER_S`: Orthanc reads every file of the series to answer, work that would
#: compete with its own ingest (until then the proxy answers from Orthanc).
DEFER_CHECK_S = 0.5
MAX_DEFER_S = 60.0


class MetadataFiller:
    """A worker thread that fills a series' metadata from Orthanc, one series at a time.

    ``want`` queues a series (idempotent while it is queued); ingest calls it through
    :meth:`observe` for every series it indexes, the proxy for a series it found unfilled.
    """

    def __init__(self, store: SeriesMetadataStore,
                 client_factory: Callable[[], OrthancClient], *,
                 receiving: Callable[[], bool] = lambda: False) -> None:
        self._store = store
        self._receiving = receiving
        self._stopping = threading.Event()
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
            self._stopping.set()
            self._queue.put(None)
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        with self._client_factory() as client:
            while (key := self._queue.get()) is not None:
                with self._lock:
                    self._queued.discard(key)
                self._defer_while_receiving()
                try:
                    self.fill(client, *key)
                except Exception as exc:  # a bad series must not stop the worker
                    # Type only: messages may quote UIDs or values.
                    log.warning("series metadata not stored (%s)", type(exc).__name__)

    def _defer_while_receiving(self) -> None:
        waited = 0.0
        while waited < MAX_DEFER_S and not self._stopping.is_set():
            try:
                if not self._receiving():
                    return
            except Exception:  # the database briefly down: fill now
                return
            self._stopping.wait(DEFER_CHECK_S)
            waited += DEFER_CHECK_S

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
