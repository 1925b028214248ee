"""Escape attempts through /dicom-web/ against a real Orthanc: each is 404, audited, and
Orthanc is unchanged (its /statistics equal before and after).

The requests are handed to the app as raw ASGI scopes, as uvicorn would for a client that
sends its target unnormalised (`curl --path-as-is`): HTTP clients such as httpx would
resolve the dot segments before sending.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Service
from tests.integration.test_dicomweb_proxy import PID, _raw_get, study  # noqa: F401
from tests.unit.test_dicomweb_routes import ESCAPES

pytestmark = pytest.mark.integration


def _target(uid: str, path: str) -> str:
    # The unit suite's escapes pivot on a made-up study; here on one Orthanc holds.
    return path.replace("1.2.840.113619.2.1", uid)


def test_escapes_are_404_audited_and_leave_orthanc_unchanged(
    service: Service, orthanc: Any, study: Any  # noqa: F811
) -> None:
    uid, series = study[0].StudyInstanceUID, study[0].SeriesInstanceUID
    with orthanc.client() as client:
        before = client.statistics()
        patient = client.lookup(PID)[0]["ID"]
    attempts = [(_target(uid, p), "") for p in ESCAPES] + [
        # Orthanc's _method turns a GET into a DELETE; on a real route it must not pass.
        (f"studies/{uid}", "_method=DELETE"),
        (f"studies/{uid}/series", "_method=DELETE"),
        (f"studies/{uid}/%2e%2e/%2e%2e/patients/{patient}", "_method=DELETE"),
        (f"studies/{uid}/..%252f..%252fpatients%252f{patient}", "_method=DELETE"),
        (f"studies/{uid}/series", "expand"),
        ("studies", "PatientID=" + PID + "&_method=DELETE"),
        # The rendered resources the workstation's thumbnails use take their own parameters
        # only, each of its grammar (an encoded & inside a value stays refused).
        (f"studies/{uid}/series/{series}/rendered", "viewport=64,64&_method=DELETE"),
        (f"studies/{uid}/series/{series}/rendered", "viewport=64,64%26_method%3DDELETE"),
        (f"studies/{uid}/series/{series}/rendered", "window=40,400,linear,_method=DELETE"),
        (f"studies/{uid}/series/{series}/rendered", "quality=80;_method=DELETE"),
        (f"studies/{uid}/series/{series}/rendered", "viewport=../../patients"),
        (f"studies/{uid}/series/{series}/rendered", "limit=1"),
        (f"studies/{uid}/series/{series}/rendered/%2e%2e/%2e%2e", "viewport=64,64"),
        (f"studies/{uid}/series/{series}/rendered.jpg", ""),
        # The thumbnail Nadir answers itself (a rewrite to the middle image's rendered
        # resource) is parsed by the same allow-list first.
        (f"studies/{uid}/series/{series}/thumbnail", "viewport=64,64&_method=DELETE"),
        (f"studies/{uid}/series/{series}/thumbnail/%2e%2e/%2e%2e/%2e%2e", "viewport=64,64"),
        (f"studies/{uid}/series/{series}/%2e%2e/thumbnail", ""),
        (f"studies/{uid}/series/{series}/thumbnail%5c..%5c..%5cpatients", ""),
        (f"studies/{uid}/series/{series}/thumbnail", "limit=1"),
        (f"studies/{uid}/series/{series}/Thumbnail", ""),
    ]
    for role in ("specialist", "radiologist", "admin"):
        for path, query in attempts:
            status, body = _raw_get(service, f"/dicom-web/{path}", query, role=role)
            # A NUL is refused (422) before routing, for every URL of the service.
            expected = 422 if "%00" in path else 404
            assert status == expected, (role, path, query, status, body[:200])
            # Nothing from Orthanc's REST API or Explorer came back.
            assert b"Version" not in body and b"<html" not in body.lower(), (path, body[:200])
    with orthanc.client() as client:
        assert client.statistics() == before
        assert client.lookup(PID), "the patient is still in Orthanc"
    events = service.client.get("/api/v1/audit", headers=service.headers("admin")).json()
    refused = [e for e in events["events"] if e["action"] == "refused_images"]
    assert len(refused) >= len([a for a in attempts if "%00" not in a[0]])
    assert any("_method=DELETE" in e["resource"] for e in refused)
    assert all(e["patient_id"] is None for e in refused)


def test_the_same_study_is_still_served_after_the_attempts(
    service: Service, study: Any  # noqa: F811
) -> None:
    uid = study[0].StudyInstanceUID
    r = service.client.get(f"/dicom-web/studies/{uid}/series",
                           headers=service.headers("specialist"))
    assert r.status_code == 200 and uid in r.text
    # %-encoded dots inside a UID are only an encoding: decoded once, it is the same study.
    r = service.client.get(f"/dicom-web/studies/{uid.replace('.', '%2E')}/series",
                           headers=service.headers("specialist"))
    assert r.status_code == 200 and uid in r.text


def test_refusals_need_a_reader_first(service: Service, study: Any) -> None:  # noqa: F811
    uid = study[0].StudyInstanceUID
    path = f"/dicom-web/studies/{uid}/%252e%252e/%252e%252e/%252e%252e/system"
    assert service.client.get(path).status_code == 401
    assert service.client.get(path, headers=service.headers("uploader")).status_code == 403


def test_orthanc_lets_the_proxy_user_only_read_dicomweb(orthanc: Any) -> None:
    """The second lock: Orthanc itself refuses the proxy's user anything but DICOMweb GETs,
    including a GET that Orthanc's _method would turn into a DELETE."""
    user, password = orthanc.config.reader
    with orthanc.client() as client:
        client.put_modality("PEER", aet="PEER", host="127.0.0.1", port=104)
        before = client.statistics()
    base = orthanc.config.url
    with httpx.Client(base_url=base, auth=(user, password)) as reader:
        assert reader.get("/dicom-web/studies").status_code == 200
        for method, path in [("GET", "/system"), ("GET", "/patients"),
                             ("GET", "/app/explorer.html"), ("GET", "/modalities?expand"),
                             ("GET", "/modalities/PEER?_method=DELETE"),
                             ("GET", "/dicom-web/studies?_method=DELETE"),
                             ("DELETE", "/modalities/PEER"), ("POST", "/tools/reset"),
                             ("POST", "/dicom-web/studies"), ("PUT", "/modalities/X"),
                             ("GET", "/dicom-web/%2e%2e/system")]:
            r = reader.request(method, path, content=b"{}" if method != "GET" else None)
            assert r.status_code in (401, 403), (method, path, r.status_code)
    with orthanc.client() as client:
        assert client.statistics() == before
        assert "PEER" in client._json("/modalities")


@pytest.mark.parametrize("method", ["DELETE", "POST", "PUT", "PATCH"])
def test_the_proxy_client_refuses_to_write(orthanc: Any, method: str) -> None:
    import anyio

    from pacs.dicomweb import DicomWebGateway, ReadOnlyViolation

    async def attempt() -> None:
        # Nadir's own credentials, to show the client itself refuses, not only Orthanc.
        gateway = DicomWebGateway(orthanc.config.url, orthanc.config.username,
                                  orthanc.config.password, public_host="127.0.0.1")
        try:
            await gateway._http.request(method, "/modalities/STORESCU")
        finally:
            await gateway.aclose()

    with pytest.raises(ReadOnlyViolation):
        anyio.run(attempt)
    with orthanc.client() as client:
        assert "STORESCU" in client._json("/modalities")
