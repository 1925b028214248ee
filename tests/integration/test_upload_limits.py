"""Uploads are spooled to disk and bounded: 413 past NADIR_MAX_UPLOAD_MB, 400 for zip
entries that climb out of the archive or expand like a bomb; nothing is stored."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Service
from tests.factories import tiny_ct_series, to_bytes

pytestmark = [pytest.mark.integration,
              # The database plays no part in these refusals.
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]
MB = 1024**2


@pytest.fixture
def small(service_factory: Any, orthanc: Any) -> Service:
    return service_factory(orthanc, ingest=False, max_upload_mb=1)


def _stored(orthanc: Any) -> int:
    with orthanc.client() as client:
        return len(client.resources("instances"))


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _post(service: Service, body: Any, content_type: str = "application/zip") -> Any:
    return service.client.post("/api/v1/dicom", content=body, headers={
        **service.headers("uploader"), "Content-Type": content_type})


def test_a_body_over_the_limit_is_413_and_stores_nothing(small: Service, orthanc: Any) -> None:
    big = tiny_ct_series(1, size=800)[0]  # 800 x 800 x 2 bytes: 1.2 MB
    r = _post(small, to_bytes(big), "application/dicom")
    assert r.status_code == 413 and "larger than 1 MB" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused while it streams in
        data = to_bytes(big)
        for start in range(0, len(data), 64 * 1024):
            yield data[start:start + 64 * 1024]

    r = _post(small, chunks(), "application/dicom")
    assert r.status_code == 413 and "nothing was stored" in r.json()["detail"]
    assert _post(small, to_bytes(tiny_ct_series(1)[0]), "application/dicom").status_code == 200
    assert _stored(orthanc) == 1


@pytest.mark.parametrize(("name", "why"), [
    ("/etc/cron.d/evil.dcm", "absolute path"), ("C:\\evil.dcm", "absolute path"),
    ("study/../../evil.dcm", "'..'"), ("..\\evil.dcm", "'..'")])
def test_zip_entries_that_leave_the_archive_are_refused(
    small: Service, orthanc: Any, name: str, why: str
) -> None:
    good = to_bytes(tiny_ct_series(1)[0])
    r = _post(small, _zip({"ok.dcm": good, name: good}))
    assert r.status_code == 400
    assert why in r.json()["detail"] and r.json()["file"] == name
    assert _stored(orthanc) == 0


def test_zip_bombs_are_refused_by_ratio_and_by_total_size(small: Service, orthanc: Any) -> None:
    good = to_bytes(tiny_ct_series(1)[0])
    r = _post(small, _zip({"ok.dcm": good, "bomb.dcm": bytes(3 * MB)}))
    assert r.status_code == 400 and "-fold" in r.json()["detail"]
    # Many members, each too small for the ratio rule, that together expand past 4 x the
    # upload limit.
    r = _post(small, _zip({"ok.dcm": good, **{f"z{i}.dcm": bytes(MB - 1) for i in range(5)}}))
    assert r.status_code == 400 and "expands beyond 4 MB" in r.json()["detail"]
    assert _stored(orthanc) == 0
