"""Ingest benchmark: storescu -> Orthanc alone, against storescu -> Orthanc -> indexed by Nadir.

Both runs push the same generated study pair (two CT studies, each with a 300-slice thin
series, a 5 mm series, scouts and a dose report) with dcmtk's storescu into a fresh Orthanc
using the repository's Orthanc configuration (StableAge included).
- "Orthanc alone": from the start of storescu until Orthanc reports every series stable.
- "with Nadir": from the start of storescu until `nadir serve`, following the change feed,
  lists every series of both studies with all their instances.
Runs alternate and repeat; medians are reported.
Usage: .venv/bin/python -m bench.ingest [--repeat N] [--matrix 512]
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

from bench.common import create_token, nadir_env, nadir_serve, orthanc
from synthetic import demo_patient, generate_study, write_study


def push(pacs: object, files: list[Path]) -> float:
    cfg = pacs.config  # type: ignore[attr-defined]
    start = time.perf_counter()
    subprocess.run(["storescu", "-aet", "STORESCU", "-aec", cfg.aet, "127.0.0.1",
                    str(cfg.dicom_port), *map(str, files)], check=True,
                   env=dict(os.environ, TCP_NODELAY="1"), capture_output=True)
    return start


def all_stable(pacs: object, series_count: int) -> bool:
    with pacs.client() as client:  # type: ignore[attr-defined]
        series = client.resources("series")
    return len(series) == series_count and all(s["IsStable"] for s in series)


def all_indexed(url: str, token: str, patient_id: str, expected: list[list[int]]) -> bool:
    r = httpx.get(f"{url}/api/v1/patients/{patient_id}/studies",
                  headers={"Authorization": f"Bearer {token}"})
    if r.status_code != 200:
        return False
    got = [sorted(s["instances"] for s in st["series"]) for st in r.json()]
    return got == expected


def wait(predicate: object, timeout: float = 120.0) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if predicate():  # type: ignore[operator]
            return time.perf_counter()
        time.sleep(0.02)
    raise TimeoutError("benchmark condition not met")


def run_alone(workdir: Path, files: list[Path], series_count: int) -> float:
    with orthanc(workdir, stable_age_s=None) as pacs:
        start = push(pacs, files)
        return wait(lambda: all_stable(pacs, series_count)) - start


def run_with_nadir(workdir: Path, files: list[Path], expected: list[list[int]],
                   patient_id: str) -> float:
    with orthanc(workdir, stable_age_s=None) as pacs:
        env = nadir_env(workdir, pacs)
        env.pop("NADIR_INGEST_INTERVAL_S")  # the service's default polling
        token = create_token(env, "specialist")
        with nadir_serve(env) as url:
            start = push(pacs, files)
            return wait(lambda: all_indexed(url, token, patient_id, expected)) - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--matrix", type=int, default=512)
    args = parser.parse_args()
    demo = demo_patient(matrix=args.matrix, thin_slice_count=300)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files: list[Path] = []
        expected: list[list[int]] = []
        for name, spec, seed in (("bl", demo.baseline, 1), ("fu", demo.followup, 2)):
            datasets = generate_study(spec, seed=seed)
            counts: dict[str, int] = {}
            for ds in datasets:
                counts[ds.SeriesInstanceUID] = counts.get(ds.SeriesInstanceUID, 0) + 1
            expected.append(sorted(counts.values()))
            files += write_study(datasets, root / name)
        series_count = sum(len(e) for e in expected)
        alone: list[float] = []
        nadir: list[float] = []
        for i in range(args.repeat):
            # Alternate which run goes first, so drift of the machine favours neither.
            order = ("alone", "nadir") if i % 2 == 0 else ("nadir", "alone")
            for which in order:
                if which == "alone":
                    alone.append(run_alone(root / f"a{i}", files, series_count))
                else:
                    nadir.append(run_with_nadir(root / f"n{i}", files, expected,
                                                demo.baseline.patient.patient_id))
    a, n = statistics.median(alone), statistics.median(nadir)
    print(f"{len(files)} objects ({args.matrix}x{args.matrix}), {args.repeat} runs each")
    print(f"storescu -> Orthanc, until every series is stable:   median {a:.2f} s "
          f"(runs: {', '.join(f'{x:.2f}' for x in alone)})")
    print(f"storescu -> Orthanc -> indexed by Nadir:             median {n:.2f} s "
          f"(runs: {', '.join(f'{x:.2f}' for x in nadir)})")
    print(f"indexing adds {100 * (n - a) / a:+.1f} % end to end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
