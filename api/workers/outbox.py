"""Deliver the outbox (api/db/outbox.py): C-STORE the due rows, with exponential back-off.

The rows are the truth, so the sender holds no state of its own: after a restart it
picks up every pending row. A row whose send succeeded but whose new state was not saved
is sent again; C-STORE of the same SOP Instance is idempotent at the receiver, so the
destination still holds the object once.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from pydicom import Dataset, dcmread
from sqlalchemy import func, select, update
from sqlalchemy.orm import sessionmaker

from api.db.models import Publication, utcnow
from api.db.outbox import FAILED, PENDING, SENT, OutboxItem, outbox_table
from api.settings import Settings
from pacs.dimse import DicomPeer, StoreOptions, store
from pacs.errors import DimseError

_outbox = outbox_table.c

log = logging.getLogger(__name__)

#: Rows read per round; a backlog drains round after round without waiting.
BATCH = 50
#: How long a claimed row is left to its sender before another may send it.
LEASE_S = 300.0
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off: the n-th failed attempt waits base * 2^(n-1), at most max_s;
    after ``max_attempts`` failures the row is ``failed``."""

    base_s: float = 5.0
    max_s: float = 900.0
    max_attempts: int = 30

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.max_s < self.base_s:
            raise ValueError(f"need 0 < base_s <= max_s, got {self.base_s} and {self.max_s}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")

    def delay_s(self, attempts: int) -> float:
        """The wait after the ``attempts``-th failed attempt (1 for the first)."""
        # 2 ** 60 is already beyond any cap; the exponent stays bounded for huge counts.
        exponent: int = min(max(attempts - 1, 0), 60)
        return min(self.max_s, self.base_s * float(2 ** exponent))


@dataclass(frozen=True)
class _Due:
    id: int
    ae_title: str
    host: str
    port: int
    sop_instance_uid: str
    payload: bytes | None


class OutboxSender:
    """Sends the due rows in a background thread; :meth:`wake` after committing new rows.

    Every process of a deployment may run one: a row is claimed before it is sent (an
    UPDATE that moves its next attempt :data:`LEASE_S` ahead, and succeeds for one claimer
    only), so two senders never send it at the same time. A sender killed mid-send leaves
    its rows claimed; they are due again when the lease ends.
    """

    def __init__(self, sessions: sessionmaker[Any], *, calling_aet: str,
                 policy: RetryPolicy | None = None, poll_s: float = 1.0,
                 options: StoreOptions | None = None) -> None:
        self._sessions = sessions
        self._calling_aet = calling_aet
        self.policy = policy or RetryPolicy()
        self._poll_s = poll_s
        self._options = options or StoreOptions()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(cls, sessions: sessionmaker[Any], settings: Settings) -> OutboxSender:
        return cls(sessions, calling_aet=settings.orthanc_aet, policy=RetryPolicy(
            settings.outbox_retry_base_s,
            max(settings.outbox_retry_max_s, settings.outbox_retry_base_s),
            settings.outbox_max_attempts))

    # -- the background thread -------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="nadir-outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            pause = self._poll_s
            try:
                if self.deliver_due() >= BATCH:
                    continue  # more are due: no pause
                pause = min(pause, self._until_next_due())
            except Exception as exc:  # the database may be briefly down; keep going
                # Type only: messages of database errors can carry patient data.
                log.error("outbox round failed (%s)", type(exc).__name__)
            self._wake.wait(pause)

    def _until_next_due(self) -> float:
        with self._sessions() as s:
            due: dt.datetime | None = s.scalar(select(func.min(_outbox.next_attempt_at))
                                               .where(_outbox.state == PENDING))
        if due is None:
            return self._poll_s
        return max(0.0, (due - utcnow()).total_seconds())

    # -- one round ---------------------------------------------------------------------------

    def deliver_due(self, now: dt.datetime | None = None) -> int:
        """Claim and try every due row once, grouped by destination; return how many."""
        now = now or utcnow()
        groups: dict[tuple[str, str, int], list[_Due]] = {}
        for row in self._claim(now):
            groups.setdefault((row.ae_title, row.host, row.port), []).append(row)
        for (ae_title, host, port), due in groups.items():
            self._deliver(DicomPeer(host, port, ae_title, self._calling_aet), due)
        return sum(len(due) for due in groups.values())

    def _claim(self, now: dt.datetime) -> list[_Due]:
        lease_end = now + dt.timedelta(seconds=LEASE_S)
        with self._sessions() as s:
            candidates = list(s.scalars(select(_outbox.id).where(
                _outbox.state == PENDING, _outbox.next_attempt_at <= now)
                .order_by(_outbox.id).limit(BATCH)))
        claimed: list[_Due] = []
        for row_id in candidates:
            with self._sessions.begin() as s:
                # Still due only if no other sender claimed it since (the WHERE is checked
                # again on the locked row).
                taken = s.execute(update(OutboxItem).where(
                    _outbox.id == row_id, _outbox.state == PENDING,
                    _outbox.next_attempt_at <= now).values(next_attempt_at=lease_end))
                if getattr(taken, "rowcount", 0) != 1:
                    continue
                row = s.get(OutboxItem, row_id)
                if row is not None:
                    claimed.append(_Due(row.id, row.ae_title, row.host, row.port,
                                        row.sop_instance_uid, row.payload))
        return claimed

    def _deliver(self, peer: DicomPeer, due: Sequence[_Due]) -> None:
        datasets: list[Dataset] = []
        unreadable: set[int] = set()
        for item in due:
            try:
                datasets.append(dcmread(BytesIO(item.payload or b"")))
            except Exception:  # a row written by Nadir itself: never expected
                unreadable.add(item.id)
        error: DimseError | None = None
        try:
            stored = set(store(peer, datasets, options=self._options))
        except DimseError as exc:
            stored, error = set(exc.stored), exc
            log.warning("sending to %s: %s (%s)", peer, type(exc).__name__,
                        "retrying later" if exc.retryable else "refused")
        now = utcnow()
        with self._sessions.begin() as s:
            for item in due:
                row = s.get(OutboxItem, item.id)
                if row is None or row.state != PENDING:
                    continue
                if item.id in unreadable:
                    self._failed(row, "the stored object is unreadable", retryable=False,
                                 now=now)
                elif item.sop_instance_uid in stored:
                    self._sent(s, row, now)
                elif error is not None and error.sop_instance_uid in (None,
                                                                       item.sop_instance_uid):
                    # The refused or unacknowledged object; or, when the association itself
                    # failed, every object of this destination.
                    self._failed(row, str(error), retryable=error.retryable, now=now)
                else:  # not reached in this push: due again at once
                    row.next_attempt_at = now

    @staticmethod
    def _sent(s: Any, row: OutboxItem, now: dt.datetime) -> None:
        row.state, row.attempts, row.sent_at = SENT, row.attempts + 1, now
        row.last_error, row.payload = None, None
        if row.publication_id is not None:
            publication = s.get(Publication, row.publication_id)
            if publication is not None:
                publication.sent_to_remote = True

    def _failed(self, row: OutboxItem, error: str, *, retryable: bool,
                now: dt.datetime) -> None:
        row.attempts += 1
        row.last_error = error[:MAX_ERROR_CHARS]
        if not retryable or row.attempts >= self.policy.max_attempts:
            row.state = FAILED
        else:
            row.next_attempt_at = now + dt.timedelta(seconds=self.policy.delay_s(row.attempts))
