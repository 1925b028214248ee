"""Loaded at start-up by a Python process whose ``PYTHONPATH`` holds this folder (Python's
``site`` imports a ``sitecustomize`` module when it finds one): with ``NADIR_BENCH_REQUESTS``
set to a file, every request the process sends with an ``httpx.Client`` is appended to it,
one line each: wall-clock start, seconds, method, path, status, bytes of the answer.

For benchmarks only (``bench.ingest_requests`` gives it to the `nadir serve` it starts):
Nadir's own code is not changed and knows nothing of it. Paths only, never query strings or
bodies: no patient data is written.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

_LOG = os.environ.get("NADIR_BENCH_REQUESTS")

if _LOG:
    import httpx

    log_path: str = _LOG

    _send = httpx.Client.send
    _lock = threading.Lock()

    def _logged_send(self: httpx.Client, request: httpx.Request, *args: Any,
                     **kwargs: Any) -> httpx.Response:
        start = time.time()
        response = _send(self, request, *args, **kwargs)
        size = -1 if kwargs.get("stream") else len(response.content)
        line = (f"{start:.4f} {time.time() - start:.4f} {request.method} {request.url.path} "
                f"{response.status_code} {size}\n")
        with _lock, open(log_path, "a", encoding="ascii", errors="replace") as out:
            out.write(line)
        return response

    httpx.Client.send = _logged_send  # type: ignore[method-assign]
