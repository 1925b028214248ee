"""Peak memory of `nadir serve` while it takes a 1 GB zip upload (POST /api/v1/dicom).

The zip holds CT slices of 512 x 512 with noise (stored, as PACS exports are: DICOM pixel
data barely compresses). The client streams it from disk. The figure is the server
process's peak resident set (VmHWM of /proc/PID/status), against its resident set at rest
and its peak after a 10 MB zip: the peak must not grow with the upload.
Usage: .venv/bin/python -m bench.upload_memory [--gb 1.0]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import httpx
from pydicom.uid import generate_uid

from bench.common import create_token, ct_slice, free_ports, nadir_env, orthanc

MATRIX = 512


def slice_file(study: str, series: str, number: int) -> bytes:
    ds = ct_slice(patient_id="BENCH-UPLOAD", study_date="20260105", study_uid=study,
                  series_uid=series, number=number, matrix=MATRIX, thickness_mm=1.0,
                  pixels=os.urandom(MATRIX * MATRIX * 2))  # noise: as incompressible as CT
    buffer = BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def write_zip(path: Path, size_bytes: int) -> int:
    study, series, count, written = generate_uid(), generate_uid(), 0, 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        while written < size_bytes:
            count += 1
            data = slice_file(study, series, count)
            archive.writestr(f"study/series/IM{count:05d}", data)
            written += len(data)
    return count


def memory_kb(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            yield chunk


def upload(url: str, token: str, path: Path) -> tuple[int, float]:
    start = time.perf_counter()
    r = httpx.post(f"{url}/api/v1/dicom", content=chunks(path), timeout=1800, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/zip",
        "Content-Length": str(path.stat().st_size)})
    r.raise_for_status()
    return len(r.json()["instances"]), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gb", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, orthanc(Path(tmp), stable_age_s=None) as pacs:
        work = Path(tmp)
        small, big = work / "small.zip", work / "big.zip"
        write_zip(small, 10 * 1024**2)
        files = write_zip(big, int(args.gb * 1024**3))
        env = nadir_env(work, pacs) | {"NADIR_INGEST": "false"}
        token = create_token(env, "uploader")
        [port] = free_ports(1)
        server = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port",
                                   str(port), "--no-ingest"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            rest = memory_kb(server.pid)
            upload(url, token, small)
            after_small = memory_kb(server.pid)
            stored, elapsed = upload(url, token, big)
            after_big = memory_kb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    size_mb = big.stat().st_size / 1024**2 if big.exists() else args.gb * 1024
    print(f"zip of {files} CT slices ({MATRIX}x{MATRIX}), {size_mb:,.0f} MB: {stored} stored "
          f"in {elapsed:.1f} s ({size_mb / elapsed:.0f} MB/s)")
    print(f"nadir serve resident set: {rest['VmRSS'] / 1024:.0f} MB at rest; peak "
          f"{after_small['VmHWM'] / 1024:.0f} MB after a 10 MB zip; peak "
          f"{after_big['VmHWM'] / 1024:.0f} MB after the {size_mb:,.0f} MB zip")


if __name__ == "__main__":
    main()
