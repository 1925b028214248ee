"""Benchmark of the report's presentation: 2 timepoints x 5 target lesions, as PDF and HTML.

Run with ``.venv/bin/pytest bench/test_report_pdf_bench.py --benchmark-only``. The key images
are realistic: 384 px crops and 256 px thumbnails of noisy CT-like pixels, about 150 KB and
65 KB of PNG each (:mod:`tests.report_sample`). Measured: :func:`render_pdf` (template, charts,
notes, JPEG for the PDF, WeasyPrint layout and PDF writing) and :func:`render_html`. The
whole report, key-image rendering included, should take under 2 s on two cores, which leaves
the PDF step about 1.2 s at most. No timing is asserted.
"""

from __future__ import annotations

from typing import Any

from weasyprint import HTML

from api.report.render import render_html, render_pdf
from tests.report_sample import sample_report_data

ROUNDS = 5


def _case() -> Any:
    data = sample_report_data(follow_ups=1, targets=5, crop_px=384, thumbnail_px=256)
    assert len(data.timepoints) == 2 and len(data.targets) == 5
    return data


def test_render_pdf_2_timepoints_5_targets(benchmark: Any) -> None:
    data = _case()
    HTML(string="<p>warm-up</p>").write_pdf()  # fontconfig and WeasyPrint's first-use caches
    pdf = benchmark.pedantic(render_pdf, args=(data,), rounds=ROUNDS, warmup_rounds=1)
    assert pdf.startswith(b"%PDF-")


def test_render_html_2_timepoints_5_targets(benchmark: Any) -> None:
    data = _case()
    html = benchmark.pedantic(render_html, args=(data,), rounds=ROUNDS, warmup_rounds=1)
    assert html.count("data:image/png;base64,") == 20
