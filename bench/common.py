"""Helpers shared by the benchmarks: a real Orthanc and a real `nadir serve` on free ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from pacs.process import OrthancConfig, OrthancProcess

REPO = Path(__file__).resolve().parents[1]


def free_ports(n: int) -> list[int]:
    """n distinct free TCP ports: every probe stays bound until all n are read, so no port
    is handed out twice (Orthanc's HTTP and DICOM listeners once collided that way)."""
    with ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(n)]
        for probe in probes:
            probe.bind(("0.0.0.0", 0))
        return [int(probe.getsockname()[1]) for probe in probes]


@contextmanager
def orthanc(workdir: Path, *, stable_age_s: int | None = 1) -> Iterator[OrthancProcess]:
    http_port, dicom_port = free_ports(2)
    proc = OrthancProcess(OrthancConfig(
        storage_dir=workdir / "orthanc", http_port=http_port, dicom_port=dicom_port,
        username="bench", password=uuid.uuid4().hex, stable_age_s=stable_age_s))
    proc.start()
    with proc.client() as client:
        client.put_modality("STORESCU", aet="STORESCU", host="127.0.0.1", port=104)
    try:
        yield proc
    finally:
        proc.stop(kill=True)


def nadir_env(workdir: Path, pacs: OrthancProcess) -> dict[str, str]:
    return dict(
        os.environ,
        NADIR_DATA_DIR=str(workdir / "nadir"),
        NADIR_DATABASE_URL=f"sqlite:///{workdir / 'nadir' / 'nadir.db'}",
        NADIR_ORTHANC_URL=pacs.config.url,
        NADIR_ORTHANC_USERNAME=pacs.config.username,
        NADIR_ORTHANC_PASSWORD=pacs.config.password,
        NADIR_INGEST_INTERVAL_S="0.1",
    )


def create_token(env: dict[str, str], role: str) -> str:
    out = subprocess.run([sys.executable, "-m", "api.cli", "users", "create",
                          f"bench-{role}-{uuid.uuid4().hex[:6]}", "--role", role],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


@contextmanager
def nadir_serve(env: dict[str, str], *, workers: int = 1) -> Iterator[str]:
    [port] = free_ports(1)
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port),
                             "--workers", str(workers)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
