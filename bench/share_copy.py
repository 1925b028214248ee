"""A share's de-identified copy: Orthanc's anonymization of each instance with the share's
replacements, against Orthanc's own study-level anonymization (one call per study, no
date shift, no UID map across studies) of the same studies, as the baseline.

The demo pair's thin series (``--slices`` slices of 512x512 each, both studies) go into
Orthanc; then ``--repeat`` rounds: the share's copy of both studies (removed after), and
``POST /studies/{id}/anonymize`` of each (removed after). Medians.
Usage: .venv/bin/python -m bench.share_copy [--slices 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import orthanc
from pacs.deid_profile import DateShift
from pacs.share_copy import ShareCopier
from synthetic import demo_patient, generate_study
from tests.factories import to_bytes


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slices", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    demo = demo_patient(matrix=512, thin_slice_count=max(args.slices, 300))
    figures: dict[str, list[float]] = {"share copy": [], "Orthanc study anonymize": []}
    with tempfile.TemporaryDirectory() as tmp, orthanc(Path(tmp)) as pacs, \
            pacs.client() as client:
        studies = []
        for spec, seed in ((demo.baseline, 1), (demo.followup, 2)):
            thin = [dataclasses.replace(s, slice_count=args.slices) for s in spec.series
                    if s.key == "lung_thin"]
            stored = [client.store(to_bytes(ds)) for ds in
                      generate_study(dataclasses.replace(spec, series=tuple(thin)), seed=seed)]
            studies.append(stored[0].parent_study)
        copier = ShareCopier(client)
        for _ in range(args.repeat):
            start = time.perf_counter()
            copy = copier.copy(studies, "NADIR-SHARE-BENCH", DateShift.random())
            figures["share copy"].append(time.perf_counter() - start)
            assert copy.orthanc_patient is not None
            copier.remove(copy.orthanc_patient)
            start = time.perf_counter()
            made = [client._request("POST", f"/studies/{s}/anonymize",  # noqa: SLF001
                                    content=b'{"Force": true}').json() for s in studies]
            figures["Orthanc study anonymize"].append(time.perf_counter() - start)
            for answer in made:
                client.delete("patients", str(client.study(str(answer["ID"]))["ParentPatient"]))
    instances = 2 * args.slices
    for name, values in figures.items():
        median = statistics.median(values)
        print(f"{name}: {instances} instances, median {median:.1f} s "
              f"({instances / median:.0f} instances/s; runs: "
              f"{', '.join(f'{v:.1f}' for v in values)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
