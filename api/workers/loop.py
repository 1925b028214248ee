"""A background loop: one daemon thread that runs a round, then waits until woken or
until its pause ends. The prior fetcher and the image checks run on it."""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class BackgroundLoop:
    """Subclasses say what one round does (:meth:`round`) and how long to wait after it
    (:meth:`pause`); a failed round is logged by its type only (messages of database
    errors can carry patient data) and the loop goes on."""

    thread_name = "nadir-worker"

    def __init__(self, poll_s: float) -> None:
        self._poll_s = poll_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def round(self) -> None:
        raise NotImplementedError

    def pause(self) -> float:
        return self._poll_s

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            pause = self._poll_s
            try:
                self.round()
                pause = self.pause()
            except Exception as exc:  # Orthanc or the database briefly down: next round
                log.warning("%s round failed (%s)", self.thread_name, type(exc).__name__)
            self._wake.wait(pause)
