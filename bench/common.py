"""Helpers shared by the benchmarks: a real Orthanc and a real `nadir serve` on free ports."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

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


def wrk_figures(out: str) -> dict[str, str]:
    """Requests/s, median and 99th percentile latency, non-2xx count of `wrk --latency`."""
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests_per_s": re.search(r"Requests/sec:\s+([\d.]+)", out).group(1),  # type: ignore[union-attr]
        "p50": re.search(r"50%\s+(\S+)", out).group(1),  # type: ignore[union-attr]
        "p99": re.search(r"99%\s+(\S+)", out).group(1),  # type: ignore[union-attr]
        "non_2xx": non2xx.group(1) if non2xx else "0",
    }


@contextmanager
def orthanc(workdir: Path, *, stable_age_s: int | None = 1, index_url: str | None = None,
            stable_series_url: str | None = None) -> Iterator[OrthancProcess]:
    """A real Orthanc on free ports (its index in PostgreSQL with ``index_url``; posting
    stable series to ``stable_series_url`` when given)."""
    http_port, dicom_port = free_ports(2)
    proc = OrthancProcess(OrthancConfig(
        storage_dir=workdir / "orthanc", http_port=http_port, dicom_port=dicom_port,
        username="bench", password=uuid.uuid4().hex, stable_age_s=stable_age_s,
        index_url=index_url, stable_series_url=stable_series_url))
    proc.start()
    with proc.client() as client:
        client.put_modality("STORESCU", aet="STORESCU", host="127.0.0.1", port=104)
    try:
        yield proc
    finally:
        proc.stop(kill=True)


def push(pacs: OrthancProcess, files: Sequence[Path]) -> None:
    """Send ``files`` to Orthanc by storescu (C-STORE), as a modality does."""
    cfg = pacs.config
    subprocess.run(["storescu", "-aet", "STORESCU", "-aec", cfg.aet, "127.0.0.1",
                    str(cfg.dicom_port), *map(str, files)], check=True,
                   capture_output=True, env={"TCP_NODELAY": "1", "PATH": "/usr/bin"})


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) the process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_idle(pid: int, *, quiet_s: float = 1.0, timeout_s: float = 60.0) -> float:
    """Wait until the process has used less than 2 % of a core over ``quiet_s`` (its
    start-up work done); the seconds waited."""
    start = time.monotonic()
    before = cpu_seconds(pid)
    while time.monotonic() < start + timeout_s:
        time.sleep(quiet_s)
        now = cpu_seconds(pid)
        if now - before < 0.02 * quiet_s:
            break
        before = now
    return time.monotonic() - start


@contextmanager
def checkout(ref: str, workdir: Path) -> Iterator[Path]:
    """A worktree of ``ref`` for the time of the comparison."""
    path = workdir / "against"
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), ref],
                   check=True, capture_output=True)
    try:
        yield path
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)],
                       check=False, capture_output=True)


def load_average() -> str:
    """The 1-minute load average now, for the figures' context (a shared machine)."""
    return f"{os.getloadavg()[0]:.1f}"


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
def nadir_serve(env: dict[str, str], *, workers: int = 1, port: int | None = None
                ) -> Iterator[str]:
    with nadir_process(env, workers=workers, port=port) as (url, _):
        yield url


@contextmanager
def pg_database(server: str) -> Iterator[str]:
    """A new, empty database on a PostgreSQL server (libpq URL without a database): its
    libpq URL; dropped after."""
    import sqlalchemy as sa

    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server.replace("postgresql://", "postgresql+psycopg://")
                             + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server}/{name}"
    finally:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def nadir_process(env: dict[str, str], *, workers: int = 1, port: int | None = None,
                  code: Path | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`nadir serve` on a free port (or ``port``), up: its URL and its process. ``code``:
    another checkout of Nadir to run instead of this one (same environment)."""
    if port is None:
        [port] = free_ports(1)
    if code is not None:
        env = dict(env, PYTHONPATH=str(code))
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port),
                             "--workers", str(workers)], cwd=code,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    # On a loaded machine the app can take a minute to import and migrate; a server that
    # never answers stops the benchmark here rather than at its first request.
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            hint = "" if code is None else (
                f"; {code} must know every migration of this database (alembic stops "
                "at a revision it does not have)")
            raise RuntimeError(f"nadir serve did not answer on {url} "
                               f"(exit code {proc.poll()}){hint}")
        time.sleep(0.1)
    try:
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def ct_slice(*, patient_id: str, study_date: str, study_uid: str, series_uid: str,
             number: int, matrix: int, pixels: bytes, spacing_mm: float = 0.7,
             thickness_mm: float = 1.25) -> Dataset:
    """One axial CT slice (uncompressed, 16-bit) of a benchmark series; ``pixels`` holds
    matrix x matrix int16 values."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
    ds.PatientID, ds.PatientName = patient_id, "Bench^Patient"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
    ds.StudyDate, ds.Modality, ds.SeriesNumber, ds.InstanceNumber = study_date, "CT", 1, number
    ds.ImagePositionPatient = [0.0, 0.0, -thickness_mm * number]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.PixelSpacing, ds.SliceThickness = [spacing_mm, spacing_mm], thickness_mm
    ds.Rows = ds.Columns = matrix
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
    ds.PixelData = pixels
    return ds
