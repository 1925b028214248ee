"""C-STORE into a real Orthanc (dcmtk storescu, pynetdicom) and indexing from its change feed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pacs.dimse import DicomPeer, store
from pacs.errors import DimseError
from tests.conftest import PYNETDICOM_AET, Service, storescu, wait_until
from tests.factories import tiny_ct_series, write_all

pytestmark = pytest.mark.integration


def _studies(service: Service, patient_id: str) -> list[dict[str, Any]]:
    r = service.client.get(f"/api/v1/patients/{patient_id}/studies",
                           headers=service.headers("radiologist"))
    return r.json() if r.status_code == 200 else []


def _all_stable(orthanc: Any) -> bool:
    with orthanc.client() as c:
        series = c.resources("series")
    return bool(series) and all(s["IsStable"] for s in series)


def test_a_storescu_pair_is_indexed_once_stable(
    service: Service, orthanc: Any, tmp_path: Path
) -> None:
    # How soon after Orthanc calls a series stable it is indexed is measured by
    # bench/ingest.py; here only that it is, and as pushed (a time limit assumed a quiet
    # machine).
    base = tiny_ct_series(5, patient_id="PAT/ONE", study_date="20260105")
    follow = tiny_ct_series(4, patient_id="PAT/ONE", study_date="20260302")
    storescu(orthanc, write_all(base, tmp_path / "b") + write_all(follow, tmp_path / "f"))
    wait_until(lambda: _all_stable(orthanc), timeout=60, interval=0.02)
    studies = wait_until(lambda: len(_studies(service, "PAT/ONE")) == 2
                         and _studies(service, "PAT/ONE"), timeout=60, interval=0.05)
    assert [s["study_instance_uid"] for s in studies] == [
        base[0].StudyInstanceUID, follow[0].StudyInstanceUID]  # oldest first
    assert studies[0]["study_date"] == "2026-01-05"
    assert studies[0]["series"][0]["instances"] == 5
    assert studies[1]["series"][0]["instances"] == 4
    assert studies[0]["series"][0]["modality"] == "CT"
    r = service.client.get("/api/v1/patients", headers=service.headers("specialist"))
    assert {"patient_id": "PAT/ONE", "patient_name": "Test^Tiny", "studies_count": 2} in r.json()


def test_pynetdicom_push_and_unregistered_peer_refused(
    service: Service, orthanc: Any, tmp_path: Path
) -> None:
    series = tiny_ct_series(3, patient_id="PNET")
    peer = DicomPeer("127.0.0.1", orthanc.config.dicom_port, orthanc.config.aet, PYNETDICOM_AET)
    assert store(peer, series) == [d.SOPInstanceUID for d in series]
    wait_until(lambda: _studies(service, "PNET"), timeout=60)

    intruder = tiny_ct_series(2, patient_id="INTRUDER")
    with pytest.raises(DimseError):
        store(DicomPeer("127.0.0.1", orthanc.config.dicom_port, orthanc.config.aet, "EVIL"),
              intruder)
    result = storescu(orthanc, write_all(intruder, tmp_path / "x"), aet="EVIL", check=False)
    assert result.returncode != 0
    # A registered AE title calling from another host than the registered one is refused
    # too (DicomCheckModalityHost). The address is only registered, never contacted.
    with orthanc.client() as c:
        c.put_modality("ELSEWHERE", aet="ELSEWHERE", host="192.0.2.10", port=104)
    result = storescu(orthanc, write_all(intruder, tmp_path / "y"), aet="ELSEWHERE",
                      check=False)
    assert result.returncode != 0
    with orthanc.client() as c:
        assert c.find_instance(intruder[0].SOPInstanceUID) is None


def _instances(service: Service, patient_id: str) -> list[int]:
    return [s["instances"] for study in _studies(service, patient_id) for s in study["series"]]


def test_same_study_sent_twice_is_not_duplicated(
    service: Service, orthanc: Any, tmp_path: Path
) -> None:
    series = tiny_ct_series(6, patient_id="TWICE")
    files = write_all(series[:4], tmp_path / "s")
    storescu(orthanc, files)
    wait_until(lambda: _studies(service, "TWICE"), timeout=60)
    assert _instances(service, "TWICE") == [4]
    # The same four again, with two new instances of the same series: Orthanc announces
    # the series stable again and Nadir re-indexes it. Reaching 6 proves the re-index ran
    # (and, the feed being ordered, that the resent four were seen before it).
    storescu(orthanc, files + write_all(series[4:], tmp_path / "more"))
    wait_until(lambda: sum(_instances(service, "TWICE")) > 4, timeout=60)
    studies = _studies(service, "TWICE")
    assert len(studies) == 1 and len(studies[0]["series"]) == 1
    assert studies[0]["series"][0]["instances"] == 6


def test_orthanc_restart_mid_ingest_loses_nothing(
    service: Service, orthanc: Any, tmp_path: Path
) -> None:
    first = tiny_ct_series(6, patient_id="RESTART")
    storescu(orthanc, write_all(first, tmp_path / "a"))
    # Stop before the series is stable: Orthanc forgets it was unstable, never sends
    # StableSeries for it, and Nadir must still index it after the restart.
    orthanc.stop()
    r = service.client.get("/healthz")
    assert r.status_code == 200 and r.json()["orthanc"] == "unreachable"
    orthanc.start()
    second = tiny_ct_series(3, patient_id="RESTART", study_uid=first[0].StudyInstanceUID)
    storescu(orthanc, write_all(second, tmp_path / "b"))
    studies = wait_until(lambda: len((_studies(service, "RESTART") or [{"series": []}])[0]
                                     ["series"]) == 2 and _studies(service, "RESTART"),
                         timeout=60)
    assert sorted(s["instances"] for s in studies[0]["series"]) == [3, 6]


def test_ingest_retries_until_orthanc_comes_up(
    service_factory: Any, orthanc: Any, tmp_path: Path
) -> None:
    orthanc.stop()
    svc = service_factory(orthanc)

    def failed_once() -> dict[str, Any] | None:
        health: dict[str, Any] = svc.client.get("/healthz").json()
        return health if health["ingest"]["last_error"] else None

    # The follower has really tried Orthanc, and failed, before Orthanc comes up.
    assert wait_until(failed_once, timeout=60)["orthanc"] == "unreachable"
    orthanc.start()
    storescu(orthanc, write_all(tiny_ct_series(2, patient_id="LATE"), tmp_path / "l"))
    wait_until(lambda: _studies(svc, "LATE"), timeout=60)
    assert svc.client.get("/healthz").json()["ingest"]["last_error"] is None


def test_instances_joining_an_indexed_series_survive_an_orthanc_restart(
    service: Service, orthanc: Any, tmp_path: Path
) -> None:
    series = tiny_ct_series(6, patient_id="GROW")
    storescu(orthanc, write_all(series[:4], tmp_path / "a"))
    wait_until(lambda: (_studies(service, "GROW") or [{"series": [{"instances": 0}]}])[0]
               ["series"][0]["instances"] == 4, timeout=60)
    # Two more instances of the same series, then Orthanc stops before it is stable again:
    # no StableSeries will ever come for this series.
    storescu(orthanc, write_all(series[4:], tmp_path / "b"))
    orthanc.stop()
    orthanc.start()
    wait_until(lambda: _studies(service, "GROW")[0]["series"][0]["instances"] == 6,
               timeout=60)
