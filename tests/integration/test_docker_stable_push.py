"""The Docker deployment's stable-series script (docker/orthanc/stable-push.lua, made by
pacs/stable_push.py), run by a real Orthanc 1.10.1: the secret comes from Orthanc's
environment, every node is posted to, and a node that is down does not stop the others.
There is no Docker engine here: the script runs in a plain Orthanc process, with localhost
in place of the compose service names."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from api.routes.internal import STABLE_SERIES_PATH
from pacs.process import find_orthanc_executable
from pacs.stable_push import PUSH_SECRET_HEADER, stable_push_lua_for_services
from tests.conftest import STORESCU_AET, free_ports, storescu, wait_until
from tests.factories import tiny_ct_series, write_all

pytestmark = pytest.mark.integration
SECRET = "f" * 40


class _Recorder(BaseHTTPRequestHandler):
    posts: list[tuple[str, str | None, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.posts.append((self.path, self.headers.get(PUSH_SECRET_HEADER), body))
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[HTTPServer]:
    _Recorder.posts = []
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    thread.join(timeout=10)


def test_the_docker_script_posts_each_stable_series_to_every_node(
        recorder: HTTPServer, tmp_path: Path) -> None:
    executable = find_orthanc_executable()
    if executable is None:
        pytest.skip("Orthanc is not installed (scripts/setup.sh installs Debian's orthanc)")
    http_port, dicom_port, down_port = free_ports(3)
    urls = [f"http://localhost:{down_port}{STABLE_SERIES_PATH}",  # a node that is down
            f"http://localhost:{recorder.server_port}{STABLE_SERIES_PATH}"]
    script = tmp_path / "stable-push.lua"
    script.write_text(stable_push_lua_for_services(urls, "NADIR_PUSH_SECRET"))
    config = tmp_path / "orthanc.json"
    config.write_text(json.dumps({
        "HttpPort": http_port, "DicomPort": dicom_port, "DicomAet": "NADIR",
        "StorageDirectory": str(tmp_path / "db"), "IndexDirectory": str(tmp_path / "db"),
        "RemoteAccessAllowed": False, "AuthenticationEnabled": False,
        "DicomAlwaysAllowStore": True, "StableAge": 1, "HttpTimeout": 2,
        "LuaScripts": [str(script)]}))
    env = dict(os.environ, NADIR_PUSH_SECRET=SECRET, TCP_NODELAY="1")
    with (tmp_path / "orthanc.log").open("wb") as log:
        proc = subprocess.Popen([executable, str(config)], stdout=log,
                                stderr=subprocess.STDOUT, env=env)
    try:
        orthanc = _Plain(http_port, dicom_port)
        wait_until(orthanc.up, timeout=60)
        series = tiny_ct_series(2, patient_id="DOCKER-PUSH")
        storescu(orthanc, write_all(series, tmp_path / "files"), aet=STORESCU_AET)
        posts = wait_until(lambda: list(_Recorder.posts), timeout=60)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    [(path, secret, body)] = posts
    assert path == STABLE_SERIES_PATH and secret == SECRET
    assert set(body) == {"series"} and len(body["series"]) == 44


class _Plain:
    """What tests.conftest.storescu needs of an Orthanc, and a readiness check."""

    def __init__(self, http_port: int, dicom_port: int) -> None:
        self.http_port = http_port
        self.config = type("Config", (), {"aet": "NADIR", "dicom_port": dicom_port})()

    def up(self) -> bool:
        import httpx

        try:
            return httpx.get(f"http://127.0.0.1:{self.http_port}/system",
                             timeout=1).status_code == 200
        except httpx.HTTPError:
            return False
