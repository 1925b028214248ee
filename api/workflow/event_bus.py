"""The process's own event bus: fans case events out to the open event streams.

Publishing is thread-safe (the case service runs in worker threads); each subscriber is
an asyncio queue on the event loop of its stream. With SQLite the case service publishes
here directly; with PostgreSQL the LISTEN thread of :mod:`api.adapters.pg_events` does,
so that changes made through other Nadir processes arrive too.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict

from api.workflow.events import CaseEvent

#: Events a slow stream may fall behind by before it is told to reload (``overflowed``).
QUEUE_SIZE = 256


class Subscription:
    """One open event stream of one case."""

    def __init__(self, case_id: int, loop: asyncio.AbstractEventLoop) -> None:
        self.case_id = case_id
        self.loop = loop
        self.queue: asyncio.Queue[CaseEvent] = asyncio.Queue(QUEUE_SIZE)
        #: Events were dropped: the reader must reload the case instead of patching it.
        self.overflowed = False

    def offer(self, event: CaseEvent) -> None:
        """Called on the subscriber's loop."""
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True


class LocalEventBus:
    """Subscribers by case id; a publisher for one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[int, set[Subscription]] = defaultdict(set)

    def subscribe(self, case_id: int) -> Subscription:
        """A subscription for the calling event loop (call from within it)."""
        sub = Subscription(case_id, asyncio.get_running_loop())
        with self._lock:
            self._subscribers[case_id].add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subscribers.get(sub.case_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subscribers[sub.case_id]

    def subscribers(self, case_id: int) -> int:
        with self._lock:
            return len(self._subscribers.get(case_id, ()))

    def publish(self, event: CaseEvent) -> None:
        with self._lock:
            subs = list(self._subscribers.get(event.case_id, ()))
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(sub.offer, event)
            except RuntimeError:  # the stream's loop is closed: it is going away
                self.unsubscribe(sub)
