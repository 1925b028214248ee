"""iRECIST new-lesion statuses in the case API (issue 16), over HTTP against a real Orthanc.

A new lesion may be recorded ``present``, ``increased`` or ``absent`` instead of a size
(iRECIST, Seymour et al. 2017, Table 2: new-lesion non-targets). The case API refuses
the same readings as the engine, in the engine's words (measurement/readings.py): not
``absent`` or ``increased`` where it is first seen; these statuses are for new lesions.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Service
from tests.integration.test_cases import PID, _lesion, _put, indexed  # noqa: F401

pytestmark = pytest.mark.integration


def _case_with_lesions(service: Service) -> tuple[int, str, str, int, int]:
    r = service.client.post("/api/v1/cases", json={"patient_id": PID, "criteria": "iRECIST"},
                            headers=service.headers("radiologist"))
    assert r.status_code == 201, r.text
    case = r.json()
    bl, fu = (t["id"] for t in case["timepoints"])
    t1 = _lesion(service, case["id"], kind="target", organ="liver")
    n1 = _lesion(service, case["id"], kind="new", organ="bone", timepoint=fu)
    return case["id"], bl, fu, t1, n1


def test_a_new_lesion_followed_by_status(service: Service,
                                         indexed: dict[str, Any]) -> None:  # noqa: F811
    cid, bl, fu, t1, n1 = _case_with_lesions(service)
    img = indexed["bl"][0].SOPInstanceUID
    assert _put(service, cid, t1, bl, {"sop_instance_uid": img,
                                       "endpoints": [[1, 0], [1, 40]]}).status_code == 200
    assert _put(service, cid, t1, fu, {"status": "too_small"}).status_code == 200
    # Where it is first seen a new lesion is there: not gone, nor grown since (no earlier
    # scan of it). The refusal is the engine's own sentence.
    for status, words in (("absent", 'cannot be "absent" at its first sighting'),
                          ("increased", 'cannot be "increased" at its first sighting'),
                          ("disappeared", "cannot measure 0 mm (disappeared) at its first")):
        r = _put(service, cid, n1, fu, {"status": status})
        assert r.status_code == 422, r.text
        assert words in r.json()["detail"]
    # Only a radiologist records; others are refused before anything is read or stored.
    for role, code in (("specialist", 403), ("admin", 403), ("uploader", 403)):
        assert _put(service, cid, n1, fu, {"status": "present"}, role=role).status_code == code
    anonymous = service.client.put(f"/api/v1/cases/{cid}/lesions/{n1}/measurements/{fu}",
                                   json={"status": "present"})
    assert anonymous.status_code == 401
    r = _put(service, cid, n1, fu, {"status": "present"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["length_mm"]) == ("present", None)
    # A new lesion present at FU1: iUPD (iRECIST Table 2).
    response = service.client.get(f"/api/v1/cases/{cid}/response",
                                  headers=service.headers("specialist"))
    assert response.status_code == 200, response.text
    assert response.json()["timepoints"][-1]["overall_response"] == "iUPD"


@pytest.mark.parametrize(("lesion", "status"), [
    ("t1", "increased"), ("t1", "present"), ("t1", "absent"),  # statuses of new lesions only
    ("n1", "unequivocal_progression"),  # a non-target's word
    ("n1", "INCREASED"), ("n1", "increased " * 1000), ("n1", "../increased"),
])
def test_new_lesion_statuses_are_for_new_lesions_only(
        service: Service, indexed: dict[str, Any], lesion: str,  # noqa: F811
        status: str) -> None:
    cid, _bl, fu, t1, n1 = _case_with_lesions(service)
    r = _put(service, cid, {"t1": t1, "n1": n1}[lesion], fu, {"status": status})
    assert r.status_code == 422, r.text
    history = service.client.get(f"/api/v1/cases/{cid}/lesions/{n1}/history",
                                 headers=service.headers("radiologist")).json()
    assert history["versions"] == []
