"""Where ingest spends its time: ``fetch_series_record`` request by request, on an Orthanc
with its index in SQLite against one with its index in PostgreSQL (orthanc-postgresql).

The demo study pair (756 objects, 512x512) goes into each Orthanc by storescu; once every
series is stable, each series is read ``--repeat`` times as ingest reads it, timing every
REST call by its kind (``/series/{id}``, ``/studies/{id}``, ``/series/{id}/instances``,
``/instances/{id}/simplified-tags``). Prints the median of a pass over all series, per
kind, for both indexes.
Usage: .venv/bin/python -m bench.ingest_profile [--repeat 5] [--pg postgresql://postgres@127.0.0.1:5432]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

from bench.common import orthanc, pg_database
from bench.ingest import demo_files, push, wait
from pacs.metadata import fetch_series_record
from pacs.orthanc import OrthancClient
from pacs.process import OrthancProcess

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432"
_KIND = re.compile(r"^/(series|studies|instances)/[0-9a-f-]+(/[a-z-]+)?")


def kind_of(path: str) -> str:
    match = _KIND.match(path)
    return f"/{match.group(1)}/{{id}}{match.group(2) or ''}" if match else path


class TimedClient(OrthancClient):
    """An Orthanc client that adds the time of each request to ``spent`` by its kind."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spent: dict[str, list[float]] = defaultdict(list)

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        start = time.perf_counter()
        try:
            return super()._request(method, path, **kwargs)
        finally:
            self.spent[kind_of(path)].append(time.perf_counter() - start)


def profile(pacs: OrthancProcess, files: list[Path], series_count: int,
            repeat: int) -> dict[str, float]:
    push(pacs, files)
    cfg = pacs.config
    with OrthancClient(cfg.url, cfg.username, cfg.password) as plain:
        wait(lambda: len(s := plain.resources("series")) == series_count
             and all(x["IsStable"] for x in s))
        ids = plain.resource_ids("series")
    passes: list[dict[str, float]] = []
    for _ in range(repeat):
        with TimedClient(cfg.url, cfg.username, cfg.password) as client:
            start = time.perf_counter()
            for series_id in ids:
                fetch_series_record(client, series_id)
            total = time.perf_counter() - start
            figures = {kind: sum(times) for kind, times in client.spent.items()}
            figures["requests"] = sum(len(t) for t in client.spent.values())
            figures["total"] = total
        passes.append(figures)
    return {kind: statistics.median(p.get(kind, 0.0) for p in passes) for kind in passes[0]}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg", default=PG_DEFAULT, help="PostgreSQL server (libpq URL, no "
                        "database): Orthanc's index goes in a new database there")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files, expected = demo_files(root, 512)
        series_count = sum(len(e) for e in expected)
        results = {}
        with orthanc(root / "sqlite", stable_age_s=1) as pacs:
            results["SQLite index"] = profile(pacs, files, series_count, args.repeat)
        with pg_database(args.pg) as url, orthanc(root / "pg", stable_age_s=1,
                                                    index_url=url) as pacs:
            results["PostgreSQL index"] = profile(pacs, files, series_count, args.repeat)
    print(f"fetch_series_record over {series_count} series ({len(files)} objects), "
          f"median of {args.repeat} passes, seconds per pass")
    kinds = sorted({k for r in results.values() for k in r} - {"total", "requests"})
    print(f"{'':40s}" + "".join(f"{name:>20s}" for name in results))
    for kind in [*kinds, "requests", "total"]:
        print(f"{kind:40s}" + "".join(f"{r.get(kind, 0):20.3f}" for r in results.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
