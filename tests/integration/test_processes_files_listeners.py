"""`nadir start` as a user runs it: what it listens on, the modes of what it writes, how it stops.

Each test starts the real command (Orthanc, migrations, uvicorn) in a subprocess on free
ports with its own data folder, and checks what the kernel says: /proc/net/tcp for the
listeners, stat for the files, /proc/<pid> for the processes.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from pacs.bindshim import PORTS_VARIABLE, ensure_shim
from pacs.errors import BindShimUnavailable, DimseError
from pacs.listeners import Listener, listening
from pacs.process import find_orthanc_executable
from tests.conftest import free_ports, storescu, wait_until
from tests.factories import tiny_ct_series, write_all

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(find_orthanc_executable() is None, reason="Orthanc is not installed"),
]
NADIR = [sys.executable, "-m", "api.cli"]
START_TIMEOUT_S = 180  # Orthanc, migrations and the app on a busy 2-core machine


@dataclass
class Started:
    proc: subprocess.Popen[bytes]
    data_dir: Path
    web_port: int
    http_port: int
    dicom_port: int
    out: Path

    @property
    def ports(self) -> tuple[int, int, int]:
        return self.web_port, self.http_port, self.dicom_port

    @property
    def banner(self) -> list[str]:
        return self.out.read_text().splitlines()

    @property
    def token(self) -> str:
        [line] = [line for line in self.banner if line.startswith("Admin token:")]
        return line.split()[-1]

    @property
    def orthanc_pid(self) -> int:
        return int((self.data_dir / "orthanc" / "orthanc.pid").read_text())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def orthanc_client(self) -> Any:
        from pacs.orthanc import OrthancClient

        secret = (self.data_dir / "orthanc.secret").read_text().strip()
        return OrthancClient(f"http://127.0.0.1:{self.http_port}", "nadir", secret)

    def line(self, prefix: str) -> str:
        [line] = [line for line in self.banner if line.startswith(prefix)]
        return line


def _start(tmp_path: Path, *extra: str) -> Started:
    data_dir = tmp_path / "data"
    out = tmp_path / "start.out"

    def attempt() -> Started:
        web, http, dicom = free_ports(3)
        with out.open("wb") as sink:
            proc = subprocess.Popen(
                [*NADIR, "start", "--port", str(web), "--orthanc-http-port", str(http),
                 "--dicom-port", str(dicom), *extra],
                env=dict(os.environ, NADIR_DATA_DIR=str(data_dir)), stdout=sink,
                stderr=subprocess.STDOUT)
        return Started(proc, data_dir, web, http, dicom, out)

    def healthy(started: Started) -> bool:
        if started.proc.poll() is not None:
            return True
        if "Admin token:" not in started.out.read_text():
            return False
        try:
            return httpx.get(f"{started.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    started = attempt()
    wait_until(lambda: healthy(started), timeout=START_TIMEOUT_S, interval=0.2)
    if started.proc.poll() is not None and "in use" in out.read_text():
        started = attempt()  # another process took a port between choosing and binding it
        wait_until(lambda: healthy(started), timeout=START_TIMEOUT_S, interval=0.2)
    assert started.proc.poll() is None, out.read_text()
    return started


@pytest.fixture
def stop_at_end() -> Iterator[list[Started]]:
    """Whatever a failed test left running is killed: Nadir, and its Orthanc by pid."""
    running: list[Started] = []
    yield running
    for started in running:
        if started.proc.poll() is None:
            started.proc.kill()
            started.proc.wait()
        pid = started.orthanc_pid
        if _is_running_orthanc(pid):
            os.kill(pid, signal.SIGKILL)


def _is_running_orthanc(pid: int) -> bool:
    """A live (not zombie) Orthanc process with that pid."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X") and b"Orthanc" in cmdline


def _refuses(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def _not_private(root: Path) -> list[str]:
    """Every path under root (root included) that a group or other user may use."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = path.lstat().st_mode
        if stat.S_IMODE(mode) & 0o077:
            found.append(f"{path.relative_to(root.parent)} {stat.filemode(mode)}")
    return found


def _upload_and_store(started: Started, tmp_path: Path) -> None:
    """One instance over HTTP, three over DICOM from a peer added with `nadir peers add`."""
    [uploaded] = tiny_ct_series(1, patient_id="MODES-HTTP")
    buffer = io.BytesIO()
    uploaded.save_as(buffer, enforce_file_format=True)
    headers = {"Authorization": f"Bearer {started.token}"}
    r = httpx.post(f"{started.url}/api/v1/dicom", content=buffer.getvalue(), timeout=60,
                   headers={**headers, "Content-Type": "application/dicom"})
    assert r.status_code == 200, r.text
    added = subprocess.run([*NADIR, "peers", "add", "STORESCU", "127.0.0.1"], text=True,
                           capture_output=True, env=dict(os.environ,
                                                         NADIR_DATA_DIR=str(started.data_dir)))
    assert added.returncode == 0, added.stderr
    pushed = tiny_ct_series(3, patient_id="MODES-DIMSE")
    target = SimpleNamespace(config=SimpleNamespace(aet="NADIR", dicom_port=started.dicom_port))
    storescu(target, write_all(pushed, tmp_path / "push"))

    def indexed() -> bool:
        r = httpx.get(f"{started.url}/api/v1/patients/MODES-DIMSE/studies", headers=headers)
        return r.status_code == 200 and len(r.json()) == 1

    wait_until(indexed, timeout=60, interval=0.2)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP],
                         ids=["SIGTERM", "SIGINT", "SIGHUP"])
def test_start_is_private_and_local_and_a_stop_signal_ends_everything(
    stop_signal: signal.Signals, tmp_path: Path, stop_at_end: list[Started]
) -> None:
    started = _start(tmp_path)
    stop_at_end.append(started)
    orthanc_pid = started.orthanc_pid
    assert _is_running_orthanc(orthanc_pid)

    # Listeners: every one on loopback, and the banner says what the kernel says.
    nadir_listeners = listening(started.proc.pid)
    orthanc_listeners = listening(orthanc_pid)
    assert nadir_listeners == [Listener("127.0.0.1", started.web_port)]
    assert orthanc_listeners == sorted([Listener("127.0.0.1", started.http_port),
                                        Listener("127.0.0.1", started.dicom_port)])
    assert started.line("Listening:") == (
        f"Listening:       Nadir 127.0.0.1:{started.web_port}, "
        + ", ".join(f"Orthanc {'HTTP' if lst.port == started.http_port else 'DICOM'} {lst}"
                    for lst in orthanc_listeners))
    assert started.line("Exposed:") == "Exposed:         nothing; every listener is on loopback"

    # No standing demo peer.
    with started.orthanc_client() as client:
        assert client.modalities() == {}

    # Modes: after the start, and after an upload and a C-STORE (spool, index, storage).
    assert _not_private(started.data_dir) == []
    _upload_and_store(started, tmp_path)
    storage = started.data_dir / "orthanc" / "storage"
    assert len([p for p in storage.rglob("*") if p.is_file()]) >= 4 + 1  # instances + index
    assert (started.data_dir / "spool").is_dir()
    # Its Orthanc posts each stable series to it (pacs/stable_push.py), over loopback, and
    # the service knows to expect the posts (the change feed read less often from the start).
    runtime = json.loads((started.data_dir / "runtime.json").read_text())
    assert runtime["ingest_pushes_expected"] is True
    wait_until(lambda: httpx.get(f"{started.url}/healthz", timeout=5).json()[
        "ingest"]["pushes"] >= 1, timeout=60, interval=0.2)
    assert _not_private(started.data_dir) == []

    started.proc.send_signal(stop_signal)
    assert started.proc.wait(timeout=120) == 0, started.out.read_text()
    assert not _is_running_orthanc(orthanc_pid)
    assert [lst for lst in listening() if lst.port in started.ports] == []
    assert all(_refuses(port) for port in started.ports)


def test_public_dicom_exposes_only_dicom_and_a_killed_nadir_takes_orthanc_down(
    tmp_path: Path, stop_at_end: list[Started]
) -> None:
    started = _start(tmp_path, "--public-dicom")
    stop_at_end.append(started)
    orthanc_pid = started.orthanc_pid
    assert listening(orthanc_pid) == sorted([Listener("0.0.0.0", started.dicom_port),
                                             Listener("127.0.0.1", started.http_port)])
    assert started.line("Exposed:") == (
        f"Exposed:         Orthanc DICOM on every interface port {started.dicom_port}")
    assert any(f"firewall port {started.dicom_port}" in line for line in started.banner)

    # SIGKILL: no chance to stop Orthanc; the kernel sends it SIGTERM (PR_SET_PDEATHSIG).
    started.proc.send_signal(signal.SIGKILL)
    started.proc.wait()
    wait_until(lambda: not _is_running_orthanc(orthanc_pid), timeout=60, interval=0.1)
    wait_until(lambda: all(_refuses(port) for port in started.ports), timeout=60)


def test_demo_registers_its_peer_only_while_it_pushes(orthanc: Any, tmp_path: Path) -> None:
    from pacs.dimse import DicomPeer, store

    env = dict(os.environ, NADIR_DATA_DIR=str(tmp_path), NADIR_ORTHANC_URL=orthanc.config.url,
               NADIR_ORTHANC_USERNAME=orthanc.config.username,
               NADIR_ORTHANC_PASSWORD=orthanc.config.password,
               NADIR_ORTHANC_DICOM_PORT=str(orthanc.config.dicom_port),
               NADIR_ORTHANC_AET=orthanc.config.aet)
    with orthanc.client() as client:
        before = set(client.modalities())
        demo = subprocess.run([*NADIR, "demo", "--rows", "32", "--slices", "203",
                               "--timepoints", "2"], env=env,
                              capture_output=True, text=True, timeout=600)
        assert demo.returncode == 0, demo.stderr
        assert "NADIRDEMO@127.0.0.1 registered for this push" in demo.stdout
        assert "peer NADIRDEMO removed" in demo.stdout
        assert set(client.modalities()) == before
        assert client.statistics()["CountInstances"] > 400  # both studies arrived

    # Afterwards Orthanc 1.10 accepts the association of the demo's AE title but answers
    # no C-STORE of it, and stores nothing.
    [extra] = tiny_ct_series(1, patient_id="AFTER-DEMO")
    peer = DicomPeer("127.0.0.1", orthanc.config.dicom_port, orthanc.config.aet, "NADIRDEMO")
    with pytest.raises(DimseError):
        store(peer, [extra])
    with orthanc.client() as client:
        assert client.find_instance(extra.SOPInstanceUID) is None


def test_demo_peer_is_there_only_inside_and_an_admins_peer_is_left(orthanc: Any) -> None:
    from api.demo import demo_peer
    from api.settings import Settings

    settings = Settings(orthanc_url=orthanc.config.url,
                        orthanc_username=orthanc.config.username,
                        orthanc_password=orthanc.config.password)
    with orthanc.client() as client:
        with demo_peer(settings, "NADIRDEMO"):
            assert client.modalities()["NADIRDEMO"]["Host"] == "127.0.0.1"
        assert "NADIRDEMO" not in client.modalities()
        with demo_peer(settings, "OTHERAET"):  # another calling AE title: nothing registered
            assert "NADIRDEMO" not in client.modalities()
        client.put_modality("NADIRDEMO", aet="NADIRDEMO", host="127.0.0.1", port=11112)
        with pytest.raises(RuntimeError), demo_peer(settings, "NADIRDEMO"):
            raise RuntimeError("the push failed")
        assert client.modalities()["NADIRDEMO"]["Port"] == 11112


def test_the_standing_demo_peer_of_earlier_versions_is_removed_and_others_kept(
    orthanc: Any,
) -> None:
    from api.demo import remove_standing_demo_peer

    with orthanc.client() as client:
        client.put_modality("NADIRDEMO", aet="NADIRDEMO", host="127.0.0.1", port=104)
        assert remove_standing_demo_peer(client)
        assert "NADIRDEMO" not in client.modalities()
        assert not remove_standing_demo_peer(client)
        # Same name, another host: an admin's peer, not the one earlier versions made.
        client.put_modality("NADIRDEMO", aet="NADIRDEMO", host="10.1.2.3", port=104)
        assert not remove_standing_demo_peer(client)
        assert client.modalities()["NADIRDEMO"]["Host"] == "10.1.2.3"


def test_loopback_shim_rewrites_only_wildcard_binds_on_listed_ports(tmp_path: Path) -> None:
    try:
        shim = ensure_shim()
    except BindShimUnavailable as exc:
        pytest.skip(f"no loopback shim on this machine: {exc}")
    listed, also_listed, unlisted = free_ports(3)
    probe = (
        "import socket, sys\n"
        "def bound(family, address, port):\n"
        "    s = socket.socket(family)\n"
        "    s.bind((address, port))\n"
        "    print(s.getsockname()[0], s.getsockname()[1] == port or port == 0)\n"
        "    s.close()\n"
        f"bound(socket.AF_INET, '0.0.0.0', {listed})\n"
        f"bound(socket.AF_INET, '0.0.0.0', {unlisted})\n"
        "bound(socket.AF_INET, '0.0.0.0', 0)\n"
        f"bound(socket.AF_INET, '127.0.0.2', {also_listed})\n"
        f"bound(socket.AF_INET6, '::', {also_listed})\n"
    )
    env = dict(os.environ, LD_PRELOAD=str(shim),
               **{PORTS_VARIABLE: f"{listed},{also_listed}"})
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                         text=True, check=True)
    assert out.stdout.split("\n")[:5] == [
        "127.0.0.1 True", "0.0.0.0 True", "0.0.0.0 True", "127.0.0.2 True", "::1 True"]


def test_orthanc_listens_on_loopback_unless_dicom_is_exposed(tmp_path: Path) -> None:
    from tests.conftest import start_orthanc

    for expose, dicom_address in ((False, "127.0.0.1"), (True, "0.0.0.0")):
        proc = start_orthanc(tmp_path / str(expose), username="u", password="p",
                             expose_dicom=expose)
        try:
            if proc.loopback_problem is not None:
                pytest.skip(f"no loopback shim on this machine: {proc.loopback_problem}")
            assert proc.listeners() == sorted([
                Listener("127.0.0.1", proc.config.http_port),
                Listener(dicom_address, proc.config.dicom_port)])
        finally:
            proc.stop(kill=True)
