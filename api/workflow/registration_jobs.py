"""Registration jobs: each (baseline series, follow-up series) pair is registered once.

One :class:`RegistrationJobs` per process computes the registration of a pair once and
keeps it in the database. A pair is claimed before it is computed: a row with status
``pending`` (the database's unique key and a compare-and-set on ``attempt`` keep two
processes apart) plus a process-local lock and event (which keep two threads apart). A
comparison's pair is queued for a background thread when the comparison is created; any
other pair is computed on first need, in the thread that needs it, so a request waits for
the registration itself and never for a queue. A request that needs a pair another thread
or process is computing waits for that one instead of computing it again.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable

from api.workflow.ports import (
    FAILED,
    PENDING,
    Outcome,
    RegistrationPair,
    RegistrationState,
    RegistrationStore,
    StoredClaim,
)

log = logging.getLogger(__name__)

#: A claim older than this belongs to a process that died: the pair may be claimed again.
STALE_CLAIM_S = 300.0
#: A failure that may pass (the PACS was unreachable) is tried again after this.
RETRY_AFTER_S = 60.0
_POLL_S = 0.2


def may_claim(row: StoredClaim | None, now: dt.datetime,
              counts: tuple[int | None, int | None]) -> bool:
    """Whether a stored registration may be (re)computed now.

    Yes when there is none; when a claim was abandoned (pending longer than
    :data:`STALE_CLAIM_S`); when a failure may pass and :data:`RETRY_AFTER_S` went by; and
    when a series gained or lost instances since (the result was computed on other data).
    """
    if row is None:
        return True
    age = (now - row.started_at).total_seconds()
    if row.status == PENDING:
        return age > STALE_CLAIM_S
    if row.status == FAILED and row.retryable:
        finished = row.finished_at or row.started_at
        if (now - finished).total_seconds() > RETRY_AFTER_S:
            return True
    return all(c is not None for c in counts) and row.counts != counts


def default_claimant() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class RegistrationJobs:
    """Computes each pair's registration once, in the background or on first need."""

    def __init__(self, store: RegistrationStore, compute: Callable[[RegistrationPair], Outcome], *,
                 claimant: str | None = None,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self._store = store
        self._compute = compute
        self._claimant = claimant or default_claimant()
        self._clock = clock
        self._lock = threading.Lock()
        self._running: dict[RegistrationPair, threading.Event] = {}
        self._attempts: dict[RegistrationPair, int] = {}
        self._queue: queue.Queue[RegistrationPair] = queue.Queue()
        self._worker: threading.Thread | None = None
        self.computed = 0  # how many registrations this process computed (tests, logs)

    # -- the three ways in ----------------------------------------------------------------

    def submit(self, pair: RegistrationPair) -> None:
        """Compute the pair in the background thread (nothing happens if it is known)."""
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="nadir-registration",
                                                daemon=True)
                self._worker.start()
        self._queue.put(pair)

    def state(self, pair: RegistrationPair) -> RegistrationState:
        """The pair's registration now, never waiting; one to be (re)computed is queued."""
        stored = self._store.get(pair)
        with self._lock:
            running = pair in self._running
        if running:
            return stored if stored is not None and stored.status == PENDING \
                else RegistrationState(pair, PENDING)
        if stored is None or may_claim(stored.claim, self._clock(),
                                       self._store.instance_counts(pair)):
            self.submit(pair)
            return RegistrationState(pair, PENDING)
        return stored

    def obtain(self, pair: RegistrationPair, wait_s: float) -> RegistrationState:
        """The pair's registration, computed here and now if nobody has: the caller waits
        for the registration itself, or up to ``wait_s`` for one computed elsewhere."""
        event, owned = self._try_claim(pair)
        if owned and event is not None:
            self._run(pair, event)
        elif event is not None:
            event.wait(timeout=wait_s)
        else:
            deadline = time.monotonic() + wait_s
            while True:
                stored = self._store.get(pair)
                if stored is not None and stored.status != PENDING:
                    break
                if time.monotonic() >= deadline:
                    break
                time.sleep(_POLL_S)
        return self._store.get(pair) or RegistrationState(pair, PENDING)

    # -- claims -----------------------------------------------------------------------------

    def _try_claim(self, pair: RegistrationPair) -> tuple[threading.Event | None, bool]:
        """(event to wait on, whether this thread owns the computation)."""
        with self._lock:
            event = self._running.get(pair)
            if event is not None:
                return event, False
            attempt = self._store.claim(pair, self._claimant, self._clock(),
                                        self._store.instance_counts(pair))
            if attempt is None:
                return None, False
            event = threading.Event()
            self._running[pair] = event
            self._attempts[pair] = attempt
            return event, True

    def _run(self, pair: RegistrationPair, event: threading.Event) -> None:
        attempt = self._attempts[pair]
        try:
            outcome = self._compute(pair)
        except Exception as exc:  # a bug must not leave the pair pending for ever
            log.error("registration failed unexpectedly (%s)", type(exc).__name__)
            outcome = Outcome(FAILED, reason=f"internal error ({type(exc).__name__})",
                              retryable=True)
        try:
            self._store.finish(pair, attempt, outcome, self._clock())
        finally:
            with self._lock:
                self.computed += 1
                self._running.pop(pair, None)
                self._attempts.pop(pair, None)
            event.set()

    def _work(self) -> None:
        while True:
            pair = self._queue.get()
            try:
                event, owned = self._try_claim(pair)
                if owned and event is not None:
                    self._run(pair, event)
            except Exception as exc:  # the background thread must survive a database hiccup
                log.error("background registration failed (%s)", type(exc).__name__)
            finally:
                self._queue.task_done()

    def join(self) -> None:
        """Wait until the queued pairs are done (tests and benchmarks)."""
        self._queue.join()
