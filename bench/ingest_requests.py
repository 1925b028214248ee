"""What Nadir asks of Orthanc while a study pair arrives, request by request.

The same run as ``bench.ingest``'s "with Nadir" (the demo pair, 756 objects, pushed by
storescu into a fresh Orthanc that posts each stable series to `nadir serve`), with every
request `nadir serve` sends to Orthanc logged (``bench/hooks/sitecustomize.py``, given to that
process only). Each request is counted in the phase it started in: during the push, from the
push's end until Orthanc calls every series stable, and from then until Nadir lists every
series; what Nadir does after that (its series metadata and image checks) is cut off when
the run ends. Per phase and kind of request: how many, the seconds they took (Orthanc's time
and the wire's, as Nadir waited for them) and the megabytes they brought.
Usage: .venv/bin/python -m bench.ingest_requests [--index postgresql|sqlite] [--repeat 1]
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
from collections import defaultdict
from pathlib import Path

from bench import ingest
from bench.common import REPO
from synthetic import demo_patient

HOOKS = REPO / "bench" / "hooks"
PHASES = ("during the push", "push over -> Orthanc's stable", "stable -> listed by Nadir")
_ORTHANC_ID = re.compile(r"/[0-9a-f]{8}(-[0-9a-f]{8}){4}")
_UID = re.compile(r"/[0-9]+(\.[0-9]+){3,}")


def shape(path: str) -> str:
    """A request's path with Orthanc ids and DICOM UIDs put as {id} and {uid}."""
    return _UID.sub("/{uid}", _ORTHANC_ID.sub("/{id}", path))


def tally(log: Path, marks: tuple[float, float, float, float]
          ) -> dict[tuple[str, str], list[float]]:
    """(phase, "METHOD shape") -> [count, seconds, bytes], for requests started in a phase."""
    start, push_end, stable, listed = marks
    bounds = ((start, push_end), (push_end, stable), (stable, listed))
    table: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    if not log.exists():
        return table
    for line in log.read_text(encoding="ascii").splitlines():
        at, seconds, method, path, _status, size = line.split()
        phase = next((name for name, (lo, hi) in zip(PHASES, bounds, strict=True)
                      if lo <= float(at) < hi), None)
        if phase is None:
            continue
        row = table[(phase, f"{method} {shape(path)}")]
        row[0] += 1
        row[1] += float(seconds)
        row[2] += max(0, int(size))
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--index", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--pg", default=ingest.PG_DEFAULT,
                        help="PostgreSQL server (libpq URL without a database)")
    args = parser.parse_args()
    demo = demo_patient(matrix=512, thin_slice_count=300)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files, expected = ingest.demo_files(root, 512)
        print(f"{len(files)} objects, Orthanc's index and Nadir's database in {args.index}; "
              "Nadir's requests to Orthanc by the phase they started in:")
        for n in range(args.repeat):
            log = root / f"requests-{n}.log"
            saved = {name: os.environ.get(name) for name in ("PYTHONPATH", "NADIR_BENCH_REQUESTS")}
            os.environ["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(HOOKS), saved["PYTHONPATH"]) if p)
            os.environ["NADIR_BENCH_REQUESTS"] = str(log)
            try:
                listed, stable = ingest.run_with_nadir(
                    root / f"run-{n}", files, expected, demo.baseline.patient.patient_id,
                    args.index, args.pg, posts=True)
            finally:
                for name, value in saved.items():
                    if value is None:
                        os.environ.pop(name, None)
                    else:
                        os.environ[name] = value
            start, push_end = ingest.LAST_PUSH
            marks = (start, push_end, start + stable, start + listed)
            print(f"run {n + 1}: push {push_end - start:.2f} s, Orthanc stable at "
                  f"{stable:.2f} s, listed by Nadir at {listed:.2f} s")
            table = tally(log, marks)
            for phase in PHASES:
                rows = sorted(((key[1], row) for key, row in table.items() if key[0] == phase),
                              key=lambda item: -item[1][1])
                total = sum(row[1] for _, row in rows)
                print(f"  {phase}: {sum(int(row[0]) for _, row in rows)} requests, "
                      f"{total:.3f} s")
                for what, (count, seconds, size) in rows:
                    print(f"    {int(count):5d}  {seconds:7.3f} s  {size / 1e6:8.2f} MB  {what}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
