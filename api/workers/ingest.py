"""Ingest leadership: exactly one process of a deployment follows Orthanc's change feed.

On PostgreSQL the leader holds a session-level advisory lock on a connection of its own
(PostgreSQL docs, "Advisory Locks"): when the process dies, its connection closes and the
server releases the lock, so another process takes over at its next try (every
``RETRY_S``). On SQLite, which only one host can use, a lock file in the data folder does
the same between the processes of that host. The change-feed cursor lives in the
database, so a new leader continues where the old one stopped; every write of ingest is
an upsert, so a page applied twice changes nothing.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import Connection, Engine, text

from pacs.feed import ChangeFeedFollower

log = logging.getLogger(__name__)
#: How often a follower tries to become leader, and the leader checks its lock.
RETRY_S = 1.0
#: The lock's name; the key also carries the database and schema, so that deployments
#: (or test schemas) sharing one PostgreSQL server never contend.
LOCK_NAME = "nadir-ingest-leader"


class LeaderLock(Protocol):
    def try_acquire(self) -> bool: ...
    def still_held(self) -> bool: ...
    def release(self) -> None: ...


class FileLeaderLock:
    """An exclusive ``flock`` on a file: leadership among the processes of one host."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._handle: IO[bytes] | None = None

    def try_acquire(self) -> bool:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        handle = self._path.open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._handle = handle
        return True

    def still_held(self) -> bool:
        return self._handle is not None

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


class PostgresLeaderLock:
    """``pg_try_advisory_lock`` held on a dedicated connection."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = conn.execute(text(
                "SELECT pg_try_advisory_lock(hashtext(current_database() || '.' || "
                "current_schema() || '.' || :name))"), {"name": LOCK_NAME}).scalar()
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def still_held(self) -> bool:
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
        except Exception:
            # The connection is gone, and with it the lock: another process may lead now.
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text(
                    "SELECT pg_advisory_unlock(hashtext(current_database() || '.' || "
                    "current_schema() || '.' || :name))"), {"name": LOCK_NAME})
            except Exception:
                log.warning("could not release the ingest lock; closing its connection")
            self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()  # never back to the pool: the session must end
                self._conn.close()
            except Exception:
                pass
            self._conn = None


def leader_lock(engine: Engine, data_dir: Path) -> LeaderLock:
    if engine.dialect.name == "postgresql":
        return PostgresLeaderLock(engine)
    return FileLeaderLock(data_dir / "ingest.lock")


class Ingest:
    """Runs the change-feed follower while this process holds the leader lock."""

    def __init__(self, follower: ChangeFeedFollower, interval_s: float, lock: LeaderLock,
                 *, retry_s: float = RETRY_S, pushed_interval_s: float | None = None,
                 pushes_expected: bool = False) -> None:
        self.follower = follower
        self._interval_s = interval_s
        self._pushed_interval_s = pushed_interval_s
        self._pushes_expected = pushes_expected
        self._lock = lock
        self._retry_s = retry_s
        self._stop = threading.Event()
        self._supervisor: threading.Thread | None = None
        self.leader = False

    def start(self) -> None:
        self._supervisor = threading.Thread(target=self._supervise, name="nadir-ingest-leader",
                                            daemon=True)
        self._supervisor.start()

    def _supervise(self) -> None:
        while not self._stop.is_set():
            try:
                acquired = self._lock.try_acquire()
            except Exception as exc:  # the database may be briefly down: try again
                log.warning("ingest leadership check failed (%s)", type(exc).__name__)
                acquired = False
            if acquired:
                self._lead()
            self._stop.wait(self._retry_s)

    def _lead(self) -> None:
        log.info("this process now follows the change feed")
        self.leader = True
        following = threading.Event()
        thread = threading.Thread(target=self.follower.run, args=(following,),
                                  kwargs={"interval_s": self._interval_s,
                                          "pushed_interval_s": self._pushed_interval_s,
                                          "pushes_expected": self._pushes_expected},
                                  name="nadir-ingest", daemon=True)
        thread.start()
        try:
            while not self._stop.wait(self._retry_s):
                if not self._lock.still_held():
                    log.warning("ingest leadership lost; following stops")
                    break
        finally:
            following.set()
            self.follower.wake()  # end its pause: it sees the stop at once
            thread.join(timeout=30)
            self.leader = False
            self._lock.release()

    def pushed(self) -> None:
        """Orthanc posted that a series is stable. The leader reads the change at once;
        in a process that does not lead, the post changes nothing and the leader's own
        poll finds the change (Orthanc posts to one process only)."""
        if self.leader:
            self.follower.pushed()

    def stop(self) -> None:
        self._stop.set()
        if self._supervisor is not None:
            self._supervisor.join(timeout=35)
