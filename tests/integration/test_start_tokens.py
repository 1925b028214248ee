"""`nadir start` prints a radiologist's token as well as the admin's (issue 18): the admin
token cannot measure, and a newcomer's first minutes should not end in a 403."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from tests.integration.test_processes_files_listeners import Started, _start, stop_at_end

pytestmark = pytest.mark.integration
__all__ = ["stop_at_end"]  # the fixture, shared


def _token(started: Started, prefix: str) -> str:
    return started.line(prefix).split()[-1]


def _me(started: Started, token: str) -> httpx.Response:
    return httpx.get(f"{started.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"},
                     timeout=10)


def test_start_prints_a_radiologist_token_and_renews_it(
        tmp_path: Path, stop_at_end: list[Started]) -> None:
    started = _start(tmp_path)
    stop_at_end.append(started)
    radiologist, admin = _token(started, "Radiologist token:"), started.token
    assert "--role radiologist" in started.line("Measuring needs a radiologist")
    assert _me(started, radiologist).json() == {"name": "radiologist", "role": "radiologist",
                                             "review_case_id": None}
    assert _me(started, admin).json()["role"] == "admin"
    started.proc.send_signal(signal.SIGTERM)
    assert started.proc.wait(timeout=120) == 0

    again = _start(tmp_path)  # the same data folder: a second start
    stop_at_end.append(again)
    renewed = _token(again, "Radiologist token:")
    assert renewed != radiologist
    assert _me(again, radiologist).status_code == 401  # the last start's token is revoked
    assert _me(again, renewed).json()["role"] == "radiologist"
    again.proc.send_signal(signal.SIGTERM)
    assert again.proc.wait(timeout=120) == 0
