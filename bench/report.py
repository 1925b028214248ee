"""Report benchmark: PDF for 2 timepoints x 5 target lesions on 300-slice 512x512 CT series.

Baseline in the same run: downloading the 10 measured instances from Orthanc (the I/O a
first report cannot avoid). Then the JSON report (key images rendered, no PDF) and the PDF
report from a running `nadir serve`, each cold (every measurement re-saved as a new version
with one end moved by half a pixel, so that no key image and no report is cached: fetched,
rendered and laid out anew), warm (the same report again: unchanged, so served from the
cache of rendered reports, still assembled, compared and audited) and revalidated
(`If-None-Match` with the warm answer's ETag: 304), 5 times each; medians reported, with
the load average.

``--against REF`` also serves the same database and Orthanc from another commit of Nadir
(a git worktree of REF, which must have the same migrations) and times reports from both
servers alternately: warm (``--rounds`` each) and cold (``--cold-rounds`` each: every
measurement saved again, then the report from each server, whose own caches both miss). A
code change measured against its baseline in the same run, under the same load.
Usage: .venv/bin/python -m bench.report [--against REF [--rounds N]]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from bench.common import (
    checkout,
    create_token,
    load_average,
    nadir_env,
    nadir_process,
    nadir_serve,
    orthanc,
    push,
)
from pacs.process import OrthancProcess
from synthetic import SyntheticLesion, demo_patient, generate_study, write_study
from synthetic.calipers import KnownCaliper, lesion_calipers

REPEAT = 5
# A fifth target so that the report has 5 lesions; placed in the liver like the fourth.
EXTRA = SyntheticLesion("Liver segment VI", "liver", (-95.0, 40.0, -245.0), 20.0)


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--against", metavar="REF",
                        help="also time warm reports served by this commit's code")
    parser.add_argument("--rounds", type=int, default=40,
                        help="warm requests per server and format with --against")
    parser.add_argument("--cold-rounds", type=int, default=10,
                        help="cold requests per server and format with --against")
    args = parser.parse_args(argv)
    before = load_average()
    demo = demo_patient(matrix=512, thin_slice_count=300)
    baseline = dataclasses.replace(demo.baseline, lesions=demo.baseline.lesions + (EXTRA,))
    followup = dataclasses.replace(demo.followup, lesions=demo.followup.lesions + (
        dataclasses.replace(EXTRA, diameter_mm=15.0),))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files: list[Path] = []
        calipers: dict[str, list[KnownCaliper]] = {}
        for name, spec, seed in (("bl", baseline, 1), ("fu", followup, 2)):
            datasets = generate_study(spec, seed=seed)
            calipers[name] = lesion_calipers(spec, datasets)
            files += write_study(datasets, root / name)
        with orthanc(root) as pacs:
            push(pacs, files)
            env = nadir_env(root, pacs)
            radiologist = create_token(env, "radiologist")
            specialist = create_token(env, "specialist")
            with nadir_serve(env) as url:
                figures, case_id, measure_all = run(url, radiologist, specialist,
                                                    baseline.patient.patient_id, calipers, pacs)
                if args.against:
                    with checkout(args.against, root) as code, \
                            nadir_process(env, code=code) as (other, _):
                        servers = {"this checkout": url, args.against: other}
                        figures.update(side_by_side(servers, case_id, specialist, args.rounds))
                        figures.update(side_by_side(servers, case_id, specialist,
                                                    args.cold_rounds, measure_all))
    print(f"load average (1 min) before: {before}, after: {load_average()}")
    for name, values in figures.items():
        print(f"{name}: median {statistics.median(values):.3f} s "
              f"(runs: {', '.join(f'{v:.3f}' for v in values)})")
    return 0


def side_by_side(servers: dict[str, str], case_id: int, specialist: str, rounds: int,
                 measure_all: Callable[[int], None] | None = None) -> dict[str, list[float]]:
    """Reports of the case from each server, taking turns (the first server of each round
    alternates): the same load falls on both.

    Warm without ``measure_all``: each server renders and caches the report once first.
    Cold with it: each round saves every measurement again (new versions, new lengths),
    then asks each server. Each server keeps its own caches, so both render the key images
    and the report anew; the second profits only from the operating system's file cache,
    which is why the order alternates."""
    spec = {"Authorization": f"Bearer {specialist}"}
    clients = {name: httpx.Client(base_url=url, timeout=120) for name, url in servers.items()}
    names = list(clients)
    state = "warm" if measure_all is None else "cold"
    figures: dict[str, list[float]] = {}
    step = 2 * REPEAT  # past the single-server rounds' moves: every round a new length
    for fmt in ("json", "pdf"):
        path = f"/api/v1/cases/{case_id}/report?format={fmt}"
        if measure_all is None:
            for client in clients.values():
                client.get(path, headers=spec).raise_for_status()
        for i in range(rounds):
            if measure_all is not None:
                step += 1
                measure_all(step)
            for name in names if i % 2 == 0 else names[::-1]:
                started = time.perf_counter()
                clients[name].get(path, headers=spec).raise_for_status()
                figures.setdefault(f"GET /report?format={fmt} {state}, served by {name}",
                                   []).append(time.perf_counter() - started)
    return figures


def run(url: str, radiologist: str, specialist: str, patient_id: str,
        calipers: dict[str, list[KnownCaliper]], pacs: OrthancProcess
        ) -> tuple[dict[str, list[float]], int, Callable[[int], None]]:
    rad = {"Authorization": f"Bearer {radiologist}"}
    spec = {"Authorization": f"Bearer {specialist}"}
    client = httpx.Client(base_url=url, timeout=120)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        r = client.get(f"/api/v1/patients/{patient_id}/studies", headers=rad)
        if r.status_code == 200 and len(r.json()) == 2 and all(
                sum(s["instances"] for s in st["series"]) > 300 for st in r.json()):
            break
        time.sleep(0.5)
    case = client.post("/api/v1/cases", headers=rad,
                       json={"patient_id": patient_id, "criteria": "RECIST1.1"}).json()
    cid = case["id"]
    timepoints = [t["id"] for t in case["timepoints"]]
    lesion_ids = {}
    for cal in calipers["bl"]:
        lesion_ids[cal.label] = client.post(
            f"/api/v1/cases/{cid}/lesions", headers=rad,
            json={"kind": "target", "organ": cal.organ,
                  "nodal": cal.organ == "lymph node"}).json()["id"]

    def measure_all(round_no: int = 0) -> None:
        """Save every measurement again, one end moved by half a pixel more each round: new
        versions and new lengths, so neither a key image nor a rendered report is cached."""
        for tp, key in zip(timepoints, ("bl", "fu"), strict=True):
            for cal in calipers[key]:
                path = f"/api/v1/cases/{cid}/lesions/{lesion_ids[cal.label]}/measurements/{tp}"
                (r0, c0), (r1, c1) = cal.endpoints
                client.put(path, headers=rad, json={
                    "sop_instance_uid": cal.sop_instance_uid,
                    "endpoints": [[r0, c0], [r1, c1 + 0.5 * round_no]]}).raise_for_status()

    measure_all()
    uids = [c.sop_instance_uid for k in ("bl", "fu") for c in calipers[k]]
    with pacs.client() as oc:
        ids = [oc.find_instance(u) for u in uids]

        def fetch_all() -> None:
            for orthanc_id in ids:
                oc.instance_file(orthanc_id)

        figures: dict[str, list[float]] = {
            "baseline: fetch the 10 measured instances from Orthanc": [
                timed(fetch_all) for _ in range(REPEAT)]}
    etags: dict[str, str] = {}
    for fmt in ("json", "pdf"):
        path = f"/api/v1/cases/{cid}/report?format={fmt}"

        def report(path: str = path) -> None:
            r = client.get(path, headers=spec)
            r.raise_for_status()
            etags[path] = r.headers["etag"]

        def revalidate(path: str = path) -> None:
            r = client.get(path, headers={**spec, "If-None-Match": etags[path]})
            assert r.status_code == 304, r.status_code

        cold = f"GET /report?format={fmt} cold (10 key images fetched and rendered)"
        warm = f"GET /report?format={fmt} warm (unchanged case: the cached report)"
        again = f"GET /report?format={fmt} If-None-Match (304)"
        figures[cold], figures[warm], figures[again] = [], [], []
        for i in range(REPEAT):
            measure_all(1 + i + (REPEAT if fmt == "pdf" else 0))
            figures[cold].append(timed(report))
            figures[warm].append(timed(report))
            figures[again].append(timed(revalidate))
    return figures, int(cid), measure_all


if __name__ == "__main__":
    sys.exit(main())
