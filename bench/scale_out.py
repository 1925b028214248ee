"""Scale-out benchmark: one Orthanc, then two, on one PostgreSQL index; one Nadir node, then two.

1. Ingest: 4 concurrent dcmtk `storescu` senders push 4 studies (split over the Orthanc
   servers). "Orthanc alone" runs until every series is stable in Orthanc; "with Nadir"
   runs until `nadir serve` (the ingest leader) lists every instance. Instances per second
   are total instances / elapsed time, both from the start of the pushes.
2. Reads: `GET /api/v1/cases/{id}/response` and the report JSON under wrk (16 connections
   in all, 10 s) against one Nadir process, then two Nadir processes (8 connections each)
   on the same database.
Needs the PostgreSQL server on 127.0.0.1:5432 (trust) and Debian's orthanc-postgresql.
Usage: .venv/bin/python -m bench.scale_out [--slices 150] [--matrix 256]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import re
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import numpy as np
import sqlalchemy as sa
from pydicom import dcmread
from pydicom.uid import generate_uid

from bench.common import create_token, ct_slice, free_ports, nadir_serve
from pacs.process import OrthancConfig, OrthancProcess

PG = "postgresql://postgres@127.0.0.1:5432"
SENDERS = 4
DURATION_S = 10


def write_series(folder: Path, patient_id: str, date: str, slices: int, matrix: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    study, series = generate_uid(), generate_uid()
    rng = np.random.default_rng(7)
    paths = []
    for i in range(slices):
        ds = ct_slice(patient_id=patient_id, study_date=date, study_uid=study,
                      series_uid=series, number=i + 1, matrix=matrix,
                      pixels=rng.integers(0, 2000, (matrix, matrix), dtype=np.int16).tobytes())
        path = folder / f"{i:04d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


@contextmanager
def orthancs(workdir: Path, count: int) -> Iterator[list[OrthancProcess]]:
    admin = sa.create_engine(PG.replace("postgresql", "postgresql+psycopg") + "/postgres",
                             isolation_level="AUTOCOMMIT")
    db = f"bench_orthanc_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{db}"'))
    procs: list[OrthancProcess] = []
    try:
        for i in range(count):
            http_port, dicom_port = free_ports(2)
            proc = OrthancProcess(OrthancConfig(
                storage_dir=workdir / f"orthanc{i}", http_port=http_port, dicom_port=dicom_port,
                username="bench", password="bench-secret", stable_age_s=1,
                index_url=f"{PG}/{db}", files_dir=workdir / "files"))
            proc.start()
            with proc.client() as client:
                client.put_modality("STORESCU", aet="STORESCU", host="127.0.0.1", port=104)
            procs.append(proc)
        yield procs
    finally:
        for proc in procs:
            proc.stop(kill=True)
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def nadir_database() -> Iterator[str]:
    engine = sa.create_engine(PG.replace("postgresql", "postgresql+psycopg") + "/test")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with engine.begin() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield (PG.replace("postgresql", "postgresql+psycopg") +
               f"/test?options=-csearch_path%3D{schema}")
    finally:
        with engine.begin() as c:
            c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def env_for(workdir: Path, database_url: str, pacs: OrthancProcess, name: str) -> dict[str, str]:
    return dict(os.environ, NADIR_DATA_DIR=str(workdir / name), NADIR_DATABASE_URL=database_url,
                NADIR_ORTHANC_URL=pacs.config.url, NADIR_ORTHANC_USERNAME="bench",
                NADIR_ORTHANC_PASSWORD="bench-secret", NADIR_INGEST_INTERVAL_S="0.1")


def until(predicate: object, timeout: float) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if predicate():  # type: ignore[operator]
            return time.perf_counter()
        time.sleep(0.05)
    raise TimeoutError("benchmark condition not met")


def push_all(procs: list[OrthancProcess], batches: list[list[Path]]) -> float:
    def push(item: tuple[int, list[Path]]) -> None:
        cfg = procs[item[0] % len(procs)].config
        subprocess.run(["storescu", "-aet", "STORESCU", "-aec", cfg.aet, "127.0.0.1",
                        str(cfg.dicom_port), *map(str, item[1])], check=True,
                       env=dict(os.environ, TCP_NODELAY="1"), capture_output=True)

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(SENDERS) as pool:
        list(pool.map(push, enumerate(batches)))
    return start


def all_stable(pacs: OrthancProcess, series_count: int) -> bool:
    with pacs.client() as client:
        series = client.resources("series")
    return len(series) == series_count and all(s["IsStable"] for s in series)


def all_indexed(url: str, token: str, patients: list[str], per_series: int) -> bool:
    for pid in patients:
        r = httpx.get(f"{url}/api/v1/patients/{pid}/studies",
                      headers={"Authorization": f"Bearer {token}"}, timeout=5)
        if r.status_code != 200 or [s["instances"] for st in r.json()
                                    for s in st["series"]] != [per_series]:
            return False
    return True


def ingest_runs(workdir: Path, batches: list[list[Path]], patients: list[str],
                slices: int) -> dict[int, tuple[float, float]]:
    total = sum(len(b) for b in batches)
    results = {}
    for count in (1, 2):
        with orthancs(workdir / f"alone{count}", count) as procs:
            start = push_all(procs, batches)
            alone = until(lambda p=procs[0]: all_stable(p, len(batches)), 300) - start
        with ExitStack() as stack:
            procs = stack.enter_context(orthancs(workdir / f"nadir{count}", count))
            database_url = stack.enter_context(nadir_database())
            env = env_for(workdir / f"n{count}", database_url, procs[0], "a")
            token = create_token(env, "admin")
            url = stack.enter_context(nadir_serve(env))
            if count == 2:
                stack.enter_context(nadir_serve(env_for(workdir / f"n{count}", database_url,
                                                  procs[1], "b")))
            start = push_all(procs, batches)
            indexed = until(lambda u=url, t=token: all_indexed(u, t, patients, slices),
                            300) - start
        results[count] = (total / alone, total / indexed)
        print(f"  {count} Orthanc: {total} instances; Orthanc alone until stable "
              f"{alone:.2f} s ({total / alone:.0f} inst/s); until indexed by Nadir "
              f"{indexed:.2f} s ({total / indexed:.0f} inst/s)", flush=True)
    return results


def wrk(urls: list[str], path: str, token: str, workdir: Path) -> float:
    script = workdir / "auth.lua"
    script.write_text(f'wrk.headers["Authorization"] = "Bearer {token}"\n')
    per = 16 // len(urls)
    procs = [subprocess.Popen(["wrk", "-t1", f"-c{per}", f"-d{DURATION_S}s", "-s", str(script),
                               url + path], stdout=subprocess.PIPE, text=True) for url in urls]
    total = 0.0
    for proc in procs:
        out, _ = proc.communicate(timeout=DURATION_S + 60)
        match = re.search(r"Requests/sec:\s+([\d.]+)", out)
        non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
        if match is None or non2xx is not None:
            raise RuntimeError(f"wrk failed or got errors: {out}")
        total += float(match.group(1))
    return total


def read_runs(workdir: Path, slices: int, matrix: int) -> None:
    with ExitStack() as stack:
        procs = stack.enter_context(orthancs(workdir / "reads", 2))
        database_url = stack.enter_context(nadir_database())
        env_a = env_for(workdir / "reads", database_url, procs[0], "a")
        env_b = env_for(workdir / "reads", database_url, procs[1], "b")
        rad, admin = create_token(env_a, "radiologist"), create_token(env_a, "admin")
        urls = [stack.enter_context(nadir_serve(env_a)), stack.enter_context(nadir_serve(env_b))]
        bl = write_series(workdir / "reads-bl", "READS", "20260105", 20, matrix)
        fu = write_series(workdir / "reads-fu", "READS", "20260302", 20, matrix)
        push_all(procs, [bl, fu])
        until(lambda: _two_studies(urls[0], admin), 120)
        h = {"Authorization": f"Bearer {rad}"}
        case = httpx.post(f"{urls[0]}/api/v1/cases", headers=h,
                          json={"patient_id": "READS", "criteria": "RECIST1.1"}).json()
        for _ in range(5):
            lesion = httpx.post(f"{urls[0]}/api/v1/cases/{case['id']}/lesions", headers=h,
                                json={"kind": "target", "organ": "liver"}).json()
            for tp, files, cols in ((case["timepoints"][0], bl, 60), (case["timepoints"][1], fu,
                                                                        40)):
                uid = dcmread(files[10], stop_before_pixels=True).SOPInstanceUID
                r = httpx.put(f"{urls[0]}/api/v1/cases/{case['id']}/lesions/{lesion['id']}/"
                              f"measurements/{tp['id']}", headers=h,
                              json={"sop_instance_uid": uid, "endpoints": [[50, 20],
                                                                           [50, 20 + cols]]})
                r.raise_for_status()
        for name, path in (("response", f"/api/v1/cases/{case['id']}/response"),
                           ("report JSON", f"/api/v1/cases/{case['id']}/report?format=json")):
            one = wrk(urls[:1], path, admin, workdir)
            two = wrk(urls, path, admin, workdir)
            print(f"  GET {name}: one Nadir {one:,.0f} req/s; two Nadir {two:,.0f} req/s",
                  flush=True)


def _two_studies(url: str, token: str) -> bool:
    r = httpx.get(f"{url}/api/v1/patients/READS/studies",
                  headers={"Authorization": f"Bearer {token}"})
    return r.status_code == 200 and len(r.json()) == 2 and all(
        s["instances"] == 20 for st in r.json() for s in st["series"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=150, help="instances per sender")
    parser.add_argument("--matrix", type=int, default=256)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nadir-scale-") as tmp:
        workdir = Path(tmp)
        patients = [f"SCALE-{i}" for i in range(SENDERS)]
        batches = [write_series(workdir / pid, pid, "20260105", args.slices, args.matrix)
                   for pid in patients]
        print(f"ingest, {SENDERS} concurrent storescu senders, {args.slices} x "
              f"{args.matrix}^2 CT slices each, Orthanc index in PostgreSQL:", flush=True)
        ingest_runs(workdir, batches, patients, args.slices)
        print("reads, wrk 16 connections 10 s (split over the nodes):", flush=True)
        read_runs(workdir, args.slices, args.matrix)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
