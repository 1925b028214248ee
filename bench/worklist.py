"""Worklist benchmark: 50 cases in one request against the requests the page made before.

50 patients, each with a baseline and a follow-up study (a 3-slice CT series each, pushed
by storescu), and a RECIST 1.1 case each, in `nadir serve` on SQLite. Then, alternating, in
each round:
- the floor: ``GET /api/v1/me`` (one authenticated request that reads no patient data);
- the page before (2 + 2N requests for N cases): ``GET /api/v1/patients``,
  ``GET /api/v1/cases``, and each case and its response;
- ``GET /api/v1/worklist``: everything the page shows, in one request.
Medians of ``--repeat`` rounds, with the load average beside them.
Usage: .venv/bin/python -m bench.worklist [--cases 50] [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from pydicom.uid import generate_uid

from bench.common import create_token, ct_slice, nadir_env, nadir_serve, orthanc

MATRIX = 16


def write_patients(root: Path, cases: int) -> list[Path]:
    files = []
    pixels = bytes(MATRIX * MATRIX * 2)
    for p in range(cases):
        for date in ("20260105", "20260302"):
            study, series = generate_uid(), generate_uid()
            for n in range(1, 4):
                ds = ct_slice(patient_id=f"WL-{p:03d}", study_date=date, study_uid=study,
                              series_uid=series, number=n, matrix=MATRIX, pixels=pixels)
                path = root / f"{p}-{date}-{n}.dcm"
                ds.save_as(path, enforce_file_format=True)
                files.append(path)
    return files


def timed(call: object) -> float:
    start = time.perf_counter()
    call()  # type: ignore[operator]
    return (time.perf_counter() - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "files").mkdir()
        files = write_patients(root / "files", args.cases)
        with orthanc(root) as pacs:
            cfg = pacs.config
            subprocess.run(["storescu", "-aet", "STORESCU", "-aec", cfg.aet, "127.0.0.1",
                            str(cfg.dicom_port), *map(str, files)], check=True,
                           env=dict(os.environ, TCP_NODELAY="1"), capture_output=True)
            env = nadir_env(root, pacs)
            token = create_token(env, "radiologist")
            with nadir_serve(env) as url, httpx.Client(
                    base_url=url, timeout=60,
                    headers={"Authorization": f"Bearer {token}"}) as client:
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline:
                    patients = client.get("/api/v1/patients").json()
                    if sum(p["studies_count"] == 2 for p in patients) == args.cases:
                        break
                    time.sleep(0.5)
                else:
                    raise RuntimeError("the patients were not indexed within 300 s")
                for p in range(args.cases):
                    client.post("/api/v1/cases", json={
                        "patient_id": f"WL-{p:03d}", "criteria": "RECIST1.1"}
                    ).raise_for_status()

                def before() -> int:
                    client.get("/api/v1/patients").raise_for_status()
                    ids = [c["id"] for c in client.get("/api/v1/cases").json()]
                    for case_id in ids:
                        client.get(f"/api/v1/cases/{case_id}").raise_for_status()
                        client.get(f"/api/v1/cases/{case_id}/response").raise_for_status()
                    return 2 + 2 * len(ids)

                def worklist() -> None:
                    r = client.get("/api/v1/worklist")
                    r.raise_for_status()
                    assert len(r.json()["cases"]) == args.cases

                loads = ["{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())]
                floor: list[float] = []
                old: list[float] = []
                one: list[float] = []
                old_requests = before()
                worklist()  # warm both once
                for i in range(args.repeat):
                    order = (0, 1, 2) if i % 2 == 0 else (2, 1, 0)
                    for which in order:
                        if which == 0:
                            floor.append(timed(lambda: client.get("/api/v1/me")))
                        elif which == 1:
                            old.append(timed(before))
                        else:
                            one.append(timed(worklist))
                loads.append("{:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    print(f"worklist of {args.cases} cases (SQLite), median of {args.repeat} rounds; "
          f"load average (1, 5, 15 min) before and after: {', '.join(loads)}")
    print(f"  floor, GET /api/v1/me: {statistics.median(floor):.1f} ms")
    print(f"  the page before, {old_requests} requests: {statistics.median(old):.0f} ms "
          f"(min {min(old):.0f}, max {max(old):.0f})")
    print(f"  GET /api/v1/worklist, 1 request: {statistics.median(one):.1f} ms "
          f"(min {min(one):.1f}, max {max(one):.1f}; goal < 100 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
