"""The stable-series post: its Lua script, its secret and where `nadir start` points it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from api.push_auth import check_push_secret
from api.start import stable_series_url
from api.workflow.errors import NotAuthenticated
from pacs.errors import PacsError
from pacs.feed import ChangeFeedFollower
from pacs.orthanc import Change, ChangePage
from pacs.process import OrthancConfig, OrthancProcess
from pacs.stable_push import ORTHANC_ID, PUSH_SECRET_HEADER, push_secret, stable_push_lua
from tests.conftest import wait_until

URL = "http://127.0.0.1:8000/internal/orthanc/stable-series"


def test_the_script_posts_the_series_id_with_the_secret() -> None:
    secret = push_secret("orthanc password")
    lua = stable_push_lua(URL, secret)
    assert "function OnStableSeries(seriesId, tags, metadata)" in lua
    assert f"HttpPost('{URL}'" in lua and "series = seriesId" in lua
    assert f"['{PUSH_SECRET_HEADER}'] = '{secret}'" in lua
    assert "tags" not in lua.split("function", 1)[1].split(")", 1)[1]  # no patient data sent


@pytest.mark.parametrize("url", [
    "http://10.0.0.5:8000/internal", "https://127.0.0.1:8000/x", "http://127.0.0.1:8000/x'..",
    "http://127.0.0.1:8000/x?y=1", "http://evil.example/x", "http://127.0.0.1:8000/x\n"])
def test_the_script_posts_to_loopback_only(url: str) -> None:
    with pytest.raises(PacsError, match="loopback"):
        stable_push_lua(url, push_secret("p"))


@pytest.mark.parametrize("secret", ["short", "x" * 31, "a'b" * 20, "x" * 129])
def test_the_secret_cannot_break_out_of_the_script(secret: str) -> None:
    with pytest.raises(PacsError, match="secret"):
        stable_push_lua(URL, secret)


def test_the_secret_is_derived_and_differs_from_the_readers() -> None:
    assert push_secret("a") == push_secret("a") != push_secret("b")
    assert len(push_secret("a")) == 64


def test_secret_check() -> None:
    check_push_secret("s" * 40, "s" * 40)
    for presented, expected, words in ((None, "s" * 40, "missing"), ("t" * 40, "s" * 40, "wrong"),
                                       ("s" * 40, None, "no shared secret"),
                                       ("\udcff", "s" * 40, "wrong")):
        with pytest.raises(NotAuthenticated, match=words):
            check_push_secret(presented, expected)


def test_orthanc_ids() -> None:
    assert ORTHANC_ID.fullmatch("6e2c0ec2-5d99c8ca-c1c21cee-79a09605-68391d12")
    assert not ORTHANC_ID.fullmatch("6E2C0EC2-5d99c8ca-c1c21cee-79a09605-68391d12")
    assert not ORTHANC_ID.fullmatch("6e2c0ec2-5d99c8ca-c1c21cee-79a09605")


def test_the_config_writes_the_script_private_and_bounds_the_wait(tmp_path: Path) -> None:
    config = OrthancConfig(storage_dir=tmp_path, http_port=8042, dicom_port=4242,
                           username="nadir", password="pw", stable_series_url=URL)
    assert config.runtime_settings()["HttpTimeout"] == 2
    OrthancProcess(config).write_config()
    script = tmp_path / "config" / "stable-push.lua"
    assert script.stat().st_mode & 0o077 == 0
    assert push_secret("pw") in script.read_text()
    with pytest.raises(PacsError, match="loopback"):
        OrthancConfig(storage_dir=tmp_path, http_port=8042, dicom_port=4242, username="n",
                      password="pw", stable_series_url="http://192.168.1.2:8000/x")
    plain = OrthancConfig(storage_dir=tmp_path / "p", http_port=8042, dicom_port=4242,
                          username="nadir", password="pw")
    assert "HttpTimeout" not in plain.runtime_settings()


@pytest.mark.parametrize(("host", "expected"), [
    ("127.0.0.1", "http://127.0.0.1:8000/internal/orthanc/stable-series"),
    ("0.0.0.0", "http://127.0.0.1:8000/internal/orthanc/stable-series"),
    ("::", "http://[::1]:8000/internal/orthanc/stable-series"),
    ("192.168.1.2", None)])
def test_start_points_orthanc_at_its_loopback(host: str, expected: str | None) -> None:
    assert stable_series_url(host, 8000) == expected


class _QuietOrthanc:
    """Orthanc's change feed with nothing new: counts the reads."""

    def __init__(self) -> None:
        self.reads = 0

    def changes(self, since: int, limit: int = 200) -> ChangePage:
        self.reads += 1
        return ChangePage(changes=(), last=since, done=True)


class _EmptyIndex:
    def load_cursor(self) -> int:
        return 0

    def save_cursor(self, seq: int) -> None: ...

    def add_pending(self, series_ids: list[str]) -> None: ...

    def pending(self) -> list[str]:
        return []

    def drop_pending(self, series_id: str) -> None: ...

    def record_series(self, record: object) -> None: ...

    def indexed_series(self) -> dict[str, int]:
        return {}

    def forget_series(self, series_ids: list[str]) -> None: ...


@contextmanager
def following(follower: ChangeFeedFollower, **kwargs: Any) -> Iterator[None]:
    """The follower runs in a thread (``run``'s keyword arguments) until the block ends;
    then it is stopped, woken, and must have ended."""
    stop = threading.Event()
    thread = threading.Thread(target=follower.run, args=(stop,), kwargs=kwargs)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        follower.wake()
        thread.join(timeout=30)
    assert not thread.is_alive()


def test_a_post_wakes_the_follower_that_otherwise_waits_its_interval() -> None:
    orthanc = _QuietOrthanc()
    follower = ChangeFeedFollower(client=orthanc, sink=_EmptyIndex())  # type: ignore[arg-type]
    with following(follower, interval_s=3600, pushed_interval_s=3600):
        wait_until(lambda: orthanc.reads == 1)
        for expected in (2, 3):
            follower.pushed()
            wait_until(lambda expected=expected: orthanc.reads == expected)  # type: ignore[misc]
        assert follower.status.pushes == 2 and follower.status.last_push_at is not None
    assert orthanc.reads == 3


class _StoringOrthanc(_QuietOrthanc):
    """Orthanc while a push is under way: a backlog of a full page, then a few new instances
    at every read."""

    def changes(self, since: int, limit: int = 200) -> ChangePage:
        self.reads += 1
        count = limit if self.reads == 1 else 3
        changes = tuple(Change(since + i + 1, "NewInstance", "Instance", f"i{since + i}")
                        for i in range(count))
        return ChangePage(changes=changes, last=since + count, done=count < limit)


@pytest.mark.parametrize("pushed", [False, True])
def test_a_follower_that_has_caught_up_waits_even_while_changes_trickle_in(
        pushed: bool) -> None:
    orthanc = _StoringOrthanc()
    follower = ChangeFeedFollower(client=orthanc, sink=_EmptyIndex())  # type: ignore[arg-type]
    if pushed:
        follower.status.pushes = 1  # Orthanc has posted before: the longer pause
    with following(follower, interval_s=3600, pushed_interval_s=3600):
        # The full page is followed at once by the next read; that one was not full, so
        # the follower has caught up and pauses, though it found 3 new changes.
        wait_until(lambda: orthanc.reads >= 2)
        time.sleep(0.5)
        assert orthanc.reads == 2
        follower.pushed()  # a post still ends the pause
        wait_until(lambda: orthanc.reads == 3)
    assert orthanc.reads == 3


class _StableOrthanc(_QuietOrthanc):
    """Reports every series stable (as Orthanc does from memory, before the change it logs
    can be read); counts the series read in full."""

    def __init__(self) -> None:
        super().__init__()
        self.read: list[str] = []

    def series(self, orthanc_id: str) -> dict[str, object]:
        return {"IsStable": True}


class _PendingIndex(_EmptyIndex):
    def __init__(self, pending: list[str]) -> None:
        self._pending = list(pending)

    def pending(self) -> list[str]:
        return list(self._pending)

    def drop_pending(self, series_id: str) -> None:
        self._pending.remove(series_id)


def test_the_sweep_indexes_a_series_stable_at_two_sweeps_only() -> None:
    # Between the two sweeps the feed is read: a series whose StableSeries change was on
    # its way is indexed from it (and leaves the pending list), not read twice.
    index = _PendingIndex(["a", "b"])
    follower = ChangeFeedFollower(client=_StableOrthanc(), sink=index)  # type: ignore[arg-type]
    indexed: list[str] = []
    follower.index_series = lambda series_id: indexed.append(series_id) is None  # type: ignore[method-assign]
    assert follower.sweep_pending() == 0 and indexed == []
    index.drop_pending("a")  # its StableSeries change arrived meanwhile
    assert follower.sweep_pending() == 1 and indexed == ["b"]


@pytest.mark.parametrize("expected", [False, True])
def test_a_follower_told_to_expect_posts_takes_the_longer_pause_before_the_first(
        expected: bool) -> None:
    # `nadir start` configures its Orthanc to post: the feed is the safety net from the
    # start. Without that, the follower polls at its short interval until a post arrives.
    orthanc = _QuietOrthanc()
    follower = ChangeFeedFollower(client=orthanc, sink=_EmptyIndex())  # type: ignore[arg-type]
    with following(follower, interval_s=0.02, pushed_interval_s=3600,
                   pushes_expected=expected):
        if expected:
            wait_until(lambda: orthanc.reads >= 1)
            time.sleep(0.5)
            assert orthanc.reads == 1
            follower.pushed()  # a post still ends the pause
            wait_until(lambda: orthanc.reads == 2)
        else:
            wait_until(lambda: orthanc.reads >= 5)
            assert follower.status.pushes == 0
