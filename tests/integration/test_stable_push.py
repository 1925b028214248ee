"""Orthanc posts stable series to Nadir (pacs/stable_push.py): the internal endpoint opens
to the shared secret only, and a C-STORE'd series is listed without the poll's help."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.routes.internal import STABLE_SERIES_PATH
from pacs.stable_push import PUSH_SECRET_HEADER, push_secret
from tests.conftest import (
    STORESCU_AET,
    Service,
    free_ports,
    make_tokens,
    start_orthanc,
    storescu,
    wait_until,
)
from tests.factories import tiny_ct_series, write_all

pytestmark = pytest.mark.integration
#: A well-formed Orthanc id that no Orthanc holds (ids are SHA-1s of DICOM UIDs).
UNKNOWN_SERIES = "deadbeef-0a1b2c3d-22222222-33333333-44444444"
#: No poll within a test: only a post from Orthanc can wake the follower.
NEVER_S = 3600.0


def _secret(service: Service) -> str:
    return str(service.app.state.settings.orthanc_push_secret)


def _post(service: Service, body: object = None, **headers: str) -> httpx.Response:
    response: httpx.Response = service.client.post(
        STABLE_SERIES_PATH, json={"series": UNKNOWN_SERIES} if body is None else body,
        headers=headers)
    return response


def test_missing_or_wrong_secret_is_refused(service: Service) -> None:
    r = _post(service)
    assert r.status_code == 401 and PUSH_SECRET_HEADER in r.json()["detail"]
    secret = _secret(service)
    for wrong in ("", secret[:-1], secret + "0", secret.upper(), "x" * 64,
                  push_secret("another password")):
        r = _post(service, **{PUSH_SECRET_HEADER: wrong})
        assert r.status_code == 401, wrong
        assert "wrong" in r.json()["detail"] or "missing" in r.json()["detail"]
    assert service.app.state.ingest.follower.status.pushes == 0


@pytest.mark.parametrize("role", ["uploader", "radiologist", "specialist", "admin"])
def test_no_role_token_opens_it(service: Service, role: str) -> None:
    token = service.tokens[role]
    r = _post(service, Authorization=f"Bearer {token}")
    assert r.status_code == 401, r.text
    # Nor a token where the secret goes.
    r = _post(service, **{PUSH_SECRET_HEADER: token})
    assert r.status_code == 401, r.text
    r = _post(service, Authorization=f"Bearer {token}", **{PUSH_SECRET_HEADER: token})
    assert r.status_code == 401, r.text
    assert service.app.state.ingest.follower.status.pushes == 0


def test_oversized_and_bad_bodies(service: Service) -> None:
    secret = {PUSH_SECRET_HEADER: _secret(service)}
    big = {"series": UNKNOWN_SERIES, "padding": "x" * 2000}
    r = _post(service, big, **secret)
    assert r.status_code == 413 and "1,024 bytes" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"series": "'
        for _ in range(40):
            yield b"0" * 100
        yield b'"}'

    r = service.client.post(STABLE_SERIES_PATH, content=chunks(),
                            headers={**secret, "Content-Type": "application/json"})
    assert r.status_code == 413
    # Refused before its body when the secret is wrong, however large it says it is.
    r = service.client.post(STABLE_SERIES_PATH, content=b"{}",
                            headers={PUSH_SECRET_HEADER: "wrong", "Content-Length": "9999999"})
    assert r.status_code == 401
    for bad in ({"series": "../../system"}, {"series": UNKNOWN_SERIES.upper()},
                {"series": UNKNOWN_SERIES + "-0"}, {"series": 12}, {},
                {"series": UNKNOWN_SERIES, "other": 1}, ["x"]):
        r = _post(service, bad, **secret)
        assert r.status_code == 422, (bad, r.text)
    r = service.client.post(STABLE_SERIES_PATH, content=b"{not json",
                            headers={**secret, "Content-Type": "application/json"})
    assert r.status_code == 422
    assert service.app.state.ingest.follower.status.pushes == 0


def test_unknown_series_is_accepted_and_indexes_nothing(service: Service) -> None:
    # The endpoint may not ask Orthanc (Orthanc waits for its answer): it wakes the
    # follower, which finds no change for the series and indexes nothing.
    follower = service.app.state.ingest.follower
    wait_until(lambda: service.app.state.ingest.leader, timeout=60)
    polled = follower.status.last_poll_at
    r = _post(service, **{PUSH_SECRET_HEADER: _secret(service)})
    assert r.status_code == 202
    assert r.json() == {"series": UNKNOWN_SERIES, "leader": True}
    assert follower.status.pushes == 1
    wait_until(lambda: follower.status.last_poll_at != polled, timeout=60)
    assert follower.status.last_error is None and follower.status.indexed_series == 0
    r = service.client.get("/api/v1/patients", headers=service.headers("admin"))
    assert r.json() == []
    health = service.client.get("/healthz").json()
    assert health["ingest"]["pushes"] == 1


def test_not_in_the_public_openapi(service: Service) -> None:
    paths = service.client.get("/openapi.json").json()["paths"]
    assert not any(path.startswith("/internal") for path in paths)


@contextmanager
def _live(tmp_path: Path, database_url: str, *, push: bool) -> Iterator[tuple[Any, str, str]]:
    """A real Orthanc whose Lua posts stable series to a real Nadir (uvicorn in a thread)
    that never polls on its own: (Orthanc, Nadir's URL, a radiologist's token)."""
    import uvicorn

    from api.app import create_app
    from api.settings import Settings

    [port] = free_ports(1)
    pacs = start_orthanc(tmp_path / "orthanc", username="nadir-test", password=uuid.uuid4().hex,
                         stable_age_s=1, stable_series_url=(
                             f"http://127.0.0.1:{port}{STABLE_SERIES_PATH}" if push else None))
    server: Any = None
    thread: threading.Thread | None = None
    try:
        with pacs.client() as client:
            client.put_modality(STORESCU_AET, aet=STORESCU_AET, host="127.0.0.1", port=104)
        app = create_app(Settings(
            data_dir=tmp_path / "data", database_url=database_url,
            orthanc_url=pacs.config.url, orthanc_username=pacs.config.username,
            orthanc_password=pacs.config.password, ingest_interval_s=NEVER_S,
            ingest_pushed_interval_s=NEVER_S))
        token = make_tokens(app)["radiologist"]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", access_log=False))
        thread = threading.Thread(target=server.run, name="nadir-push-test", daemon=True)
        thread.start()
        wait_until(lambda: server.started, timeout=60)
        url = f"http://127.0.0.1:{port}"
        # The follower's first read (at start) is over before anything is stored.
        wait_until(lambda: _health(url)["ingest"]["leader"]
                   and _health(url)["ingest"]["cursor"] >= 0, timeout=60)
        yield pacs, url, token
    finally:
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=30)
        pacs.stop(kill=True)


def _health(url: str) -> dict[str, Any]:
    result: dict[str, Any] = httpx.get(f"{url}/healthz", timeout=5).json()
    return result


def _listed(url: str, token: str, patient_id: str) -> Callable[[], list[int]]:
    def counts() -> list[int]:
        r = httpx.get(f"{url}/api/v1/patients/{patient_id}/studies",
                      headers={"Authorization": f"Bearer {token}"}, timeout=5)
        if r.status_code != 200:
            return []
        return [series["instances"] for study in r.json() for series in study["series"]]
    return counts


def test_a_stored_series_is_listed_on_orthancs_post_alone(
        tmp_path: Path, database_url: str) -> None:
    with _live(tmp_path, database_url, push=True) as (pacs, url, token):
        polls = _health(url)["ingest"]["cursor"]
        series = tiny_ct_series(4, patient_id="PUSHED")
        storescu(pacs, write_all(series, tmp_path / "s"))
        listed = wait_until(lambda: _listed(url, token, "PUSHED")(), timeout=60, interval=0.05)
        assert listed == [4]
        health = _health(url)["ingest"]
        assert health["pushes"] >= 1 and health["last_error"] is None
        assert health["cursor"] > polls
        lua = (pacs.config_dir / "stable-push.lua")
        assert lua.stat().st_mode & 0o077 == 0  # it holds the secret


def test_without_the_post_the_series_waits_until_posted(
        tmp_path: Path, database_url: str) -> None:
    # The control of the test above: the same Nadir, an Orthanc without the script. The
    # series is stable in Orthanc and not listed until the post that the script would have
    # sent is sent by hand.
    with _live(tmp_path, database_url, push=False) as (pacs, url, token):
        series = tiny_ct_series(4, patient_id="POLLED")
        storescu(pacs, write_all(series, tmp_path / "s"))

        def stable() -> list[str]:
            with pacs.client() as client:
                found = client.resources("series")
            return [s["ID"] for s in found] if found and all(
                s["IsStable"] for s in found) else []

        [series_id] = wait_until(stable, timeout=60)
        assert not (pacs.config_dir / "stable-push.lua").exists()
        assert _listed(url, token, "POLLED")() == []
        r = httpx.post(f"{url}{STABLE_SERIES_PATH}", json={"series": series_id},
                       headers={PUSH_SECRET_HEADER: push_secret(pacs.config.password)})
        assert r.status_code == 202 and r.json() == {"series": series_id, "leader": True}
        assert wait_until(lambda: _listed(url, token, "POLLED")(), timeout=60) == [4]
        assert _health(url)["ingest"]["pushes"] == 1
