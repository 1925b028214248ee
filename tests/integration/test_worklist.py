"""GET /api/v1/worklist: the whole worklist in one answer, work first, in a fixed number
of queries whatever the number of cases."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import event

from tests.conftest import Service
from tests.integration.test_cases import PID, _lesion, _put, indexed  # noqa: F401

pytestmark = pytest.mark.integration


def _case(service: Service, criteria: str = "RECIST1.1", **extra: Any) -> dict[str, Any]:
    r = service.client.post("/api/v1/cases", json={"patient_id": PID, "criteria": criteria,
                                                   **extra},
                            headers=service.headers("radiologist"))
    assert r.status_code == 201, r.text
    return dict(r.json())


def _caliper(ds: Any) -> dict[str, Any]:
    return {"sop_instance_uid": ds.SOPInstanceUID, "endpoints": [[10.0, 10.0], [10.0, 40.0]]}


def _worklist(service: Service, role: str = "specialist") -> dict[str, Any]:
    r = service.client.get("/api/v1/worklist", headers=service.headers(role))
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_cases_with_work_come_first_and_say_what_is_left(
    service: Service, indexed: dict[str, Any]  # noqa: F811
) -> None:
    bl, fu = indexed["bl"], indexed["fu"]
    bl_uid, fu_uid = bl[0].StudyInstanceUID, fu[0].StudyInstanceUID
    empty = _case(service)["id"]
    read = _case(service, "iRECIST", allow_duplicate=True)["id"]
    t1 = _lesion(service, read, kind="target", organ="liver")
    t2 = _lesion(service, read, kind="target", organ="lung")
    for lesion, ds in ((t1, bl[0]), (t2, bl[1])):
        assert _put(service, read, lesion, bl_uid, _caliper(ds)).status_code == 200
    assert _put(service, read, t1, fu_uid, _caliper(fu[0])).status_code == 200
    body = _worklist(service)
    patient = next(p for p in body["patients"] if p["patient_id"] == PID)
    assert [s["study_instance_uid"] for s in patient["studies"]] == [bl_uid, fu_uid]
    assert patient["case_ids"] == sorted([empty, read])
    cases = {c["id"]: c for c in body["cases"]}
    # The follow-up came after the baseline was read: one lesion still to measure there.
    assert cases[read]["new_followup"] is True and cases[read]["to_measure"] == 1
    assert cases[read]["status"].startswith("new follow-up to read")
    assert cases[read]["latest_timepoint_id"] == fu_uid
    # Nothing incomplete looks complete: no response from a half-measured follow-up.
    # (a baseline has no response of its own).
    assert cases[read]["latest_response"] is None
    assert cases[empty]["latest_response"] is None and cases[empty]["new_followup"] is False
    assert cases[empty]["next_step"]
    assert [c["id"] for c in body["cases"]][0] == read
    # Measured and signed off: it moves after the case still to read, with its response.
    assert _put(service, read, t2, fu_uid, _caliper(fu[1])).status_code == 200
    for tp in (bl_uid, fu_uid):
        r = service.client.post(f"/api/v1/cases/{read}/timepoints/{tp}/sign-off",
                                headers=service.headers("radiologist"))
        assert r.status_code == 200, r.text
    after = _worklist(service, "admin")
    done = next(c for c in after["cases"] if c["id"] == read)
    assert done["status"] == "read and signed off" and done["complete"] is True
    assert done["latest_response"]["timepoint_id"] == fu_uid
    assert [c["id"] for c in after["cases"]] == [empty, read]


def test_the_number_of_queries_does_not_grow_with_the_cases(
    service: Service, indexed: dict[str, Any]  # noqa: F811
) -> None:
    engine = service.app.state.engine
    statements: list[str] = []

    def count(*args: Any) -> None:
        # Only the request's own statements: ingest, outbox and events run in threads of
        # their own (named nadir-...), at their own pace.
        if not threading.current_thread().name.startswith("nadir-"):
            statements.append(str(args[2])[:120])

    def queries() -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            _worklist(service)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements)

    bl = indexed["bl"]
    cid = _case(service)["id"]
    assert _put(service, cid, _lesion(service, cid, kind="target", organ="liver"),
                bl[0].StudyInstanceUID, _caliper(bl[0])).status_code == 200
    one = queries()
    for _ in range(6):
        other = _case(service, "iRECIST", allow_duplicate=True)["id"]
        lesion = _lesion(service, other, kind="target", organ="liver")
        assert _put(service, other, lesion, bl[0].StudyInstanceUID,
                    _caliper(bl[0])).status_code == 200
    many = queries()
    assert many == one, statements


def test_roles(service: Service) -> None:
    assert service.client.get("/api/v1/worklist").status_code == 401
    assert service.client.get("/api/v1/worklist",
                              headers=service.headers("uploader")).status_code == 403
    for role in ("radiologist", "specialist", "admin"):
        assert _worklist(service, role) == {"patients": [], "cases": []}
    events = service.client.get("/api/v1/audit", headers=service.headers("admin")).json()
    assert sum(e["resource"] == "worklist" for e in events["events"]) == 3
