"""Benchmark of the synthetic CT generator: one 300-slice 512 x 512 axial series.

Run with ``.venv/bin/pytest bench/test_synthetic_bench.py --benchmark-only``. Measures the
objects built in memory (pixels rendered, headers filled) and the same written to disk as
PS3.10 files. No timing is asserted.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from synthetic import StudySpec, demo_patient, iter_study, write_study

SLICES = 300
MATRIX = 512


def _thin_series_only() -> StudySpec:
    spec = demo_patient(matrix=MATRIX, thin_slice_count=SLICES).baseline
    thin = spec.series_by_key("lung_thin")
    return dataclasses.replace(spec, series=(thin,))


def test_generate_300_slice_series(benchmark: Any) -> None:
    spec = _thin_series_only()
    count = benchmark.pedantic(lambda: sum(1 for _ in iter_study(spec, 1)), rounds=3)
    assert count == SLICES


def test_generate_and_write_300_slice_series(benchmark: Any, tmp_path: Path) -> None:
    spec = _thin_series_only()
    paths = benchmark.pedantic(lambda: write_study(iter_study(spec, 1), tmp_path), rounds=3)
    assert len(paths) == SLICES
