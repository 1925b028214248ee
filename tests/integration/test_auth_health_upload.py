"""Auth, health and HTTP upload against a real Orthanc and a real database."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest

from tests.conftest import Service
from tests.factories import tiny_ct_series, to_bytes

pytestmark = pytest.mark.integration


def test_healthz_without_auth_reports_orthanc(service: Service, orthanc: Any) -> None:
    r = service.client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["orthanc"] == "ok"
    orthanc.stop()
    r = service.client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["orthanc"] == "unreachable"


def test_missing_bad_and_wrong_role_tokens(service: Service) -> None:
    assert service.client.get("/api/v1/patients").status_code == 401
    r = service.client.get("/api/v1/patients", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    r = service.client.get("/api/v1/patients", headers=service.headers("uploader"))
    assert r.status_code == 403 and "uploader" in r.json()["detail"]
    for role in ("radiologist", "specialist", "admin"):
        assert (
            service.client.get("/api/v1/patients", headers=service.headers(role)).status_code == 200
        )


def test_tokens_are_stored_hashed(service: Service) -> None:
    from sqlalchemy import select

    from api.db.models import ApiToken

    with service.app.state.sessions() as s:
        stored = set(s.scalars(select(ApiToken.token_hash)))
    for token in service.tokens.values():
        assert token not in stored
        assert all(token not in h for h in stored)


def _ids(ds_list: list[Any]) -> list[dict[str, str]]:
    return [
        {
            "sop_instance_uid": d.SOPInstanceUID,
            "series_instance_uid": d.SeriesInstanceUID,
            "study_instance_uid": d.StudyInstanceUID,
        }
        for d in ds_list
    ]


def test_upload_single_file(service: Service, orthanc: Any) -> None:
    [ds] = tiny_ct_series(1)
    r = service.client.post(
        "/api/v1/dicom",
        content=to_bytes(ds),
        headers={**service.headers("uploader"), "Content-Type": "application/dicom"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"instances": _ids([ds])}
    with orthanc.client() as c:
        assert c.find_instance(ds.SOPInstanceUID) is not None


def test_upload_multipart_related_form_data_and_zip(service: Service, orthanc: Any) -> None:
    h = service.headers("uploader")
    series = tiny_ct_series(6)
    parts = [to_bytes(d) for d in series]
    boundary = "nadir-boundary-42"
    related = (
        b"".join(
            f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + p + b"\r\n"
            for p in parts[:2]
        )
        + f"--{boundary}--\r\n".encode()
    )
    r = service.client.post(
        "/api/v1/dicom",
        content=related,
        headers={
            **h,
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["instances"] == _ids(series[:2])

    r = service.client.post(
        "/api/v1/dicom",
        headers=h,
        data={"comment": "from the PACS bridge"},
        files=[("files", (f"f{i}.dcm", p, "application/dicom")) for i, p in enumerate(parts[2:4])],
    )
    assert r.status_code == 200, r.text
    assert r.json()["instances"] == _ids(series[2:4])

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for i, p in enumerate(parts[4:]):
            z.writestr(f"study/IM{i}", p)
    r = service.client.post(
        "/api/v1/dicom", content=buffer.getvalue(), headers={**h, "Content-Type": "application/zip"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["instances"] == _ids(series[4:])
    with orthanc.client() as c:
        assert all(c.find_instance(d.SOPInstanceUID) for d in series)


@pytest.mark.parametrize("bad_kind", ["not_dicom", "truncated", "empty_zip_member"])
def test_bad_file_in_upload_stores_nothing(service: Service, orthanc: Any, bad_kind: str) -> None:
    good = tiny_ct_series(2)
    bad = {
        "not_dicom": b"hello, I am a text file" * 10,
        "truncated": to_bytes(tiny_ct_series(1)[0])[:-40],
        "empty_zip_member": b"",
    }[bad_kind]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("a.dcm", to_bytes(good[0]))
        z.writestr("broken.dcm", bad)
        z.writestr("c.dcm", to_bytes(good[1]))
    r = service.client.post(
        "/api/v1/dicom",
        content=buffer.getvalue(),
        headers={**service.headers("uploader"), "Content-Type": "application/zip"},
    )
    assert r.status_code == 400
    assert "broken.dcm" in r.json()["detail"]
    with orthanc.client() as c:
        assert c.find_instance(good[0].SOPInstanceUID) is None
        assert c.find_instance(good[1].SOPInstanceUID) is None


def test_upload_refusals(service: Service) -> None:
    body = to_bytes(tiny_ct_series(1)[0])
    r = service.client.post(
        "/api/v1/dicom",
        content=body,
        headers={**service.headers("radiologist"), "Content-Type": "application/dicom"},
    )
    assert r.status_code == 403
    r = service.client.post(
        "/api/v1/dicom",
        content=body,
        headers={**service.headers("uploader"), "Content-Type": "text/plain"},
    )
    assert r.status_code == 415
    r = service.client.post(
        "/api/v1/dicom",
        content=b"",
        headers={**service.headers("uploader"), "Content-Type": "application/dicom"},
    )
    assert r.status_code == 400
    r = service.client.post(
        "/api/v1/dicom",
        content=b"xx",
        headers={**service.headers("admin"), "Content-Type": "application/dicom"},
    )
    assert r.status_code == 400 and "body" in r.json()["detail"]


def test_upload_while_orthanc_down_is_503_and_names_pacs(service: Service, orthanc: Any) -> None:
    orthanc.stop()
    r = service.client.post(
        "/api/v1/dicom",
        content=to_bytes(tiny_ct_series(1)[0]),
        headers={**service.headers("uploader"), "Content-Type": "application/dicom"},
    )
    assert r.status_code == 503
    assert "Orthanc" in r.json()["detail"]
    assert orthanc.config.password not in r.text


def test_me_names_the_token_holder_and_role(service: Service) -> None:
    assert service.client.get("/api/v1/me").status_code == 401
    for role in ("uploader", "radiologist", "specialist", "admin"):
        r = service.client.get("/api/v1/me", headers=service.headers(role))
        # review_case_id is a share token's own review case (issue 21): none for these.
        assert r.status_code == 200 and r.json() == {"name": f"{role}-user", "role": role,
                                                     "review_case_id": None}
