"""Enhanced multi-frame CT end to end, with a real Orthanc (issue 20, multi-frame images).

Two patients hold the same synthetic pair (the same pixels: the noise derives from the
seed and the series, the UIDs from the patient): the control as the scanner stores it,
one single-frame file per slice; the other with the baseline's 5 mm series converted by
highdicom into one Legacy Converted Enhanced CT object. The follow-up, single-frame in
both, lies turned and shifted. Whatever Nadir does with the single-frame baseline it must
do with the converted one: index each frame at its position, pair it, measure on a frame,
register it, propose, and reference the frame in the SR.
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import subprocess
import time
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from sqlalchemy import select

from api.db.models import Instance, Series
from api.workflow.ports import RegistrationPair
from imaging.sr.reader import read_measurement_report
from synthetic import demo_patient, generate_study, uids_of, without_series
from synthetic.calipers import lesion_calipers
from tests.conftest import PYNETDICOM_AET, Service, start_orthanc, wait_until
from tests.multiframe_data import enhanced_ct, frame_of, with_patient_id

pytestmark = pytest.mark.integration
MATRIX = 128
KEY = "soft_5mm"  # 75 slices of 128 x 128, converted into 75 frames
DISTRACTOR = "soft_plain"  # another 5 mm series, without contrast: pairing must not take it
CONTROL, MULTI = "NADIR-MF-CONTROL", "NADIR-MF-001"
MULTI_FOLLOWUP = "NADIR-MF-002"  # the follow-up's 5 mm series converted instead
ROTATION = (-3.0, 4.0, -5.0)
SHIFT = (-35.0, 25.0, 38.0)
ENHANCED_SERIES_NUMBER = 103


@pytest.fixture(scope="module")
def mf_pacs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from pacs.dimse import DicomPeer, store

    tmp = tmp_path_factory.mktemp("multiframe")
    proc = start_orthanc(tmp / "orthanc", username="t", password="p", stable_age_s=1)
    with proc.client() as client:
        client.put_modality(PYNETDICOM_AET, aet=PYNETDICOM_AET, host="127.0.0.1", port=104)
    demo = demo_patient(matrix=MATRIX, thin_slice_count=300, distractors=True)
    drop = ("scout", "lung_thin", "dose_report", "bone_thin", "coronal_mpr", "dose_screen")
    baseline = without_series(demo.baseline, *drop)
    followup = dataclasses.replace(
        without_series(demo.followup, *drop),
        body_rotation_deg=ROTATION, lateral_offset_mm=SHIFT[0],
        table_height_mm=150.0 + SHIFT[1], table_position_mm=-150.0 + SHIFT[2],
        scan_top_mm=0.0, scan_length_mm=270.0)
    specs: dict[str, tuple[Any, Any]] = {}
    pushed = []
    number = baseline.series_by_key(KEY).series_number

    def convert(data: list[Any]) -> tuple[list[Any], Any, list[Any]]:
        slices = [ds for ds in data if int(ds.SeriesNumber) == number]
        enhanced = enhanced_ct(slices, series_number=ENHANCED_SERIES_NUMBER)
        return [ds for ds in data if int(ds.SeriesNumber) != number] + [enhanced], enhanced, \
            slices

    for pid in (CONTROL, MULTI, MULTI_FOLLOWUP):
        bl, fu = with_patient_id(baseline, pid), with_patient_id(followup, pid)
        specs[pid] = (bl, fu)
        bl_data, fu_data = generate_study(bl, seed=1), generate_study(fu, seed=2)
        if pid == CONTROL:
            proc.control_slices = [ds for ds in bl_data if int(ds.SeriesNumber) == number]
            proc.control_followup = [ds for ds in fu_data if int(ds.SeriesNumber) == number]
        elif pid == MULTI:
            bl_data, proc.enhanced, proc.single_frame = convert(bl_data)
        else:
            proc.followup_baseline = [ds for ds in bl_data if int(ds.SeriesNumber) == number]
            fu_data, proc.enhanced_followup, proc.followup_frames = convert(fu_data)
        pushed += bl_data + fu_data
    store(DicomPeer("127.0.0.1", proc.config.dicom_port, proc.config.aet, PYNETDICOM_AET),
          pushed)
    proc.specs = specs
    proc.counts = {pid: sorted(
        sum(1 for ds in pushed if ds.PatientID == pid and ds.StudyInstanceUID == uid)
        for uid in {str(ds.StudyInstanceUID) for ds in pushed if ds.PatientID == pid})
        for pid in specs}
    yield proc
    proc.stop(kill=True)


def _indexed(service: Service, pacs: Any) -> None:
    def ready() -> bool:
        for pid, counts in pacs.counts.items():
            r = service.client.get(f"/api/v1/patients/{pid}/studies",
                                   headers=service.headers("admin"))
            if r.status_code != 200 or sorted(
                    sum(s["instances"] for s in st["series"]) for st in r.json()) != counts:
                return False
        return True
    wait_until(ready, timeout=60, interval=0.1)


def _case(service: Service, pid: str, calipers: list[Any]) -> tuple[dict[str, Any], dict[str, int]]:
    rad = service.headers("radiologist")
    r = service.client.post("/api/v1/cases", json={"patient_id": pid, "criteria": "RECIST1.1"},
                            headers=rad)
    assert r.status_code == 201, r.text
    case = r.json()
    lesions = {}
    for cal in calipers:
        r = service.client.post(f"/api/v1/cases/{case['id']}/lesions", headers=rad,
                                json={"kind": "target", "organ": cal.organ})
        assert r.status_code == 201, r.text
        lesions[cal.label] = r.json()["id"]
    return case, lesions


def _put(service: Service, case: dict[str, Any], lesion: int, body: dict[str, Any]) -> Any:
    tp = case["timepoints"][0]["id"]
    return service.client.put(
        f"/api/v1/cases/{case['id']}/lesions/{lesion}/measurements/{tp}",
        headers=service.headers("radiologist"), json=body)


def _proposal(service: Service, case: dict[str, Any], lesion: int) -> dict[str, Any]:
    r = service.client.get(f"/api/v1/cases/{case['id']}/lesions/{lesion}/proposal",
                           params={"timepoint": case["timepoints"][1]["id"]},
                           headers=service.headers("specialist"))
    assert r.status_code == 200, r.text
    return dict(r.json())


def _registered_proposal(service: Service, case: dict[str, Any], lesion: int
                         ) -> dict[str, Any]:
    """The proposal once the registration it rests on is done. Each ask waits up to a minute
    for it (``PROPOSAL_WAIT_S``), then answers from the position alone; a failure that may
    pass (a series not indexed yet, Orthanc unreachable) is computed again on a later ask.
    On a loaded machine two registrations queued one after the other can take longer than a
    minute; the reasons of any failure on the way are in the message."""
    seen: list[tuple[str, str | None]] = []
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        p = _proposal(service, case, lesion)
        if p["source"] == "registration":
            return p
        seen.append((p["registration_status"], p["registration_reason"]))
        time.sleep(1.0)
    raise AssertionError(f"no registration within 600 s: {sorted(set(seen), key=str)}")


def test_enhanced_ct_is_paired_measured_registered_and_reported(
    service_factory: Any, mf_pacs: Any, tmp_path: Path
) -> None:
    service: Service = service_factory(mf_pacs)
    _indexed(service, mf_pacs)
    rad = service.headers("radiologist")
    enhanced = mf_pacs.enhanced
    control_bl, _ = mf_pacs.specs[CONTROL]
    _, multi_fu = mf_pacs.specs[MULTI]

    # Indexed per frame: one instance, its 75 frames' positions give the series' extent,
    # the same as the 75 single-frame slices'.
    studies = {pid: service.client.get(f"/api/v1/patients/{pid}/studies", headers=rad).json()
               for pid in (CONTROL, MULTI)}

    def series_of(pid: str, uid: str) -> dict[str, Any]:
        return next(s for st in studies[pid] for s in st["series"]
                    if s["series_instance_uid"] == uid)

    sf_series = series_of(CONTROL, uids_of(control_bl, 1).series_uid(KEY))
    mf_series = series_of(MULTI, str(enhanced.SeriesInstanceUID))
    assert mf_series["instances"] == 1 and sf_series["instances"] == 75
    for field in ("slice_thickness_mm", "pixel_spacing_mm", "orientation",
                  "convolution_kernel", "contrast_agent", "modality", "frame_of_reference_uid"):
        if field != "frame_of_reference_uid":
            assert mf_series[field] == sf_series[field], field
    with service.app.state.sessions() as s:
        rows = {row.series_instance_uid: row for row in s.scalars(select(Series).where(
            Series.series_instance_uid.in_([sf_series["series_instance_uid"],
                                            mf_series["series_instance_uid"]])))}
        sf_row, mf_row = rows[sf_series["series_instance_uid"]], rows[
            mf_series["series_instance_uid"]]
        assert (mf_row.z_min_mm, mf_row.z_max_mm) == pytest.approx(
            (sf_row.z_min_mm, sf_row.z_max_mm))
        [instance] = s.scalars(select(Instance).where(Instance.series_pk == mf_row.id))
        positions = sorted(s.scalars(select(Instance.position_mm).where(
            Instance.series_pk == sf_row.id)))
        assert instance.frames is not None and [f["frame"] for f in instance.frames] == list(
            range(1, 76))
        assert sorted(f["position_mm"] for f in instance.frames) == pytest.approx(positions)

    # The viewer's series metadata, answered from the index once filled, keeps each
    # frame's functional groups (PerFrameFunctionalGroupsSequence, 5200,9230).
    study_uid = str(enhanced.StudyInstanceUID)
    wait_until(lambda: service.app.state.series_metadata.answer(
        study_uid, mf_series["series_instance_uid"]) is not None, timeout=60, interval=0.1)
    r = service.client.get(f"/dicom-web/studies/{study_uid}/series/"
                           f"{mf_series['series_instance_uid']}/metadata", headers=rad)
    assert r.status_code == 200, r.text
    [meta] = r.json()
    per_frame = meta["52009230"]["Value"]
    assert len(per_frame) == 75 and meta["00280008"]["Value"] == [75]
    assert sorted(float(f["00209113"]["Value"][0]["00200032"]["Value"][2])
                  for f in per_frame) == pytest.approx(positions)

    # Pairing: the converted series pairs with the follow-up's single-frame 5 mm series,
    # scored as the single-frame one is (its description says "enhanced conversion").
    pairings = {}
    for pid in (CONTROL, MULTI):
        r = service.client.post("/api/v1/comparisons", json={"patient_id": pid}, headers=rad)
        assert r.status_code == 201, r.text
        pairings[pid] = r.json()
    mf_fu_uid = uids_of(multi_fu, 2).series_uid(KEY)
    mf_pair = next(p for p in pairings[MULTI]["pairs"]
                   if p["baseline_series_uid"] == str(enhanced.SeriesInstanceUID))
    sf_pair = next(p for p in pairings[CONTROL]["pairs"]
                   if p["baseline_series_uid"] == sf_series["series_instance_uid"])
    assert mf_pair["followup_series_uid"] == mf_fu_uid
    assert mf_pair["score"] == pytest.approx(sf_pair["score"], abs=0.06), (
        mf_pair["reasons"], sf_pair["reasons"])

    # Calipers: the same endpoints on the frame converted from the single-frame slice give
    # the same length (within 0.1 mm).
    calipers = lesion_calipers(control_bl, mf_pacs.single_frame, series_key=KEY)
    control_case, control_lesions = _case(service, CONTROL, calipers)
    multi_case, multi_lesions = _case(service, MULTI, calipers)
    sf_uids = {str(ds.SOPInstanceUID): ds for ds in mf_pacs.single_frame}
    control_sops = {int(ds.InstanceNumber): str(ds.SOPInstanceUID)
                    for ds in mf_pacs.control_slices}
    frames = {}
    for cal in calipers:
        endpoints = [list(p) for p in cal.endpoints]
        # The control's slice of the same position (its UIDs differ, its pixels do not).
        control_sop = control_sops[int(sf_uids[cal.sop_instance_uid].InstanceNumber)]
        single = _put(service, control_case, control_lesions[cal.label],
                      {"sop_instance_uid": control_sop, "endpoints": endpoints})
        assert single.status_code == 200, single.text
        frames[cal.label] = frame_of(enhanced, cal.sop_instance_uid)
        body = {"sop_instance_uid": str(enhanced.SOPInstanceUID), "endpoints": endpoints}
        no_frame = _put(service, multi_case, multi_lesions[cal.label], body)
        assert no_frame.status_code == 422 and "frame" in no_frame.text
        beyond = _put(service, multi_case, multi_lesions[cal.label], {**body, "frame": 76})
        assert beyond.status_code == 422 and "76" in beyond.text
        multi = _put(service, multi_case, multi_lesions[cal.label],
                     {**body, "frame": frames[cal.label]})
        assert multi.status_code == 200, multi.text
        assert multi.json()["frame"] == frames[cal.label]
        assert multi.json()["length_mm"] == pytest.approx(single.json()["length_mm"], abs=0.1)
        assert multi.json()["length_mm"] == pytest.approx(cal.diameter_mm, abs=1.0)

    # Registration and proposals: from the converted baseline as from the single-frame one.
    for cal in calipers:
        sf = _registered_proposal(service, control_case, control_lesions[cal.label])
        mf = _registered_proposal(service, multi_case, multi_lesions[cal.label])
        assert mf["from_frame"] == frames[cal.label] and mf["frame"] is None
        assert mf["from_sop_instance_uid"] == str(enhanced.SOPInstanceUID)
        assert mf["series_instance_uid"] == mf_fu_uid
        assert math.dist(mf["from_position_mm"], sf["from_position_mm"]) < 0.01
        assert math.dist(mf["position_mm"], sf["position_mm"]) < 1.0, (sf, mf)
        truth = multi_fu.lesion_center_patient_mm(cal.label)
        assert math.dist(mf["position_mm"], truth) < 3.0
    # The two registrations agree: the converted volume is the single-frame one.
    jobs = service.app.state.registrations
    matrices = [np.array(jobs.state(RegistrationPair(bl_uid, fu_uid)).matrix)
                for bl_uid, fu_uid in (
        (sf_series["series_instance_uid"], uids_of(mf_pacs.specs[CONTROL][1], 2).series_uid(KEY)),
        (str(enhanced.SeriesInstanceUID), mf_fu_uid))]
    assert np.allclose(matrices[0][:3, :3], matrices[1][:3, :3], atol=1e-3)
    assert np.allclose(matrices[0][:3, 3], matrices[1][:3, 3], atol=0.5)

    # The SR references the frame in each caliper's image reference, and is valid.
    bl_tp = multi_case["timepoints"][0]["id"]
    r = service.client.get(f"/api/v1/cases/{multi_case['id']}/timepoints/{bl_tp}/sr",
                           headers=service.headers("specialist"))
    assert r.status_code == 200, r.text
    report = read_measurement_report(pydicom.dcmread(BytesIO(r.content)))
    assert sorted(m.source.frame or 0 for m in report.measurements if m.source) == sorted(
        frames.values())
    assert all(m.source.sop_instance_uid == str(enhanced.SOPInstanceUID)
               for m in report.measurements if m.source)
    assert b"\x08\x00\x60\x11" in r.content  # (0008,1160) Referenced Frame Number
    if shutil.which("dciodvfy"):
        path = tmp_path / "sr.dcm"
        path.write_bytes(r.content)
        out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True,
                             timeout=60)
        assert [ln for ln in (out.stdout + out.stderr).splitlines()
                if ln.startswith("Error")] == []

    # The report's key images are drawn from the measured frames.
    r = service.client.get(f"/api/v1/cases/{multi_case['id']}/report",
                           params={"format": "json"}, headers=rad)
    assert r.status_code == 200, r.text
    assert "could not" not in r.text.lower()


def test_a_proposal_lands_on_the_frame_of_a_multi_frame_follow_up(
    service_factory: Any, mf_pacs: Any
) -> None:
    """Both directions of the same registration: the proposal from a single-frame baseline
    onto the converted follow-up names the frame converted from the slice the control's
    proposal lands on, at the same point."""
    service: Service = service_factory(mf_pacs)
    _indexed(service, mf_pacs)
    control_bl, _ = mf_pacs.specs[CONTROL]
    calipers = lesion_calipers(control_bl, mf_pacs.control_slices, series_key=KEY)
    control_case, control_lesions = _case(service, CONTROL, calipers)
    multi_case, multi_lesions = _case(service, MULTI_FOLLOWUP, calipers)
    own = {int(ds.InstanceNumber): str(ds.SOPInstanceUID) for ds in mf_pacs.followup_baseline}
    by_sop = {str(ds.SOPInstanceUID): int(ds.InstanceNumber) for ds in mf_pacs.control_slices}
    control_fu = {str(ds.SOPInstanceUID): int(ds.InstanceNumber)
                  for ds in mf_pacs.control_followup}
    converted_from = {str(ds.SOPInstanceUID): int(ds.InstanceNumber)
                      for ds in mf_pacs.followup_frames}
    enhanced = mf_pacs.enhanced_followup
    for cal in calipers:
        endpoints = [list(p) for p in cal.endpoints]
        for case, lesions, sop in ((control_case, control_lesions, cal.sop_instance_uid),
                                   (multi_case, multi_lesions,
                                    own[by_sop[cal.sop_instance_uid]])):
            r = _put(service, case, lesions[cal.label], {"sop_instance_uid": sop,
                                                         "endpoints": endpoints})
            assert r.status_code == 200, r.text
        sf = _registered_proposal(service, control_case, control_lesions[cal.label])
        mf = _registered_proposal(service, multi_case, multi_lesions[cal.label])
        assert mf["sop_instance_uid"] == str(enhanced.SOPInstanceUID) and mf["from_frame"] is None
        source = next(uid for uid, n in converted_from.items()
                      if n == control_fu[sf["sop_instance_uid"]])
        assert mf["frame"] == frame_of(enhanced, source), (sf, mf)
        assert math.dist(mf["position_mm"], sf["position_mm"]) < 1.0, (sf, mf)
        assert math.dist(mf["point"], sf["point"]) < 1.0 and mf["inside_image"]
        assert abs(mf["slice_distance_mm"] - sf["slice_distance_mm"]) < 1.0
