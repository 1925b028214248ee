"""What checking the bearer token in the database on every request costs (issue 15).

Nadir looks the token's digest up on every request, so a revocation holds on the very next
one. Baseline in the same run: the positive cache Nadir had before (hits trusted for 10 s),
rebuilt here around the same lookup. Measured on SQLite and on PostgreSQL (when reachable):
the lookup alone in-process, and `GET /api/v1/me` and `/api/v1/patients` over HTTP with
wrk (uvicorn in a thread of this process, one core). Bounded: 5 s of load per run, 8 runs
per database.
Usage: .venv/bin/python -m bench.token_auth
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import sqlalchemy as sa

from api.app import create_app
from api.auth import Authenticator, Principal, Role, create_user, hash_token, issue_token
from api.settings import Settings
from bench.common import free_ports, wrk_figures

PG_URL = os.environ.get("NADIR_TEST_POSTGRES_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DURATION_S = 5
CONNECTIONS = 8
LOOKUPS = 2000


class CachedAuthenticator(Authenticator):
    """The baseline: the lookup, with hits trusted for ``cache_s`` (what a revocation waited)."""

    def __init__(self, engine: sa.Engine, *, cache_s: float = 10.0) -> None:
        super().__init__(engine)
        self._cache_s = cache_s
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def resolve(self, token: str) -> Principal | None:
        digest, now = hash_token(token), time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and now - hit[0] < self._cache_s:
            return hit[1]
        principal = super().resolve(token)
        if principal is not None:
            with self._lock:
                self._cache[digest] = (now, principal)
        return principal


@contextmanager
def databases(workdir: Path) -> Iterator[list[tuple[str, str]]]:
    urls = [("SQLite", f"sqlite:///{workdir / 'nadir.db'}")]
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(PG_URL)
    try:
        with engine.begin() as c:
            c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        urls.append(("PostgreSQL", f"{PG_URL}?options=-csearch_path%3D{schema}"))
    except sa.exc.OperationalError:
        print(f"PostgreSQL unreachable at {PG_URL}: SQLite only", file=sys.stderr)
        schema = ""
    try:
        yield urls
    finally:
        if schema:
            with engine.begin() as c:
                c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def lookup_us(resolve: Callable[[str], Principal | None], token: str) -> float:
    """Median microseconds of one resolve(), over LOOKUPS calls."""
    times = []
    for _ in range(LOOKUPS):
        start = time.perf_counter()
        assert resolve(token) is not None
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def run_wrk(url: str, token: str) -> dict[str, str]:
    """wrk on ``url`` (a full URL) with the token."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--latency",
         "-H", f"Authorization: Bearer {token}", url],
        capture_output=True, text=True, check=True).stdout
    return wrk_figures(out)


def measure(name: str, database_url: str, workdir: Path) -> bool:
    import uvicorn

    settings = Settings(data_dir=workdir / name, database_url=database_url,
                        orthanc_url="http://127.0.0.1:9", ingest=False)
    app = create_app(settings, run_ingest=False)
    with app.state.sessions.begin() as s:
        token = issue_token(s, create_user(s, "bench-reader", Role.SPECIALIST))
    plain, cached = Authenticator(app.state.engine), CachedAuthenticator(app.state.engine)
    print(f"{name}: token lookup in-process, median of {LOOKUPS}: "
          f"database {lookup_us(plain.resolve, token):.0f} us, "
          f"cached (baseline) {lookup_us(cached.resolve, token):.1f} us")
    [port] = free_ports(1)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    ok = True
    try:
        while not server.started:
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{url}/api/v1/me", headers={
            "Authorization": f"Bearer {token}"}).status_code == 200
        # /me: the lookup is all the route does. /patients: a read with its own query.
        # Alternated, so a change in the machine's load falls on both variants.
        for path in ("/api/v1/me", "/api/v1/patients"):
            for variant, auth in (("cached (baseline)", cached), ("database", plain)) * 2:
                app.state.authenticator = auth
                http = run_wrk(url + path, token)
                ok = ok and http["non_2xx"] == "0"
                print(f"{name}: GET {path}, wrk {CONNECTIONS} connections {DURATION_S}s, "
                      f"{variant}: {float(http['requests_per_s']):,.0f} req/s, "
                      f"p50 {http['p50']}, p99 {http['p99']}, non-2xx {http['non_2xx']}")
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    return ok


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed: bash scripts/setup.sh dev installs it", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp, databases(Path(tmp)) as urls:
        results = [measure(name, url, Path(tmp)) for name, url in urls]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
