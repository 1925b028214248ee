"""The report's SVG charts: RECIST thresholds, geometry read back from the SVG, escaping.

The thresholds are checked on the pure helpers the charts draw from (RECIST 1.1 section
4.3.1 and its worked numbers), then on the SVG itself: its y-axis ticks give the mm scale,
and the PR line and the PD steps must sit where the helpers say.
"""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.report.charts import (
    LEFT,
    lesion_change_series,
    lesion_chart_svg,
    pd_steps,
    pd_threshold_mm,
    pr_threshold_mm,
    sum_chart_svg,
)
from tests.unit.test_report_factories import (
    BASELINE_DATE,
    MALICIOUS,
    baseline_row,
    follow_up_row,
    lesion,
    report,
    sized_case,
)

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(("baseline", "expected"), [
    (100, Decimal(70)), (142.0, Decimal("99.4")), (33.3, Decimal("23.31")), (0, Decimal(0)),
])
def test_pr_threshold_is_seventy_percent_of_the_baseline_sum(baseline: float,
                                                             expected: Decimal) -> None:
    assert pr_threshold_mm(baseline) == expected


@pytest.mark.parametrize(("nadir", "expected"), [
    (20, Decimal(25)),  # 5 mm decides below 25 mm: 1.2 x 20 = 24 < 25
    (100, Decimal(120)),  # 20 % decides above 25 mm
    (25, Decimal(30)),  # both agree at exactly 25 mm
    (0, Decimal(5)),  # after a complete response only the 5 mm rule is left
    (24.9, Decimal("29.9")),
    (91.4, Decimal("109.68")),
])
def test_pd_threshold_is_20_percent_and_at_least_5_mm_over_the_nadir(nadir: float,
                                                                     expected: Decimal) -> None:
    assert pd_threshold_mm(nadir) == expected


@given(st.decimals(min_value=0, max_value=1000, places=1))
def test_pd_threshold_is_the_larger_of_both_rules(nadir: Decimal) -> None:
    threshold = pd_threshold_mm(nadir)
    assert threshold >= nadir * Decimal("1.2") and threshold >= nadir + 5
    assert threshold in (nadir * Decimal("1.2"), nadir + 5)


def test_pd_steps_follow_the_engine_nadir_of_each_follow_up() -> None:
    data = sized_case([[60.0, 40.0, 18.0, 30.0], [40.0, 20.0, 2.0, 10.0]], ["PR", "PR", "PD"])
    steps = pd_steps(data)
    assert [s.timepoint_id for s in steps] == ["FU1", "FU2", "FU3"]
    assert [s.nadir_mm for s in steps] == [Decimal(100), Decimal(60), Decimal(20)]
    assert [s.threshold_mm for s in steps] == [Decimal(120), Decimal(72), Decimal(25)]


def _root(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # the SVG is well-formed XML


def _y_scale(root: ET.Element) -> tuple[float, float]:
    """(y of 0, pixels per unit) from the y-axis tick labels and their grid lines."""
    ticks = [(float(t.text or ""), float(t.get("y", "0")) - 3.5) for t in root.iter(f"{SVG}text")
             if t.get("text-anchor") == "end" and float(t.get("x", "0")) == LEFT - 6]
    (v0, y0), (v1, y1) = ticks[0], ticks[-1]
    per_unit = (y0 - y1) / (v1 - v0)
    return y0 + v0 * per_unit, per_unit


def _lines_at(root: ET.Element, colour: str) -> list[float]:
    return [float(line.get("y1", "0")) for line in root.iter(f"{SVG}line")
            if line.get("stroke") == colour and line.get("y1") == line.get("y2")]


def test_sum_chart_draws_the_pr_line_and_pd_steps_at_the_thresholds() -> None:
    data = sized_case([[60.0, 40.0, 18.0], [40.0, 20.0, 20.0]], ["PR", "PR"])
    root = _root(sum_chart_svg(data))
    zero, per_mm = _y_scale(root)

    def mm_at(y: float) -> float:
        return (zero - y) / per_mm

    (pr_y,) = _lines_at(root, "#2f6f4f")
    assert mm_at(pr_y) == pytest.approx(70.0, abs=0.1)  # 0.7 x baseline 100 mm
    (steps,) = [p for p in root.iter(f"{SVG}polyline") if p.get("stroke") == "#9b2c2c"]
    levels = [mm_at(float(xy.split(",")[1])) for xy in (steps.get("points") or "").split()]
    # FU1: nadir 100 -> 120; FU2: nadir 60 -> 72, each held from the previous timepoint.
    assert levels == pytest.approx([120.0, 120.0, 72.0, 72.0], abs=0.1)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"100.0 mm", "60.0 mm", "38.0 mm", "PR", "baseline"} <= set(texts)
    assert "PR 70.0 mm" in texts and "PD 72.0 mm" in texts


def test_dates_are_placed_in_proportion_to_time() -> None:
    rows = [baseline_row(50.0)]
    for name, days in (("FU1", 30), ("FU2", 90)):
        rows.append(follow_up_row(name, BASELINE_DATE + datetime.timedelta(days=days), 40.0,
                                  baseline_mm=50.0, nadir_mm=50.0, overall="SD"))
    root = _root(sum_chart_svg(report(rows)))
    xs = {t.text: float(t.get("x", "0")) for t in root.iter(f"{SVG}text")
          if (t.text or "").startswith("2026-")}
    first, second, third = (xs[d.isoformat()] for d in
                            (BASELINE_DATE, BASELINE_DATE + datetime.timedelta(days=30),
                             BASELINE_DATE + datetime.timedelta(days=90)))
    assert (second - first) * 3 == pytest.approx(third - first, abs=0.3)


def test_lesion_chart_plots_percent_change_with_guides_and_labels() -> None:
    data = sized_case([[20.0, 10.0], [10.0, 15.0], [30.0, 30.0]], ["SD"])
    root = _root(lesion_chart_svg(data))
    zero, per_pct = _y_scale(root)
    guides = {round((zero - y) / per_pct) for colour in ("#1f2933", "#2f6f4f", "#9b2c2c")
              for y in _lines_at(root, colour)}
    assert {0, -30, 20} <= guides
    labels = [t.text for t in root.iter(f"{SVG}text") if t.get("font-weight") == "bold"]
    assert labels == ["T1", "T2", "T3"]
    ends = sorted(round((zero - float(c.get("cy", "0"))) / per_pct)
                  for c in root.iter(f"{SVG}circle"))
    assert ends == [-50, 0, 0, 0, 0, 50]


def test_lesion_series_count_too_small_as_5_mm_and_skip_unevaluated() -> None:
    fu1, fu2 = (BASELINE_DATE + datetime.timedelta(days=d) for d in (50, 100))
    rows = [baseline_row(30.0),
            follow_up_row("FU1", fu1, None, baseline_mm=30.0, nadir_mm=30.0, overall="NE"),
            follow_up_row("FU2", fu2, 5.0, baseline_mm=30.0, nadir_mm=30.0, overall="PR")]
    lesions = [lesion("T1", [("BL", 20.0, None), ("FU1", None, "not_evaluable"),
                             ("FU2", None, "too_small")]),
               lesion("T2", [("BL", 10.0, None), ("FU2", None, "disappeared")]),
               lesion("NT1", [("BL", None, "present")], kind="non_target")]
    series = lesion_change_series(report(rows, lesions))
    assert [(s.label, [pct for _, pct in s.points]) for s in series] == [
        ("T1", [0.0, -75.0]), ("T2", [0.0, -100.0])]


def test_chart_text_is_escaped_and_output_is_deterministic() -> None:
    rows = [baseline_row(20.0), follow_up_row(
        "FU<1>", BASELINE_DATE + datetime.timedelta(days=40), 10.0, baseline_mm=20.0,
        nadir_mm=20.0, overall="PR")]
    data = report(rows, [lesion(MALICIOUS, [("BL", 20.0, None), ("FU<1>", 10.0, None)])])
    for svg in (sum_chart_svg(data), lesion_chart_svg(data)):
        # Axes name timepoints "Baseline", "Follow-up 1": ids (UIDs) never reach the SVG.
        assert "<script" not in svg and "FU<1>" not in svg and "Follow-up 1" in svg
        _root(svg)
    assert "&lt;script&gt;" in lesion_chart_svg(data)
    assert lesion_chart_svg(data) == lesion_chart_svg(data)
    assert sum_chart_svg(data) == sum_chart_svg(data)


def test_charts_without_target_lesions_say_so() -> None:
    data = report([baseline_row(None)], [lesion("NT1", [("BL", None, "present")],
                                                kind="non_target")])
    assert "No target lesions" in sum_chart_svg(data)
    assert "nothing to chart" in lesion_chart_svg(data)
    _root(sum_chart_svg(data))


def test_a_partial_sum_is_shown_hollow_and_kept_out_of_the_line() -> None:
    fu1, fu2 = (BASELINE_DATE + datetime.timedelta(days=d) for d in (50, 100))
    rows = [baseline_row(50.0),
            follow_up_row("FU1", fu1, 20.0, baseline_mm=None, nadir_mm=None, overall="NE"),
            follow_up_row("FU2", fu2, 30.0, baseline_mm=50.0, nadir_mm=50.0, overall="PR")]
    root = _root(sum_chart_svg(report(rows)))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "20.0 mm (partial)" in texts and "30.0 mm" in texts and "NE" in texts
    (line,) = [p for p in root.iter(f"{SVG}polyline") if p.get("stroke") == "#1f3a5f"]
    assert len((line.get("points") or "").split()) == 2  # baseline and FU2 only
    assert [c.get("fill") for c in root.iter(f"{SVG}circle")] == ["#1f3a5f", "#ffffff",
                                                                  "#1f3a5f"]
