"""How long a case change takes to reach an event stream of another Nadir node (issue 18).

Two apps (``create_app``, as two `nadir serve` processes would build them) on one fresh
PostgreSQL schema: node B commits a lesion change over HTTP; the time is measured until
the event is on node A's bus, where its SSE streams read it (NOTIFY, LISTEN thread, bus).
The same on SQLite within one app (the process's own bus). The contract is "within 2 s".
Usage: .venv/bin/python -m bench.case_events
"""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import Role, create_user, issue_token
from api.db.models import Patient, Study
from api.settings import Settings
from bench.token_auth import PG_URL

CHANGES = 50
PID = "EVENTS-BENCH"


@contextmanager
def _apps(database_url: str, count: int, workdir: Path) -> Iterator[list[TestClient]]:
    with ExitStack() as stack:
        clients = []
        for i in range(count):
            app = create_app(Settings(data_dir=workdir / f"n{i}", database_url=database_url,
                                      orthanc_url="http://127.0.0.1:9", orthanc_username="x",
                                      orthanc_password="x", ingest=False))
            clients.append(stack.enter_context(TestClient(app)))
        yield clients


def _seed(client: TestClient) -> tuple[dict[str, str], int, int]:
    """A radiologist's token, and a case of an indexed patient with one lesion."""
    sessions: Any = client.app.state.sessions  # type: ignore[attr-defined]
    with sessions.begin() as s:
        token = issue_token(s, create_user(s, f"rad-{uuid.uuid4().hex[:6]}", Role.RADIOLOGIST))
        patient = Patient(patient_id=PID)
        s.add(patient)
        s.flush()
        s.add(Study(study_instance_uid=f"2.25.{uuid.uuid4().int}", patient_pk=patient.id,
                    orthanc_id="x", study_date=dt.date(2026, 1, 5)))
    headers = {"Authorization": f"Bearer {token}"}
    case = client.post("/api/v1/cases", json={"patient_id": PID, "criteria": "RECIST1.1"},
                       headers=headers).json()
    lesion = client.post(f"/api/v1/cases/{case['id']}/lesions", headers=headers,
                         json={"kind": "target", "organ": "organ-0"}).json()
    return headers, case["id"], lesion["id"]


def _latencies(reader: TestClient, writer: TestClient) -> list[float]:
    headers, case_id, lesion_id = _seed(writer)
    bus = reader.app.state.event_bus  # type: ignore[attr-defined]

    async def measure() -> list[float]:
        sub = bus.subscribe(case_id)
        found = []
        # The seeding's own events (lesion added) may still be on their way: let them in
        # and drop them, so that each change below is timed by its own event.
        await asyncio.sleep(2)
        while not sub.queue.empty():
            sub.queue.get_nowait()
        try:
            for n in range(1, CHANGES + 1):
                started = time.perf_counter()
                thread = threading.Thread(target=lambda n=n: writer.patch(
                    f"/api/v1/cases/{case_id}/lesions/{lesion_id}", headers=headers,
                    json={"organ": f"organ-{n}"}).raise_for_status())
                thread.start()
                event = await asyncio.wait_for(sub.queue.get(), 10)
                found.append(time.perf_counter() - started)
                assert event.kind == "lesion_changed", event
                thread.join()
        finally:
            bus.unsubscribe(sub)
        return found

    return asyncio.run(measure())


def _report(name: str, found: list[float]) -> None:
    ms = sorted(1000 * f for f in found)
    print(f"{name}: {len(ms)} changes, commit-to-bus (PATCH round trip included) median "
          f"{statistics.median(ms):.1f} ms, p95 {ms[int(0.95 * len(ms)) - 1]:.1f} ms, "
          f"max {ms[-1]:.1f} ms")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        with _apps(f"sqlite:///{tmp}/nadir.db", 1, Path(tmp)) as (one,):
            _report("SQLite, one process (own bus)", _latencies(one, one))
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            url = f"{PG_URL}?options=-csearch_path%3D{schema}"
            with _apps(url, 2, Path(tmp) / "pg") as (a, b):
                _report("PostgreSQL, change on node B, stream on node A", _latencies(a, b))
        finally:
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
