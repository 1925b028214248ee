"""The report renderer is warmed once per process in the background (api/workers/report_warmup.py):
WeasyPrint imported, the template compiled, the fonts loaded by one small page; then what
the start made is frozen out of the cycle collector's way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc
import sys
from api.workers.report_warmup import start_report_warm_up
assert "weasyprint" not in sys.modules
assert gc.get_freeze_count() == 0
thread = start_report_warm_up()
thread.join(120)
assert not thread.is_alive()
from api.report import render
assert "weasyprint" in sys.modules
assert render._environment.cache_info().currsize == 1
# The modules are frozen, WeasyPrint's among them; what comes after is not.
assert gc.get_freeze_count() > 10_000
frozen = gc.get_freeze_count()
later = [[] for _ in range(1000)]
assert gc.get_freeze_count() == frozen
assert start_report_warm_up() is None  # once per process
print("warmed")
"""


def test_the_renderer_is_warmed_once_in_a_fresh_process() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "warmed"
    assert "failed" not in done.stderr


def test_the_warm_up_page_lays_out_in_the_reports_fonts() -> None:
    from api.report.render import warm_up

    warm_up()  # raises if WeasyPrint cannot lay the page out
