"""Series metadata: Orthanc's DICOMweb plugin against Nadir's index, on the same series.

The demo pair's thin series (300 slices of 512x512 each, both studies) go into Orthanc by
storescu; `nadir serve` indexes them and fills their metadata. Then, alternately, each
series' `.../metadata` straight from Orthanc's plugin (the baseline: what the proxy asked
for before) and through Nadir (its index), as it is and gzipped (the client decompresses
it), and Nadir's answer to `If-None-Match` (304). Medians of ``--repeat`` rounds; each round
reads both series. The bytes on the wire of one series are printed for each.
Usage: .venv/bin/python -m bench.series_metadata [--repeat 7]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import create_token, nadir_env, nadir_serve, orthanc, push
from pacs.process import OrthancConfig
from synthetic import demo_patient, generate_study, write_study


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    demo = demo_patient(matrix=512, thin_slice_count=300)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files: list[Path] = []
        series: list[tuple[str, str]] = []
        for name, spec, seed in (("bl", demo.baseline, 1), ("fu", demo.followup, 2)):
            thin = [s for s in spec.series if s.key == "lung_thin"]
            datasets = generate_study(dataclasses.replace(spec, series=tuple(thin)), seed=seed)
            series.append((str(datasets[0].StudyInstanceUID),
                           str(datasets[0].SeriesInstanceUID)))
            files += write_study(datasets, root / name)
        with orthanc(root) as pacs:
            push(pacs, files)
            env = nadir_env(root, pacs)
            token = create_token(env, "specialist")
            with nadir_serve(env) as url:
                figures = run(url, token, pacs.config, series, args.repeat)
    for name, values in figures.items():
        if name.startswith("bytes"):
            print(f"{name}: {int(values[0]):,}")
            continue
        print(f"{name}: median {statistics.median(values) * 1000:.0f} ms "
              f"(runs: {', '.join(f'{v * 1000:.0f}' for v in values)})")
    return 0


def run(url: str, token: str, cfg: OrthancConfig, series: list[tuple[str, str]], repeat: int
        ) -> dict[str, list[float]]:
    nadir = httpx.Client(base_url=url, timeout=120,
                         headers={"Authorization": f"Bearer {token}",
                                  "Accept": "application/dicom+json"})
    plugin = httpx.Client(base_url=cfg.url, timeout=120,
                          auth=(cfg.username or "", cfg.password or ""),
                          headers={"Accept": "application/dicom+json"})
    paths = [f"/dicom-web/studies/{s}/series/{se}/metadata" for s, se in series]
    deadline = time.monotonic() + 300
    while not all(nadir.get(p).headers.get("etag", "").startswith('"md-') for p in paths):
        if time.monotonic() > deadline:
            raise SystemExit("the metadata was not filled within 300 s")
        time.sleep(0.5)
    plain = {"Accept-Encoding": "identity"}
    packed = {"Accept-Encoding": "gzip"}
    etags = {p: nadir.get(p, headers=plain).headers["etag"] for p in paths}
    figures: dict[str, list[float]] = {
        "Orthanc's plugin, both 300-slice series (baseline)": [],
        "Nadir's index, both series": [],
        "Nadir's index gzipped, both series": [],
        "Nadir, both series, If-None-Match (304)": []}
    for _ in range(repeat):
        for name, get, headers in (
                ("Orthanc's plugin, both 300-slice series (baseline)", plugin.get, plain),
                ("Nadir's index, both series", nadir.get, plain),
                ("Nadir's index gzipped, both series", nadir.get, packed)):
            start = time.perf_counter()
            for p in paths:
                r = get(p, headers=headers)
                r.raise_for_status()
                assert len(r.json()) == 300
            figures[name].append(time.perf_counter() - start)
            figures[f"bytes on the wire, one series: {name.split(',')[0]}"] = [
                float(r.num_bytes_downloaded)]
        start = time.perf_counter()
        for p in paths:
            assert nadir.get(p, headers={**plain, "If-None-Match": etags[p]}
                             ).status_code == 304
        figures["Nadir, both series, If-None-Match (304)"].append(time.perf_counter() - start)
    return figures


if __name__ == "__main__":
    sys.exit(main())
