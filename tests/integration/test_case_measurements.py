"""GET /api/v1/cases/{id}/measurements: every current measurement in one answer, one ETag,
one audit event (the page asked once per lesion and timepoint, each audited)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Service
from tests.integration.test_cases import _case, _lesion, _put, indexed  # noqa: F401

pytestmark = pytest.mark.integration


def _caliper(ds: Any, row: float = 10.0) -> dict[str, Any]:
    return {"sop_instance_uid": ds.SOPInstanceUID, "endpoints": [[row, 10.0], [row, 40.0]]}


def test_every_current_measurement_in_one_answer(
    service: Service, indexed: dict[str, Any]  # noqa: F811
) -> None:
    case = _case(service)
    cid = case["id"]
    url = f"/api/v1/cases/{cid}/measurements"
    empty = service.client.get(url, headers=service.headers("specialist"))
    assert empty.status_code == 200 and empty.json() == {"case_id": cid, "measurements": []}
    bl, fu = indexed["bl"], indexed["fu"]
    bl_uid, fu_uid = bl[0].StudyInstanceUID, fu[0].StudyInstanceUID
    t1 = _lesion(service, cid, kind="target", organ="liver")
    t2 = _lesion(service, cid, kind="target", organ="lung")
    nt = _lesion(service, cid, kind="non_target", organ="bone")
    assert _put(service, cid, t1, bl_uid, _caliper(bl[0])).status_code == 200
    first = _put(service, cid, t1, fu_uid, _caliper(fu[1]))
    assert first.status_code == 200
    edit = _put(service, cid, t1, fu_uid, _caliper(fu[1], 20.0),
                **{"If-Match": first.headers["ETag"]})
    assert edit.status_code == 200, edit.text
    assert _put(service, cid, t2, bl_uid, _caliper(bl[2])).status_code == 200
    assert _put(service, cid, nt, bl_uid, {"status": "present"}).status_code == 200
    r = service.client.get(url, headers=service.headers("radiologist"))
    assert r.status_code == 200, r.text
    got = {(m["lesion_id"], m["timepoint_id"]): m for m in r.json()["measurements"]}
    assert set(got) == {(t1, bl_uid), (t1, fu_uid), (t2, bl_uid), (nt, bl_uid)}
    # The newest version of each, exactly as the one-measurement read answers it.
    assert got[(t1, fu_uid)]["version"] == edit.json()["version"] > first.json()["version"]
    one = service.client.get(f"/api/v1/cases/{cid}/lesions/{t1}/measurements/{fu_uid}",
                             headers=service.headers("radiologist")).json()
    assert got[(t1, fu_uid)] == one
    assert got[(nt, bl_uid)]["status"] == "present"
    # One ETag: unchanged answers 304, a new version changes it.
    etag = r.headers["ETag"]
    again = service.client.get(url, headers={**service.headers("admin"), "If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag
    # Compared as RFC 9110 13.1.2 says: weakly, in a list, and '*' for any current answer.
    for sent in (f"W/{etag}", f'"other", {etag}', "*"):
        same = service.client.get(url, headers={**service.headers("admin"), "If-None-Match": sent})
        assert same.status_code == 304 and same.headers["ETag"] == etag, sent
    other = service.client.get(url, headers={**service.headers("admin"),
                                              "If-None-Match": f'"other", {etag[:-2]}"'})
    assert other.status_code == 200 and other.headers["ETag"] == etag
    assert _put(service, cid, t2, fu_uid, _caliper(fu[2])).status_code == 200
    changed = service.client.get(url, headers={**service.headers("admin"),
                                                "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert len(changed.json()["measurements"]) == 5
    # Each read is one audit event of the patient.
    events = service.client.get("/api/v1/audit?patient_id=CASE-1",
                                headers=service.headers("admin")).json()["events"]
    reads = [e for e in events if e["resource"] == f"cases/{cid}/measurements"]
    assert len(reads) == 8


def test_roles_and_unknown_cases(service: Service, indexed: dict[str, Any]) -> None:  # noqa: F811
    cid = _case(service)["id"]
    url = f"/api/v1/cases/{cid}/measurements"
    assert service.client.get(url).status_code == 401
    assert service.client.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert service.client.get(url, headers=service.headers("uploader")).status_code == 403
    for role in ("radiologist", "specialist", "admin"):
        assert service.client.get(url, headers=service.headers(role)).status_code == 200
    h = service.headers("admin")
    assert service.client.get("/api/v1/cases/999999/measurements", headers=h).status_code == 404
    for bad in ("0", "-1", "abc", "1e3", "99999999999999999999", "1%00"):
        assert service.client.get(f"/api/v1/cases/{bad}/measurements",
                                  headers=h).status_code in (404, 422), bad
    # Writing is not what this resource does.
    assert service.client.put(url, json={}, headers=h).status_code == 405
