"""What three parallel 400 MB request bodies without a token cost `nadir serve` (issue 15).

Each client streams 400 MB of zeros (Content-Length declared, nothing allocated) to
`POST /api/v1/cases/1/sr` without a token. The figures: each answer's status and time,
how much of each body the client could send before the server answered and closed, and the
server process's resident set at rest and at its peak (VmHWM of /proc/PID/status, reset
before the run). Baseline in the same run: the same three requests with a 1 KB body.
Usage: .venv/bin/python -m bench.anonymous_bodies [--mb 400]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.common import nadir_env, nadir_process, orthanc

MB = 1024**2
_ZEROS = bytes(MB)


def _memory_mb(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) // 1024
    return fields


def _round(url: str, pid: int, size: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS
    rest = _memory_mb(pid)["VmRSS"]
    sent = [0, 0, 0]
    piece = _ZEROS[:min(MB, size)]

    def post(i: int) -> tuple[int, float]:
        def body() -> Iterator[bytes]:
            while sent[i] < size:
                sent[i] += len(piece)
                yield piece

        started = time.monotonic()
        r = httpx.post(f"{url}/api/v1/cases/1/sr", content=body(), timeout=600, headers={
            "Content-Type": "application/dicom", "Content-Length": str(size)})
        return r.status_code, time.monotonic() - started

    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(post, range(3)))
    peak = _memory_mb(pid)["VmHWM"]
    print(f"3 x {size:,} bytes: answers {[(s, round(t, 2)) for s, t in answers]}; "
          f"each client could send at most {max(sent):,} bytes of its body; server "
          f"resident {rest} MB at rest, peak {peak} MB (+{peak - rest} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, orthanc(Path(tmp)) as pacs, \
            nadir_process(nadir_env(Path(tmp), pacs)) as (url, proc):
        for _ in range(3):  # warm up
            httpx.post(f"{url}/api/v1/cases/1/sr", content=b"x" * 1024)
        _round(url, proc.pid, 1024)
        _round(url, proc.pid, args.mb * MB)

if __name__ == "__main__":
    main()
