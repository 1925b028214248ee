"""Safe reading over HTTP (issue 18): nothing incomplete looks complete.

An incomplete timepoint answers 200 with ``complete: false``, the lesions it waits for
and no sum or response; its sign-off is refused (409) naming each lesion; the report says
"not yet measured" and "preliminary", never "0.0 mm".
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import Service
from tests.integration.test_cases import _case, _lesion, _put, indexed

pytestmark = pytest.mark.integration
__all__ = ["indexed"]  # the fixture, shared with test_cases
ROLES = ("anonymous", "uploader", "specialist", "radiologist", "admin")


def _h(service: Service, role: str) -> dict[str, str]:
    return {} if role == "anonymous" else service.headers(role)


def _get(service: Service, path: str, role: str = "specialist") -> Any:
    return service.client.get(path, headers=_h(service, role))


def _sign(service: Service, cid: int, tp: str, role: str = "radiologist") -> Any:
    return service.client.post(f"/api/v1/cases/{cid}/timepoints/{tp}/sign-off",
                               headers=_h(service, role))


def _caliper(img: Any, cols: int) -> dict[str, Any]:
    return {"sop_instance_uid": img.SOPInstanceUID, "endpoints": [[10, 2], [10, 2 + cols]]}


def test_an_empty_case_answers_200_with_a_next_step(service: Service,
                                                    indexed: dict[str, Any]) -> None:
    cid = _case(service)["id"]
    expected = {"anonymous": 401, "uploader": 403, "specialist": 200, "radiologist": 200,
                "admin": 200}
    for role, status in expected.items():
        assert _get(service, f"/api/v1/cases/{cid}/response", role).status_code == status
    body = _get(service, f"/api/v1/cases/{cid}/response").json()
    assert body["complete"] is False and body["best_overall_response"] is None
    assert body["next_step"].startswith("Add the target lesions on the baseline")
    assert [(t["complete"], t["missing"], t["sum_mm"]) for t in body["timepoints"]] == [
        (False, [], None), (False, [], None)]
    for bad, status in (("0", 422), ("2147483648", 422), ("abc", 422), ("99999", 404)):
        assert _get(service, f"/api/v1/cases/{bad}/response").status_code == status
    # The report of an empty case is a report too (preliminary, nothing measured).
    report = _get(service, f"/api/v1/cases/{cid}/report?format=json")
    assert report.status_code == 200, report.text
    assert report.json()["preliminary"] is True and report.json()["complete"] is False


def test_a_half_measured_follow_up_has_no_sum_and_cannot_be_signed_off(
        service: Service, indexed: dict[str, Any]) -> None:
    case = _case(service)
    cid = case["id"]
    bl, fu = (t["id"] for t in case["timepoints"])
    bl_img, fu_img = indexed["bl"][1], indexed["fu"][1]
    t1 = _lesion(service, cid, kind="target", organ="lung")
    t2 = _lesion(service, cid, kind="target", organ="liver")
    nt = _lesion(service, cid, kind="non_target", organ="bone")

    refused = _sign(service, cid, bl)
    assert refused.status_code == 409
    assert refused.json()["timepoint_id"] == bl
    assert refused.json()["missing"] == [
        {"lesion_id": t1, "label": "T1", "kind": "target"},
        {"lesion_id": t2, "label": "T2", "kind": "target"},
        {"lesion_id": nt, "label": "NT1", "kind": "non_target"}]
    for role in ("anonymous", "uploader", "specialist", "admin"):
        assert _sign(service, cid, bl, role).status_code in (401, 403)

    assert _put(service, cid, t1, bl, _caliper(bl_img, 50)).status_code == 200
    assert _put(service, cid, t2, bl, _caliper(bl_img, 40)).status_code == 200
    assert _put(service, cid, nt, bl, {"status": "present"}).status_code == 200
    assert _put(service, cid, t1, fu, _caliper(fu_img, 20)).status_code == 200
    assert _sign(service, cid, bl).status_code == 200

    body = _get(service, f"/api/v1/cases/{cid}/response").json()
    base, follow = body["timepoints"]
    assert base["complete"] is True and base["signed_off"] is True
    assert base["sum_mm"] == pytest.approx(72.0)  # (50 + 40) columns x 0.8 mm
    assert follow["complete"] is False and follow["signed_off"] is False
    assert [m["label"] for m in follow["missing"]] == ["T2", "NT1"]
    for key in ("sum_mm", "nadir_mm", "change_from_baseline_pct", "target_response",
                "overall_response"):
        assert follow[key] is None, key
    assert "T2, NT1 on follow-up 1" in body["next_step"]

    report = _get(service, f"/api/v1/cases/{cid}/report?format=json").json()
    assert report["timepoints"] == body["timepoints"] and report["preliminary"] is True
    html = _get(service, f"/api/v1/cases/{cid}/report?format=html").text
    assert "not yet measured" in html and "Preliminary report" in html
    assert not re.search(r"(?<![\d.])0\.0 mm", html)  # no sum of nothing

    refused = _sign(service, cid, fu)
    assert refused.status_code == 409
    assert [m["lesion_id"] for m in refused.json()["missing"]] == [t2, nt]
    assert "T2, NT1" in refused.json()["detail"]
    # "Mark not evaluable" in one step each, then the follow-up can be signed off.
    assert _put(service, cid, t2, fu, {"status": "not_evaluable"}).status_code == 200
    assert _put(service, cid, nt, fu, {"status": "not_evaluated"}).status_code == 200
    assert _sign(service, cid, fu).status_code == 200
    body = _get(service, f"/api/v1/cases/{cid}/response").json()
    assert body["complete"] is True and body["next_step"] is None
    assert body["timepoints"][1]["overall_response"] == "NE"
    report = _get(service, f"/api/v1/cases/{cid}/report?format=json").json()
    assert report["preliminary"] is False


def _delete(service: Service, cid: int, lesion: int, body: Any, role: str = "radiologist"
            ) -> Any:
    return service.client.request("DELETE", f"/api/v1/cases/{cid}/lesions/{lesion}",
                                  json=body, headers=_h(service, role))


def test_delete_a_lesion_softly_with_a_reason(service: Service,
                                              indexed: dict[str, Any]) -> None:
    case = _case(service)
    cid = case["id"]
    bl, fu = (t["id"] for t in case["timepoints"])
    t1 = _lesion(service, cid, kind="target", organ="lung")
    t2 = _lesion(service, cid, kind="target", organ="liver")
    assert _put(service, cid, t1, bl, _caliper(indexed["bl"][1], 50)).status_code == 200
    assert _put(service, cid, t2, bl, _caliper(indexed["bl"][1], 40)).status_code == 200
    assert _put(service, cid, t2, bl, _caliper(indexed["bl"][1], 45)).status_code == 200
    other = service.client.post("/api/v1/cases", json={
        "patient_id": case["patient_id"], "criteria": "iRECIST"},
        headers=service.headers("radiologist")).json()["id"]

    for role, status in (("anonymous", 401), ("uploader", 403), ("specialist", 403),
                         ("admin", 403)):
        assert _delete(service, cid, t2, {"reason": "x"}, role).status_code == status
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 2001},
                 {"reason": "x", "amendment_reason": "y" * 2001}, {"reason": "x", "why": 1},
                 {"reason": 5}, None):
        r = _delete(service, cid, t2, body)
        assert r.status_code == 422, (body, r.text)
    # Escape: case A's lesion through case B's URL, unknown and out-of-range ids.
    assert _delete(service, other, t2, {"reason": "x"}).status_code == 404
    assert _delete(service, cid, 99999, {"reason": "x"}).status_code == 404
    assert _delete(service, cid, 2**31, {"reason": "x"}).status_code == 422
    assert len(_get(service, f"/api/v1/cases/{cid}/lesions").json()) == 2

    r = _delete(service, cid, t2, {"reason": "measured the wrong spot"})
    assert r.status_code == 200, r.text
    assert r.json()["deleted_by"] == "radiologist-user"
    assert r.json()["deletion_reason"] == "measured the wrong spot"
    assert _delete(service, cid, t2, {"reason": "again"}).status_code == 404
    assert [les["id"] for les in _get(service, f"/api/v1/cases/{cid}/lesions").json()] == [t1]
    listed = _get(service, f"/api/v1/cases/{cid}/lesions?include_deleted=true").json()
    assert [(les["id"], les["deleted_at"] is not None) for les in listed] == [
        (t1, False), (t2, True)]
    assert [les["id"] for les in _get(service, f"/api/v1/cases/{cid}").json()["lesions"]] == [t1]
    history = _get(service, f"/api/v1/cases/{cid}/lesions/{t2}/history").json()
    assert [v["version"] for v in history["versions"]] == [1, 2]
    assert history["lesion"]["deletion_reason"] == "measured the wrong spot"
    body = _get(service, f"/api/v1/cases/{cid}/response").json()
    assert body["timepoints"][0]["sum_mm"] == pytest.approx(40.0)  # T1 alone
    report = _get(service, f"/api/v1/cases/{cid}/report?format=json").json()
    assert [les["label"] for les in report["lesions"]] == ["T1"]
    audit = _get(service, f"/api/v1/audit?patient_id={case['patient_id']}", "admin").json()
    assert any(e["action"] == "delete" and e["resource"] == f"cases/{cid}/lesions/{t2}"
               for e in audit["events"])
    assert _put(service, cid, t2, fu, {"status": "not_evaluable"}).status_code == 404

    # Once the baseline where T1 is measured is signed off: an amendment reason is needed.
    assert _sign(service, cid, bl).status_code == 200
    r = _delete(service, cid, t1, {"reason": "not a lesion"})
    assert r.status_code == 409 and "amendment_reason" in r.json()["detail"]
    r = _delete(service, cid, t1, {"reason": "not a lesion", "amendment_reason": "scar"})
    assert r.status_code == 200 and r.json()["deletion_amendment_reason"] == "scar"


def test_the_lesion_deletion_migration_goes_both_ways(database_url: str) -> None:
    import sqlalchemy as sa
    from alembic import command

    from api.db.session import alembic_config

    config = alembic_config(database_url)
    command.upgrade(config, "0007")
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO cases (id, patient_id, criteria, baseline_study_uid, created_by, "
            "created_at) VALUES (1, 'P', 'RECIST1.1', '1.2', 'rad', CURRENT_TIMESTAMP)"))
        conn.execute(sa.text(
            "INSERT INTO lesions (id, case_id, kind, organ, nodal, label, equivocal, "
            "tracking_uid, created_by, created_at) VALUES (1, 1, 'target', 'lung', false, "
            "'T1', false, '1.2.3', 'rad', CURRENT_TIMESTAMP)"))
    command.upgrade(config, "head")
    with engine.begin() as conn:
        row = conn.execute(sa.text(
            "SELECT label, deleted_at, deleted_by, deletion_reason FROM lesions")).one()
    assert tuple(row) == ("T1", None, None, None)
    command.downgrade(config, "0007")
    with engine.begin() as conn:
        assert "deleted_at" not in {c["name"] for c in sa.inspect(conn).get_columns("lesions")}
    command.upgrade(config, "head")
    engine.dispose()


def _patch(service: Service, cid: int, lesion: int, body: Any, role: str = "radiologist"
           ) -> Any:
    return service.client.patch(f"/api/v1/cases/{cid}/lesions/{lesion}", json=body,
                                headers=_h(service, role))


def test_patch_kind_and_nodal_until_the_first_reading(service: Service,
                                                      indexed: dict[str, Any]) -> None:
    case = _case(service)
    cid, bl = case["id"], case["timepoints"][0]["id"]
    t1 = _lesion(service, cid, kind="target", organ="mediastinum")
    for role, status in (("anonymous", 401), ("uploader", 403), ("specialist", 403),
                         ("admin", 403)):
        assert _patch(service, cid, t1, {"nodal": True}, role).status_code == status
    for body in ({"kind": "new"}, {"kind": "tumour"}, {"nodal": "yes"}, {"nodal": None},
                 {"is_nodal": True}, {"amendment_reason": "x" * 2001}, {"organ": ""}):
        r = _patch(service, cid, t1, body)
        assert r.status_code == 422, (body, r.text)
    other = service.client.post("/api/v1/cases", json={
        "patient_id": case["patient_id"], "criteria": "iRECIST"},
        headers=service.headers("radiologist")).json()["id"]
    assert _patch(service, other, t1, {"nodal": True}).status_code == 404

    r = _patch(service, cid, t1, {"nodal": True, "kind": "non_target"})
    assert r.status_code == 200, r.text
    assert (r.json()["kind"], r.json()["nodal"], r.json()["label"]) == ("non_target", True, "NT1")
    assert _put(service, cid, t1, bl, {"status": "present"}).status_code == 200
    r = _patch(service, cid, t1, {"kind": "target"})
    assert r.status_code == 409 and r.json()["fields"] == ["kind"]
    assert _sign(service, cid, bl).status_code == 200
    r = _patch(service, cid, t1, {"organ": "hilum"})
    assert r.status_code == 409 and "amendment_reason" in r.json()["detail"]
    r = _patch(service, cid, t1, {"organ": "hilum", "amendment_reason": "hilar, not "
                                  "mediastinal"})
    assert r.status_code == 200 and r.json()["organ"] == "hilum"
    history = _get(service, f"/api/v1/cases/{cid}/lesions/{t1}/history").json()
    assert [(c["action"], c["changes"], c["reason"]) for c in history["changes"]] == [
        ("update", {"nodal": [False, True], "kind": ["target", "non_target"],
                    "label": ["T1", "NT1"]}, None),
        ("update", {"organ": ["mediastinum", "hilum"]}, "hilar, not mediastinal")]


def test_a_second_case_of_the_same_baseline_and_criteria_is_refused(
        service: Service, indexed: dict[str, Any]) -> None:
    first = _case(service)
    body = {"patient_id": first["patient_id"], "criteria": "RECIST1.1"}
    post = service.client.post
    for role, status in (("anonymous", 401), ("uploader", 403), ("specialist", 403)):
        assert post("/api/v1/cases", json=body, headers=_h(service, role)).status_code == status
    for role in ("radiologist", "admin"):
        r = post("/api/v1/cases", json=body, headers=_h(service, role))
        assert r.status_code == 409, r.text
        assert r.json()["existing_case_id"] == first["id"]
    explicit = post("/api/v1/cases", json={**body, "baseline_study_uid": first[
        "baseline_study_uid"]}, headers=_h(service, "radiologist"))
    assert explicit.status_code == 409
    for bad in ("yes", 1, None):
        r = post("/api/v1/cases", json={**body, "allow_duplicate": bad},
                 headers=_h(service, "radiologist"))
        assert r.status_code == 422, (bad, r.text)
    # Another criteria or another baseline is another case; allow_duplicate makes one on purpose.
    irecist = post("/api/v1/cases", json={**body, "criteria": "iRECIST"},
                   headers=_h(service, "radiologist"))
    later = post("/api/v1/cases", json={**body, "baseline_study_uid": first["timepoints"][1][
        "id"]}, headers=_h(service, "radiologist"))
    again = post("/api/v1/cases", json={**body, "allow_duplicate": True},
                 headers=_h(service, "admin"))
    assert [r.status_code for r in (irecist, later, again)] == [201, 201, 201]
    assert again.json()["id"] not in (first["id"], irecist.json()["id"])
    listed = _get(service, f"/api/v1/cases?patient_id={first['patient_id']}").json()
    assert len(listed) == 4


def test_a_measurement_carries_its_reason_into_the_history(
        service: Service, indexed: dict[str, Any]) -> None:
    case = _case(service)
    cid, bl = case["id"], case["timepoints"][0]["id"]
    t1 = _lesion(service, cid, kind="target", organ="lung")
    assert _put(service, cid, t1, bl, _caliper(indexed["bl"][1], 50)).status_code == 200
    assert _put(service, cid, t1, bl, _caliper(indexed["bl"][1], 30)).status_code == 200
    for bad in ({"reason": "u" * 2001}, {"reason": 5}):
        r = _put(service, cid, t1, bl, {**_caliper(indexed["bl"][1], 50), **bad})
        assert r.status_code == 422, (bad, r.text)
    r = _put(service, cid, t1, bl, {**_caliper(indexed["bl"][1], 50), "reason": "undo"},
             **{"If-Match": f'"m{t1}-v2"'})
    assert r.status_code == 200 and r.json()["reason"] == "undo" and r.json()["version"] == 3
    assert _put(service, cid, t1, bl, {**_caliper(indexed["bl"][1], 50), "reason": "undo"},
                role="specialist").status_code == 403
    assert _sign(service, cid, bl).status_code == 200
    r = _put(service, cid, t1, bl, {**_caliper(indexed["bl"][1], 30), "reason": "redo"})
    assert r.status_code == 409
    r = _put(service, cid, t1, bl, {**_caliper(indexed["bl"][1], 30), "reason": "redo",
                                    "amendment_reason": "the larger axis"})
    assert r.status_code == 200
    history = _get(service, f"/api/v1/cases/{cid}/lesions/{t1}/history").json()
    assert [v["reason"] for v in history["versions"]] == [
        None, None, "undo", "redo; amendment: the larger axis"]
