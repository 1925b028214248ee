"""Many C-STORE pushes with Nadir's SCU (pacs.dimse.store) under CPU load: 0 failures.

Each push sends the demo study pair (two CT studies, 300-slice thin series: 756 objects)
to a real Orthanc over pynetdicom, generated lazily as `nadir demo` does, while another
process burns a core. Reported: failed pushes, instances sent again on a fresh
association, responses handed back from pynetdicom's reactor, and Orthanc's count.
Usage: .venv/bin/python -m bench.dimse_pushes [--pushes 10] [--matrix 512]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from api.demo import DEMO_CONTEXTS
from bench.common import orthanc
from pacs.dimse import DicomPeer, PushStats, store
from pacs.errors import PacsError
from synthetic import demo_patient, iter_study

AET = "BENCHSCU"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pushes", type=int, default=10)
    parser.add_argument("--matrix", type=int, default=512)
    args = parser.parse_args()
    demo = demo_patient(matrix=args.matrix, thin_slice_count=300, timepoints=2)
    failures: list[str] = []
    stats = PushStats()
    sent = 0
    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, orthanc(Path(tmp), stable_age_s=None) as pacs:
        with pacs.client() as client:
            client.put_modality(AET, aet=AET, host="127.0.0.1", port=104)
        peer = DicomPeer("127.0.0.1", pacs.config.dicom_port, pacs.config.aet, AET)
        burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            for i in range(args.pushes):
                started = time.perf_counter()
                try:
                    for spec, seed in demo.seeded():
                        sent += len(store(peer, iter_study(spec, seed=seed),
                                          contexts=DEMO_CONTEXTS, stats=stats))
                except PacsError as exc:
                    failures.append(f"push {i + 1}: {exc}")
                times.append(time.perf_counter() - started)
                print(f"push {i + 1}: {times[-1]:.1f} s", flush=True)
        finally:
            burner.kill()
            burner.wait()
        with pacs.client() as client:
            held = int(client.statistics()["CountInstances"])
    print(f"{args.pushes} pushes of the demo pair ({args.matrix}x{args.matrix}) while "
          f"another process burns a core: {sent} objects acknowledged, {len(failures)} "
          f"failed pushes; Orthanc holds {held} distinct instances")
    print(f"sent again on a fresh association: {stats.resent}; responses handed back from "
          f"pynetdicom's reactor: {stats.rescued}; associations: {stats.associations}")
    print(f"per push: median {sorted(times)[len(times) // 2]:.1f} s, "
          f"slowest {max(times):.1f} s")
    for failure in failures:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
