"""Warm the report renderer in the background once the app starts (issue 22).

The first PDF after a start used to import WeasyPrint, compile the template and load the
fonts while its reader waited (8.5 s for the first cold PDF in ``bench.report`` at load
10, against 1.8 to 4 s for the next ones). A daemon thread does that once per process
instead, so the app's start is not held up; a report asked for before it has finished
simply waits on Python's import lock, as it would have anyway.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)

_lock = threading.Lock()
_started = False


def start_report_warm_up() -> threading.Thread | None:
    """Start warming the renderer, once per process; the thread, or None if it ran before."""
    global _started
    with _lock:
        if _started:
            return None
        _started = True
    thread = threading.Thread(target=_warm_up, name="nadir-report-warm-up", daemon=True)
    thread.start()
    return thread


def _warm_up() -> None:
    try:
        from api.report.render import warm_up

        warm_up()
    except Exception:  # a renderer that cannot start says so when a report is asked for
        log.warning("warming up the report renderer failed", exc_info=True)
