"""Case workflow over HTTP against a real Orthanc: lesions, calipers, sign-off, audit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Service, storescu, wait_until
from tests.factories import tiny_ct_series, write_all

pytestmark = pytest.mark.integration
PID = "CASE-1"


@pytest.fixture
def indexed(service: Service, orthanc: Any, tmp_path: Path) -> dict[str, Any]:
    """Baseline and follow-up of one patient, pushed with storescu and indexed."""
    # Anisotropic spacing on purpose: row spacing 0.5 mm, column spacing 0.8 mm.
    bl = tiny_ct_series(3, patient_id=PID, study_date="20260105", size=64, spacing=(0.5, 0.8))
    fu = tiny_ct_series(3, patient_id=PID, study_date="20260302", size=64, spacing=(0.5, 0.8))
    other = tiny_ct_series(1, patient_id="SOMEONE-ELSE", size=64)
    storescu(
        orthanc,
        write_all(bl, tmp_path / "bl")
        + write_all(fu, tmp_path / "fu")
        + write_all(other, tmp_path / "o"),
    )

    def ready() -> bool:
        r = service.client.get(f"/api/v1/patients/{PID}/studies", headers=service.headers("admin"))
        r2 = service.client.get(
            "/api/v1/patients/SOMEONE-ELSE/studies", headers=service.headers("admin")
        )
        return r.status_code == 200 and len(r.json()) == 2 and r2.status_code == 200

    wait_until(ready, timeout=60)
    return {"bl": bl, "fu": fu, "other": other}


def _case(service: Service, criteria: str = "RECIST1.1") -> dict[str, Any]:
    r = service.client.post(
        "/api/v1/cases",
        json={"patient_id": PID, "criteria": criteria},
        headers=service.headers("radiologist"),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def _lesion(service: Service, case_id: int, **body: Any) -> int:
    r = service.client.post(
        f"/api/v1/cases/{case_id}/lesions", json=body, headers=service.headers("radiologist")
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _put(
    service: Service,
    case_id: int,
    lesion: int,
    tp: str,
    body: dict[str, Any],
    role: str = "radiologist",
    **headers: str,
) -> Any:
    return service.client.put(
        f"/api/v1/cases/{case_id}/lesions/{lesion}/measurements/{tp}",
        json=body,
        headers={**service.headers(role), **headers},
    )


def test_case_timepoints_and_roles(service: Service, indexed: dict[str, Any]) -> None:
    r = service.client.post(
        "/api/v1/cases",
        json={"patient_id": PID, "criteria": "RECIST1.1"},
        headers=service.headers("specialist"),
    )
    assert r.status_code == 403
    r = service.client.post(
        "/api/v1/cases",
        json={"patient_id": PID, "criteria": "RECIST2"},
        headers=service.headers("radiologist"),
    )
    assert r.status_code == 422 and "criteria" in r.json()["detail"]
    case = _case(service)
    assert [t["id"] for t in case["timepoints"]] == [
        indexed["bl"][0].StudyInstanceUID,
        indexed["fu"][0].StudyInstanceUID,
    ]
    assert [t["date"] for t in case["timepoints"]] == ["2026-01-05", "2026-03-02"]
    assert all(t["signed_off_by"] is None for t in case["timepoints"])
    r = service.client.post(
        "/api/v1/cases",
        json={
            "patient_id": PID,
            "criteria": "iRECIST",
            "baseline_study_uid": indexed["other"][0].StudyInstanceUID,
        },
        headers=service.headers("radiologist"),
    )
    assert r.status_code == 422


def test_a_case_read_with_its_studies_answers_them_as_their_own_route_does(
        service: Service, indexed: dict[str, Any]) -> None:
    """?include=studies: the case and the patient's studies in one request (the review
    page's first), the same studies as GET /patients/{id}/studies, audited as that read;
    every role as for the case alone; anything else in include is refused."""
    cid = _case(service)["id"]

    def studies_reads() -> int:
        events = service.client.get(f"/api/v1/audit?patient_id={PID}",
                                    headers=service.headers("admin")).json()["events"]
        return len([e for e in events if e["action"] == "read"
                    and e["resource"] == f"patients/{PID}/studies"])

    before = studies_reads()
    for role in ("radiologist", "specialist", "admin"):
        headers = service.headers(role)
        alone = service.client.get(f"/api/v1/cases/{cid}", headers=headers)
        assert alone.status_code == 200 and alone.json()["studies"] is None
        both = service.client.get(f"/api/v1/cases/{cid}?include=studies", headers=headers)
        assert both.status_code == 200, (role, both.text)
        studies = service.client.get(f"/api/v1/patients/{PID}/studies", headers=headers)
        assert both.json()["studies"] == studies.json()
        assert {k: v for k, v in both.json().items() if k != "studies"} == \
            {k: v for k, v in alone.json().items() if k != "studies"}
        assert [st["study_instance_uid"] for st in both.json()["studies"]] == [
            indexed["bl"][0].StudyInstanceUID, indexed["fu"][0].StudyInstanceUID]
    for role in ("uploader", "reviewer"):
        r = service.client.get(f"/api/v1/cases/{cid}?include=studies",
                               headers=service.headers(role))
        assert r.status_code == 403, (role, r.text)
    assert service.client.get(f"/api/v1/cases/{cid}?include=studies").status_code == 401
    for bad in ("lesions", "studies,lesions", "STUDIES", "", "../studies", "s" * 60_000):
        r = service.client.get(f"/api/v1/cases/{cid}", params={"include": bad},
                               headers=service.headers("admin"))
        assert r.status_code == 422 and "include" in r.json()["detail"], (bad[:20], r.text)
    r = service.client.get(f"/api/v1/cases/{cid}", params={"include": "studies\x00"},
                           headers=service.headers("admin"))
    assert r.status_code == 422 and "NUL" in r.json()["detail"]
    assert service.client.get("/api/v1/cases/99999?include=studies",
                              headers=service.headers("admin")).status_code == 404
    # One per role by each route: the include is audited as the studies' own read.
    assert studies_reads() - before == 6


def test_measure_sign_off_amend_and_response(service: Service, indexed: dict[str, Any]) -> None:
    case = _case(service)
    cid = case["id"]
    bl_uid, fu_uid = (t["id"] for t in case["timepoints"])
    bl_img, fu_img = indexed["bl"][1].SOPInstanceUID, indexed["fu"][1].SOPInstanceUID
    t1 = _lesion(service, cid, kind="target", organ="lung")
    n1 = _lesion(service, cid, kind="target", organ="lymph node", nodal=True)
    nt = _lesion(service, cid, kind="non_target", organ="liver")

    # 60 columns x 0.8 mm = 48 mm; 40 rows x 0.5 mm = 20 mm (row spacing first).
    r = _put(
        service,
        cid,
        t1,
        bl_uid,
        {"sop_instance_uid": bl_img, "endpoints": [[10, 2], [10, 62]], "length_mm": 48.3},
    )
    assert r.status_code == 200, r.text
    assert r.json()["length_mm"] == pytest.approx(48.0) and r.json()["version"] == 1
    first_etag = r.headers["ETag"]
    r = _put(
        service, cid, n1, bl_uid, {"sop_instance_uid": bl_img, "endpoints": [[5, 30], [45, 30]]}
    )
    assert r.json()["length_mm"] == pytest.approx(20.0)
    assert _put(service, cid, nt, bl_uid, {"status": "present"}).status_code == 200

    # Follow-up: T1 18 rows * 0.5 = 9 mm ... use columns: 30 * 0.8 = 24 mm; N1 too small.
    r = _put(
        service,
        cid,
        t1,
        fu_uid,
        {"sop_instance_uid": fu_img, "endpoints": [[10.5, 2.25], [10.5, 32.25]]},
    )
    assert r.json()["length_mm"] == pytest.approx(24.0)
    assert _put(service, cid, n1, fu_uid, {"status": "too_small"}).status_code == 200
    assert _put(service, cid, nt, fu_uid, {"status": "absent"}).status_code == 200

    r = service.client.get(f"/api/v1/cases/{cid}/response", headers=service.headers("specialist"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["timepoints"][0]["sum_mm"] == pytest.approx(68.0)
    fu = body["timepoints"][1]
    assert fu["sum_mm"] == pytest.approx(29.0)  # 24 + too small counted as 5 mm
    assert fu["change_from_baseline_pct"] == pytest.approx(-57.4, abs=0.05)
    assert fu["target_response"] == "PR" and fu["overall_response"] == "PR"

    # Stale write: If-Match of version 1 after version 1 of BL was current is fine ...
    r = _put(
        service,
        cid,
        t1,
        bl_uid,
        {"sop_instance_uid": bl_img, "endpoints": [[10, 2], [10, 52]]},
        **{"If-Match": first_etag},
    )
    assert r.status_code == 200
    # ... but the same tag again is stale now: 412 and nothing changes.
    r = _put(
        service,
        cid,
        t1,
        bl_uid,
        {"sop_instance_uid": bl_img, "endpoints": [[10, 2], [10, 12]]},
        **{"If-Match": first_etag},
    )
    assert r.status_code == 412
    cur = service.client.get(
        f"/api/v1/cases/{cid}/lesions/{t1}/measurements/{bl_uid}",
        headers=service.headers("specialist"),
    )
    assert cur.json()["length_mm"] == pytest.approx(40.0)

    r = service.client.post(
        f"/api/v1/cases/{cid}/timepoints/{bl_uid}/sign-off", headers=service.headers("specialist")
    )
    assert r.status_code == 403
    r = service.client.post(
        f"/api/v1/cases/{cid}/timepoints/{bl_uid}/sign-off", headers=service.headers("radiologist")
    )
    assert r.status_code == 200 and r.json()["signed_off_by"] == "radiologist-user"
    r = _put(
        service, cid, t1, bl_uid, {"sop_instance_uid": bl_img, "endpoints": [[10, 2], [10, 62]]}
    )
    assert r.status_code == 409 and "amendment_reason" in r.json()["detail"]
    r = _put(
        service,
        cid,
        t1,
        bl_uid,
        {
            "sop_instance_uid": bl_img,
            "endpoints": [[10, 2], [10, 62]],
            "amendment_reason": "caliper misplaced",
        },
    )
    assert r.status_code == 200 and r.json()["version"] == 4
    hist = service.client.get(
        f"/api/v1/cases/{cid}/lesions/{t1}/history", headers=service.headers("specialist")
    ).json()
    assert [v["version"] for v in hist["versions"]] == [1, 2, 3, 4]
    assert [v["timepoint_id"] for v in hist["versions"]] == [bl_uid, fu_uid, bl_uid, bl_uid]
    assert hist["versions"][-1]["reason"] == "caliper misplaced"
    assert hist["versions"][0]["measurement"]["length_mm"] == pytest.approx(48.0)
    case = service.client.get(f"/api/v1/cases/{cid}", headers=service.headers("specialist")).json()
    assert case["timepoints"][0]["signed_off_by"] == "radiologist-user"

    events = service.client.get(
        f"/api/v1/audit?patient_id={PID}", headers=service.headers("admin")
    ).json()["events"]
    actions = {(e["user"], e["action"]) for e in events}
    assert ("radiologist-user", "measure") in actions
    assert ("specialist-user", "read") in actions
    assert ("radiologist-user", "sign_off") in actions
    assert (
        service.client.get("/api/v1/audit", headers=service.headers("specialist")).status_code
        == 403
    )


def test_measurement_refusals_leave_data_unchanged(
    service: Service, indexed: dict[str, Any]
) -> None:
    case = _case(service)
    cid = case["id"]
    bl_uid, fu_uid = (t["id"] for t in case["timepoints"])
    bl_img = indexed["bl"][0].SOPInstanceUID
    t1 = _lesion(service, cid, kind="target", organ="liver")
    nt = _lesion(service, cid, kind="non_target", organ="bone")
    ok = _put(
        service, cid, t1, bl_uid, {"sop_instance_uid": bl_img, "endpoints": [[0, 0], [0, 20]]}
    )
    assert ok.status_code == 200
    bad: list[tuple[dict[str, Any], str, int]] = [
        ({"sop_instance_uid": bl_img, "endpoints": [[0, 0], [0, 65]]}, bl_uid, 422),
        ({"sop_instance_uid": bl_img, "endpoints": [[-1, 0], [0, 5]]}, bl_uid, 422),
        ({"sop_instance_uid": bl_img, "endpoints": [[0, 0]]}, bl_uid, 422),
        (
            {"sop_instance_uid": bl_img, "endpoints": [[0, 0], [0, 10]], "length_mm": 8.6},
            bl_uid,
            422,
        ),
        (
            {"sop_instance_uid": indexed["fu"][0].SOPInstanceUID, "endpoints": [[0, 0], [0, 10]]},
            bl_uid,
            422,
        ),
        (
            {
                "sop_instance_uid": indexed["other"][0].SOPInstanceUID,
                "endpoints": [[0, 0], [0, 10]],
            },
            bl_uid,
            422,
        ),
        ({"sop_instance_uid": "1.2.3.4", "endpoints": [[0, 0], [0, 10]]}, bl_uid, 422),
        ({"status": "present"}, bl_uid, 422),
        ({"status": "huge"}, bl_uid, 422),
        ({"sop_instance_uid": bl_img, "endpoints": [[0, 0], [0, True]]}, bl_uid, 422),
        ({}, bl_uid, 422),
        ({"status": "too_small"}, "1.2.3.999", 404),
    ]
    for body, tp, status in bad:
        r = _put(service, cid, t1, tp, body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["detail"]
    assert _put(service, cid, nt, bl_uid, {"status": "too_small"}).status_code == 422
    assert _put(service, cid, 99999, bl_uid, {"status": "too_small"}).status_code == 404
    assert _put(service, 99999, t1, bl_uid, {"status": "too_small"}).status_code == 404
    assert (
        _put(service, cid, t1, bl_uid, {"status": "too_small"}, role="specialist").status_code
        == 403
    )
    ok_len = _put(
        service,
        cid,
        t1,
        bl_uid,
        {"sop_instance_uid": bl_img, "endpoints": [[0, 0], [0, 10]], "length_mm": 8.4},
    )
    assert ok_len.status_code == 200
    hist = service.client.get(
        f"/api/v1/cases/{cid}/lesions/{t1}/history", headers=service.headers("radiologist")
    ).json()
    assert [v["measurement"]["length_mm"] for v in hist["versions"]] == [16.0, 8.0]
    r = service.client.post(
        f"/api/v1/cases/{cid}/lesions",
        json={"kind": "new", "organ": "bone", "timepoint": bl_uid},
        headers=service.headers("radiologist"),
    )
    assert r.status_code == 422
    r = service.client.post(
        f"/api/v1/cases/{cid}/lesions",
        json={"kind": "new", "organ": "bone", "timepoint": fu_uid, "equivocal": True},
        headers=service.headers("radiologist"),
    )
    assert r.status_code == 201


def test_case_options_reach_the_engine_and_cases_are_listed(
    service: Service, indexed: dict[str, Any]
) -> None:
    r = service.client.post("/api/v1/cases", json={
        "patient_id": PID, "criteria": "RECIST1.1", "confirmation_required": True},
        headers=service.headers("radiologist"))
    assert r.status_code == 201 and r.json()["confirmation_required"] is True
    case = r.json()
    bl_uid, fu_uid = (t["id"] for t in case["timepoints"])
    t1 = _lesion(service, case["id"], kind="target", organ="lung")
    for tp, img, cols in ((bl_uid, indexed["bl"][0], 50), (fu_uid, indexed["fu"][0], 20)):
        assert _put(service, case["id"], t1, tp, {"sop_instance_uid": img.SOPInstanceUID,
                                                  "endpoints": [[1, 0], [1, cols]]}
                    ).status_code == 200
    body = service.client.get(f"/api/v1/cases/{case['id']}/response",
                              headers=service.headers("specialist")).json()
    assert body["timepoints"][1]["overall_response"] == "PR"
    # RECIST 1.1 Table 3: a PR that no later scan confirms is not a best response of PR;
    # 56 days after baseline it still meets the SD duration (42 days).
    assert body["best_overall_response"] == "SD"
    bad = service.client.post("/api/v1/cases", json={
        "patient_id": PID, "criteria": "RECIST1.1", "min_sd_duration_days": -1},
        headers=service.headers("radiologist"))
    assert bad.status_code == 422 and "min_sd_duration_days" in bad.json()["detail"]
    listed = service.client.get(f"/api/v1/cases?patient_id={PID}",
                                headers=service.headers("specialist")).json()
    assert [c["id"] for c in listed] == [case["id"]]
    assert service.client.get("/api/v1/cases?patient_id=NOBODY",
                              headers=service.headers("admin")).json() == []


def test_concurrent_writes_with_the_same_etag_keep_exactly_one(
    service: Service, indexed: dict[str, Any]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    case = _case(service)
    bl_uid = case["timepoints"][0]["id"]
    img = indexed["bl"][0].SOPInstanceUID
    t1 = _lesion(service, case["id"], kind="target", organ="lung")
    first = _put(service, case["id"], t1, bl_uid, {"sop_instance_uid": img,
                                                   "endpoints": [[0, 0], [0, 30]]})
    tag = first.headers["ETag"]

    def write(n: int) -> int:
        r = _put(service, case["id"], t1, bl_uid,
                 {"sop_instance_uid": img, "endpoints": [[0, 0], [0, 31 + n]]},
                 **{"If-Match": tag})
        return int(r.status_code)

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(write, range(6)))
    assert sorted(statuses) == [200] + [412] * 5
    hist = service.client.get(f"/api/v1/cases/{case['id']}/lesions/{t1}/history",
                              headers=service.headers("radiologist")).json()
    assert [v["version"] for v in hist["versions"]] == [1, 2]
