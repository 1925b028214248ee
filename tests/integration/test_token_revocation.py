"""A revoked token is refused on the very next request, on every node (issue 15).

Real `nadir serve` processes: two on one PostgreSQL database, one on SQLite. Each node
answers the token first (so a node that kept answers of the token would still have it),
then `nadir users revoke` runs, then each node is asked once more."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_ports
from tests.integration.test_cli_and_crash import NADIR, _env, _serve

pytestmark = pytest.mark.integration


def _create(env: dict[str, str], name: str, role: str) -> dict[str, str]:
    out = subprocess.run([*NADIR, "users", "create", name, "--role", role],
                         env=env, capture_output=True, text=True, check=True)
    return {"Authorization": f"Bearer {out.stdout.strip().splitlines()[-1]}"}


def test_a_revoked_token_is_refused_by_every_node_on_the_next_request(
    database_url: str, orthanc: Any, tmp_path: Path
) -> None:
    env = dict(_env(database_url, orthanc, tmp_path / "data"), NADIR_INGEST="false")
    leaving = _create(env, "dr-leaving", "radiologist")
    staying = _create(env, "dr-staying", "radiologist")
    # SQLite is one node's database; PostgreSQL is shared by two.
    nodes = 2 if database_url.startswith("postgresql") else 1
    ports = free_ports(nodes)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for port in ports:  # in the try: a node that did start is stopped if the next fails
            procs.append(_serve(env, port))
        urls = [f"http://127.0.0.1:{port}/api/v1/me" for port in ports]
        for url in urls:
            for _ in range(3):
                r = httpx.get(url, headers=leaving, timeout=10)
                assert r.status_code == 200 and r.json()["name"] == "dr-leaving", r.text
        subprocess.run([*NADIR, "users", "revoke", "dr-leaving"], env=env, check=True,
                       capture_output=True, text=True)
        for url in urls:
            r = httpx.get(url, headers=leaving, timeout=10)
            assert r.status_code == 401, (url, r.status_code, r.text)
            assert "revoked" in r.json()["detail"]
            # The node is up and still admits the tokens that were not revoked.
            assert httpx.get(url, headers=staying, timeout=10).json()["name"] == "dr-staying"
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
