"""Starting a real Orthanc: a port another process holds is named in the error."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pacs.errors import OrthancPortInUse, OrthancProcessError
from pacs.process import OrthancConfig, OrthancProcess, find_orthanc_executable
from tests.conftest import free_ports

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(find_orthanc_executable() is None, reason="Orthanc is not installed"),
]


@pytest.mark.parametrize("listener", ["HTTP", "DICOM"])
def test_start_names_the_port_in_use(listener: str, tmp_path: Path) -> None:
    with socket.socket() as held:
        # Held on loopback, where Orthanc listens (or on every interface, without the shim).
        held.bind(("127.0.0.1", 0))
        held.listen()
        busy = int(held.getsockname()[1])
        [free] = free_ports(1)
        http_port, dicom_port = (busy, free) if listener == "HTTP" else (free, busy)
        proc = OrthancProcess(OrthancConfig(storage_dir=tmp_path, http_port=http_port,
                                            dicom_port=dicom_port, username="u", password="p"))
        with pytest.raises(OrthancPortInUse) as raised:
            proc.start()
    assert not proc.running
    assert (raised.value.listener, raised.value.port) == (listener, busy)
    message = str(raised.value)
    assert f"{listener} port {busy}" in message and "in use" in message
    assert f"port {free}" not in message


def test_one_port_for_both_listeners_is_refused_before_starting(tmp_path: Path) -> None:
    [port] = free_ports(1)
    with pytest.raises(OrthancProcessError, match=f"both are {port}"):
        OrthancConfig(storage_dir=tmp_path, http_port=port, dicom_port=port,
                      username="u", password="p")
    assert not tmp_path.joinpath("orthanc.log").exists()


def test_free_ports_are_distinct() -> None:
    ports = free_ports(20)
    assert len(set(ports)) == 20
