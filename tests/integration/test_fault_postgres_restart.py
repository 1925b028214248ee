"""Fault suite: PostgreSQL restarted (every connection cut) while Nadir indexes; the index
ends with exactly what Orthanc holds. A server of the test's own is restarted, not the
shared one on port 5432, which other test runs use at the same time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Service, storescu, wait_until
from tests.factories import tiny_ct_series, write_all
from tests.faults import IndexCheck, PrivatePostgres, index_against_orthanc

pytestmark = pytest.mark.integration
SLICES = 100


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    if not server.available:
        pytest.skip("needs root, the postgres user and PostgreSQL's server binaries")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def database_url(private_postgres: PrivatePostgres) -> str:
    """Overrides the shared fixture: this module's database is the server of its own."""
    return private_postgres.url


def _consistent(database_url: str, orthanc: Any, expected: int) -> IndexCheck | None:
    with orthanc.client() as client:
        check = index_against_orthanc(database_url, client)
    return check if check.consistent and check.orthanc == expected else None


def _all_stable(orthanc: Any, count: int) -> bool:
    with orthanc.client() as client:
        series = client.resources("series")
    return len(series) == count and all(s["IsStable"] for s in series)


def _indexed(service: Service, patient_id: str) -> int:
    r = service.client.get(f"/api/v1/patients/{patient_id}/studies",
                           headers=service.headers("admin"))
    return sum(s["instances"] for st in r.json() for s in st["series"]) \
        if r.status_code == 200 else 0


def test_postgresql_restarted_mid_ingest(
    service_factory: Any, orthanc: Any, private_postgres: PrivatePostgres, database_url: str,
    tmp_path: Path
) -> None:
    service = service_factory(orthanc)
    first = tiny_ct_series(SLICES, patient_id="PG-RESTART", study_date="20260105")
    second = tiny_ct_series(SLICES, patient_id="PG-RESTART", study_date="20260302")
    storescu(orthanc, write_all(first, tmp_path / "a"))
    wait_until(lambda: _indexed(service, "PG-RESTART") == SLICES, timeout=60)
    # The second study arrives; the database goes away as it becomes stable, when Nadir
    # indexes it (the write fails, ingest backs off, and tries again).
    storescu(orthanc, write_all(second, tmp_path / "b"))
    wait_until(lambda: _all_stable(orthanc, 2), timeout=60, interval=0.01)
    private_postgres.restart()
    check = wait_until(lambda: _consistent(database_url, orthanc, 2 * SLICES), timeout=60,
                       interval=0.2)
    assert check.indexed == 2 * SLICES
    assert service.client.get("/healthz").json()["database"] == "ok"
