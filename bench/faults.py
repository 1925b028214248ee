"""Fault suite, full size: each scenario several times on the demo study pair (two CT
studies, each with a 300-slice thin series, a 5 mm series, scouts and a dose report: 756
objects), pushed with dcmtk's storescu into a fresh Orthanc, indexed by `nadir serve` (a
separate process following the change feed, polling every 0.2 s as deployed).

- orthanc-kill: SIGKILL of Orthanc once half of the objects are in; Orthanc restarted,
  the pair sent again (as a modality does after a failed push).
- nadir-kill: SIGKILL of `nadir serve` once it has indexed its first series; the push
  goes on; Nadir restarted.
- postgres-restart: Nadir on a PostgreSQL server of its own; `pg_ctl restart -m fast` as
  soon as Orthanc reports the first series stable (when Nadir indexes it).
- twice-at-once: two storescu processes send the same pair at the same time.

A run ends when the index holds exactly what Orthanc holds (tests/faults.py compares every
instance and series count with Orthanc's own lists), or fails after 180 s.
Usage: .venv/bin/python -m bench.faults [--runs 3] [--matrix 512] [--only SCENARIO]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.common import free_ports, nadir_env, orthanc
from synthetic import demo_patient, generate_study, write_study
from tests.faults import IndexCheck, PrivatePostgres, index_against_orthanc

SCENARIOS = ("orthanc-kill", "nadir-kill", "postgres-restart", "twice-at-once")
TIMEOUT_S = 180.0


@dataclass
class Run:
    check: IndexCheck
    seconds: float  # from the first object sent until the index equals Orthanc
    ok: bool
    pushed: float  # from the first object sent until the last push ended


def storescu(pacs: Any, files: list[Path]) -> subprocess.Popen[bytes]:
    cfg = pacs.config
    return subprocess.Popen(["storescu", "-aet", "STORESCU", "-aec", cfg.aet, "127.0.0.1",
                             str(cfg.dicom_port), *map(str, files)],
                            env=dict(os.environ, TCP_NODELAY="1"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait(predicate: Callable[[], Any], timeout: float = TIMEOUT_S, interval: float = 0.02
         ) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


class Nadir:
    """`nadir serve` in a process of its own, killed and started at will."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        [self.port] = free_ports(1)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port",
                                      str(self.port)], env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait(lambda: self.health() is not None, timeout=60, interval=0.1):
            raise RuntimeError("nadir serve did not start")

    def health(self) -> dict[str, Any] | None:
        try:
            r = httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=0.5)
        except httpx.HTTPError:
            return None
        return dict(r.json()) if r.status_code == 200 else None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def first_series_stable(pacs: Any) -> bool:
    with pacs.client() as client:
        return any(s["IsStable"] for s in client.resources("series"))


def in_orthanc(pacs: Any) -> int:
    with pacs.client() as client:
        return int(client.statistics()["CountInstances"])


@contextmanager
def database(workdir: Path, scenario: str) -> Iterator[tuple[str, PrivatePostgres | None]]:
    if scenario != "postgres-restart":
        yield f"sqlite:///{workdir / 'nadir' / 'nadir.db'}", None
        return
    server = PrivatePostgres()
    if not server.available:
        raise SystemExit("postgres-restart needs root, the postgres user and PostgreSQL")
    server.start()
    try:
        yield server.url, server
    finally:
        server.stop()


def run_once(scenario: str, workdir: Path, files: list[Path], total: int) -> Run:
    with orthanc(workdir, stable_age_s=None) as pacs, database(workdir, scenario) as (url, pg):
        env = nadir_env(workdir, pacs) | {"NADIR_DATABASE_URL": url}
        env.pop("NADIR_INGEST_INTERVAL_S")  # the service's default polling
        nadir = Nadir(env)
        nadir.start()
        try:
            start = time.monotonic()
            if scenario == "orthanc-kill":
                push = storescu(pacs, files)
                wait(lambda: in_orthanc(pacs) >= total // 2, interval=0.005)
                pacs.stop(kill=True)
                push.wait()
                pacs.start()
                storescu(pacs, files).wait()
            elif scenario == "nadir-kill":
                push = storescu(pacs, files)
                wait(lambda: ((nadir.health() or {}).get("ingest") or {})
                     .get("indexed_series", 0) >= 1, interval=0.005)
                nadir.kill()
                push.wait()
                nadir.start()
            elif scenario == "postgres-restart":
                assert pg is not None
                push = storescu(pacs, files)
                wait(lambda: first_series_stable(pacs), interval=0.005)
                pg.restart()
                push.wait()
            else:
                pushes = [storescu(pacs, files) for _ in range(2)]
                for p in pushes:
                    p.wait()

            pushed = time.monotonic() - start

            def consistent() -> IndexCheck | None:
                with pacs.client() as client:
                    check = index_against_orthanc(url, client)
                return check if check.consistent and check.orthanc == total else None

            done = wait(consistent, interval=0.1)
            elapsed = time.monotonic() - start
            if done:
                return Run(done, elapsed, True, pushed)
            with pacs.client() as client:
                return Run(index_against_orthanc(url, client), elapsed, False, pushed)
        finally:
            nadir.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--matrix", type=int, default=512)
    parser.add_argument("--only", choices=SCENARIOS)
    args = parser.parse_args()
    demo = demo_patient(matrix=args.matrix, thin_slice_count=300)
    scenarios = [args.only] if args.only else list(SCENARIOS)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files: list[Path] = []
        for name, spec, seed in (("bl", demo.baseline, 1), ("fu", demo.followup, 2)):
            files += write_study(generate_study(spec, seed=seed), root / name)
        results: dict[str, list[Run]] = {}
        for scenario in scenarios:
            for i in range(args.runs):
                run = run_once(scenario, root / f"{scenario}-{i}", files, len(files))
                results.setdefault(scenario, []).append(run)
                c = run.check
                print(f"{scenario} run {i + 1}: {'consistent' if run.ok else 'NOT CONSISTENT'} "
                      f"after {run.seconds:.1f} s (pushes done after {run.pushed:.1f} s); "
                      f"Orthanc {c.orthanc}, index {c.indexed}, "
                      f"lost {c.lost}, duplicated {c.duplicated}, left over {c.phantom}",
                      flush=True)
    print(f"\n{len(files)} objects per run ({args.matrix}x{args.matrix})")
    print("| scenario | runs | consistent | instances lost | duplicated | left over | "
          "time to consistent index (median) |")
    print("|---|---|---|---|---|---|---|")
    for scenario, runs in results.items():
        print(f"| {scenario} | {len(runs)} | {sum(r.ok for r in runs)} | "
              f"{sum(r.check.lost for r in runs)} | {sum(r.check.duplicated for r in runs)} | "
              f"{sum(r.check.phantom for r in runs)} | "
              f"{statistics.median(r.seconds for r in runs):.1f} s |")
    return 0 if all(r.ok for runs in results.values() for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
