"""Registration benchmark (issue 9): accuracy on moved phantoms, and speed through Orthanc.

1. Accuracy, in memory: synthetic pairs whose follow-up was rendered from the phantom
   moved by a known rigid pose (translations up to 40 mm per axis, rotations up to 5
   degrees per axis, seeded). Follow-ups alternate between a 1.25 mm and a 5 mm series,
   and every third one covers a shorter range. For each lesion, the baseline caliper's
   midpoint (the measured instance's geometry) is mapped through the registration and
   compared with the lesion's true follow-up centre. Baseline in the same run: the same
   point unmapped (what scrolling by patient position gives).
2. Speed, end to end: a 300-slice 512 x 512 pair pushed into Orthanc, `nadir serve`, a
   comparison created (the registration starts in the background); its elapsed_s (reading
   both series from Orthanc + registering) and read_s, then the registration computed
   again on first need (GET ...?wait_s) REPEAT times, and the proposals' errors. Baseline
   in the same run: reading both series alone (pacs.voxels.read_volume), REPEAT times.

Usage: .venv/bin/python -m bench.registration [--cases 12] [--matrix 256] [--repeat 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from pydicom import Dataset

from bench.common import create_token, nadir_env, nadir_serve, orthanc
from imaging import rigid
from imaging.geometry import ImagePlane, caliper_midpoint
from imaging.registration import RegistrationSettings, register
from imaging.volume import Volume, assemble, block_mean, downsample_factor
from pacs.orthanc import OrthancClient
from pacs.voxels import SliceRef, read_volume
from synthetic import StudySpec, demo_patient, generate_study, without_series, write_study
from synthetic.calipers import KnownCaliper, lesion_calipers

OTHER_SERIES = ("scout", "dose_report")


def only(spec: StudySpec, key: str) -> StudySpec:
    keys = [s.key for s in spec.series if s.key != key]
    return without_series(spec, *keys)


def posed(spec: StudySpec, rotation: Sequence[float], shift: Sequence[float]) -> StudySpec:
    return dataclasses.replace(
        spec, body_rotation_deg=(float(rotation[0]), float(rotation[1]), float(rotation[2])),
        lateral_offset_mm=float(shift[0]), table_height_mm=150.0 + float(shift[1]),
        table_position_mm=-150.0 + float(shift[2]))


def volume_of(datasets: Sequence[Dataset]) -> Volume:
    """The assembly pacs.voxels does, from generated datasets (no Orthanc)."""
    spacing = tuple(float(v) for v in datasets[0].PixelSpacing)
    factor = downsample_factor(math.sqrt(spacing[0] * spacing[1]))
    slices = [block_mean(d.pixel_array.astype(np.float32) + float(d.RescaleIntercept), factor)
              for d in datasets]
    positions = [float(d.ImagePositionPatient[2]) for d in datasets]
    first = min(datasets, key=lambda d: float(d.ImagePositionPatient[2]))
    o = tuple(float(v) for v in datasets[0].ImageOrientationPatient)
    return assemble(slices, positions, [float(v) for v in first.ImagePositionPatient],
                    (o[0], o[1], o[2], o[3], o[4], o[5]), (spacing[0], spacing[1]), factor)


def caliper_points(spec: StudySpec, datasets: Sequence[Dataset], key: str
                   ) -> list[tuple[KnownCaliper, tuple[float, float, float]]]:
    """Each lesion's baseline caliper and its midpoint in patient mm."""
    by_uid = {str(d.SOPInstanceUID): d for d in datasets}
    out = []
    for cal in lesion_calipers(spec, datasets, series_key=key):
        d = by_uid[cal.sop_instance_uid]
        plane = ImagePlane(
            tuple(float(v) for v in d.ImagePositionPatient),  # type: ignore[arg-type]
            tuple(float(v) for v in d.ImageOrientationPatient),  # type: ignore[arg-type]
            (float(d.PixelSpacing[0]), float(d.PixelSpacing[1])), int(d.Rows), int(d.Columns))
        out.append((cal, plane.to_patient(*caliper_midpoint(*cal.endpoints))))
    return out


def accuracy(cases: int, matrix: int, seed: int) -> dict[str, list[float]]:
    demo = demo_patient(matrix=matrix, thin_slice_count=300)
    baseline = only(demo.baseline, "lung_thin")
    bl_datasets = generate_study(baseline, seed=1)
    fixed = volume_of(bl_datasets)
    points = caliper_points(baseline, bl_datasets, "lung_thin")
    rng = np.random.default_rng(seed)
    errors: dict[str, list[float]] = {"registration": [], "position": [], "seconds": []}
    kept_affine = 0
    print(f"  {'case':<28} {'rotation (deg)':<20} {'shift (mm)':<22} reg s  "
          "errors mm (registration | position)")
    for i in range(cases):
        rotation = rng.uniform(-5.0, 5.0, 3)
        shift = rng.uniform(-40.0, 40.0, 3)
        key = ("lung_thin", "soft_5mm")[i % 2]
        followup = posed(only(demo.followup, key), rotation, shift)
        label = f"{i + 1:2d} {'1.25' if key == 'lung_thin' else '5'} mm"
        if i % 3 == 2:
            top, length = float(rng.uniform(-40.0, 10.0)), float(rng.uniform(230.0, 300.0))
            followup = dataclasses.replace(followup, scan_top_mm=top, scan_length_mm=length)
            label += f", {length:.0f} mm range"
        moving = volume_of(generate_study(followup, seed=10 + i))
        result = register(fixed, moving)
        affine = register(fixed, moving, RegistrationSettings(affine=True))
        kept_affine += affine.method != "rigid"
        mapped = [math.dist(rigid.apply(result.matrix, p),
                            followup.lesion_center_patient_mm(cal.label)) for cal, p in points]
        unmapped = [math.dist(p, followup.lesion_center_patient_mm(cal.label))
                    for cal, p in points]
        errors["registration"] += mapped
        errors["position"] += unmapped
        errors["seconds"].append(result.elapsed_s)
        flag = "" if result.plausibility.plausible else f"  FAILED: {result.reason}"
        print(f"  {label:<28} {np.array2string(rotation, precision=1):<20} "
              f"{np.array2string(shift, precision=1):<22} {result.elapsed_s:5.2f}  "
              f"{' '.join(f'{e:4.1f}' for e in mapped)} | "
              f"{' '.join(f'{e:5.1f}' for e in unmapped)}{flag}")
    print(f"  affine refinement kept in {kept_affine} of {cases} pairs (kept only where it "
          "improves the held-out metric by 2 %)")
    return errors


def end_to_end(repeat: int, matrix: int) -> dict[str, Any]:
    demo = demo_patient(matrix=matrix, thin_slice_count=300)
    baseline = only(demo.baseline, "lung_thin")
    followup = posed(only(demo.followup, "lung_thin"), (3.0, -4.0, 5.0), (-30.0, 25.0, 35.0))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        bl = generate_study(baseline, seed=1)
        files = write_study(bl, root / "bl")
        fu_files = write_study(generate_study(followup, seed=2), root / "fu")
        print(f"  generated and wrote 2 x 300 slices of {matrix} x {matrix} in "
              f"{time.perf_counter() - started:.1f} s")
        calipers = lesion_calipers(baseline, bl, series_key="lung_thin")
        del bl
        with orthanc(root) as pacs:
            cfg = pacs.config
            subprocess.run(["storescu", "-aet", "STORESCU", "-aec", cfg.aet, "127.0.0.1",
                            str(cfg.dicom_port), *map(str, files + fu_files)], check=True,
                           capture_output=True, env={"TCP_NODELAY": "1", "PATH": "/usr/bin"})
            env = nadir_env(root, pacs)
            radiologist = create_token(env, "radiologist")
            with nadir_serve(env) as url:
                figures = run(url, radiologist, baseline, followup, calipers, repeat,
                              Path(env["NADIR_DATABASE_URL"].split("///", 1)[1]))
            with OrthancClient(cfg.url, cfg.username, cfg.password) as client:
                figures["read alone"] = [read_both(client) for _ in range(repeat)]
    return figures


def read_both(client: OrthancClient) -> float:
    """Seconds to read both series as volumes (their slice lists are fetched first)."""
    series_refs = []
    for series in client.resources("series"):
        refs = []
        for item in client.series_instances(str(series["ID"])):
            z = float(str(item["MainDicomTags"]["ImagePositionPatient"]).split("\\")[2])
            refs.append(SliceRef(str(item["ID"]), z))
        series_refs.append(refs)
    started = time.perf_counter()
    for refs in series_refs:
        read_volume(client, refs, modality="CT")
    return time.perf_counter() - started


def run(url: str, token: str, baseline: StudySpec, followup: StudySpec,
        calipers: list[KnownCaliper], repeat: int, database: Path) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    client = httpx.Client(base_url=url, timeout=300, headers=headers)
    pid = baseline.patient.patient_id
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        r = client.get(f"/api/v1/patients/{pid}/studies")
        if r.status_code == 200 and [sum(s["instances"] for s in st["series"])
                                     for st in r.json()] == [300, 300]:
            break
        time.sleep(0.5)
    case = client.post("/api/v1/cases", json={"patient_id": pid, "criteria": "RECIST1.1"}).json()
    bl_tp, fu_tp = (t["id"] for t in case["timepoints"])
    lesions = {}
    for cal in calipers:
        lesions[cal.label] = client.post(f"/api/v1/cases/{case['id']}/lesions",
                                         json={"kind": "target", "organ": cal.organ}).json()["id"]
        client.put(f"/api/v1/cases/{case['id']}/lesions/{lesions[cal.label]}/measurements/"
                   f"{bl_tp}", json={"sop_instance_uid": cal.sop_instance_uid,
                                     "endpoints": [list(p) for p in cal.endpoints]}
                   ).raise_for_status()
    started = time.perf_counter()
    comparison = client.post("/api/v1/comparisons", json={"patient_id": pid}).json()
    created_s = time.perf_counter() - started
    reg = client.get(f"/api/v1/comparisons/{comparison['id']}/registration",
                     params={"wait_s": 60}).json()
    background_s = time.perf_counter() - started
    figures: dict[str, Any] = {
        "POST /comparisons (answer)": [created_s],
        "background registration, from POST to done": [background_s],
        "registration elapsed_s (background)": [reg["elapsed_s"]],
        "of which read_s": [reg["read_s"]],
        "status": reg["status"], "method": reg["method"], "metric": reg["metric"],
    }
    errors, proposal_s = [], []
    for cal in calipers:
        t = time.perf_counter()
        body = client.get(f"/api/v1/cases/{case['id']}/lesions/{lesions[cal.label]}/proposal",
                          params={"timepoint": fu_tp}).json()
        proposal_s.append(time.perf_counter() - t)
        errors.append(math.dist(body["position_mm"], followup.lesion_center_patient_mm(cal.label)))
    figures["proposal errors mm"] = errors
    figures["GET proposal (registration cached)"] = proposal_s
    first_need, elapsed, read = [], [], []
    for _ in range(repeat):
        with sqlite3.connect(database) as db:
            db.execute("DELETE FROM series_registrations")
        t = time.perf_counter()
        again = client.get(f"/api/v1/comparisons/{comparison['id']}/registration",
                           params={"wait_s": 60}).json()
        first_need.append(time.perf_counter() - t)
        elapsed.append(again["elapsed_s"])
        read.append(again["read_s"])
    figures["GET registration?wait_s, first need (request)"] = first_need
    figures["registration elapsed_s (first need)"] = elapsed
    figures["of which read_s (first need)"] = read
    return figures


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=12)
    parser.add_argument("--matrix", type=int, default=256, help="matrix of the accuracy pairs")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()
    print(f"== accuracy: {args.cases} moved-phantom pairs, {args.matrix} x {args.matrix}, "
          "baseline 300 x 1.25 mm")
    errors = accuracy(args.cases, args.matrix, args.seed)
    for name in ("registration", "position"):
        values = errors[name]
        print(f"  lesion centre error, {name}: median {statistics.median(values):.2f} mm, "
              f"max {max(values):.2f} mm ({len(values)} lesions)")
    print(f"  registration alone (in memory): median {statistics.median(errors['seconds']):.2f}"
          f" s, max {max(errors['seconds']):.2f} s")
    print("== speed: 300-slice 512 x 512 pair through Orthanc and `nadir serve`")
    figures = end_to_end(args.repeat, 512)
    for name, values in figures.items():
        if isinstance(values, list):
            print(f"  {name}: median {statistics.median(values):.2f} "
                  f"(runs: {', '.join(f'{v:.2f}' for v in values)})")
        else:
            print(f"  {name}: {values}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
