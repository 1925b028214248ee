"""Report layout benchmark: the PDF of one report laid out with this checkout's template and
with another commit's, in the same run.

The case: 2 timepoints (named by Study Instance UIDs of the longest length) x 5 target
lesions, with realistic key images (:mod:`tests.report_sample`). Each round renders the PDF
(:func:`api.report.render.render_pdf`: template, charts, JPEG key images, WeasyPrint's layout
and writing) with both templates in turn, each first in every other round, and times each in
CPU seconds of this process, which the machine's other work spreads less than the wall clock;
after the first round the process's objects are frozen out of the cycle collector's way, as
in ``nadir serve``.

``--instructions`` also counts the instructions of one render with each template under
valgrind's callgrind (a second and a fourth render in a fresh process, the difference
halved: no import, font loading or first-use cache is counted), which do not depend on the
machine's load at all. It takes a few minutes.
Usage: .venv/bin/python -m bench.report_layout [--against REF] [--rounds N] [--instructions]
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import REPO, load_average

TEMPLATE = Path("api/report/templates/report.html.j2")
# One render of a template folder, `renders` times, in a process of its own (for callgrind).
_RENDER = """
import sys
from api.report import render
from bench.report_layout import case
render.TEMPLATE_DIR = __import__("pathlib").Path(sys.argv[1])
data = case()
for _ in range(int(sys.argv[2])):
    render.render_pdf(data)
"""


def case() -> Any:
    """The benchmark's report: 2 timepoints named by 64-character UIDs x 5 target lesions."""
    from tests.report_sample import sample_report_data

    return sample_report_data(follow_ups=1, targets=5, study_uids=True)


def _template_dirs(ref: str, root: Path) -> dict[str, Path]:
    """Folders holding this checkout's template and ``ref``'s, by name."""
    dirs = {"this checkout": REPO / TEMPLATE.parent}
    theirs = root / "against"
    theirs.mkdir()
    shown = subprocess.run(["git", "-C", str(REPO), "show", f"{ref}:{TEMPLATE}"],
                           check=True, capture_output=True)
    (theirs / TEMPLATE.name).write_bytes(shown.stdout)
    dirs[ref] = theirs
    return dirs


def _cpu_seconds(dirs: dict[str, Path], rounds: int) -> dict[str, list[float]]:
    from api.report import render

    data = case()
    times: dict[str, list[float]] = {name: [] for name in dirs}
    for n in range(rounds + 1):
        # Each goes first in every other round: a render can leave work (garbage) to the next.
        for name, folder in (list(dirs.items())[::-1] if n % 2 else dirs.items()):
            render.TEMPLATE_DIR = folder
            render._environment.cache_clear()
            start = time.process_time()
            pdf = render.render_pdf(data)
            if n:  # the first round fills WeasyPrint's and fontconfig's caches
                times[name].append(time.process_time() - start)
            assert pdf.startswith(b"%PDF-")
        if not n:
            # As `nadir serve` does once its renderer is warm (api/workers/report_warmup.py):
            # what the start loaded is left out of the cycle collector's full passes, which
            # otherwise land in some renders and not others, by each template's allocations.
            gc.collect()
            gc.freeze()
    return times


def _instructions(folder: Path, renders: int) -> int:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("--instructions needs valgrind (Debian's package valgrind)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        run = subprocess.run(
            [valgrind, "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
             "-c", _RENDER, str(folder), str(renders)],
            cwd=REPO, capture_output=True, text=True, env=dict(os.environ, PYTHONHASHSEED="0"))
    found = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode != 0 or not found:
        raise SystemExit(f"callgrind failed: {run.stderr[-2000:]}")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--against", metavar="REF", default="HEAD",
                        help="the commit whose template is the baseline (default: HEAD, "
                             "which against a clean checkout compares the template with "
                             "itself: useful for an uncommitted change)")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--instructions", action="store_true",
                        help="also count one render's instructions under callgrind")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        dirs = _template_dirs(args.against, Path(tmp))
        before = load_average()
        times = _cpu_seconds(dirs, args.rounds)
        print(f"report PDF, 2 timepoints x 5 targets, {args.rounds} rounds, load average "
              f"{before} -> {load_average()}; CPU seconds per render, median (min-max):")
        for name, values in times.items():
            print(f"  template of {name}: {statistics.median(values):.3f} s "
                  f"({min(values):.3f}-{max(values):.3f})")
        if args.instructions:
            print("instructions per render (callgrind; the 4th render's and the 2nd's "
                  "difference, halved):")
            for name, folder in dirs.items():
                per_render = (_instructions(folder, 4) - _instructions(folder, 2)) // 2
                print(f"  template of {name}: {per_render / 1e6:,.0f} million")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
