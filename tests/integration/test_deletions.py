"""Deletions in Orthanc reach the index; a case whose images are gone keeps its
measurements, says which images are missing, and its report names them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Service, wait_until
from tests.factories import tiny_ct_series, to_bytes

pytestmark = pytest.mark.integration
PID = "DEL-1"


def _get(service: Service, path: str) -> Any:
    r = service.client.get(path, headers=service.headers("admin"))
    return r.json() if r.status_code == 200 else None


def _series(service: Service, patient_id: str) -> dict[str, list[str]] | None:
    studies = _get(service, f"/api/v1/patients/{patient_id}/studies")
    if studies is None:
        return None
    return {st["study_instance_uid"]: sorted(s["series_instance_uid"] for s in st["series"])
            for st in studies}


def _measure(service: Service, case_id: int, lesion: int, tp: str, sop_uid: str) -> None:
    r = service.client.put(f"/api/v1/cases/{case_id}/lesions/{lesion}/measurements/{tp}",
                           json={"sop_instance_uid": sop_uid,
                                 "endpoints": [[10, 10], [10, 40]]},
                           headers=service.headers("radiologist"))
    assert r.status_code == 200, r.text


def test_deletions_are_mirrored_and_cases_keep_their_measurements(
    service: Service, orthanc: Any
) -> None:
    baseline = tiny_ct_series(3, patient_id=PID, study_date="20260105", size=64)
    unmeasured = tiny_ct_series(2, patient_id=PID, study_uid=baseline[0].StudyInstanceUID,
                                size=64)
    followup = tiny_ct_series(3, patient_id=PID, study_date="20260302", size=64)
    extra = tiny_ct_series(2, patient_id=PID, study_date="20260401")
    nobody = tiny_ct_series(2, patient_id="NO-CASE")
    with orthanc.client() as client:
        stored = {ds.SOPInstanceUID: client.store(to_bytes(ds))
                  for ds in baseline + unmeasured + followup + extra + nobody}
    bl, fu, ex = (s[0].StudyInstanceUID for s in (baseline, followup, extra))
    wait_until(lambda: (_series(service, PID) or {}).keys() == {bl, fu, ex}
               and len(_series(service, PID)[bl]) == 2 and _series(service, "NO-CASE"),
               timeout=60)
    case = service.client.post("/api/v1/cases", json={"patient_id": PID, "criteria":
                                                      "RECIST1.1"},
                               headers=service.headers("radiologist")).json()
    lesion = service.client.post(f"/api/v1/cases/{case['id']}/lesions",
                                 json={"kind": "target", "organ": "liver"},
                                 headers=service.headers("radiologist")).json()["id"]
    _measure(service, case["id"], lesion, bl, baseline[1].SOPInstanceUID)
    _measure(service, case["id"], lesion, fu, followup[1].SOPInstanceUID)
    assert _get(service, f"/api/v1/cases/{case['id']}")["images_missing"] is False

    with orthanc.client() as client:
        client.delete("instances", stored[baseline[1].SOPInstanceUID].orthanc_id)
        client.delete("series", stored[unmeasured[0].SOPInstanceUID].parent_series)
        client.delete("studies", stored[followup[0].SOPInstanceUID].parent_study)
        client.delete("studies", stored[extra[0].SOPInstanceUID].parent_study)
        client.delete("patients", client.study(stored[nobody[0].SOPInstanceUID]
                                               .parent_study)["ParentPatient"])

    def mirrored() -> dict[str, Any] | None:
        view = _get(service, f"/api/v1/cases/{case['id']}")
        series = _series(service, PID)
        done = view and series and set(view["missing_images"]) == {
            baseline[1].SOPInstanceUID, followup[1].SOPInstanceUID} \
            and series == {bl: [baseline[0].SeriesInstanceUID], fu: []}
        return view if done else None

    view = wait_until(mirrored, timeout=60, interval=0.2)
    # The measured follow-up stays as the case's timepoint, without series; the unmeasured
    # study, the unmeasured series and the patient without a case are gone.
    assert view["images_missing"] is True
    assert [t["id"] for t in view["timepoints"]] == [bl, fu]
    assert _get(service, "/api/v1/patients/NO-CASE/studies") is None
    assert "NO-CASE" not in {p["patient_id"] for p in _get(service, "/api/v1/patients")}
    history = _get(service, f"/api/v1/cases/{case['id']}/lesions/{lesion}/history")
    assert len(history["versions"]) == 2  # every measurement kept
    response = _get(service, f"/api/v1/cases/{case['id']}/response")
    assert [t["sum_mm"] for t in response["timepoints"]] == [21.0, 21.0]
    report = _get(service, f"/api/v1/cases/{case['id']}/report?format=json")
    errors = [image["error"] for les in report["lesions"] for image in les["key_images"]]
    assert all(errors) and len(errors) == 2
    assert {uid for uid in view["missing_images"] if any(uid in e for e in errors)} \
        == set(view["missing_images"])
