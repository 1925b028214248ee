"""The `nadir` command as a user runs it: users create, serve; killed mid-ingest and restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_ports, storescu, wait_until
from tests.factories import tiny_ct_series, write_all
from tests.faults import index_against_orthanc

pytestmark = pytest.mark.integration
NADIR = [sys.executable, "-m", "api.cli"]


def _env(database_url: str, orthanc: Any, data_dir: Path) -> dict[str, str]:
    return dict(
        os.environ,
        NADIR_DATABASE_URL=database_url,
        NADIR_ORTHANC_URL=orthanc.config.url,
        NADIR_ORTHANC_USERNAME=orthanc.config.username,
        NADIR_ORTHANC_PASSWORD=orthanc.config.password,
        NADIR_DATA_DIR=str(data_dir),
        NADIR_INGEST_INTERVAL_S="0.05",
    )


def _serve(env: dict[str, str], port: int, *, timeout: float = 240) -> subprocess.Popen[bytes]:
    """Start `nadir serve`; return once it answers /healthz.

    It is waited for until it answers or exits, not for a time a quiet machine needs: with
    ~9 test runs on two cores, importing the app alone took 27 s (2026-12-04), and a 30 s
    limit failed four tests of a fresh-clone run. ``timeout`` only ends a start that hangs.
    A start that fails is killed (it used to be left running) and its stderr is shown."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([*NADIR, "serve", "--host", "127.0.0.1", "--port", str(port)],
                                env=env, stdout=subprocess.DEVNULL, stderr=log)

        def up_or_exited() -> bool:
            if proc.poll() is not None:
                return True
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz",
                                 timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        try:
            wait_until(up_or_exited, timeout=timeout, interval=0.1)
            if proc.poll() is not None:
                raise AssertionError(f"exited with status {proc.returncode}")
        except BaseException as exc:
            proc.kill()
            proc.wait(timeout=30)
            log.seek(0)
            stderr = log.read()[-3000:].decode(errors="replace")
            if not isinstance(exc, Exception):  # pytest's own timeout, an interrupt
                raise
            raise AssertionError(f"nadir serve on port {port} did not start ({exc}):\n"
                                 f"{stderr}") from None
    return proc


def test_users_create_prints_token_last_and_rejects_bad_role(
    database_url: str, orthanc: Any, tmp_path: Path
) -> None:
    env = _env(database_url, orthanc, tmp_path)
    out = subprocess.run([*NADIR, "users", "create", "dr-who", "--role", "radiologist"],
                         env=env, capture_output=True, text=True, check=True)
    token = out.stdout.strip().splitlines()[-1]
    assert token.startswith("ndr_") and " " not in token
    bad = subprocess.run([*NADIR, "users", "create", "x", "--role", "janitor"],
                         env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "janitor" in bad.stderr
    share_only = subprocess.run([*NADIR, "users", "create", "x", "--role", "reviewer"],
                                env=env, capture_output=True, text=True)
    assert share_only.returncode != 0 and "bound to one share" in share_only.stderr
    [port] = free_ports(1)
    proc = _serve(env, port)
    try:
        url = f"http://127.0.0.1:{port}/api/v1/patients"
        assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert httpx.get(url).status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_service_killed_mid_ingest_then_restarted(
    database_url: str, orthanc: Any, tmp_path: Path
) -> None:
    env = _env(database_url, orthanc, tmp_path)
    out = subprocess.run([*NADIR, "users", "create", "reader", "--role", "specialist"],
                         env=env, capture_output=True, text=True, check=True)
    headers = {"Authorization": f"Bearer {out.stdout.strip().splitlines()[-1]}"}
    [port] = free_ports(1)
    proc = _serve(env, port)
    try:
        studies = [tiny_ct_series(4, patient_id="CRASH", study_date=f"2026010{i}")
                   for i in (1, 2, 3)]
        storescu(orthanc, write_all(studies[0], tmp_path / "s0"))
        storescu(orthanc, write_all(studies[1], tmp_path / "s1"))
        # Killed once the follower has read changes of these pushes (its cursor moved): ingest
        # is under way, and most likely not done (series are stable 1 s after their last
        # instance).
        wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{port}/healthz").json()["ingest"]["cursor"],
            timeout=60, interval=0.02)
    finally:
        proc.send_signal(signal.SIGKILL)  # no chance to save anything
        proc.wait()
    storescu(orthanc, write_all(studies[2], tmp_path / "s2"))
    proc = _serve(env, port)
    try:
        url = f"http://127.0.0.1:{port}/api/v1/patients/CRASH/studies"

        def three() -> list[Any] | None:
            r = httpx.get(url, headers=headers)
            body = r.json() if r.status_code == 200 else []
            return body if len(body) == 3 else None

        body = wait_until(three, timeout=60)  # a restart under CI load can take a while
        assert [s["study_instance_uid"] for s in body] == [
            s[0].StudyInstanceUID for s in studies]
        assert all(len(s["series"]) == 1 and s["series"][0]["instances"] == 4 for s in body)
        with orthanc.client() as client:  # the fault suite's check: the index is Orthanc's
            check = index_against_orthanc(database_url, client)
        assert check.consistent and (check.orthanc, check.indexed) == (12, 12)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_start_refuses_ports_in_use_with_a_hint(tmp_path: Path) -> None:
    import socket

    with socket.socket() as held:
        held.bind(("0.0.0.0", 0))
        held.listen()
        port = held.getsockname()[1]
        http_port, dicom_port = free_ports(2)
        out = subprocess.run(
            [*NADIR, "start", "--port", str(port), "--orthanc-http-port", str(http_port),
             "--dicom-port", str(dicom_port)],
            env=dict(os.environ, NADIR_DATA_DIR=str(tmp_path)), capture_output=True,
            text=True, timeout=60)
    assert out.returncode == 1
    assert f"--port {port}" in out.stderr and "in use" in out.stderr
