"""Factories for the api.report tests: key-image PNGs, timepoint rows, lesions, whole reports.

PNGs are drawn here with Pillow (a grey square with a yellow caliper line). Sums and changes
are derived from the lesion sizes the way the engine derives them, so that the numbers a
test looks for in the report are consistent. The tests at the end check the factories and
the validation of the report's model types.
"""

from __future__ import annotations

import dataclasses
import datetime
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from api.report.errors import InvalidReportData
from api.report.model import (
    KeyImageView,
    LesionCell,
    LesionRow,
    MarkerPoint,
    MarkerSeries,
    ReportData,
    SeriesPairView,
    TimepointRow,
)
from imaging.render import Picture

BASELINE_DATE = datetime.date(2026, 1, 12)
GENERATED_AT = datetime.datetime(2026, 5, 4, 9, 30, tzinfo=datetime.UTC)
SIGNED_AT = datetime.datetime(2026, 1, 14, 16, 5, tzinfo=datetime.UTC)
CALIPER_RGB = (255, 210, 0)
MALICIOUS = "<script>alert('x')</script>"


def picture(size: int = 48, *, shade: int = 110, seed: int = 0, noise: float = 0.0
            ) -> Picture:
    """A grey square, optionally noisy, with a yellow diagonal caliper line."""
    rng = np.random.default_rng(seed)
    grey = np.full((size, size), float(shade)) + rng.normal(0.0, noise, (size, size))
    image = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8), mode="L").convert("RGB")
    ImageDraw.Draw(image).line([(size * 0.2, size * 0.7), (size * 0.8, size * 0.3)],
                               fill=CALIPER_RGB, width=max(1, size // 64))
    return Picture(image)


def key_image(timepoint_id: str, day: datetime.date, length_mm: float | None, *,
              size: int = 48, error: str | None = None, seed: int = 0) -> KeyImageView:
    if error is not None:
        return KeyImageView(timepoint_id, day, f"1.2.3.{seed}", None, None, length_mm, "",
                            None, error)
    return KeyImageView(timepoint_id, day, f"1.2.3.{seed}", picture(size, seed=seed),
                        picture(max(16, size * 2 // 3), shade=90, seed=seed + 1), length_mm,
                        "lung", 10.0, None)


def baseline_row(sum_mm: float | None, *, day: datetime.date = BASELINE_DATE,
                 row_id: str = "BL") -> TimepointRow:
    return TimepointRow(row_id, day, "CT thorax-abdomen", sum_mm, None, None, None, None,
                        None, None, None, None, None, "dr.baseline", SIGNED_AT)


def follow_up_row(row_id: str, day: datetime.date, sum_mm: float | None, *,
                  baseline_mm: float | None, nadir_mm: float | None, overall: str | None,
                  target: str | None = None, non_target: str | None = "NA",
                  new_lesions: bool | None = False, mixed: bool | None = False,
                  signed_off_by: str | None = "dr.followup") -> TimepointRow:
    """A follow-up row; changes are computed from the sums as the engine does."""
    def pct(reference: float | None) -> float | None:
        if sum_mm is None or not reference:
            return None
        return round((sum_mm - reference) * 100 / reference, 1)

    from_nadir_mm = None if sum_mm is None or nadir_mm is None else round(sum_mm - nadir_mm, 1)
    return TimepointRow(
        row_id, day, "CT thorax-abdomen", sum_mm, nadir_mm, pct(baseline_mm), pct(nadir_mm),
        from_nadir_mm, target if target is not None else overall, non_target, new_lesions,
        overall, mixed, signed_off_by, SIGNED_AT + (day - BASELINE_DATE) if signed_off_by
        else None)


def lesion(label: str, readings: Sequence[tuple[str, float | None, str | None]], *,
           kind: str = "target", organ: str = "liver", nodal: bool = False,
           images: Sequence[KeyImageView] = ()) -> LesionRow:
    cells = tuple(LesionCell(tp, value, status) for tp, value, status in readings)
    first, last = cells[0].value_mm, cells[-1].value_mm
    change = (round((last - first) * 100 / first, 1)
              if len(cells) > 1 and first and last is not None else None)
    return LesionRow(label, kind, organ, nodal, cells, change, tuple(images))


def marker(name: str, levels: Sequence[tuple[str | None, datetime.date, float]], *,
           uln: float = 5.0, unit: str = "ng/mL") -> MarkerSeries:
    """A tumour marker with (timepoint id or None, day of the test, level) readings."""
    return MarkerSeries(name, unit, uln, tuple(MarkerPoint(day, level, tp)
                                               for tp, day, level in levels))


def report(timepoints: Sequence[TimepointRow], lesions: Sequence[LesionRow] = (), *,
           criteria: str = "RECIST1.1", best: str | None = None,
           warnings: Sequence[tuple[str, str]] = (), **overrides: Any) -> ReportData:
    fields: dict[str, Any] = dict(
        patient_id="P-001", patient_name="DOE^JANE", birth_date=datetime.date(1960, 2, 1),
        sex="F", case_id="7", criteria=criteria, generated_at=GENERATED_AT,
        software_version="0.1.0-test", timepoints=tuple(timepoints),
        best_overall_response=best, warnings=tuple(warnings),
        pairs=(SeriesPairView("#2 CT 1.25 mm venous (300 images)",
                              "#3 CT 1.25 mm venous (298 images)", 0.91, "auto"),),
        lesions=tuple(lesions))
    fields.update(overrides)
    return ReportData(**fields)


def sized_case(sizes: Sequence[Sequence[float]], overall: Sequence[str], *,
               days_apart: int = 56, criteria: str = "RECIST1.1", image_px: int = 48,
               broken: tuple[int, int] | None = None, organs: Sequence[str] = (),
               mixed: Sequence[bool] = (), best: str | None = None) -> ReportData:
    """Target lesions with ``sizes[lesion][timepoint]`` mm and a key image at each timepoint.

    ``overall`` holds the overall response of each follow-up; ``broken`` = (lesion,
    timepoint) makes that image an error.
    """
    count = len(sizes[0])
    ids = ["BL"] + [f"FU{i}" for i in range(1, count)]
    days = [BASELINE_DATE + datetime.timedelta(days=days_apart * i) for i in range(count)]
    sums = [round(sum(les[t] for les in sizes), 1) for t in range(count)]
    rows = [baseline_row(sums[0])]
    nadir = sums[0]
    for t in range(1, count):
        rows.append(follow_up_row(ids[t], days[t], sums[t], baseline_mm=sums[0], nadir_mm=nadir,
                                  overall=overall[t - 1],
                                  target=overall[t - 1].removeprefix("i").replace("UPD", "PD"),
                                  mixed=mixed[t - 1] if mixed else False))
        nadir = min(nadir, sums[t])
    lesions = []
    for n, les in enumerate(sizes):
        images = [key_image(ids[t], days[t], les[t], size=image_px, seed=10 * n + t,
                            error=("cannot decode the pixel data of SOP Instance "
                                   f"1.2.3.{10 * n + t}: JPEG 2000 fragment truncated")
                            if broken == (n, t) else None)
                  for t in range(count)]
        lesions.append(lesion(f"T{n + 1}", [(ids[t], les[t], None) for t in range(count)],
                              organ=organs[n] if n < len(organs) else "liver", images=images))
    return report(rows, lesions, criteria=criteria, best=best or overall[0])


# --- the factories and the model's validation ----------------------------------------------


def test_sized_case_is_consistent() -> None:
    data = sized_case([[30.0, 20.0], [20.0, 14.0]], ["PR"])
    assert data.baseline.sum_mm == 50.0 and data.timepoints[1].sum_mm == 34.0
    assert data.timepoints[1].change_from_baseline_pct == -32.0
    assert [les.label for les in data.targets] == ["T1", "T2"]
    crop = data.lesions[0].images[0].crop
    assert crop is not None and Image.open(io.BytesIO(crop.png())).size == (48, 48)


BAD_FIELDS: list[tuple[type, dict[str, Any], str]] = [
    (LesionCell, {"value_mm": -1.0}, "LesionCell.value_mm"),
    (LesionCell, {"value_mm": float("nan")}, "LesionCell.value_mm"),
    (LesionCell, {"status": "shrunk"}, "LesionCell.status"),
    (LesionCell, {"timepoint_id": ""}, "LesionCell.timepoint_id"),
    (KeyImageView, {"crop": b"\x89PNG\r\n\x1a\n"}, "KeyImageView.crop"),
    (KeyImageView, {"error": "broken"}, "KeyImageView.error"),
    (KeyImageView, {"crop": None}, "KeyImageView.crop"),
    (KeyImageView, {"scale_bar_mm": 0.0}, "KeyImageView.scale_bar_mm"),
    (KeyImageView, {"timepoint_date": datetime.datetime(2026, 1, 1)},
     "KeyImageView.timepoint_date"),
    (LesionRow, {"kind": "suspicious"}, "LesionRow.kind"),
    (LesionRow, {"cells": [LesionCell("BL", 1.0, None)]}, "LesionRow.cells"),
    (LesionRow, {"nodal": "no"}, "LesionRow.nodal"),
    (TimepointRow, {"overall_response": "GOOD"}, "TimepointRow.overall_response"),
    (TimepointRow, {"new_lesions": "yes"}, "TimepointRow.new_lesions"),
    (TimepointRow, {"sum_mm": True}, "TimepointRow.sum_mm"),
    (TimepointRow, {"signed_off_at": datetime.date(2026, 1, 1)}, "TimepointRow.signed_off_at"),
    (SeriesPairView, {"score": 1.5}, "SeriesPairView.score"),
    (SeriesPairView, {"source": "guess"}, "SeriesPairView.source"),
    (MarkerPoint, {"value": -0.1}, "MarkerPoint.value"),
    (MarkerPoint, {"value": float("inf")}, "MarkerPoint.value"),
    (MarkerPoint, {"value": None}, "MarkerPoint.value"),
    (MarkerPoint, {"value": True}, "MarkerPoint.value"),
    (MarkerPoint, {"date": datetime.datetime(2026, 1, 1, 8, 0)}, "MarkerPoint.date"),
    (MarkerPoint, {"date": "2026-01-01"}, "MarkerPoint.date"),
    (MarkerPoint, {"timepoint_id": " "}, "MarkerPoint.timepoint_id"),
    (MarkerSeries, {"name": ""}, "MarkerSeries.name"),
    (MarkerSeries, {"unit": None}, "MarkerSeries.unit"),
    (MarkerSeries, {"upper_limit_normal": 0.0}, "MarkerSeries.upper_limit_normal"),
    (MarkerSeries, {"upper_limit_normal": -5.0}, "MarkerSeries.upper_limit_normal"),
    (MarkerSeries, {"upper_limit_normal": float("nan")}, "MarkerSeries.upper_limit_normal"),
    (MarkerSeries, {"upper_limit_normal": None}, "MarkerSeries.upper_limit_normal"),
    (MarkerSeries, {"points": [MarkerPoint(BASELINE_DATE, 1.0, "BL")]}, "MarkerSeries.points"),
    (MarkerSeries, {"points": (MarkerPoint(BASELINE_DATE + datetime.timedelta(days=1), 1.0),
                               MarkerPoint(BASELINE_DATE, 2.0))}, "MarkerSeries.points"),
    (MarkerSeries, {"points": (MarkerPoint(BASELINE_DATE, 1.0, "BL"),
                               MarkerPoint(BASELINE_DATE, 2.0, "BL"))}, "MarkerSeries.points"),
]


@pytest.mark.parametrize(("kind", "change", "field"), BAD_FIELDS,
                         ids=[f for _, _, f in BAD_FIELDS])
def test_model_types_refuse_bad_values_naming_the_field(kind: type, change: dict[str, Any],
                                                        field: str) -> None:
    valid: dict[type, Any] = {
        LesionCell: LesionCell("BL", 10.0, None),
        KeyImageView: key_image("BL", BASELINE_DATE, 10.0),
        LesionRow: lesion("T1", [("BL", 10.0, None)]),
        TimepointRow: follow_up_row("FU1", BASELINE_DATE, 10.0, baseline_mm=10.0, nadir_mm=10.0,
                                    overall="SD"),
        SeriesPairView: SeriesPairView("a", "b", 0.5, "auto"),
        MarkerPoint: MarkerPoint(BASELINE_DATE, 4.2, "BL"),
        MarkerSeries: marker("CEA", [("BL", BASELINE_DATE, 4.2)]),
    }
    with pytest.raises(InvalidReportData) as caught:
        dataclasses.replace(valid[kind], **change)
    assert str(caught.value).startswith(field)
    assert caught.value.field == field.split(".")[1]


def test_report_data_refuses_inconsistent_timepoints_and_lesions() -> None:
    fu = follow_up_row("FU1", BASELINE_DATE + datetime.timedelta(days=50), 8.0,
                       baseline_mm=10.0, nadir_mm=10.0, overall="SD")
    with pytest.raises(InvalidReportData, match="ReportData.timepoints must hold"):
        report([])
    with pytest.raises(InvalidReportData, match="date order"):
        report([baseline_row(10.0, day=fu.date + datetime.timedelta(days=1)), fu])
    with pytest.raises(InvalidReportData, match=r"\[0\] is the baseline"):
        report([fu])
    with pytest.raises(InvalidReportData, match="duplicate ids"):
        report([baseline_row(10.0), dataclasses.replace(fu, id="BL")])
    with pytest.raises(InvalidReportData, match="unknown timepoints \\['FU9'\\]"):
        report([baseline_row(10.0), fu], [lesion("T1", [("BL", 10.0, None), ("FU9", 8.0, None)])])
    with pytest.raises(InvalidReportData, match="duplicate labels"):
        report([baseline_row(10.0)], [lesion("T1", [("BL", 5.0, None)])] * 2)
    with pytest.raises(InvalidReportData, match="ReportData.criteria"):
        report([baseline_row(10.0)], criteria="WHO")
    with pytest.raises(InvalidReportData, match="ReportData.warnings"):
        report([baseline_row(10.0)], warnings=[("TOO_MANY_TARGETS", "")])


def test_an_image_error_keeps_the_window_name_optional() -> None:
    view = key_image("BL", BASELINE_DATE, 12.0, error="image 1.2.3 could not be shown")
    assert view.crop is None and view.thumbnail is None and view.window_name == ""


def test_markers_default_to_none_and_are_checked_against_the_report() -> None:
    assert report([baseline_row(10.0)]).markers == ()
    cea = marker("CEA", [("BL", BASELINE_DATE, 12.0)])
    with pytest.raises(InvalidReportData, match="ReportData.markers has duplicate names"):
        report([baseline_row(10.0)], markers=(cea, cea))
    with pytest.raises(InvalidReportData, match=r"'CEA' refers to unknown timepoints \['FU9'\]"):
        report([baseline_row(10.0)], markers=(marker("CEA", [("FU9", BASELINE_DATE, 1.0)]),))
    with pytest.raises(InvalidReportData, match="ReportData.markers must be a tuple of "
                                                "MarkerSeries"):
        report([baseline_row(10.0)], markers=[cea])
    # Two tests on one day, a test without a scan and an empty series are all valid.
    both = MarkerSeries("CA 19-9", "", 37.0, (MarkerPoint(BASELINE_DATE, 40.0, "BL"),
                                              MarkerPoint(BASELINE_DATE, 41.0)))
    empty = MarkerSeries("AFP", "ng/mL", 8.0, ())
    assert report([baseline_row(10.0)], markers=(both, empty)).markers == (both, empty)
