"""Follow Orthanc's change feed and hand stable series to an index.

Orthanc numbers every change (``/changes``, field ``Seq``) and keeps them in its own
database, so a cursor kept on our side makes the follower restartable: after a crash we
replay from the last saved cursor and the index upserts by UID, so nothing is lost and
nothing is duplicated.

Orthanc forgets which resources were still unstable when it stops, so a series whose
``StableSeries`` event never came is remembered as *pending* from its ``NewSeries``
event and swept: once Orthanc reports it stable (``IsStable``), it is indexed.

Deletions are mirrored by comparing counts. Orthanc's ``/changes`` does not report them:
its change log refers to resources (``Changes.internalId REFERENCES Resources ON DELETE
CASCADE`` in Orthanc's schema), so deleting a resource deletes its changes, and a
``Deleted`` change is only told to plugins and Lua scripts (seen on Orthanc 1.10.1: a
deleted study leaves no trace in ``/changes``). Every sweep compares the index with
``/statistics``; when the index holds more series or instances than Orthanc, the series
Orthanc no longer lists are forgotten, and series that lost instances are re-indexed. A
``Deleted`` change, if a future Orthanc logs one, starts the same comparison at once.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

from pacs.errors import OrthancNotFound, OrthancUnavailable, PacsError
from pacs.metadata import SeriesRecord, fetch_series_record
from pacs.orthanc import Change, OrthancClient

log = logging.getLogger(__name__)

PAGE_SIZE = 500
MAX_BACKOFF_S = 10.0


class IndexSink(Protocol):
    """Where the follower writes; the service implements it over its database."""

    def load_cursor(self) -> int: ...

    def save_cursor(self, seq: int) -> None: ...

    def add_pending(self, series_ids: list[str]) -> None: ...

    def pending(self) -> list[str]: ...

    def drop_pending(self, series_id: str) -> None: ...

    def record_series(self, record: SeriesRecord) -> None: ...

    def indexed_series(self) -> dict[str, int]: ...

    def forget_series(self, series_ids: list[str]) -> None:
        """Remove series Orthanc no longer holds (and what they leave empty) from the index."""


class SeriesObserver(Protocol):
    def __call__(self, record: SeriesRecord) -> None: ...


class InstanceMetadataObserver(Protocol):
    """Told the Orthanc id of an instance whose metadata changed (``UpdatedMetadata``)."""

    def __call__(self, instance_id: str) -> None: ...


@dataclass
class FeedStatus:
    cursor: int = 0
    orthanc_reachable: bool = False
    last_error: str | None = None
    indexed_series: int = 0
    last_poll_at: float | None = None
    #: Posts from Orthanc that a series is stable (pacs/stable_push.py), and the last one's
    #: time (epoch seconds).
    pushes: int = 0
    last_push_at: float | None = None


@dataclass
class ChangeFeedFollower:
    client: OrthancClient
    sink: IndexSink
    observers: list[SeriesObserver] = field(default_factory=list)
    metadata_observers: list[InstanceMetadataObserver] = field(default_factory=list)
    status: FeedStatus = field(default_factory=FeedStatus)
    _woken: threading.Event = field(default_factory=threading.Event, repr=False)
    #: Pending series that Orthanc reported stable at the last sweep (see sweep_pending).
    _stable_at_last_sweep: set[str] = field(default_factory=set, repr=False)

    def wake(self) -> None:
        """Read the feed now rather than at the end of the pause (also ends a pause so
        that a set ``stop`` is seen)."""
        self._woken.set()

    def pushed(self) -> None:
        """Orthanc posted that a series is stable: read the change it logged now."""
        self.status.pushes += 1
        self.status.last_push_at = time.time()
        self.wake()

    def step(self) -> int:
        """Process one page of changes; return how many changes were read."""
        cursor = self.sink.load_cursor()
        page = self.client.changes(cursor, PAGE_SIZE)
        self.status.orthanc_reachable = True
        new_series = [c.orthanc_id for c in page.changes if c.change_type == "NewSeries"]
        if new_series:
            self.sink.add_pending(new_series)
        for change in page.changes:
            self._apply(change)
        if any(c.change_type == "Deleted" for c in page.changes):
            self.mirror_deletions(force=True)
        if page.changes or page.last != cursor:
            self.sink.save_cursor(page.last)
        self.status.cursor = page.last
        return len(page.changes)

    def _apply(self, change: Change) -> None:
        if change.change_type == "StableSeries":
            self.index_series(change.orthanc_id)
        elif change.change_type == "UpdatedMetadata" and change.resource_type == "Instance":
            for observer in self.metadata_observers:
                try:
                    observer(change.orthanc_id)
                except PacsError:
                    raise  # Orthanc unreachable: the page is read again
                except Exception as exc:  # an observer must not stop ingest
                    log.error("instance observer failed (%s)", type(exc).__name__)

    def index_series(self, series_id: str) -> bool:
        try:
            record = fetch_series_record(self.client, series_id)
        except OrthancNotFound:
            # Deleted from Orthanc before we got to it: nothing to index.
            self.sink.drop_pending(series_id)
            return False
        self.sink.record_series(record)
        self.sink.drop_pending(series_id)
        self.status.indexed_series += 1
        for observer in self.observers:
            try:
                observer(record)
            except Exception as exc:  # an observer must not stop ingest
                # Type only: messages of database errors can carry patient data.
                log.error("series observer failed (%s)", type(exc).__name__)
        return True

    def sweep_pending(self) -> int:
        """Index pending series that Orthanc now reports stable (e.g. after its restart).

        Orthanc answers ``IsStable`` from memory before the ``StableSeries`` change it
        logs can be read (on a PostgreSQL index, up to a second later under load), so a
        series is indexed here only when it was stable and pending at the sweep before
        too: in between, the feed was read, and a change that was on its way has indexed
        it (measured: without this, 3 of 8 series of a study pair were read and written
        twice on PostgreSQL)."""
        done = 0
        stable_now: set[str] = set()
        for series_id in self.sink.pending():
            try:
                stable = bool(self.client.series(series_id).get("IsStable"))
            except OrthancNotFound:
                self.sink.drop_pending(series_id)
                continue
            if not stable:
                continue
            if series_id not in self._stable_at_last_sweep:
                stable_now.add(series_id)
            elif self.index_series(series_id):
                done += 1
        self._stable_at_last_sweep = stable_now
        return done

    def reconcile(self) -> int:
        """Mark indexed series whose instance count Orthanc now reports differently as pending.

        Orthanc announces no series-level change when instances join a series it already
        has; if it restarts before that series is stable again, no StableSeries follows.
        Run after (re)connecting to Orthanc; the pending sweep then re-indexes them.
        """
        changed = []
        for series_id, count in self.sink.indexed_series().items():
            try:
                instances = self.client.series(series_id).get("Instances", [])
            except OrthancNotFound:
                self.sink.forget_series([series_id])  # deleted in Orthanc
                continue
            if len(instances) != count:
                changed.append(series_id)
        if changed:
            self.sink.add_pending(changed)
        return len(changed)

    def mirror_deletions(self, *, force: bool = False) -> int:
        """Forget what was deleted in Orthanc; return how many series were forgotten.

        Cheap when nothing was deleted: one ``/statistics`` read against the index's own
        counts. Orthanc holding more than the index is ingest in progress; the index holding
        more means deletions. A deletion while other series are still being indexed shows
        once they are.
        """
        indexed = self.sink.indexed_series()
        if not indexed:
            return 0
        stats = self.client.statistics()
        in_orthanc = int(stats.get("CountInstances", 0))
        if not force and len(indexed) <= int(stats.get("CountSeries", 0)) \
                and sum(indexed.values()) <= in_orthanc:
            return 0
        present = set(self.client.resource_ids("series"))
        gone = [series_id for series_id in indexed if series_id not in present]
        if gone:
            self.sink.forget_series(gone)
            log.info("forgot %d series deleted in Orthanc", len(gone))
        if sum(n for series_id, n in indexed.items() if series_id in present) > in_orthanc:
            self.reconcile()  # instances deleted from series that remain: re-index those
        return len(gone)

    def run(self, stop: threading.Event, *, interval_s: float = 0.2,
            pushed_interval_s: float | None = None, pushes_expected: bool = False) -> None:
        """Follow the feed until ``stop`` is set (then :meth:`wake`), backing off while
        Orthanc is down. Once Orthanc has posted a stable series (:meth:`pushed`), or from
        the start when ``pushes_expected`` (Orthanc was configured to post), the pause
        between reads is ``pushed_interval_s``: each post wakes the follower, and the poll
        is left to catch what a lost post would miss."""
        backoff = interval_s
        sweep_every_s = 2.0
        last_sweep = 0.0
        reconciled = False
        while not stop.is_set():
            # Cleared before the read: a post that arrives during it ends the next pause.
            self._woken.clear()
            try:
                read = self.step()
                if not reconciled:
                    self.reconcile()
                    reconciled = True
                now = time.monotonic()
                if now - last_sweep >= sweep_every_s:
                    self.sweep_pending()
                    self.mirror_deletions()
                    last_sweep = now
                self.status.last_error = None
                self.status.last_poll_at = time.time()
                told = pushes_expected or self.status.pushes > 0
                backoff = interval_s if pushed_interval_s is None or not told \
                    else max(interval_s, pushed_interval_s)
                if read >= PAGE_SIZE:
                    continue  # a full page: more is waiting, read it now
                # Caught up: the next read waits the pause even when this one found changes.
                # While a push is under way every read finds a few new instances, and
                # reading again at once asked Orthanc for its changes back to back (each
                # request through its Lua filter, under one lock) while it stored them.
            except OrthancUnavailable as exc:
                self.status.orthanc_reachable = False
                reconciled = False  # Orthanc may restart: compare counts once it is back
                self.status.last_error = str(exc)
                backoff = min(MAX_BACKOFF_S, max(backoff * 2, interval_s))
                log.warning("Orthanc unreachable; retrying in %.1f s", backoff)
            except PacsError as exc:
                self.status.last_error = str(exc)
                backoff = min(MAX_BACKOFF_S, max(backoff * 2, interval_s))
                log.warning("ingest error (%s); retrying in %.1f s", type(exc).__name__, backoff)
            except Exception as exc:  # keep following; the database may be briefly down
                self.status.last_error = type(exc).__name__
                backoff = min(MAX_BACKOFF_S, max(backoff * 2, interval_s))
                log.error("ingest step failed (%s); retrying in %.1f s",
                          type(exc).__name__, backoff)
            if not stop.is_set():
                self._woken.wait(backoff)
