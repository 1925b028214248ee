"""Inline SVG charts of the report: the sum of diameters over time, per-lesion change, and
one small chart per tumour marker with its upper limit of normal.

Pure and deterministic: the same :class:`ReportData` always gives the same SVG text (fixed
number formats, no ids from counters or clocks). Every piece of text is escaped. The RECIST
thresholds are computed exactly on :class:`~decimal.Decimal` mm by :func:`pr_threshold_mm`
and :func:`pd_threshold_mm` (RECIST 1.1 section 4.3.1) and only turned into float for
drawing. All charts share one time axis (:func:`chart_span`), so that charts drawn one
under the other line their dates up.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from api.report.model import LesionCell, MarkerPoint, MarkerSeries, ReportData
from measurement.figures import tenths
from measurement.model import TOO_SMALL_MM, mm
from measurement.rules import PD_MIN_INCREASE_MM, PD_MIN_INCREASE_PCT, PR_MIN_DECREASE_PCT

_HUNDRED = Decimal(100)
# RECIST 1.1 section 4.3.1 PR: "at least a 30 % decrease in the sum of diameters of target
# lesions, taking as reference the baseline sum diameters": the sum must reach 70 % of it.
PR_FRACTION = (_HUNDRED - PR_MIN_DECREASE_PCT) / _HUNDRED
# RECIST 1.1 section 4.3.1 PD: "at least a 20 % increase ... taking as reference the
# smallest sum on study", and "an absolute increase of at least 5 mm".
PD_FRACTION = (_HUNDRED + PD_MIN_INCREASE_PCT) / _HUNDRED
# The per-lesion chart's guide lines, at the sum's PR and PD percentages.
PR_GUIDE_PCT = -float(PR_MIN_DECREASE_PCT)
PD_GUIDE_PCT = float(PD_MIN_INCREASE_PCT)

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 58, 150, 20, 48  # margins around the plot area
FONT = "Nimbus Sans, Helvetica, Arial, DejaVu Sans, sans-serif"  # as the report's CSS
INK, GRID, MUTED = "#1f2933", "#d9dee3", "#5f6b76"
SUM_COLOUR, PR_COLOUR, PD_COLOUR = "#1f3a5f", "#2f6f4f", "#9b2c2c"
# Muted colours, each with its own dash pattern so the lines stay apart in grey print.
SERIES_STYLES = (
    ("#1f3a5f", ""), ("#9c5a1a", "6 3"), ("#2f6f4f", "2 3"), ("#6b3a7a", "8 3 2 3"),
    ("#7a6a1f", "4 2"), ("#3a6f7a", "10 3"), ("#7a2f3a", "3 2 3 6"), ("#4a4a4a", "1 2"),
)
LINE_PX = 12.0  # height of one line of labels beside the plot
POINT_LABEL_HALF_PX = 30.0  # half the width of a point's "123.4 mm" label
MAX_SERIES_LABEL_CHARS = 13  # what fits in the right margin at 11 px bold
SERIES_LABEL_OFFSET_PX = 56.0  # lesion labels sit right of the guide lines' labels
# Tumour-marker charts: shorter, with a heading line above the plot.
MARKER_HEIGHT, MARKER_TOP = 210, 34
MARKER_COLOUR, ULN_COLOUR = "#6b3a7a", "#8a4b0f"
MARKER_HEADROOM = 1.3  # room above the highest level (or the limit) for the value labels
# Width of a digit at 11 px and at 9 px (Helvetica: 0.556 em), for the labels' boxes.
CHAR_PX, SMALL_CHAR_PX = 6.2, 5.0


def pr_threshold_mm(baseline_sum_mm: float | Decimal) -> Decimal:
    """The sum at or below which targets respond partially: 70 % of the baseline sum.

    RECIST 1.1 section 4.3.1 (PR: >= 30 % decrease from the baseline sum). Exact.
    """
    return _exact(baseline_sum_mm) * PR_FRACTION


def pd_threshold_mm(nadir_mm: float | Decimal) -> Decimal:
    """The sum at or above which targets progress: max(1.2 x nadir, nadir + 5 mm).

    RECIST 1.1 section 4.3.1 (PD: >= 20 % and >= 5 mm over the smallest sum on study,
    baseline included). Exact: a nadir of 20 mm gives 25 mm, a nadir of 100 mm 120 mm.
    """
    nadir = _exact(nadir_mm)
    return max(nadir * PD_FRACTION, nadir + PD_MIN_INCREASE_MM)


@dataclass(frozen=True)
class ThresholdStep:
    """The PD threshold that applies at one follow-up, from the nadir before it."""

    timepoint_id: str
    date: datetime.date
    nadir_mm: Decimal
    threshold_mm: Decimal


def pd_steps(data: ReportData) -> tuple[ThresholdStep, ...]:
    """The PD threshold at each follow-up whose row carries the engine's nadir.

    The engine's ``nadir_mm`` at a follow-up is the smallest complete sum of the earlier
    timepoints, baseline included (RECIST 1.1 section 4.3.1), i.e. the reference of that
    follow-up's PD test.
    """
    return tuple(
        ThresholdStep(row.id, row.date, _exact(row.nadir_mm), pd_threshold_mm(row.nadir_mm))
        for row in data.follow_ups if row.nadir_mm is not None
    )


@dataclass(frozen=True)
class LesionSeries:
    """Percent change of one target lesion from its own baseline size, per timepoint."""

    label: str
    points: tuple[tuple[datetime.date, float], ...]


def lesion_change_series(data: ReportData) -> tuple[LesionSeries, ...]:
    """Per target lesion, the change from its baseline size at each timepoint it was sized.

    A lesion too small to measure counts 5 mm (RECIST 1.1 section 4.3.2) and a disappeared
    one 0 mm; unevaluated readings leave a gap. A lesion without a positive baseline size
    has no percentage and is left out.
    """
    series = []
    for lesion in data.targets:
        sizes = [(row.date, _size_mm(lesion.cell(row.id))) for row in data.timepoints]
        base = sizes[0][1]
        if base is None or base == 0:
            continue
        points = tuple((day, float((size - base) * _HUNDRED / base))
                       for day, size in sizes if size is not None)
        series.append(LesionSeries(lesion.label, points))
    return tuple(series)


def chart_span(data: ReportData) -> tuple[datetime.date, datetime.date]:
    """First and last day of the time axis every chart of the report shares: the scans,
    and tumour-marker tests that belong to no scan (they may come before or after)."""
    days = [row.date for row in data.timepoints]
    days += [marker_day(data, point) for marker in data.markers for point in marker.points]
    return min(days), max(days)


def marker_day(data: ReportData, point: MarkerPoint) -> datetime.date:
    """Where a marker level sits on the time axis: at its scan's date when it belongs to a
    scan (blood is often taken a few days before), else at the day of the test."""
    if point.timepoint_id is None:
        return point.date
    return next(row.date for row in data.timepoints if row.id == point.timepoint_id)


def sum_chart_svg(data: ReportData) -> str:
    """The sum of target diameters over time with the PR line and the PD step line."""
    title = "Sum of target-lesion diameters over time"
    points = [(row, float(row.sum_mm)) for row in data.timepoints if row.sum_mm is not None]
    baseline_sum = data.baseline.sum_mm
    if not data.baseline.complete:
        return _empty_svg("sum-chart", title,
                          "The baseline is not yet measured: there is no sum to chart yet.")
    if not points or baseline_sum is None:
        return _empty_svg("sum-chart", title, "No target lesions: there is no sum to chart.")
    pr_line = float(pr_threshold_mm(baseline_sum))
    steps = pd_steps(data)
    top = max([v for _, v in points] + [pr_line] + [float(s.threshold_mm) for s in steps])
    frame = _Frame(*chart_span(data), 0.0, top * 1.12)
    parts = _open_svg("sum-chart", title,
                      "Sum of diameters in mm at each timepoint, with the partial-response "
                      "and progression thresholds of RECIST 1.1 section 4.3.1.")
    parts += frame.axes("mm", [(row.date, data.timepoint_label(row.id))
                               for row in data.timepoints])
    parts += _guide(frame, pr_line, PR_COLOUR, "6 4")
    parts += _pd_step_line(frame, data, steps)
    parts += _threshold_labels(frame, pr_line, steps)
    # A follow-up sum with a lesion unevaluated covers the measured lesions only (the engine
    # then gives no change figures): shown hollow and "partial", left out of the line.
    complete = [(row, value) for row, value in points
                if row is data.baseline or row.change_from_nadir_mm is not None]
    path = " ".join(f"{frame.x(row.date)},{frame.y(value)}" for row, value in complete)
    parts.append(f'<polyline points="{path}" fill="none" stroke="{SUM_COLOUR}" '
                 'stroke-width="2.2"/>')
    segments = [(float(frame.left), float(frame.right), frame.y_value(pr_line))]
    segments += _step_segments(frame, data, steps)
    for row, value in points:
        code = row.overall_response or ("baseline" if row is data.baseline else "")
        partial = (row, value) not in complete
        text = f"{_num(value)} mm{' (partial)' if partial else ''}"
        parts += _annotated_point(frame, row.date, value, (text, code), segments, hollow=partial)
    parts.append("</svg>")
    return "\n".join(parts)


def lesion_chart_svg(data: ReportData) -> str:
    """Percent change of each target lesion from its own baseline, one labelled line each."""
    title = "Change of each target lesion from its baseline size"
    series = lesion_change_series(data)
    if not series:
        return _empty_svg("lesion-chart", title,
                          "No target lesion with a baseline size: nothing to chart.")
    values = [pct for s in series for _, pct in s.points]
    low, high = min(values + [PR_GUIDE_PCT]), max(values + [PD_GUIDE_PCT])
    pad = max(10.0, (high - low) * 0.08)
    frame = _Frame(*chart_span(data), low - pad, high + pad)
    parts = _open_svg("lesion-chart", title,
                      "Percent change of each target lesion from its baseline size, with the "
                      "0 %, -30 % and +20 % guide lines.")
    parts += frame.axes("%", [(row.date, data.timepoint_label(row.id))
                              for row in data.timepoints])
    parts += _guide(frame, 0.0, INK, "", "0 %")
    parts += _guide(frame, PR_GUIDE_PCT, PR_COLOUR, "5 4", "-30 %")
    parts += _guide(frame, PD_GUIDE_PCT, PD_COLOUR, "5 4", "+20 %")
    ends: list[tuple[float, float, str, str]] = []
    for index, one in enumerate(series):
        colour, dash = SERIES_STYLES[index % len(SERIES_STYLES)]
        parts += _series(frame, one, colour, dash)
        last_day, last_pct = one.points[-1]
        ends.append((frame.x_value(last_day), frame.y_value(last_pct), one.label, colour))
    parts += _series_labels(frame, ends)
    parts.append("</svg>")
    return "\n".join(parts)


def marker_charts_svg(data: ReportData) -> tuple[str, ...]:
    """One small chart per tumour marker, in the order of ``data.markers`` (none without)."""
    return tuple(marker_chart_svg(data, marker, f"marker-chart-{n + 1}")
                 for n, marker in enumerate(data.markers))


def marker_chart_svg(data: ReportData, marker: MarkerSeries, ident: str) -> str:
    """A tumour marker's levels over time, each with its value, and the upper limit of
    normal as a labelled dashed line (RECIST 1.1 sections 3.2.2, 4.3.3: a marker above it
    at baseline must come back to normal for a complete response)."""
    unit = f" {marker.unit}" if marker.unit else ""
    title = f"{marker.name}{f' ({marker.unit})' if marker.unit else ''} over time"
    if not marker.points:
        return _empty_svg(ident, title, f"No level of {marker.name} was recorded.",
                          MARKER_HEIGHT)
    uln = float(marker.upper_limit_normal)
    top = max([p.value for p in marker.points] + [uln])
    frame = _Frame(*chart_span(data), 0.0, top * MARKER_HEADROOM, height=MARKER_HEIGHT,
                   top=MARKER_TOP)
    parts = _open_svg(ident, title, f"Level of {marker.name} in the blood at each test, "
                                    f"with its upper limit of normal ({marker_level(uln)}{unit}).",
                      MARKER_HEIGHT)
    parts.append(f'<text x="{LEFT}" y="16" fill="{INK}" font-weight="bold">'
                 f'{escape(marker.name)}<tspan font-weight="normal" fill="{MUTED}">'
                 f'{escape(f" · {marker.unit}" if marker.unit else "")} · tumour marker in '
                 "the blood</tspan></text>")
    parts += frame.axes("", [(row.date, data.timepoint_label(row.id))
                             for row in data.timepoints])
    parts += _guide(frame, uln, ULN_COLOUR, "7 4")
    parts += _margin_labels(frame, [(frame.y_value(uln), ULN_COLOUR,
                                     (f"ULN {marker_level(uln)}{unit}", "upper limit of normal"))])
    spots = [(frame.x_value(marker_day(data, p)), frame.y_value(p.value), p)
             for p in marker.points]
    path = " ".join(f"{_num(x)},{_num(y)}" for x, y, _ in spots)
    parts.append(f'<polyline points="{path}" fill="none" stroke="{MARKER_COLOUR}" '
                 'stroke-width="1.8"/>')
    scan_days = {row.date for row in data.timepoints}
    obstacles = _Obstacles(frame, [(x, y) for x, y, _ in spots], frame.y_value(uln))
    for x, y, point in spots:
        parts.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="3.4" fill="{MARKER_COLOUR}"/>')
        # A test made on another day than the scan it belongs to, or on a day without a
        # scan, says its own date: the axis names only the scans' dates.
        off_axis = point.date != marker_day(data, point) or point.date not in scan_days
        lines = [marker_level(point.value)]
        lines += [f"test {point.date.isoformat()}"] if off_axis else []
        anchor, text_x, top_y = obstacles.place(x, y, lines)
        for n, line in enumerate(lines):
            parts.append(_text(text_x, top_y + 9 + n * LINE_PX, line, anchor=anchor,
                               fill=INK if n == 0 else MUTED,
                               weight="bold" if n == 0 else "normal", size=11 if n == 0 else 9))
    parts.append("</svg>")
    return "\n".join(parts)


class _Obstacles:
    """Where a marker's value labels may go: clear of the limit line, the series' line and
    the labels already placed, and inside the plot. Above the point is preferred, then
    below, then above or below to one side."""

    def __init__(self, frame: _Frame, spots: Sequence[tuple[float, float]],
                 limit_y: float) -> None:
        self.frame, self.limit_y = frame, limit_y
        self.segments = list(zip(spots, spots[1:], strict=False))
        # The y-axis tick labels and the limit's label in the right margin.
        self.boxes: list[tuple[float, float, float, float]] = [
            (frame.left - 6 - len(_tick(t)) * CHAR_PX, frame.left - 2,
             frame.y_value(t) - 8, frame.y_value(t) + 5) for t in frame.ticks]
        self.boxes.append((frame.right + 2, WIDTH, limit_y - LINE_PX, limit_y + 2 * LINE_PX))

    def place(self, x: float, y: float, lines: Sequence[str]) -> tuple[str, float, float]:
        """(text-anchor, x of the text, top edge of the block) of the label of (x, y)."""
        height = LINE_PX * len(lines)
        width = max(len(line) * (SMALL_CHAR_PX if n else CHAR_PX)
                    for n, line in enumerate(lines)) + 4
        above, below = y - 6 - height, y + 6
        candidates = [("middle", x, top) for top in (above, below)]
        candidates += [(anchor, x + shift, top) for top in (above, below)
                       for anchor, shift in (("start", 2.0), ("end", -2.0))]
        costs = [self._cost(*self._box(anchor, tx, top, width, height))
                 for anchor, tx, top in candidates]
        anchor, tx, top = candidates[costs.index(min(costs))]
        self.boxes.append(self._box(anchor, tx, top, width, height))
        return anchor, tx, top

    @staticmethod
    def _box(anchor: str, x: float, top: float, width: float,
             height: float) -> tuple[float, float, float, float]:
        left = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
        return left, left + width, top, top + height

    def _cost(self, x0: float, x1: float, y0: float, y1: float) -> int:
        cost = 0
        if y0 - 2 <= self.limit_y <= y1 + 2:
            cost += 2
        if y0 < self.frame.top - 14 or y1 > self.frame.bottom - 1 or x0 < 2 or x1 > WIDTH - 2:
            cost += 3
        cost += 4 * sum(1 for bx0, bx1, by0, by1 in self.boxes
                        if x0 < bx1 and bx0 < x1 and y0 < by1 and by0 < y1)
        cost += sum(1 for a, b in self.segments if _crosses(a, b, (x0, x1, y0 - 1, y1 + 1)))
        return cost


def _crosses(a: tuple[float, float], b: tuple[float, float],
             box: tuple[float, float, float, float]) -> bool:
    """Whether the segment from a to b passes through the box (Liang-Barsky clipping)."""
    (ax, ay), (bx, by) = a, b
    x0, x1, y0, y1 = box
    low, high = 0.0, 1.0
    for p, q in ((ax - bx, ax - x0), (bx - ax, x1 - ax), (ay - by, ay - y0), (by - ay, y1 - ay)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            low = max(low, t)
        else:
            high = min(high, t)
        if low > high:
            return False
    return True


def _series_labels(frame: _Frame, ends: Sequence[tuple[float, float, str, str]]) -> list[str]:
    """Each lesion's label right of the plot, joined to its line's last point by a leader."""
    x_label = frame.right + SERIES_LABEL_OFFSET_PX
    tops = _spread([y - LINE_PX / 2 for _, y, _, _ in ends], [LINE_PX] * len(ends),
                   frame.height)
    parts = []
    for (x_end, y_end, label, colour), top in zip(ends, tops, strict=True):
        parts.append(f'<polyline points="{_num(x_end + 4)},{_num(y_end)} '
                     f'{_num(x_label - 10)},{_num(y_end)} {_num(x_label - 3)},'
                     f'{_num(top + LINE_PX / 2)}" fill="none" stroke="{colour}" '
                     'stroke-width="0.7"/>')
        parts.append(_text(x_label, top + LINE_PX / 2 + 3.5, _shorten(label), fill=colour,
                           weight="bold"))
    return parts


class _Frame:
    """Maps dates (proportionally) and values onto the plot area."""

    def __init__(self, first: datetime.date, last: datetime.date, low: float,
                 high: float, *, height: int = HEIGHT, top: int = TOP) -> None:
        self.left, self.right = LEFT, WIDTH - RIGHT
        self.top, self.bottom, self.height = top, height - BOTTOM, height
        self.first, self.span_days = first, max((last - first).days, 0)
        self.ticks = _nice_ticks(low, high)
        self.low, self.high = self.ticks[0], self.ticks[-1]

    def x(self, day: datetime.date) -> str:
        return _num(self.x_value(day))

    def x_value(self, day: datetime.date) -> float:
        # A margin of 6 % on each side keeps the first and last points off the axes.
        inner = (self.right - self.left) * 0.88
        start = self.left + (self.right - self.left) * 0.06
        if self.span_days == 0:
            return start + inner / 2
        return start + inner * (day - self.first).days / self.span_days

    def y(self, value: float) -> str:
        return _num(self.y_value(value))

    def y_value(self, value: float) -> float:
        share = (value - self.low) / (self.high - self.low)
        return self.bottom - share * (self.bottom - self.top)

    def axes(self, unit: str, dates: Sequence[tuple[datetime.date, str]]) -> list[str]:
        parts = []
        for tick in self.ticks:
            y = self.y(tick)
            parts.append(f'<line x1="{self.left}" y1="{y}" x2="{self.right}" y2="{y}" '
                         f'stroke="{GRID}" stroke-width="0.6"/>')
            parts.append(_text(self.left - 6, self.y_value(tick) + 3.5, _tick(tick),
                               anchor="end", fill=MUTED))
        if unit:
            parts.append(_text(14, self.top + (self.bottom - self.top) / 2, unit,
                               anchor="middle", fill=MUTED))
        parts.append(f'<line x1="{self.left}" y1="{self.bottom}" x2="{self.right}" '
                     f'y2="{self.bottom}" stroke="{INK}" stroke-width="0.8"/>')
        for day, name in dates:
            x = self.x_value(day)
            parts.append(f'<line x1="{_num(x)}" y1="{self.bottom}" x2="{_num(x)}" '
                         f'y2="{self.bottom + 4}" stroke="{INK}" stroke-width="0.8"/>')
            parts.append(_text(x, self.bottom + 16, day.isoformat(), anchor="middle"))
            parts.append(_text(x, self.bottom + 29, name, anchor="middle", fill=MUTED))
        return parts


def _pd_step_line(frame: _Frame, data: ReportData,
                  steps: Sequence[ThresholdStep]) -> list[str]:
    """Each follow-up's PD threshold, held from the previous timepoint up to it."""
    if not steps:
        return []
    corners: list[str] = []
    parts: list[str] = []
    segments = _step_segments(frame, data, steps)
    for n, (step, (x0, x1, y)) in enumerate(zip(steps, segments, strict=True)):
        corners += [f"{_num(x0)},{_num(y)}", f"{_num(x1)},{_num(y)}"]
        # Each new level is written above the middle of its step, clear of the points'
        # labels; the last one is named in the margin.
        if n < len(steps) - 1 and (n == 0 or step.threshold_mm != steps[n - 1].threshold_mm):
            parts.append(_text((x0 + x1) / 2, y - 4, _num(float(step.threshold_mm)),
                               anchor="middle", fill=PD_COLOUR, size=9))
    line = (f'<polyline points="{" ".join(corners)}" fill="none" stroke="{PD_COLOUR}" '
            'stroke-width="1.4" stroke-dasharray="2 3"/>')
    return [line, *parts]


def _threshold_labels(frame: _Frame, pr_line: float,
                      steps: Sequence[ThresholdStep]) -> list[str]:
    blocks: list[tuple[float, str, tuple[str, ...]]] = [
        (frame.y_value(pr_line), PR_COLOUR,
         (f"PR {_num(pr_line)} mm", "threshold: 30 % below", "the baseline sum"))]
    if steps:
        level = float(steps[-1].threshold_mm)
        blocks.append((frame.y_value(level), PD_COLOUR,
                       (f"PD {_num(level)} mm", "threshold: +20 % and", ">= 5 mm over nadir")))
    return _margin_labels(frame, blocks)


def _margin_labels(frame: _Frame,
                   blocks: Sequence[tuple[float, str, tuple[str, ...]]]) -> list[str]:
    """Blocks of lines right of the plot, each starting near its line, never overlapping."""
    tops = _spread([y - LINE_PX / 2 for y, _, _ in blocks],
                   [LINE_PX * len(lines) for _, _, lines in blocks], frame.height)
    parts = []
    for (_, colour, lines), top in zip(blocks, tops, strict=True):
        for n, line in enumerate(lines):
            parts.append(_text(frame.right + 6, top + 9 + n * LINE_PX, line, fill=colour,
                               size=9 if n else 10, weight="normal" if n else "bold"))
    return parts


def _guide(frame: _Frame, level: float, colour: str, dash: str, label: str = "") -> list[str]:
    y = frame.y(level)
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    parts = [f'<line x1="{frame.left}" y1="{y}" x2="{frame.right}" y2="{y}" '
             f'stroke="{colour}" stroke-width="1.1"{dash_attr}/>']
    if label:  # inside the plot, left of the first timepoint's points
        parts.append(_text(frame.left + 4, frame.y_value(level) - 3, label, fill=colour, size=9))
    return parts


def _step_segments(frame: _Frame, data: ReportData,
                   steps: Sequence[ThresholdStep]) -> list[tuple[float, float, float]]:
    """(x from, x to, y) of each PD step."""
    ids = [row.id for row in data.timepoints]
    return [(frame.x_value(data.timepoints[ids.index(step.timepoint_id) - 1].date),
             frame.x_value(step.date), frame.y_value(float(step.threshold_mm)))
            for step in steps]


def _annotated_point(frame: _Frame, day: datetime.date, value: float, lines: Sequence[str],
                     avoid: Sequence[tuple[float, float, float]], *,
                     hollow: bool = False) -> list[str]:
    """A point with its lines of text above it, or below when a threshold line is in the way.

    ``avoid`` holds horizontal lines as (x from, x to, y).
    """
    x, y = frame.x_value(day), frame.y_value(value)
    lines = [line for line in lines if line]
    height = LINE_PX * len(lines)
    levels = [level for x0, x1, level in avoid if x0 - POINT_LABEL_HALF_PX <= x
              <= x1 + POINT_LABEL_HALF_PX]
    above, below = y - 6 - height, y + 7  # top edges of the two possible text blocks
    clear = [top for top in (above, below)
             if not any(top - 2 <= level <= top + height + 2 for level in levels)]
    top = clear[0] if clear else above
    fill = 'fill="#ffffff" stroke-width="1.6"' if hollow else f'fill="{SUM_COLOUR}"'
    parts = [f'<circle cx="{_num(x)}" cy="{_num(y)}" r="3.6" {fill} stroke="{SUM_COLOUR}"/>']
    for n, line in enumerate(lines):
        parts.append(_text(x, top + 9 + n * LINE_PX, line, anchor="middle",
                           fill=INK if n == 0 else MUTED, weight="bold" if n == 0 else "normal"))
    return parts


def _series(frame: _Frame, one: LesionSeries, colour: str, dash: str) -> list[str]:
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    path = " ".join(f"{frame.x(day)},{frame.y(pct)}" for day, pct in one.points)
    parts = [f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.6"'
             f'{dash_attr}/>']
    parts += [f'<circle cx="{frame.x(day)}" cy="{frame.y(pct)}" r="2.6" fill="{colour}"/>'
              for day, pct in one.points]
    return parts


def _spread(tops: Sequence[float], heights: Sequence[float], height: int) -> list[float]:
    """Top edges of label blocks near ``tops`` that do not overlap, in the original order."""
    order = sorted(range(len(tops)), key=lambda i: (tops[i], i))
    placed: dict[int, float] = {}
    next_free = 4.0
    for i in order:
        placed[i] = max(tops[i], next_free)
        next_free = placed[i] + heights[i]
    overflow = next_free - (height - 4)
    if overflow > 0:  # pushed past the bottom: shift the whole column up
        placed = {i: y - overflow for i, y in placed.items()}
    return [placed[i] for i in range(len(tops))]


def _open_svg(ident: str, title: str, desc: str, height: int = HEIGHT) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{ident}" '
            f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" '
            f'aria-labelledby="{ident}-title" font-family="{FONT}" font-size="11">',
            f'<title id="{ident}-title">{escape(title)}</title>',
            f"<desc>{escape(desc)}</desc>"]


def _empty_svg(ident: str, title: str, message: str, height: int = HEIGHT) -> str:
    parts = _open_svg(ident, title, message, height)
    parts.append(_text(WIDTH / 2, height / 2, message, anchor="middle", fill=MUTED))
    parts.append("</svg>")
    return "\n".join(parts)


def _text(x: float, y: float, text: str, *, anchor: str = "start", fill: str = INK,
          size: int = 11, weight: str = "normal") -> str:
    extra = f' font-size="{size}"' if size != 11 else ""
    extra += f' font-weight="{weight}"' if weight != "normal" else ""
    return (f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" fill="{fill}"{extra}>'
            f"{escape(text)}</text>")


def _shorten(label: str, limit: int = MAX_SERIES_LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


#: Ticks are printed to 6 decimals; a finer step would print the same number twice.
TICK_RESOLUTION = 1e-6


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 x 10^n apart) covering [low, high]."""
    raw = (high - low) / count
    if not raw >= TICK_RESOLUTION:
        # An empty span, or one finer than the ticks are printed (levels of 5e-324, sent
        # by the fuzzer, made log10(0) below, or ticks all rounded to 0): a unit span.
        high = low + 1.0
        raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value < high + step * 1e-9:
        ticks.append(round(value, 6))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 6))
    return ticks


def _size_mm(cell: LesionCell | None) -> Decimal | None:
    # A lesion merged into another (RECIST 1.1 s4.3.2) has no size of its own there: its
    # 0 mm in the sum is not a shrinking, so its line stops rather than falling to -100 %.
    if cell is None or cell.coalesced_into is not None:
        return None
    if cell.value_mm is not None:
        return _exact(cell.value_mm)
    if cell.status == "too_small":
        return TOO_SMALL_MM
    if cell.status == "disappeared":
        return Decimal(0)
    return None


def _exact(value: float | Decimal) -> Decimal:
    # Floats go through their shortest repr, so 32.1 stays Decimal("32.1").
    return value if isinstance(value, Decimal) else mm(value)


def _num(value: float) -> str:
    return tenths(value)


def _tick(value: float) -> str:
    return f"{value:g}"


def marker_level(value: float) -> str:
    """A marker level as labs print it: 4 significant digits at most, no trailing zeros
    (12000, 35.2, 4.7, 0.04)."""
    if value == 0:
        return "0"
    decimals = min(4, max(0, 3 - math.floor(math.log10(abs(value)))))
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
