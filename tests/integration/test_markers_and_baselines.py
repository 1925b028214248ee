"""Tumour markers on the patient, case options of issue 7 and baseline refusals, over HTTP
against a real Orthanc (RECIST 1.1 s.3.2.2, s.4.2, s.4.3.3)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Service
from tests.integration.test_cases import PID, _lesion, _put, indexed  # noqa: F401

pytestmark = pytest.mark.integration


def _markers(service: Service, body: dict[str, Any], role: str = "radiologist",
             patient: str = PID) -> Any:
    return service.client.post(f"/api/v1/patients/{patient}/markers", json=body,
                               headers=service.headers(role))


CEA = {"name": "CEA", "unit": "ng/mL", "upper_limit_normal": 5.0}


def test_markers_keep_a_complete_response_partial_until_they_normalise(
    service: Service, indexed: dict[str, Any]  # noqa: F811
) -> None:
    r = service.client.post("/api/v1/cases", json={
        "patient_id": PID, "criteria": "iRECIST", "marker_window_days": 10,
        "min_icpd_confirmation_days": 35}, headers=service.headers("radiologist"))
    assert r.status_code == 201, r.text
    case = r.json()
    assert (case["marker_window_days"], case["min_icpd_confirmation_days"]) == (10, 35)
    cid, (bl, fu) = case["id"], [t["id"] for t in case["timepoints"]]
    t1 = _lesion(service, cid, kind="target", organ="liver")
    img = indexed["bl"][0].SOPInstanceUID
    assert _put(service, cid, t1, bl, {"sop_instance_uid": img,
                                       "endpoints": [[1, 0], [1, 40]]}).status_code == 200
    assert _put(service, cid, t1, fu, {"status": "disappeared"}).status_code == 200

    def overall() -> str:
        body = service.client.get(f"/api/v1/cases/{cid}/response",
                                  headers=service.headers("specialist")).json()
        return str(body["timepoints"][-1]["overall_response"])

    assert overall() == "iCR"
    # Baseline 2026-01-05: CEA 14 three days before; follow-up 2026-03-02: CEA 8.
    assert _markers(service, {**CEA, "value": 14.0, "date": "2026-01-02"}).status_code == 201
    r = _markers(service, {**CEA, "value": 8.0, "date": "2026-03-05"}, role="admin")
    assert r.status_code == 201, r.text
    assert r.json()["recorded_by"] == "admin-user" and r.json()["value"] == 8.0
    assert overall() == "iPR"  # RECIST 1.1 s.4.3.3, with iRECIST's codes
    # Issue 16: the report says so from the engine's own answer (markers_holding_back_cr).
    held = service.client.get(f"/api/v1/cases/{cid}/report?format=json",
                              headers=service.headers("specialist")).json()
    (note,) = [n for n in held["notes"] if n["kind"] == "tumour_markers"]
    assert "CEA 8 ng/mL (normal up to 5 ng/mL) is still above the normal limit" in note["text"]
    assert "This is why the response there is partial rather than complete." in note["text"]
    assert _markers(service, {**CEA, "value": 4.0, "date": "2026-03-01"}).status_code == 201
    assert overall() == "iCR"
    # The report shows the trend with the limit, and says what markers can and cannot do.
    report = service.client.get(f"/api/v1/cases/{cid}/report?format=json",
                                headers=service.headers("specialist")).json()
    (cea,) = report["markers"]
    assert (cea["name"], cea["unit"], cea["upper_limit_normal"]) == ("CEA", "ng/mL", 5.0)
    assert [(p["date"], p["timepoint_id"]) for p in cea["points"]] == [
        ("2026-01-02", bl), ("2026-03-01", fu), ("2026-03-05", None)]
    assert any("marker" in n["title"].lower() for n in report["notes"])
    html = service.client.get(f"/api/v1/cases/{cid}/report?format=html",
                              headers=service.headers("specialist")).text
    assert "upper limit of normal" in html
    listed = service.client.get(f"/api/v1/patients/{PID}/markers",
                                headers=service.headers("specialist"))
    assert [m["date"] for m in listed.json()] == ["2026-01-02", "2026-03-01", "2026-03-05"]
    audit = service.client.get(f"/api/v1/audit?patient_id={PID}",
                               headers=service.headers("admin")).json()["events"]
    assert sum(e["action"] == "record_marker" for e in audit) == 3


def test_marker_refusals_store_nothing(service: Service, indexed: dict[str, Any]  # noqa: F811
                                       ) -> None:
    good = {**CEA, "value": 3.0, "date": "2026-01-02"}
    bad: list[tuple[dict[str, Any], str, int, str]] = [
        ({**good, "upper_limit_normal": 0}, "radiologist", 422, "upper_limit_normal"),
        ({**good, "value": -1}, "radiologist", 422, "value"),
        ({**good, "date": "2026-13-01"}, "radiologist", 422, "date"),
        ({**good, "nmae": "CEA"}, "radiologist", 422, "nmae"),
        ({**good, "name": ""}, "radiologist", 422, "name"),
        (good, "specialist", 403, "specialist"),
        (good, "uploader", 403, "uploader"),
    ]
    for body, role, status, named in bad:
        r = _markers(service, body, role=role)
        assert r.status_code == status, (body, r.text)
        assert named in r.json()["detail"]
    assert _markers(service, good, patient="NOBODY").status_code == 404
    assert service.client.get("/api/v1/patients/NOBODY/markers",
                              headers=service.headers("admin")).status_code == 404
    assert service.client.get(f"/api/v1/patients/{PID}/markers",
                              headers=service.headers("admin")).json() == []


def test_baseline_readings_recist_forbids_are_refused(
    service: Service, indexed: dict[str, Any]  # noqa: F811
) -> None:
    case = service.client.post("/api/v1/cases", json={"patient_id": PID, "criteria":
                                                      "RECIST1.1"},
                               headers=service.headers("radiologist")).json()
    cid, (bl, fu) = case["id"], [t["id"] for t in case["timepoints"]]
    t1 = _lesion(service, cid, kind="target", organ="liver")
    nt = _lesion(service, cid, kind="non_target", organ="bone")
    # A misspelt key would silently make a node a non-nodal lesion: refused, by name.
    r = service.client.post(f"/api/v1/cases/{cid}/lesions", headers=service.headers(
        "radiologist"), json={"kind": "target", "organ": "lymph node", "is_nodal": True})
    assert r.status_code == 422 and "is_nodal" in r.json()["detail"]
    for lesion, body in ((t1, {"status": "too_small"}), (t1, {"status": "disappeared"}),
                         (nt, {"status": "absent"}), (nt, {"status": "not_evaluated"})):
        r = _put(service, cid, lesion, bl, body)
        assert r.status_code == 422 and "baseline" in r.json()["detail"], r.text
    assert _put(service, cid, nt, bl, {"status": "present"}).status_code == 200
    r = _put(service, cid, nt, fu, {"status": "unequivocal_further_increase"})
    assert r.status_code == 200, r.text
    history = service.client.get(f"/api/v1/cases/{cid}/lesions/{t1}/history",
                                 headers=service.headers("admin")).json()
    assert history["versions"] == []
