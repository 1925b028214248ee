"""Priors from the hospital PACS: a second real Orthanc plays the hospital; Nadir's
Orthanc queries it (C-FIND) and moves the studies Nadir lacks (C-MOVE), by request and
automatically, and a PACS that is down or refuses the move gives a clear, retried failure."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import Service, start_orthanc, wait_until
from tests.factories import tiny_ct_series, to_bytes

pytestmark = pytest.mark.integration

PID = "PRIORS-1"
#: Matches PID as a C-FIND wildcard ('*' is any characters): its answers must be dropped.
WILDCARD_PID = "PRIORS*"
#: Fast retries for the tests, and enough attempts that a slow machine never uses them up.
RETRY = {"outbox_retry_base_s": 0.2, "outbox_retry_max_s": 0.5,
         "outbox_max_attempts": 10_000}


def _study(patient_id: str, date: str, modality: str = "CT") -> list[Any]:
    series = tiny_ct_series(2, patient_id=patient_id, study_date=date)
    for ds in series:
        ds.Modality = modality
    return series


def _allow_nadir(hospital: Any, nadir: Any, *, move: bool = True) -> None:
    """The hospital PACS knows Nadir's Orthanc: it may query it and, if ``move``, have
    studies moved to it (its AET, host and DICOM port)."""
    body = {"AET": nadir.config.aet, "Host": "127.0.0.1", "Port": nadir.config.dicom_port,
            "AllowEcho": True, "AllowFind": True, "AllowMove": move, "AllowStore": True,
            "AllowGet": False}
    with hospital.client() as client:
        client._request("PUT", "/modalities/nadir", content=json.dumps(body).encode())


@pytest.fixture
def hospital(tmp_path: Path, orthanc: Any) -> Iterator[dict[str, Any]]:
    """The hospital PACS with the patient's earlier studies: CT in January and April 2025,
    MR in February, and another patient's CT."""
    pacs = start_orthanc(tmp_path / "hospital", username="h", password=uuid.uuid4().hex,
                         aet="HOSPITAL")
    studies = {"ct_jan": _study(PID, "20250105"), "ct_apr": _study(PID, "20250405"),
               "mr_feb": _study(PID, "20250210", "MR"), "other": _study("PRIORS-2", "20250105")}
    try:
        with pacs.client() as client:
            for series in studies.values():
                for ds in series:
                    client.store(to_bytes(ds))
        _allow_nadir(pacs, orthanc)
        yield {"pacs": pacs, "uids": {k: v[0].StudyInstanceUID for k, v in studies.items()}}
    finally:
        pacs.stop(kill=True)


def _settings(pacs: Any) -> dict[str, Any]:
    return {"remote_ae_title": "HOSPITAL", "remote_ae_host": "127.0.0.1",
            "remote_ae_port": pacs.config.dicom_port, **RETRY}


def _push_current(orthanc: Any, service: Service, patient_id: str = PID) -> str:
    """The patient's current CT (2026) arrives in Nadir and is indexed."""
    series = _study(patient_id, "20260105")
    with orthanc.client() as client:
        for ds in series:
            client.store(to_bytes(ds))
    wait_until(lambda: _study_uids(service, patient_id), timeout=60)
    return str(series[0].StudyInstanceUID)


def _study_uids(service: Service, patient_id: str = PID) -> set[str]:
    r = service.client.get(f"/api/v1/patients/{patient_id}/studies",
                           headers=service.headers("radiologist"))
    return {s["study_instance_uid"] for s in r.json()} if r.status_code == 200 else set()


def _fetch(service: Service, body: dict[str, Any], role: str = "radiologist",
           patient_id: str = PID) -> dict[str, Any]:
    r = service.client.post(f"/api/v1/patients/{patient_id}/priors", json=body,
                            headers=service.headers(role))
    assert r.status_code == 202, r.text
    assert r.headers["location"] == \
        f"/api/v1/patients/{quote(patient_id, safe='')}/priors/{r.json()['id']}"
    return dict(r.json())


def _job(service: Service, job_id: int, patient_id: str = PID) -> dict[str, Any]:
    r = service.client.get(f"/api/v1/patients/{patient_id}/priors/{job_id}",
                           headers=service.headers("specialist"))
    assert r.status_code == 200, r.text
    return dict(r.json())


def _finished(service: Service, job_id: int, patient_id: str = PID,
              timeout: float = 60) -> dict[str, Any]:
    return dict(wait_until(lambda: (job := _job(service, job_id, patient_id))["state"]
                           in ("done", "failed") and job, timeout=timeout))


def test_priors_are_fetched_by_request(
    service_factory: Callable[..., Service], orthanc: Any, hospital: dict[str, Any]
) -> None:
    service = service_factory(orthanc, **_settings(hospital["pacs"]))
    current = _push_current(orthanc, service)
    uids = hospital["uids"]
    job = _fetch(service, {"modality": "CT"})
    assert job["state"] in ("pending", "running") and job["trigger"] == "request"
    assert job["requested_by"] == "radiologist-user"
    assert job["source"] == f"HOSPITAL@127.0.0.1:{hospital['pacs'].config.dicom_port}"
    done = _finished(service, job["id"])
    assert done["state"] == "done" and done["last_error"] is None, done
    assert done["progress"] == {"found": 2, "held": 0, "to_retrieve": 0, "retrieved": 2}
    assert [(s["study_instance_uid"], s["study_date"], s["state"]) for s in done["studies"]] \
        == [(uids["ct_jan"], "2025-01-05", "retrieved"), (uids["ct_apr"], "2025-04-05",
                                                           "retrieved")]
    # Indexed like any arrival; the MR and the other patient's study stayed at the hospital.
    wait_until(lambda: _study_uids(service) == {current, uids["ct_jan"], uids["ct_apr"]},
               timeout=60)
    # A date range: the April study only, which Nadir now holds.
    ranged = _finished(service, _fetch(service, {"modality": "CT", "date_from": "2025-03-01",
                                                 "date_to": "2025-12-31"}, "admin")["id"])
    assert ranged["progress"] == {"found": 1, "held": 1, "to_retrieve": 0, "retrieved": 0}
    assert ranged["requested_by"] == "admin-user"
    # Any modality: the MR comes too.
    every = _finished(service, _fetch(service, {})["id"])
    assert every["progress"] == {"found": 3, "held": 2, "to_retrieve": 0, "retrieved": 1}
    wait_until(lambda: uids["mr_feb"] in _study_uids(service), timeout=60)
    assert uids["other"] not in _study_uids(service, "PRIORS-2")
    listed = service.client.get(f"/api/v1/patients/{PID}/priors",
                                headers=service.headers("admin")).json()
    assert [j["id"] for j in listed] == [job["id"], ranged["id"], every["id"]]
    # PatientID is matched exactly, never as a C-FIND wildcard.
    _push_current(orthanc, service, WILDCARD_PID)
    exact = _finished(service, _fetch(service, {}, patient_id=WILDCARD_PID)["id"],
                      WILDCARD_PID)
    assert exact["state"] == "done" and exact["progress"]["found"] == 0
    events = service.client.get("/api/v1/audit", params={"patient_id": PID},
                                headers=service.headers("admin")).json()["events"]
    assert sum(e["action"] == "fetch_priors" for e in events) == 3


def test_roles_and_bad_input(
    service_factory: Callable[..., Service], orthanc: Any, hospital: dict[str, Any]
) -> None:
    service = service_factory(orthanc, **_settings(hospital["pacs"]))
    _push_current(orthanc, service)
    url = f"/api/v1/patients/{PID}/priors"
    assert service.client.post(url, json={}).status_code == 401
    assert service.client.get(url).status_code == 401
    for role in ("uploader", "specialist"):
        r = service.client.post(url, json={}, headers=service.headers(role))
        assert r.status_code == 403 and "admin, radiologist" in r.json()["detail"]
    assert service.client.get(url, headers=service.headers("uploader")).status_code == 403
    bad = [{"modality": "ct"}, {"modality": "CT;DROP TABLE"}, {"modality": "C" * 17},
           {"modality": 5}, {"date_from": "2025-13-01"}, {"date_from": 20250101},
           {"date_to": "yesterday"}, {"patient_id": "PRIORS-2"}, {"modality": "CT\x00"}]
    for body in bad:
        r = service.client.post(url, json=body, headers=service.headers("radiologist"))
        assert r.status_code == 422, (body, r.text)
    r = service.client.post(url, json={"date_from": "2025-06-01", "date_to": "2025-01-01"},
                            headers=service.headers("radiologist"))
    assert r.status_code == 422 and "after date_to" in r.json()["detail"]
    r = service.client.post(url, content=b"{", headers={
        **service.headers("radiologist"), "Content-Type": "application/json"})
    assert r.status_code == 422
    r = service.client.post(url, content=b" " * (2 * 1024 * 1024), headers={
        **service.headers("radiologist"), "Content-Type": "application/json"})
    assert r.status_code == 413
    r = service.client.post("/api/v1/patients/NOBODY/priors", json={},
                            headers=service.headers("radiologist"))
    assert r.status_code == 404 and "NOBODY" in r.json()["detail"]
    assert service.client.get(f"{url}/999", headers=service.headers("admin")).status_code == 404
    assert service.client.get(f"{url}/abc", headers=service.headers("admin")).status_code == 422
    # A job is read under its own patient only.
    job = _fetch(service, {"modality": "MR"})
    other = service.client.get(f"/api/v1/patients/PRIORS-2/priors/{job['id']}",
                               headers=service.headers("admin"))
    assert other.status_code == 404
    assert service.client.get(f"{url}/{job['id']}",
                              headers=service.headers("radiologist")).status_code == 200
    # Nothing was queued by the refused requests.
    assert len(service.client.get(url, headers=service.headers("admin")).json()) == 1


def test_without_a_hospital_pacs_there_is_nothing_to_fetch(
    service_factory: Callable[..., Service], orthanc: Any
) -> None:
    service = service_factory(orthanc)
    _push_current(orthanc, service)
    r = service.client.post(f"/api/v1/patients/{PID}/priors", json={},
                            headers=service.headers("radiologist"))
    assert r.status_code == 409 and "NADIR_REMOTE_AE_HOST" in r.json()["detail"]


def test_a_pacs_down_or_refusing_the_move_is_retried_until_it_works(
    service_factory: Callable[..., Service], orthanc: Any, hospital: dict[str, Any]
) -> None:
    pacs = hospital["pacs"]
    service = service_factory(orthanc, **_settings(pacs))
    _push_current(orthanc, service)
    # Refused: the hospital answers Nadir's C-FIND but may not move to it.
    _allow_nadir(pacs, orthanc, move=False)
    job = _fetch(service, {"modality": "CT"})
    refused = wait_until(lambda: (j := _job(service, job["id"]))["attempts"] >= 2 and j,
                         timeout=60)
    assert refused["state"] in ("pending", "running")
    assert "C-MOVE of study" in refused["last_error"] and "HOSPITAL" in refused["last_error"]
    assert refused["progress"]["found"] == 2 and refused["progress"]["retrieved"] == 0
    _allow_nadir(pacs, orthanc, move=True)
    assert _finished(service, job["id"])["progress"]["retrieved"] == 2
    # Down: stopped cleanly (its registered peers stay in its database).
    pacs.stop()
    down = _fetch(service, {})
    failing = wait_until(lambda: (j := _job(service, down["id"]))["attempts"] >= 2 and j,
                         timeout=60)
    assert failing["state"] in ("pending", "running") and failing["next_attempt_at"]
    assert "C-FIND on the hospital PACS failed" in failing["last_error"]
    assert "Connection refused" in failing["last_error"]
    pacs.start()
    arrived = _finished(service, down["id"])
    assert arrived["state"] == "done" and arrived["last_error"] is None
    assert arrived["progress"] == {"found": 3, "held": 2, "to_retrieve": 0, "retrieved": 1}


def test_the_first_study_of_a_modality_fetches_its_priors_by_itself(
    service_factory: Callable[..., Service], orthanc: Any, hospital: dict[str, Any]
) -> None:
    service = service_factory(orthanc, fetch_priors=True, **_settings(hospital["pacs"]))
    uids = hospital["uids"]
    current = _push_current(orthanc, service)
    url = f"/api/v1/patients/{PID}/priors"
    jobs = wait_until(lambda: service.client.get(url, headers=service.headers("admin")).json(),
                      timeout=60)
    assert [(j["trigger"], j["modality"], j["date_to"]) for j in jobs] == \
        [("automatic", "CT", "2026-01-04")]
    assert _finished(service, jobs[0]["id"])["progress"]["retrieved"] == 2
    wait_until(lambda: _study_uids(service) == {current, uids["ct_jan"], uids["ct_apr"]},
               timeout=60)
    # The priors it brought are "first" studies too, and start no other fetch; nor does
    # a later study, which has earlier ones.
    later = _study(PID, "20260405")
    with orthanc.client() as client:
        for ds in later:
            client.store(to_bytes(ds))
    # Observers run one after the other in the ingest thread: once a series pushed after
    # it is indexed, the later study's observer has run.
    sentinel = _study("PRIORS-SENTINEL", "20260405", "OT")
    with orthanc.client() as client:
        for ds in sentinel:
            client.store(to_bytes(ds))
    wait_until(lambda: _study_uids(service, "PRIORS-SENTINEL"), timeout=60)
    assert later[0].StudyInstanceUID in _study_uids(service)
    assert len(service.client.get(url, headers=service.headers("admin")).json()) == 1
