"""The workstation on an enhanced multi-frame CT (issue 20): the demo pair whose baseline thin
series is one Legacy Converted Enhanced CT object made by highdicom from the generator's
60 slices. The reader scrolls it frame by frame, linked to the single-frame follow-up,
sees the same pixels as the single-frame slices, and measures on a frame."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from imaging.geometry import caliper_length_mm
from tests.browser.conftest import LiveNadir, push_demo_pair, serving, sign_in
from tests.browser.helpers import (
    attr,
    choose_tool,
    drag,
    go_to_image,
    hover,
    measurement,
    position,
    press,
    select,
)
from tests.conftest import wait_until
from tests.multiframe_data import enhanced_ct, frame_of

pytestmark = pytest.mark.integration
SHOTS = Path(tempfile.gettempdir()) / "nadir-screenshots"


@pytest.fixture(scope="module")
def mf_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveNadir, Any]]:
    made: dict[str, Any] = {}

    def convert(slices: list[Any]) -> list[Any]:
        made["slices"] = slices
        made["enhanced"] = enhanced_ct(slices, series_number=102)
        return [made["enhanced"]]

    with serving(tmp_path_factory.mktemp("browser-multiframe"),
                 lambda pacs: push_demo_pair(pacs, baseline_thin=convert)) as nadir:
        yield nadir, made


def open_thin(page: Any, live: LiveNadir, case_id: int, enhanced: Any) -> None:
    """Open the case on the thin series: the converted one on the left, its pair right."""
    page.goto(f"{live.url}/cases/{case_id}?left_series={enhanced.SeriesInstanceUID}"
              f"&right_series={live.demo.thin_series['followup']}")
    for side in ("left", "right"):
        page.wait_for_selector(f'[data-viewport="{side}"][data-ready="true"]')


def test_an_enhanced_ct_scrolls_frame_by_frame_linked_to_the_single_frame_follow_up(
        page: Any, mf_live: tuple[LiveNadir, Any]) -> None:
    live, made = mf_live
    enhanced = made["enhanced"]
    case = live.new_case()
    sign_in(page, live)
    open_thin(page, live, case["id"], enhanced)
    assert attr(page, "left", "series-uid") == str(enhanced.SeriesInstanceUID)
    assert attr(page, "left", "sop-instance-uid") == str(enhanced.SOPInstanceUID)
    assert attr(page, "right", "series-uid") == live.demo.thin_series["followup"]
    thickness = live.demo.slice_thickness_mm
    hover(page, "left")
    seen = {attr(page, "left", "frame")}
    for key in ["ArrowDown"] * 4 + ["ArrowUp"]:
        before = position(page, "left")
        press(page, "left", key)
        assert attr(page, "left", "sop-instance-uid") == str(enhanced.SOPInstanceUID)
        assert abs(abs(position(page, "left") - before) - thickness) < 0.01, key
        seen.add(attr(page, "left", "frame"))

        def followed() -> bool:
            target = position(page, "left")
            if attr(page, "right", "sync") == "registration":
                shift = live.demo.followup.table_position_mm - live.demo.baseline.table_position_mm
                return abs(position(page, "right") - (target + shift)) <= thickness + 2.0
            return abs(position(page, "right") - target) <= thickness

        wait_until(followed, timeout=60)
    assert len(seen) == 5 and all(f.isdigit() for f in seen)
    # Each frame shows the pixels of the slice it was converted from (modality values).
    known = live.demo.calipers["RUL nodule"]
    frame = frame_of(enhanced, known.sop_instance_uid)
    source = next(ds for ds in made["slices"] if ds.SOPInstanceUID == known.sop_instance_uid)
    go_to_image(page, "left", str(enhanced.SOPInstanceUID), float(source.ImagePositionPatient[2]),
                frame)
    expected = source.pixel_array * float(source.RescaleSlope) + float(source.RescaleIntercept)
    for row, column in ((128, 128), (121, 70), (10, 10), (200, 40)):
        shown = page.evaluate("([r, c]) => window.nadirReview.pixel('left', r, c)", [row, column])
        assert shown["rescaled"] and shown["value"] == expected[row, column], (row, column)


def test_a_caliper_on_a_frame_names_it_and_measures_as_on_the_single_frame_slice(
        page: Any, mf_live: tuple[LiveNadir, Any]) -> None:
    live, made = mf_live
    enhanced = made["enhanced"]
    case = live.new_case()
    lesion = case["by_label"]["RUL nodule"]
    known = live.demo.calipers["RUL nodule"]
    source = next(ds for ds in made["slices"] if ds.SOPInstanceUID == known.sop_instance_uid)
    frame = frame_of(enhanced, known.sop_instance_uid)
    baseline = case["timepoints"][0]["id"]
    sign_in(page, live)
    open_thin(page, live, case["id"], enhanced)
    select(page, lesion["id"])
    choose_tool(page, "caliper")
    go_to_image(page, "left", str(enhanced.SOPInstanceUID), float(source.ImagePositionPatient[2]),
                frame)
    drag(page, "left", known.endpoints[0], known.endpoints[1])
    stored = wait_until(lambda: measurement(live, case["id"], lesion["id"], baseline), timeout=60)
    assert stored["sop_instance_uid"] == str(enhanced.SOPInstanceUID)
    assert stored["frame"] == frame, stored
    assert abs(stored["length_mm"] - known.diameter_mm) <= 1.0, stored
    # The same endpoints on the single-frame slice measure the same (its Pixel Spacing).
    (r1, c1), (r2, c2) = stored["endpoints"]
    single = caliper_length_mm((r1, c1), (r2, c2), tuple(float(v) for v in source.PixelSpacing))
    assert abs(stored["length_mm"] - single) <= 0.1
    # The address keeps the frame: a reload opens the same frame with the caliper on it.
    wait_until(lambda: f"left_frame={frame}" in page.url, timeout=60)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "multiframe-caliper.png"))
    page.reload()
    page.wait_for_selector('[data-viewport="left"][data-ready="true"]')
    wait_until(lambda: attr(page, "left", "frame") == str(frame), timeout=60)
    assert attr(page, "left", "sop-instance-uid") == str(enhanced.SOPInstanceUID)
