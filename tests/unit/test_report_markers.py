"""Tumour markers in the report: the marker charts (limit line, one point per level, the
shared time axis) and the plain-language note that comes with them (RECIST 1.1 sections
3.2.2 and 4.3.3)."""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from api.report.charts import (
    LEFT,
    MARKER_COLOUR,
    ULN_COLOUR,
    chart_span,
    marker_chart_svg,
    marker_charts_svg,
    marker_level,
    sum_chart_svg,
)
from api.report.model import MarkerSeries, ReportData
from api.report.notes import Note, markers_blocking_complete_response, report_notes
from api.report.render import render_html
from measurement.codec import parse_evaluation_request
from measurement.recist import evaluate
from tests.unit.recist_factories import marker as engine_marker
from tests.unit.recist_factories import non_target, request, target
from tests.unit.test_report_factories import (
    BASELINE_DATE,
    MALICIOUS,
    baseline_row,
    follow_up_row,
    lesion,
    marker,
    report,
)

SVG = "{http://www.w3.org/2000/svg}"
FU1 = BASELINE_DATE + datetime.timedelta(days=56)
FU2 = BASELINE_DATE + datetime.timedelta(days=112)
BEFORE = datetime.timedelta(days=2)


def two_follow_ups(*markers: MarkerSeries, fu2_target: str = "PR", fu2_overall: str = "PR",
                   fu2_sum: float = 40.0, non_target_fu2: str = "present",
                   held: tuple[str, ...] = ()) -> ReportData:
    """Baseline 100 mm, FU1 PR, FU2 as given; T1 and one non-target lesion. ``held``: the
    markers the engine says hold back a complete response at FU2 (the engine's own rule
    is tested in tests/unit/test_recist_markers.py)."""
    rows = [baseline_row(100.0),
            follow_up_row("FU1", FU1, 60.0, baseline_mm=100.0, nadir_mm=100.0, overall="PR"),
            replace(follow_up_row("FU2", FU2, fu2_sum, baseline_mm=100.0, nadir_mm=60.0,
                                  overall=fu2_overall, target=fu2_target,
                                  non_target="NON_CR_NON_PD"),
                    markers_holding_back_cr=held)]
    lesions = [lesion("T1", [("BL", 100.0, None), ("FU1", 60.0, None), ("FU2", fu2_sum, None)]),
               lesion("NT1", [("BL", None, "present"), ("FU1", None, "present"),
                              ("FU2", None, non_target_fu2)], kind="non_target")]
    return report(rows, lesions, best="PR", markers=tuple(markers))


def cea(*levels: float, uln: float = 5.0) -> MarkerSeries:
    """CEA tested two days before each scan, one level per timepoint."""
    days = (BASELINE_DATE, FU1, FU2)
    return marker("CEA", [(tp, day - BEFORE, level) for tp, day, level
                          in zip(("BL", "FU1", "FU2"), days, levels, strict=False)], uln=uln)


def root(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def y_scale(svg: ET.Element) -> tuple[float, float]:
    """(y of 0, pixels per unit) from the y-axis tick labels."""
    ticks = [(float(t.text or ""), float(t.get("y", "0")) - 3.5) for t in svg.iter(f"{SVG}text")
             if t.get("text-anchor") == "end" and float(t.get("x", "0")) == LEFT - 6]
    (v0, y0), (v1, y1) = ticks[0], ticks[-1]
    per_unit = (y0 - y1) / (v1 - v0)
    return y0 + v0 * per_unit, per_unit


def texts(svg: ET.Element) -> list[str]:
    return [t.text or "" for t in svg.iter(f"{SVG}text")]


# --- the chart ------------------------------------------------------------------------------


def test_marker_chart_draws_the_limit_as_a_labelled_dashed_line() -> None:
    data = two_follow_ups(cea(18.4, 9.6, 6.1))
    svg = root(marker_chart_svg(data, data.markers[0], "m"))
    zero, per_unit = y_scale(svg)
    (limit,) = [line for line in svg.iter(f"{SVG}line") if line.get("stroke") == ULN_COLOUR]
    assert limit.get("stroke-dasharray") and limit.get("y1") == limit.get("y2")
    assert (zero - float(limit.get("y1", "0"))) / per_unit == pytest.approx(5.0, abs=0.05)
    assert "ULN 5 ng/mL" in texts(svg) and "upper limit of normal" in texts(svg)


def test_marker_chart_has_one_point_per_level_with_its_value() -> None:
    data = two_follow_ups(cea(18.4, 9.6, 6.1))
    svg = root(marker_chart_svg(data, data.markers[0], "m"))
    zero, per_unit = y_scale(svg)
    circles = [c for c in svg.iter(f"{SVG}circle") if c.get("fill") == MARKER_COLOUR]
    levels = [(zero - float(c.get("cy", "0"))) / per_unit for c in circles]
    assert levels == pytest.approx([18.4, 9.6, 6.1], abs=0.05)
    assert {"18.4", "9.6", "6.1"} <= set(texts(svg))
    (line,) = [p for p in svg.iter(f"{SVG}polyline") if p.get("stroke") == MARKER_COLOUR]
    assert len((line.get("points") or "").split()) == 3


def test_levels_of_a_scan_line_up_with_it_and_other_tests_keep_their_date() -> None:
    """Tests for a scan sit at the scan's date (their own date written under the value);
    a test that belongs to no scan sits at its own date, also in the sum chart's scale."""
    late = FU2 + datetime.timedelta(days=40)
    data = two_follow_ups(marker("CEA", [("BL", BASELINE_DATE - BEFORE, 18.4),
                                         ("FU1", FU1, 9.6), (None, late, 7.0)]))
    assert chart_span(data) == (BASELINE_DATE, late)
    marker_svg = root(marker_chart_svg(data, data.markers[0], "m"))
    sum_svg = root(sum_chart_svg(data))

    def axis_x(svg: ET.Element, day: datetime.date) -> float:
        (x,) = [float(t.get("x", "0")) for t in svg.iter(f"{SVG}text")
                if t.text == day.isoformat()]
        return x

    xs = [float(c.get("cx", "0")) for c in marker_svg.iter(f"{SVG}circle")]
    assert xs[0] == axis_x(marker_svg, BASELINE_DATE) == axis_x(sum_svg, BASELINE_DATE)
    assert xs[1] == axis_x(marker_svg, FU1) == axis_x(sum_svg, FU1)
    assert axis_x(marker_svg, FU2) == axis_x(sum_svg, FU2) < xs[2]
    labels = texts(marker_svg)
    # The baseline test was two days before its scan; the late one has no scan on its day.
    assert f"test {(BASELINE_DATE - BEFORE).isoformat()}" in labels
    assert f"test {late.isoformat()}" in labels
    assert f"test {FU1.isoformat()}" not in labels  # same day as its scan: the axis says it


def test_one_chart_per_marker_and_none_without_markers() -> None:
    ca = marker("CA 19-9", [("BL", BASELINE_DATE, 112.0)], uln=37.0, unit="U/mL")
    data = two_follow_ups(cea(18.4), ca)
    charts = marker_charts_svg(data)
    assert len(charts) == 2
    assert [root(svg).get("id") for svg in charts] == ["marker-chart-1", "marker-chart-2"]
    assert "ULN 37 U/mL" in texts(root(charts[1]))
    assert marker_charts_svg(two_follow_ups()) == ()


def test_a_marker_without_levels_says_so() -> None:
    data = two_follow_ups(MarkerSeries("AFP", "ng/mL", 8.0, ()))
    svg = marker_chart_svg(data, data.markers[0], "m")
    assert "No level of AFP was recorded." in svg
    root(svg)


@pytest.mark.parametrize(("levels", "uln"), [((0.0, 0.0), 5e-324), ((5e-324,), 5e-324),
                                            ((0.0,), 1e-300)])
def test_levels_too_small_for_a_scale_still_draw(levels: tuple[float, ...], uln: float
                                                 ) -> None:
    """A limit of normal of 5e-324 (schemathesis sent one) made the scale's log10(0)
    fail, and the HTML and PDF reports answered 500."""
    data = two_follow_ups(cea(*levels, uln=uln))
    root(marker_chart_svg(data, data.markers[0], "m"))
    assert "CEA" in render_html(data)


def test_marker_text_is_escaped_and_the_chart_is_deterministic() -> None:
    data = two_follow_ups(marker(MALICIOUS, [("BL", BASELINE_DATE, 3.0)], unit="<i>u</i>"))
    svg = marker_chart_svg(data, data.markers[0], "m")
    assert "<script" not in svg and "<i>" not in svg and "&lt;script&gt;" in svg
    root(svg)
    assert svg == marker_chart_svg(data, data.markers[0], "m")


@pytest.mark.parametrize(("value", "text"), [
    (12000.0, "12000"), (112.0, "112"), (123.45, "123.5"), (35.2, "35.2"), (4.7, "4.7"),
    (5.0, "5"), (0.04, "0.04"), (0.0, "0"), (1.25, "1.25"),
])
def test_marker_levels_read_as_labs_print_them(value: float, text: str) -> None:
    assert marker_level(value) == text


def test_the_html_shows_marker_charts_only_when_there_are_markers() -> None:
    with_markers = render_html(two_follow_ups(cea(18.4, 9.6, 6.1)))
    assert with_markers.count("<svg") == 3 and 'id="marker-chart-1"' in with_markers
    assert with_markers.index('id="sum-chart"') < with_markers.index('id="marker-chart-1"')
    assert "Tumour markers in the blood, on the same time scale" in with_markers
    without = render_html(two_follow_ups())
    assert without.count("<svg") == 2 and "marker-chart" not in without
    assert "Tumour markers in the blood" not in without


# --- the note -------------------------------------------------------------------------------


def marker_notes(data: ReportData) -> list[Note]:
    return [note for note in report_notes(data) if note.kind == "tumour_markers"]


def test_the_marker_note_comes_only_with_markers() -> None:
    assert marker_notes(two_follow_ups()) == []
    (note,) = marker_notes(two_follow_ups(cea(18.4, 9.6, 6.1)))
    notes = report_notes(two_follow_ups(cea(18.4, 9.6, 6.1)))
    assert [n.kind for n in notes][-3:] == ["tumour_markers", "context", "disclaimer"]
    assert not note.caution
    for words in ("this report shows CEA", "reasons other than the cancer", "inflammation",
                  "liver or kidneys", "smoking", "benign", "laboratories",
                  "never decides on its own", "the response in this report comes from the scans",
                  "come back to normal before a response can be called complete",
                  "RECIST 1.1 sections 3.2.2 and 4.3.3"):
        assert words in note.text, words
    assert "This is why" not in note.text  # lesions remain: the marker held nothing back


def test_a_high_marker_when_every_lesion_is_gone_explains_partial_response() -> None:
    """RECIST 1.1 Table 1: target CR with non-target non-CR/non-PD (the marker) is PR."""
    data = two_follow_ups(cea(18.4, 9.6, 7.3), fu2_target="CR", fu2_sum=0.0,
                          non_target_fu2="absent", held=("CEA",))
    held = markers_blocking_complete_response(data, data.timepoints[2])
    assert [(m.name, p.value) for m, p in held] == [("CEA", 7.3)]
    (note,) = marker_notes(data)
    assert (f"On the scan of {FU2.isoformat()} no tumour can be seen any more, but CEA "
            "7.3 ng/mL (normal up to 5 ng/mL) is still above the normal limit") in note.text
    assert "This is why the response there is partial rather than complete." in note.text
    latest = report_notes(data)[0]
    assert latest.title.endswith("PR — partial response")
    assert "can be seen on this scan any more" in latest.text
    assert "not called complete" in latest.text and "has not gone" not in latest.text


@pytest.mark.parametrize(("levels", "held"), [
    ((4.0, 3.0, 7.3), ()),  # normal at baseline: it cannot hold back a complete response
    ((18.4, 9.6, 4.9), ()),  # back to normal
    ((18.4, 9.6, 5.0), ()),  # at the limit is within normal
    # Not tested at that scan: the engine holds CR back (not measured is not normalised),
    # but there is no level to show, so no sentence about one.
    ((18.4, 9.6), ("CEA",)),
])
def test_no_partial_response_sentence_when_the_marker_did_not_hold_it_back(
        levels: tuple[float, ...], held: tuple[str, ...]) -> None:
    data = two_follow_ups(cea(*levels), fu2_target="CR", fu2_sum=0.0, non_target_fu2="absent",
                          fu2_overall="CR" if levels[-1] <= 5.0 or levels[0] <= 5.0 else "PR",
                          held=held)
    assert markers_blocking_complete_response(data, data.timepoints[2]) == []
    (note,) = marker_notes(data)
    assert "This is why" not in note.text


@pytest.mark.parametrize(("fu2_target", "fu2_sum", "non_target_fu2"), [
    ("CR", 0.0, "present"),  # a non-target lesion remains
    ("PR", 40.0, "absent"),  # the target lesion remains
])
def test_no_partial_response_sentence_while_a_lesion_remains(
        fu2_target: str, fu2_sum: float, non_target_fu2: str) -> None:
    # The engine, given the same readings, names no marker (a lesion is why), so the
    # report says nothing of one.
    body = request([target("T1", 100, 60, fu2_sum),
                    non_target("NT1", "present", "present", non_target_fu2)],
                   markers=[engine_marker("CEA", 18.4, 9.6, 7.3)])
    held = evaluate(parse_evaluation_request(body)).timepoints[2].markers_holding_back_cr
    assert held == ()
    data = two_follow_ups(cea(18.4, 9.6, 7.3), fu2_target=fu2_target, fu2_sum=fu2_sum,
                          non_target_fu2=non_target_fu2, held=held)
    assert markers_blocking_complete_response(data, data.timepoints[2]) == []
