"""Load test of POST /api/v1/recist/evaluate on loopback, with wrk.

Baseline in the same run: the same request body parsed, evaluated and rendered in-process
(no HTTP), so the figure shows what the web layer adds. Bounded: 10 s of load per run.
Usage: .venv/bin/python -m bench.load_evaluate
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import create_token, nadir_env, nadir_serve, orthanc, wrk_figures
from measurement.codec import evaluate_request

DURATION_S = 10
CONNECTIONS = 16


def request_body() -> dict[str, object]:
    """A realistic follow-up case: 4 timepoints, 5 targets, 2 non-targets, 1 new lesion."""
    tps = [("BL", "2026-01-05"), ("FU1", "2026-03-02"), ("FU2", "2026-04-27"),
           ("FU3", "2026-06-22")]
    sizes = [[32, 24, 20, 21], [18, 12, 9, 9], [25, 20, 18, 30], [15, 11, "too_small", 6],
             [40, 30, 28, 27]]
    lesions: list[dict[str, object]] = [
        {"id": f"T{i + 1}", "kind": "target", "organ": organ, "nodal": i == 1,
         "measurements": {tp: v for (tp, _), v in zip(tps, sizes[i], strict=True)}}
        for i, organ in enumerate(["lung", "lymph node", "liver", "lung", "adrenal"])
    ]
    lesions += [{"id": f"NT{i}", "kind": "non_target", "organ": "bone", "nodal": False,
                 "assessments": {tp: "present" for tp, _ in tps}} for i in (1, 2)]
    lesions.append({"id": "NEW1", "kind": "new", "organ": "liver", "timepoint": "FU3"})
    return {"criteria": "RECIST1.1", "timepoints": [{"id": t, "date": d} for t, d in tps],
            "lesions": lesions}


def in_process_rate(body: dict[str, object], seconds: float = 3.0) -> float:
    raw = json.dumps(body)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        evaluate_request(json.loads(raw))
        n += 1
    return n / (time.perf_counter() - start)


def run_wrk(url: str, token: str, body: dict[str, object], workdir: Path) -> dict[str, str]:
    script = workdir / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
    )
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{DURATION_S}s", "--latency", "-s", str(script),
         f"{url}/api/v1/recist/evaluate"], capture_output=True, text=True, check=True).stdout
    return wrk_figures(out)


def main() -> int:
    if shutil.which("wrk") is None:
        print("wrk is not installed: bash scripts/setup.sh dev installs it", file=sys.stderr)
        return 2
    body = request_body()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        with orthanc(workdir) as pacs:
            env = nadir_env(workdir, pacs)
            token = create_token(env, "specialist")
            runs = {}
            for workers in (1, 2):
                with nadir_serve(env, workers=workers) as url:
                    runs[workers] = run_wrk(url, token, body, workdir)
    engine = in_process_rate(body)
    print(f"evaluate, in-process (parse + engine + render), 1 core: {engine:,.0f} /s")
    for workers, http in runs.items():
        print(f"evaluate over HTTP, nadir serve --workers {workers}, wrk {CONNECTIONS} "
              f"connections {DURATION_S}s: {float(http['requests_per_s']):,.0f} req/s, "
              f"p50 {http['p50']}, p99 {http['p99']}, non-2xx {http['non_2xx']}")
    return 0 if all(h["non_2xx"] == "0" for h in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
