"""Case events across Nadir processes on one PostgreSQL database: NOTIFY and LISTEN.

Each process publishes a committed change with ``pg_notify`` and LISTENs on the same
channel in a thread of its own, which hands every notification (its own included) to the
process's :class:`~api.workflow.event_bus.LocalEventBus`. The channel is named after the
database schema, so that databases sharing a server (one schema each) never hear each
other. A notification is at most a few hundred bytes (PostgreSQL's limit is 8000).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg
from psycopg import sql
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from api.workflow.events import CaseEvent

log = logging.getLogger(__name__)
#: PostgreSQL identifiers are at most 63 bytes.
MAX_CHANNEL = 63
RECONNECT_S = 1.0
POLL_S = 0.5


def channel_of(engine: Engine) -> str:
    """The channel of this database: ``nadir_events_<schema>``."""
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    return f"nadir_events_{schema}"[:MAX_CHANNEL]


def conninfo_of(engine: Engine) -> str:
    """A libpq connection URI for psycopg itself (LISTEN needs a connection of its own)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class PgEventPublisher:
    """Announces a committed change to every process that LISTENs on the channel."""

    def __init__(self, engine: Engine, channel: str) -> None:
        self.engine = engine
        self.channel = channel

    def publish(self, event: CaseEvent) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(text("SELECT pg_notify(:channel, :payload)"),
                             {"channel": self.channel, "payload": event.to_json()})
        except SQLAlchemyError as exc:
            # The change is committed; only the live announcement is lost (readers reload).
            log.warning("case event not announced (%s)", type(exc).__name__)


class PgEventListener:
    """A thread that LISTENs on the channel and hands each event to ``sink``."""

    def __init__(self, conninfo: str, channel: str, sink: Callable[[CaseEvent], None]) -> None:
        self.conninfo = conninfo
        self.channel = channel
        self.sink = sink
        self.listening = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="nadir-case-events",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except psycopg.Error as exc:
                self.listening.clear()
                log.warning("case events: LISTEN connection lost (%s); reconnecting",
                            type(exc).__name__)
                self._stop.wait(RECONNECT_S)

    def _listen(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            self.listening.set()
            while not self._stop.is_set():
                for note in conn.notifies(timeout=POLL_S):
                    self._deliver(note.payload)

    def _deliver(self, payload: str) -> None:
        try:
            event = CaseEvent.from_json(payload)
        except (ValueError, TypeError):
            log.warning("case events: a notification that is not an event was ignored")
            return
        self.sink(event)
