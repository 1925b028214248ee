"""Warm the report renderer in the background once the app starts (issue 22).

The first PDF after a start used to import WeasyPrint, compile the template and load the
fonts while its reader waited (8.5 s for the first cold PDF in ``bench.report`` at load
10, against 1.8 to 4 s for the next ones). A daemon thread does that once per process
instead, so the app's start is not held up; a report asked for before it has finished
simply waits on Python's import lock, as it would have anyway.

When it has finished, the same thread freezes the objects the start made (``gc.freeze``):
the modules, the app, WeasyPrint's and the fonts' caches live as long as the process, and
Python's full collections scanned them all again and again. Measured with a probe on
``gc.callbacks`` during ``bench.report``, each full collection took 58 to 192 ms, growing
with the heap, and a third of the cold PDFs (0.65-0.75 s against 0.46-0.50 s) had one in
them. Frozen objects are still freed when their last reference goes; only the cycle
collector leaves them alone.
"""

from __future__ import annotations

import gc
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
    # What the start made lives as long as the process: out of the cycle collector's way.
    gc.collect()
    gc.freeze()
