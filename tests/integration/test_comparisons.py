"""Pairing over HTTP on generated CT studies pushed with storescu (and `nadir demo`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from synthetic import demo_patient, generate_study, uids_of, write_study
from tests.conftest import PYNETDICOM_AET, Service, start_orthanc, storescu, wait_until

pytestmark = pytest.mark.integration
MATRIX = 64  # small images: pairing looks at headers and slice positions only
SLICES = 210  # the fewest thin slices that still cover every demo lesion
VOLUME_KEYS = ("lung_thin", "soft_5mm", "soft_plain", "bone_thin")


def _studies(service: Service, patient_id: str) -> list[dict[str, Any]]:
    r = service.client.get(f"/api/v1/patients/{patient_id}/studies",
                           headers=service.headers("specialist"))
    return list(r.json()) if r.status_code == 200 else []


def _wait_indexed(service: Service, patient_id: str, series_per_study: list[int]) -> None:
    wait_until(lambda: [len(s["series"]) for s in _studies(service, patient_id)]
               == series_per_study, timeout=60, interval=0.1)


@pytest.fixture(scope="module")
def loaded_pacs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One Orthanc holding a generated study pair (with distractors, renamed, shuffled).

    Pushed once per module; each test indexes it into its own fresh database."""
    from tests.conftest import STORESCU_AET

    tmp = tmp_path_factory.mktemp("pairing")
    proc = start_orthanc(tmp / "orthanc", username="t", password="p", stable_age_s=1)
    with proc.client() as client:
        client.put_modality(STORESCU_AET, aet=STORESCU_AET, host="127.0.0.1", port=104)
    demo = demo_patient(matrix=MATRIX, thin_slice_count=SLICES, distractors=True,
                        rename_followup=True, shuffle_followup=True)
    files: list[Path] = []
    for name, spec, seed in (("bl", demo.baseline, 1), ("fu", demo.followup, 2)):
        files += write_study(generate_study(spec, seed=seed), tmp / name)
    storescu(proc, files)
    proc.demo = demo  # type: ignore[attr-defined]
    yield proc
    proc.stop(kill=True)


@pytest.fixture
def pushed(service_factory: Any, loaded_pacs: Any) -> dict[str, Any]:
    demo = loaded_pacs.demo
    service = service_factory(loaded_pacs)
    _wait_indexed(service, demo.baseline.patient.patient_id,
                  [len(demo.baseline.series), len(demo.followup.series)])
    return {"demo": demo, "service": service,
            "bl": uids_of(demo.baseline, 1), "fu": uids_of(demo.followup, 2)}


def test_pairing_chooses_matching_series_despite_renames_and_shuffle(
    pushed: dict[str, Any]
) -> None:
    service: Service = pushed["service"]
    pid = pushed["demo"].baseline.patient.patient_id
    r = service.client.post("/api/v1/comparisons", json={"patient_id": pid},
                            headers=service.headers("specialist"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["baseline_study_uid"] == pushed["bl"].study_instance_uid
    assert body["followup_study_uid"] == pushed["fu"].study_instance_uid
    got = {(p["baseline_series_uid"], p["followup_series_uid"]) for p in body["pairs"]}
    want = {(pushed["bl"].series_uid(k), pushed["fu"].series_uid(k)) for k in VOLUME_KEYS}
    assert want <= got
    for p in body["pairs"]:
        assert 0 <= p["score"] <= 1 and p["reasons"] and p["source"] == "auto"
    for key in ("scout", "dose_report"):
        assert pushed["bl"].series_uid(key) in body["unpaired_baseline"]
        assert pushed["fu"].series_uid(key) in body["unpaired_followup"]
    again = service.client.get(f"/api/v1/comparisons/{body['id']}",
                               headers=service.headers("radiologist"))
    assert again.status_code == 200 and again.json()["pairs"] == body["pairs"]


def test_override_pairs_is_kept_and_checked(pushed: dict[str, Any]) -> None:
    service: Service = pushed["service"]
    pid = pushed["demo"].baseline.patient.patient_id
    c = service.client.post("/api/v1/comparisons", json={"patient_id": pid},
                            headers=service.headers("radiologist")).json()
    bl, fu = pushed["bl"], pushed["fu"]
    manual = {"pairs": [{"baseline_series_uid": bl.series_uid("lung_thin"),
                         "followup_series_uid": fu.series_uid("soft_5mm")}]}
    url = f"/api/v1/comparisons/{c['id']}/pairs"
    assert service.client.put(url, json=manual,
                              headers=service.headers("specialist")).status_code == 403
    r = service.client.put(url, json=manual, headers={
        **service.headers("radiologist"), "If-Match": f'"comparison-{c["id"]}-v1"'})
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == f'"comparison-{c["id"]}-v2"' and r.json()["version"] == 2
    assert [(p["baseline_series_uid"], p["followup_series_uid"], p["source"])
            for p in r.json()["pairs"]] == [
        (bl.series_uid("lung_thin"), fu.series_uid("soft_5mm"), "manual")]
    kept = service.client.get(f"/api/v1/comparisons/{c['id']}",
                              headers=service.headers("specialist")).json()
    assert kept["pairs"] == r.json()["pairs"]
    assert bl.series_uid("soft_5mm") in kept["unpaired_baseline"]

    any_version = {**service.headers("admin"), "If-Match": "*"}
    swapped = {"pairs": [{"baseline_series_uid": fu.series_uid("lung_thin"),
                          "followup_series_uid": bl.series_uid("lung_thin")}]}
    r = service.client.put(url, json=swapped, headers=any_version)
    assert r.status_code == 422 and "baseline" in r.json()["detail"]
    twice = {"pairs": [manual["pairs"][0], manual["pairs"][0]]}
    assert service.client.put(url, json=twice, headers=any_version).status_code == 422
    # A pairing changes only from a version its writer read: If-Match is required.
    r = service.client.put(url, json=manual, headers=service.headers("admin"))
    assert r.status_code == 422 and "if-match" in r.json()["detail"].lower(), r.text
    assert service.client.get(f"/api/v1/comparisons/{c['id']}",
                              headers=service.headers("admin")).json()["pairs"] == kept["pairs"]
    stale = service.client.put(url, json=manual, headers={
        **service.headers("radiologist"), "If-Match": '"comparison-0-v1"'})
    assert stale.status_code == 412


def test_the_same_studies_give_the_same_comparison_unless_a_new_one_is_asked(
    pushed: dict[str, Any]
) -> None:
    """Every browser tab used to make a comparison of its own (and a registration with it):
    the existing one is returned (200) while it covers every series; "new" makes another."""
    service: Service = pushed["service"]
    pid = pushed["demo"].baseline.patient.patient_id
    post = {"patient_id": pid, "baseline_study_uid": pushed["bl"].study_instance_uid,
            "followup_study_uid": pushed["fu"].study_instance_uid}
    first = service.client.post("/api/v1/comparisons", json=post,
                                headers=service.headers("specialist"))
    assert first.status_code == 201, first.text
    again = service.client.post("/api/v1/comparisons", json={"patient_id": pid},
                                headers=service.headers("radiologist"))
    assert again.status_code == 200, again.text
    assert again.json() == first.json() and again.headers["ETag"] == first.headers["ETag"]
    fresh = service.client.post("/api/v1/comparisons", json={**post, "new": True},
                                headers=service.headers("admin"))
    assert fresh.status_code == 201 and fresh.json()["id"] != first.json()["id"]
    # The newest one is returned from now on, its pairs as a radiologist set them.
    bl, fu = pushed["bl"], pushed["fu"]
    url = f"/api/v1/comparisons/{fresh.json()['id']}/pairs"
    manual = {"pairs": [{"baseline_series_uid": bl.series_uid("lung_thin"),
                         "followup_series_uid": fu.series_uid("soft_5mm")}]}
    assert service.client.put(url, json=manual, headers={
        **service.headers("radiologist"), "If-Match": "*"}).status_code == 200
    kept = service.client.post("/api/v1/comparisons", json=post,
                               headers=service.headers("specialist"))
    assert kept.status_code == 200 and kept.json()["id"] == fresh.json()["id"]
    assert [p["source"] for p in kept.json()["pairs"]] == ["manual"]
    assert service.client.post("/api/v1/comparisons", json={**post, "new": "yes please"},
                               headers=service.headers("admin")).status_code == 422
    # Each reuse is an audited read of the patient's comparison.
    events = service.client.get(f"/api/v1/audit?patient_id={pid}",
                                headers=service.headers("admin")).json()["events"]
    reads = [e for e in events if e["action"] == "read"
             and e["resource"] == f"comparisons/{first.json()['id']}"]
    assert reads


def test_comparison_refusals(pushed: dict[str, Any]) -> None:
    service: Service = pushed["service"]
    pid = pushed["demo"].baseline.patient.patient_id
    h = service.headers("specialist")
    assert service.client.post("/api/v1/comparisons", json={"patient_id": "NOBODY"},
                               headers=h).status_code == 404
    r = service.client.post("/api/v1/comparisons", json={
        "patient_id": pid, "baseline_study_uid": "1.2.3"}, headers=h)
    assert r.status_code == 422 and "baseline_study_uid" in r.json()["detail"]
    same = pushed["bl"].study_instance_uid
    r = service.client.post("/api/v1/comparisons", json={
        "patient_id": pid, "baseline_study_uid": same, "followup_study_uid": same}, headers=h)
    assert r.status_code == 422
    assert service.client.post("/api/v1/comparisons", json={"patient_id": pid},
                               headers=service.headers("uploader")).status_code == 403
    assert service.client.get("/api/v1/comparisons/999999", headers=h).status_code == 404


def _demo_studies(orthanc: Any) -> dict[str, int]:
    """Study Instance UID -> number of series, of every study Orthanc holds."""
    with orthanc.client() as client:
        return {client.study(s["ID"])["MainDicomTags"]["StudyInstanceUID"]:
                len(client.study(s["ID"])["Series"]) for s in client.resources("studies")}


def test_nadir_demo_pushes_three_timepoints_or_the_pair_over_c_store(
        watched_orthanc: Any) -> None:
    # The second run sends the first two studies again over concurrent associations, each
    # copy through the re-sent filter (pacs/resent.py), whose posts find no Nadir here:
    # every C-STORE must still succeed, and Orthanc live on.
    orthanc = watched_orthanc
    env = dict(os.environ, NADIR_ORTHANC_DICOM_PORT=str(orthanc.config.dicom_port),
               NADIR_ORTHANC_AET=orthanc.config.aet, NADIR_DATA_DIR="/nonexistent")
    demo = demo_patient(matrix=64, thin_slice_count=SLICES)
    expected = {uids_of(spec, seed).study_instance_uid: len(spec.series)
                for spec, seed in demo.seeded()}
    assert len(expected) == 3
    command = [sys.executable, "-m", "api.cli", "demo", "--aet", PYNETDICOM_AET,
               "--rows", "64", "--slices", str(SLICES)]
    pair = subprocess.run([*command, "--timepoints", "2"], env=env, capture_output=True,
                          text=True, timeout=300)
    assert pair.returncode == 0, pair.stderr
    first_two = dict(list(expected.items())[:2])
    assert _demo_studies(orthanc) == first_two
    out = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "follow-up 2: study of 2024-07-01 sent" in out.stdout
    assert _demo_studies(orthanc) == expected
    too_many = subprocess.run([*command, "--timepoints", "7"], env=env, capture_output=True,
                              text=True, timeout=300)
    assert too_many.returncode == 2 and "timepoints must be within 2-6" in too_many.stderr
    bad = subprocess.run([sys.executable, "-m", "api.cli", "demo", "--aet", "UNKNOWNAE",
                          "--rows", "64", "--slices", str(SLICES)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "UNKNOWNAE" in bad.stderr
