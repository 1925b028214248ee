"""Registration and lesion proposals over HTTP, with a real Orthanc (issue 9).

One small synthetic pair is pushed once per module: the baseline's 5 mm series as stored
by the scanner, and a follow-up where the patient lies turned and shifted, scanned over a
shorter range and stored RLE-compressed (so Orthanc's numpy decoding is used for it while
the baseline is read as raw frames).
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pydicom.uid import RLELossless
from sqlalchemy import update

from api.adapters.registration_store import SqlRegistrationStore
from api.db.models import SeriesRegistration
from api.db.session import make_engine, make_sessionmaker, migrate
from api.workflow.ports import DONE, FAILED, Outcome, RegistrationPair
from api.workflow.registration_jobs import RegistrationJobs
from imaging import rigid
from synthetic import demo_patient, generate_study, uids_of, without_series, write_study
from synthetic.calipers import lesion_calipers
from tests.conftest import STORESCU_AET, Service, start_orthanc, storescu, wait_until

pytestmark = pytest.mark.integration
MATRIX = 128
KEY = "soft_5mm"  # one 5 mm series per study: 75 + 55 slices of 128 x 128
# The follow-up pose: within the range (40 mm, 5 degrees per axis).
ROTATION = (-3.0, 4.0, -5.0)
SHIFT = (-35.0, 25.0, 38.0)


@pytest.fixture(scope="module")
def pair_pacs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("registration")
    proc = start_orthanc(tmp / "orthanc", username="t", password="p", stable_age_s=1)
    with proc.client() as client:
        client.put_modality(STORESCU_AET, aet=STORESCU_AET, host="127.0.0.1", port=104)
    demo = demo_patient(matrix=MATRIX, thin_slice_count=300)
    baseline = without_series(demo.baseline, "scout", "lung_thin", "dose_report")
    followup = dataclasses.replace(
        without_series(demo.followup, "scout", "lung_thin", "dose_report"),
        body_rotation_deg=ROTATION, lateral_offset_mm=SHIFT[0],
        table_height_mm=150.0 + SHIFT[1], table_position_mm=-150.0 + SHIFT[2],
        scan_top_mm=0.0, scan_length_mm=270.0)
    bl_datasets = generate_study(baseline, seed=1)
    fu_datasets = generate_study(followup, seed=2)
    for ds in fu_datasets:
        ds.compress(RLELossless)
    storescu(proc, write_study(bl_datasets, tmp / "bl"))
    with proc.client() as client:  # storescu would decompress; the REST API keeps RLE
        for path in write_study(fu_datasets, tmp / "fu"):
            client.store(path.read_bytes())
    proc.specs = (baseline, followup)  # type: ignore[attr-defined]
    proc.calipers = lesion_calipers(baseline, bl_datasets, series_key=KEY)  # type: ignore[attr-defined]
    yield proc
    proc.stop(kill=True)


def _indexed(service: Service, patient_id: str, counts: list[int]) -> None:
    def ready() -> bool:
        r = service.client.get(f"/api/v1/patients/{patient_id}/studies",
                               headers=service.headers("admin"))
        return r.status_code == 200 and [sum(s["instances"] for s in st["series"])
                                         for st in r.json()] == counts
    wait_until(ready, timeout=60, interval=0.1)


def test_proposal_follows_the_turned_patient_and_comparisons_reuse_it(
    service_factory: Any, pair_pacs: Any
) -> None:
    baseline, followup = pair_pacs.specs
    service: Service = service_factory(pair_pacs)
    pid = baseline.patient.patient_id
    bl_uids, fu_uids = uids_of(baseline, 1), uids_of(followup, 2)
    pair = RegistrationPair(bl_uids.series_uid(KEY), fu_uids.series_uid(KEY))
    fu_count = len(followup.slice_positions_mm(followup.series_by_key(KEY)))
    _indexed(service, pid, [75, fu_count])
    rad = service.headers("radiologist")

    case = service.client.post("/api/v1/cases", json={"patient_id": pid, "criteria": "RECIST1.1"},
                               headers=rad).json()
    bl_tp, fu_tp = (t["id"] for t in case["timepoints"])
    lesions = {}
    for cal in pair_pacs.calipers:
        lesions[cal.label] = service.client.post(
            f"/api/v1/cases/{case['id']}/lesions", headers=rad,
            json={"kind": "target", "organ": cal.organ}).json()["id"]
        r = service.client.put(
            f"/api/v1/cases/{case['id']}/lesions/{lesions[cal.label]}/measurements/{bl_tp}",
            headers=rad, json={"sop_instance_uid": cal.sop_instance_uid,
                               "endpoints": [list(p) for p in cal.endpoints]})
        assert r.status_code == 200, r.text

    # First need: no comparison exists, the proposal registers the pair itself.
    errors = []
    for cal in pair_pacs.calipers:
        url = f"/api/v1/cases/{case['id']}/lesions/{lesions[cal.label]}/proposal"
        r = service.client.get(url, params={"timepoint": fu_tp},
                               headers=service.headers("specialist"))
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["source"] == "registration" and body["registration_status"] == "done"
        assert body["from_timepoint_id"] == bl_tp and body["timepoint_id"] == fu_tp
        assert body["series_instance_uid"] == pair.followup_series_uid
        assert body["from_sop_instance_uid"] == cal.sop_instance_uid
        truth = followup.lesion_center_patient_mm(cal.label)
        errors.append(math.dist(body["position_mm"], truth))
        # The proposed image is the follow-up slice nearest the proposed position.
        assert abs(body["slice_distance_mm"]) <= 2.5 + 1e-6
        assert body["inside_image"] and 0 <= body["point"][0] <= MATRIX
        # The caliper's midpoint, mapped, is within 3 mm of the lesion's true centre.
        assert errors[-1] < 3.0, (cal.label, body, truth)
    jobs = service.app.state.registrations
    assert jobs.computed == 1  # one pair, computed once for all four lesions

    # A comparison of the same studies registers the same pair: nothing is computed again.
    c = service.client.post("/api/v1/comparisons", json={"patient_id": pid}, headers=rad).json()
    jobs.join()
    r = service.client.get(f"/api/v1/comparisons/{c['id']}/registration",
                           headers=service.headers("specialist"))
    assert r.status_code == 200, r.text
    reg = r.json()
    assert reg["status"] == "done" and reg["reason"] is None and jobs.computed == 1
    assert (reg["baseline_series_uid"], reg["followup_series_uid"]) == (
        pair.baseline_series_uid, pair.followup_series_uid)
    assert len(reg["matrix"]) == 4 and reg["matrix"][3] == [0.0, 0.0, 0.0, 1.0]
    assert 0 < reg["read_s"] <= reg["elapsed_s"] and reg["metric"] < -0.3
    assert reg["method"] == "rigid" and abs(reg["rotation_deg"] - 7.0) < 1.0
    assert service.client.get(f"/api/v1/comparisons/{c['id']}/registration",
                              headers=service.headers("uploader")).status_code == 403

    # Refusals: no earlier measurement (404), unknown timepoint (404), unknown comparison.
    url = f"/api/v1/cases/{case['id']}/lesions/{lesions['RUL nodule']}/proposal"
    assert service.client.get(url, params={"timepoint": bl_tp}, headers=rad).status_code == 404
    assert service.client.get(url, params={"timepoint": "1.2.3"}, headers=rad).status_code == 404
    assert service.client.get(url, headers=rad).status_code == 422
    assert service.client.get("/api/v1/comparisons/999999/registration",
                              headers=rad).status_code == 404

    # A failed registration is never pretended: the proposal keeps the patient position
    # and says why.
    with service.app.state.sessions.begin() as s:
        s.execute(update(SeriesRegistration).values(status=FAILED, reason="test: implausible"))
    body = service.client.get(url, params={"timepoint": fu_tp}, headers=rad).json()
    assert body["source"] == "position" and body["registration_status"] == "failed"
    assert body["registration_reason"] == "test: implausible"
    assert body["position_mm"] == body["from_position_mm"]

    audit = service.client.get("/api/v1/audit", params={"patient_id": pid},
                               headers=service.headers("admin")).json()
    resources = {e["resource"] for e in audit["events"]}
    assert f"comparisons/{c['id']}/registration" in resources
    assert any(r.endswith(f"/proposal/{fu_tp}") for r in resources)


def test_a_new_comparison_registers_in_the_background(
    service_factory: Any, pair_pacs: Any
) -> None:
    baseline, followup = pair_pacs.specs
    service: Service = service_factory(pair_pacs)
    pid = baseline.patient.patient_id
    _indexed(service, pid, [75, len(followup.slice_positions_mm(followup.series_by_key(KEY)))])
    r = service.client.post("/api/v1/comparisons", json={"patient_id": pid},
                            headers=service.headers("specialist"))
    assert r.status_code == 201, r.text
    jobs = service.app.state.registrations
    jobs.join()  # the background thread registered the comparison's pair
    assert jobs.computed == 1
    reg = service.client.get(f"/api/v1/comparisons/{r.json()['id']}/registration",
                             headers=service.headers("radiologist")).json()
    assert reg["status"] == "done" and jobs.computed == 1
    truth = rigid.compose(followup.body_to_patient, rigid.inverse(baseline.body_to_patient))
    centre = baseline.lesion_center_patient_mm("Liver segment VIII")
    assert math.dist(rigid.apply(rigid.as_matrix(reg["matrix"]), centre),
                     rigid.apply(truth, centre)) < 2.0


def test_a_pair_is_computed_once_across_threads_and_processes(
    database_url: str, tmp_path: Path
) -> None:
    """Two job runners on one database (two processes), eight threads each asking."""
    engine = make_engine(database_url)
    migrate(engine)
    store = SqlRegistrationStore(make_sessionmaker(engine))
    calls: list[str] = []
    lock = threading.Lock()

    def compute(pair: RegistrationPair) -> Outcome:
        with lock:
            calls.append(pair.baseline_series_uid)
        time.sleep(0.5)
        return Outcome(DONE, matrix=[[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0],
                                     [0, 0, 0, 1.0]], metric=-1.0, elapsed_s=0.5)

    runners = [RegistrationJobs(store, compute, claimant=f"process-{i}") for i in range(2)]
    pair = RegistrationPair("1.2.3.1", "1.2.3.2")
    results: list[str] = []

    def ask(k: int) -> None:
        # A deadline far past the 0.5 s computation: the answer comes as soon as it is
        # done, and a loaded machine does not turn the wait into a "pending".
        state = runners[k % 2].obtain(pair, wait_s=120)
        with lock:
            results.append(state.status)

    threads = [threading.Thread(target=ask, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    runners[0].submit(pair)
    runners[1].submit(pair)
    for t in threads:
        t.join(timeout=300)
    runners[0].join()
    runners[1].join()
    assert calls == ["1.2.3.1"] and results == ["done"] * 16
    state = runners[1].state(pair)
    assert state.status == DONE and state.matrix is not None and len(calls) == 1
    engine.dispose()
