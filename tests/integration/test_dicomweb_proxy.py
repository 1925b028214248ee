"""/dicom-web/ through Nadir: roles, audit once per study and hour, no Orthanc secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from pacs import dimse
from tests.conftest import PYNETDICOM_AET, Service, storescu, wait_until
from tests.factories import tiny_ct_series, write_all

pytestmark = pytest.mark.integration
PID = "WEB-1"


@pytest.fixture
def study(service: Service, orthanc: Any, tmp_path: Path) -> Any:
    series = tiny_ct_series(3, patient_id=PID, size=16)
    storescu(orthanc, write_all(series, tmp_path / "s"))

    def indexed() -> bool:
        r = service.client.get(f"/api/v1/patients/{PID}/studies",
                               headers=service.headers("admin"))
        return r.status_code == 200 and r.json()[0]["series"][0]["instances"] == 3

    wait_until(indexed, timeout=60)
    return series


def test_reads_are_proxied_for_readers_and_audited_once(
    service: Service, orthanc: Any, study: Any
) -> None:
    uid, series_uid = study[0].StudyInstanceUID, study[0].SeriesInstanceUID
    base = f"/dicom-web/studies/{uid}"
    assert service.client.get(f"{base}/series").status_code == 401
    r = service.client.get(f"{base}/series", headers=service.headers("uploader"))
    assert r.status_code == 403 and "uploader" in r.json()["detail"]
    for role in ("radiologist", "specialist", "admin"):
        r = service.client.get(f"{base}/series", headers=service.headers(role))
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("application/dicom+json")
        assert r.json()[0]["0020000E"]["Value"] == [series_uid]
    meta = service.client.get(f"{base}/series/{series_uid}/metadata",
                              headers=service.headers("specialist"))
    assert meta.status_code == 200 and len(meta.json()) == 3
    # URLs Orthanc writes into its answers point back at Nadir, not at Orthanc's port.
    assert f":{orthanc.config.http_port}" not in meta.text
    # ... at NADIR_PUBLIC_URL, whatever Host the client sends.
    series = service.client.get(f"{base}/series", headers={**service.headers("admin"),
                                                           "Host": "evil.example"}).json()
    retrieve = series[0]["00081190"]["Value"][0]
    assert retrieve.startswith(f"http://127.0.0.1:8000/dicom-web/studies/{uid}/series/"), \
        retrieve
    frames = []
    for ds in study:
        f = service.client.get(
            f"{base}/series/{series_uid}/instances/{ds.SOPInstanceUID}/frames/1",
            headers={**service.headers("specialist"),
                     "Accept": 'multipart/related; type="application/octet-stream"'})
        assert f.status_code == 200, f.text
        assert f.headers["content-type"].startswith("multipart/related")
        frames.append(f)
    # 16 x 16 pixels of 16 bits: the raw frame is in the multipart body.
    assert all(len(f.content) >= 16 * 16 * 2 for f in frames)
    secret = orthanc.config.password
    for r in (meta, *frames):
        assert secret not in r.text and secret not in str(r.headers)
        assert "www-authenticate" not in r.headers
    events = service.client.get(f"/api/v1/audit?patient_id={PID}",
                                headers=service.headers("admin")).json()["events"]
    reads = [(e["user"], e["resource"]) for e in events if e["action"] == "read_images"]
    assert sorted(reads) == sorted({(f"{role}-user", f"studies/{uid}")
                                    for role in ("radiologist", "specialist", "admin")})


def test_unknown_study_is_404_and_nothing_is_asked_of_orthanc(
    service: Service, study: Any
) -> None:
    r = service.client.get("/dicom-web/studies/1.2.3.4/series", headers=service.headers("admin"))
    assert r.status_code == 404 and "1.2.3.4" in r.json()["detail"]
    r = service.client.get("/dicom-web/studies/not-a-uid/series",
                           headers=service.headers("admin"))
    assert r.status_code in (404, 422)
    # Nothing outside one study's DICOMweb tree is reachable, even by dot segments. HTTP
    # clients (httpx included) remove them before sending, so the request is handed to the
    # app as a raw ASGI scope, as uvicorn would for `curl --path-as-is`.
    uid = study[0].StudyInstanceUID
    for path in (f"studies/{uid}/../../../system", f"studies/{uid}/../../../patients",
                 "system", "instances"):
        status, body = _raw_get(service, f"/dicom-web/{path}")
        assert status == 404, (path, status, body[:200])
        assert b"Version" not in body


def _raw_get(service: Service, path: str, query: str = "", *,
             role: str = "admin") -> tuple[int, bytes]:
    """GET the raw target as uvicorn hands it to the app: ``path`` decoded once,
    ``raw_path`` as sent."""
    import anyio

    token = service.tokens[role]
    decoded = unquote(path, errors="surrogateescape")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": decoded, "raw_path": path.encode(),
             "query_string": query.encode(), "root_path": "", "server": ("testserver", 80),
             "client": ("127.0.0.1", 12345),
             "headers": [(b"host", b"testserver"),
                         (b"authorization", f"Bearer {token}".encode())]}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    anyio.run(service.app, scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def test_pages_are_served_or_say_how_to_build_them(service: Service) -> None:
    for page in ("/", "/login", "/cases/1"):
        r = service.client.get(page)
        assert r.status_code in (200, 503)
        assert r.headers["content-type"].startswith("text/html")
    assert service.client.get("/assets/does-not-exist.js").status_code == 404


def test_rendered_images_for_series_thumbnails_come_through_the_proxy(
    service: Service, study: Any
) -> None:
    """The workstation's series thumbnails: one rendered image of a series' middle instance
    (PS3.18 10.4.1, Retrieve Rendered Transaction), scaled by `viewport`, from Orthanc's
    DICOMweb plugin through the allow-list."""
    import io

    from PIL import Image

    uid, series_uid = study[0].StudyInstanceUID, study[0].SeriesInstanceUID
    instance = study[1].SOPInstanceUID
    path = (f"/dicom-web/studies/{uid}/series/{series_uid}/instances/{instance}/rendered"
            "?viewport=64,64&quality=80&window=40,400,linear")
    assert service.client.get(path, headers={"Accept": "image/jpeg"}).status_code == 401
    assert service.client.get(path, headers={**service.headers("uploader"),
                                             "Accept": "image/jpeg"}).status_code == 403
    for role in ("radiologist", "specialist", "admin"):
        r = service.client.get(path, headers={**service.headers(role), "Accept": "image/jpeg"})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "image/jpeg"
        image = Image.open(io.BytesIO(r.content))
        assert image.format == "JPEG" and max(image.size) <= 64
    # The series' own rendered resource, as Orthanc's plugin 1.7 serves it (its first
    # image; the plugin has no `thumbnail` resources: Nadir answers those, next test).
    r = service.client.get(f"/dicom-web/studies/{uid}/series/{series_uid}/rendered"
                           "?viewport=8,8", headers={**service.headers("specialist"),
                                                     "Accept": "image/jpeg"})
    # Scaled down from the 16 x 16 images: `viewport` reached Orthanc as two numbers.
    assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).size == (8, 8)
    # A parameter the standard does not define for rendered resources is refused, unsent.
    r = service.client.get(path + "&_method=DELETE", headers=service.headers("admin"))
    assert r.status_code == 404


def test_a_series_thumbnail_is_its_middle_image_rendered(
    service: Service, orthanc: Any, study: Any, tmp_path: Path
) -> None:
    """PS3.18 10.4.4 (Supplement 203): the origin server picks a thumbnail's image. Nadir's
    index picks the series' middle image by Instance Number, and of a multi-frame image its
    middle frame; Orthanc renders it. Roles and refusals as for any image read."""
    import numpy as np

    from tests.multiframe_data import enhanced_ct

    # Five slices that render differently (a bright square moving across), stored in their
    # files in reverse order; and the same slices as one multi-frame image (highdicom).
    slices = tiny_ct_series(5, patient_id=PID, study_uid=str(study[0].StudyInstanceUID),
                            size=16)
    for n, ds in enumerate(slices):
        pixels = np.zeros((16, 16), np.int16)
        pixels[4:8, 2 * n:2 * n + 4] = 1000
        ds.PixelData = pixels.tobytes()
    converted = enhanced_ct(slices, series_number=77)
    dimse.store(dimse.DicomPeer("127.0.0.1", orthanc.config.dicom_port, orthanc.config.aet,
                                PYNETDICOM_AET), [*reversed(slices), converted])
    uid, series_uid = str(slices[0].StudyInstanceUID), str(slices[0].SeriesInstanceUID)
    store = service.app.state.series_metadata
    for series in (series_uid, str(converted.SeriesInstanceUID)):
        wait_until(lambda s=series: store.representative_image(uid, s) is not None, timeout=60)
    query = "?viewport=16,16&quality=90"
    jpeg = {"Accept": "image/jpeg"}
    base = f"/dicom-web/studies/{uid}/series/{series_uid}"
    path = f"{base}/thumbnail{query}"

    def rendered(resource: str) -> bytes:
        r = service.client.get(f"{resource}/rendered{query}",
                               headers={**service.headers("admin"), **jpeg})
        assert r.status_code == 200, r.text
        return r.content

    middle = rendered(f"{base}/instances/{slices[2].SOPInstanceUID}")
    assert middle != rendered(f"{base}/instances/{slices[0].SOPInstanceUID}")
    assert service.client.get(path, headers=jpeg).status_code == 401
    assert service.client.get(path, headers={**service.headers("uploader"),
                                             **jpeg}).status_code == 403
    for role in ("radiologist", "specialist", "admin"):
        r = service.client.get(path, headers={**service.headers(role), **jpeg})
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "image/jpeg"
        assert r.content == middle
    # An instance's thumbnail is that instance rendered.
    r = service.client.get(f"{base}/instances/{slices[4].SOPInstanceUID}/thumbnail{query}",
                           headers={**service.headers("specialist"), **jpeg})
    assert r.status_code == 200
    assert r.content == rendered(f"{base}/instances/{slices[4].SOPInstanceUID}")
    # The multi-frame image: its middle frame.
    mf = (f"/dicom-web/studies/{uid}/series/{converted.SeriesInstanceUID}/instances/"
          f"{converted.SOPInstanceUID}")
    frame = rendered(f"{mf}/frames/3")
    assert frame != rendered(f"{mf}/frames/1")
    r = service.client.get(f"/dicom-web/studies/{uid}/series/{converted.SeriesInstanceUID}"
                           f"/thumbnail{query}", headers={**service.headers("radiologist"),
                                                           **jpeg})
    assert r.status_code == 200 and r.content == frame
    # A series the index does not hold in that study: 404 that says so; a parameter the
    # standard does not define: refused, unsent.
    r = service.client.get(f"/dicom-web/studies/{uid}/series/1.2.3.4.5/thumbnail",
                           headers=service.headers("admin"))
    assert r.status_code == 404 and "no image" in r.json()["detail"]
    r = service.client.get(path + "&_method=DELETE", headers=service.headers("admin"))
    assert r.status_code == 404 and "not served" in r.json()["detail"]
