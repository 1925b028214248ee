"""Finding one's way in the workstation: who is signed in, three timepoints, the slice
scrollbar, the series thumbnails, the keyboard help and the layout on smaller screens.

The module's Nadir holds three studies of the demo patient: the baseline, a partial response
and a progression by a new lung nodule."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import THIN_SLICES, LiveNadir, open_case, sign_in
from tests.browser.helpers import attr, hover, httpx_put, panel_matches_server, position, press
from tests.conftest import wait_until

pytestmark = pytest.mark.integration
DEMO_TIMEPOINTS = 3


def test_the_header_names_the_user_and_role_from_me_without_probing(
        page: Any, live: LiveNadir) -> None:
    asked: list[tuple[str, str]] = []
    page.on("request", lambda request: asked.append((request.method, request.url)))
    for role in ("radiologist", "specialist"):
        asked.clear()
        sign_in(page, live, role)
        who = page.locator("header.top .signed-in[data-user-role]")
        who.wait_for()
        assert who.get_attribute("data-user-role") == role
        assert who.get_attribute("data-user-name") == f"{role}-user"
        assert f"{role}-user" in who.inner_text() and role in who.inner_text()
        page.locator("section.patient").first.wait_for()
        paths = [(method, url.removeprefix(live.url)) for method, url in asked]
        assert ("GET", "/api/v1/me") in paths
        # The role is no longer worked out by an empty POST and a read of the audit log.
        assert not [p for p in paths if p[0] != "GET" or p[1].startswith("/api/v1/audit")], paths
        page.click("button.sign-out")
        page.wait_for_url(f"{live.url}/login")


def _scrollbar(page: Any, side: str) -> Any:
    return page.locator(f'[data-scrollbar="{side}"]')


def _now(page: Any, side: str) -> int:
    return int(_scrollbar(page, side).get_attribute("aria-valuenow"))


def test_the_scrollbar_moves_the_pane_by_click_and_drag(page: Any, live: LiveNadir) -> None:
    case = live.new_case()
    sign_in(page, live)
    open_case(page, live, case["id"])
    bar = _scrollbar(page, "left")
    assert bar.get_attribute("role") == "scrollbar"
    assert int(bar.get_attribute("aria-valuemax")) == THIN_SLICES
    start = attr(page, "left", "sop-instance-uid")
    assert _now(page, "left") == int(attr(page, "left", "image-index")) + 1
    box = bar.bounding_box()
    # A click near the top: the first images, head end of the series.
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + 2)
    wait_until(lambda: attr(page, "left", "sop-instance-uid") != start, timeout=60)
    wait_until(lambda: _now(page, "left") == 1, timeout=60)
    top_z = position(page, "left")
    assert attr(page, "left", "image-index") == "0"
    # A drag to the bottom: the last image, and the linked pane follows it down.
    right_before = position(page, "right")
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.3)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] + 40, steps=10)
    page.mouse.up()
    wait_until(lambda: _now(page, "left") == THIN_SLICES, timeout=60)
    wait_until(lambda: attr(page, "left", "image-index") == str(THIN_SLICES - 1), timeout=60)
    assert position(page, "left") < top_z - 60  # 59 slices of 1.25 mm further down
    wait_until(lambda: position(page, "right") < right_before, timeout=60)
    # The wheel over the pane keeps the scrollbar in step.
    hover(page, "left")
    press(page, "left", "ArrowUp")
    assert _now(page, "left") == THIN_SLICES - 1


def test_a_thumbnail_switches_the_panes_series(page: Any, live: LiveNadir) -> None:
    case = live.new_case()
    sign_in(page, live)
    open_case(page, live, case["id"])
    for side in ("left", "right"):
        shown = attr(page, side, "series-uid")
        strip = page.locator(f'[data-series-strip="{side}"] [data-series-thumbnail]')
        strip.first.wait_for()
        uids = [str(t.get_attribute("data-series-uid")) for t in strip.all()]
        assert shown in uids and len(uids) >= 2
        pressed = page.locator(f'[data-series-strip="{side}"] [data-series-thumbnail]'
                               '[aria-pressed="true"]')
        assert pressed.get_attribute("data-series-uid") == shown
        # Each thumbnail is an image rendered by Orthanc through the proxy.
        page.wait_for_function(
            "side => [...document.querySelectorAll(`[data-series-strip=${side}] img`)]"
            ".every((i) => i.complete && i.naturalWidth > 0)", arg=side)
        other = next(uid for uid in uids if uid != shown)
        before_sop = attr(page, side, "sop-instance-uid")
        page.click(f'[data-series-strip="{side}"] [data-series-uid="{other}"]')
        wait_until(lambda: attr(page, side, "series-uid") == other, timeout=60)  # noqa: B023
        wait_until(lambda: attr(page, side, "sop-instance-uid") != before_sop,  # noqa: B023
                   timeout=60)
        assert page.locator(f'[data-series-strip="{side}"] [data-series-uid="{other}"]') \
            .get_attribute("aria-pressed") == "true"
        # The image shown belongs to that series: it is in the series Orthanc lists.
        study = attr(page, side, "timepoint-id")
        listed = live.get(f"/dicom-web/studies/{study}/series/{other}/instances").json()
        assert attr(page, side, "sop-instance-uid") in {
            i["00080018"]["Value"][0] for i in listed}
        assert int(_scrollbar(page, side).get_attribute("aria-valuemax")) == len(listed)


def _boxes_apart(a: Any, b: Any) -> bool:
    return (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
            or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (1024, 768)])
def test_panes_panel_and_overlays_do_not_overlap(
        page: Any, live: LiveNadir, width: int, height: int) -> None:
    case = live.new_case()
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page, live)
    open_case(page, live, case["id"])
    left, right = (page.locator(f'[data-viewport="{s}"]').bounding_box() for s in ("left", "right"))
    assert min(left["width"], right["width"]) > 380 and min(left["height"], right["height"]) > 300
    side = page.locator("aside.side")
    toggle = page.locator("[data-drawer-toggle]")
    if width < 1100:
        # Folded into a drawer: off the screen until opened, then over the right pane.
        assert toggle.is_visible() and not side.is_visible()
        toggle.click()
        side.locator(".response-table").wait_for(state="visible")
        assert toggle.get_attribute("aria-expanded") == "true"
        toggle.click()
        side.wait_for(state="hidden")
    else:
        assert not toggle.is_visible()
    panel = side.bounding_box()
    for pane in (left, right):
        assert _boxes_apart(pane, panel) or not side.is_visible(), (pane, panel)
        assert pane["x"] >= 0 and pane["x"] + pane["width"] <= width
    assert _boxes_apart(left, right)
    for s in ("left", "right"):
        items = page.locator(f'[data-viewport="{s}"] .overlay-corner, '
                             f'[data-viewport="{s}"] .overlay-edge').all()
        boxes = [(i.get_attribute("class"), i.bounding_box()) for i in items
                 if i.inner_text().strip()]
        assert len(boxes) >= 6
        for n, (name_a, a) in enumerate(boxes):
            for name_b, b in boxes[n + 1:]:
                assert _boxes_apart(a, b), (s, name_a, name_b, a, b)


def test_question_mark_lists_every_key_and_a_focused_pane_takes_them(
        page: Any, live: LiveNadir) -> None:
    case = live.new_case()
    sign_in(page, live)
    open_case(page, live, case["id"])
    page.mouse.move(5, 5)  # over neither pane
    page.keyboard.press("?")
    help_box = page.locator("dialog[data-key-help]")
    help_box.wait_for(state="visible")
    text = help_box.inner_text()
    for key in ("W", "C", "Z", "Home", "End", "Space", "Ctrl + Z", "Esc"):
        assert key in text, key
    page.keyboard.press("Escape")
    help_box.wait_for(state="hidden")
    page.click('button[data-action="keys"]')
    help_box.wait_for(state="visible")
    page.keyboard.press("Escape")
    help_box.wait_for(state="hidden")
    # Focus the right pane without the pointer over it: the keys move that pane.
    page.focus('[data-viewport="right"]')
    page.mouse.move(5, 5)
    before = attr(page, "right", "sop-instance-uid")
    page.keyboard.press("End")
    wait_until(lambda: attr(page, "right", "sop-instance-uid") != before, timeout=60)
    count = int(_scrollbar(page, "right").get_attribute("aria-valuemax"))
    wait_until(lambda: _now(page, "right") == count, timeout=60)
    page.keyboard.press("Home")
    wait_until(lambda: _now(page, "right") == 1, timeout=60)
    # Space plays cine on the focused pane; pressed again, it stops.
    page.keyboard.press("Space")
    wait_until(lambda: _now(page, "right") >= 4, timeout=60)
    assert page.get_attribute('button[data-cine="right"]', "aria-pressed") == "true"
    page.keyboard.press("Space")
    assert page.get_attribute('button[data-cine="right"]', "aria-pressed") == "false"
    stopped = _now(page, "right")
    page.wait_for_timeout(600)  # six frames at 10 fps, had it not stopped
    assert _now(page, "right") in (stopped, stopped + 1)


def test_three_timepoints_show_in_columns_and_rows_equal_to_the_server(
        page: Any, live: LiveNadir) -> None:
    case = live.new_case()
    tps = [tp["id"] for tp in case["timepoints"]]
    assert len(tps) == 3
    for label, lesion in case["by_label"].items():
        for index, tp in enumerate(tps):
            known = live.demo.calipers_at[index][label]
            r = httpx_put(live, f"/api/v1/cases/{case['id']}/lesions/{lesion['id']}"
                                f"/measurements/{tp}",
                          {"sop_instance_uid": known.sop_instance_uid,
                           "endpoints": [list(p) for p in known.endpoints]})
            assert r.status_code == 200, r.text
    sign_in(page, live)
    open_case(page, live, case["id"])
    page.locator(".response-table thead th").nth(3).wait_for()
    headers = page.locator(".response-table thead th").all_inner_texts()
    assert [h.strip() for h in headers[1:]] == ["Baseline", "Follow-up 1", "Follow-up 2"]
    panel_matches_server(page, live, case["id"])
    for lesion in case["by_label"].values():
        cells = page.locator(f'[data-lesion-id="{lesion["id"]}"] .cell')
        wait_until(lambda: "mm" in cells.last.inner_text(), timeout=60)  # noqa: B023
        assert cells.count() == 3
        assert all("mm" in t for t in cells.all_inner_texts())
    # The pickers choose any two of the three for the panes.
    options = page.locator('select[aria-label="Left timepoint"] option').all_inner_texts()
    assert len(options) == 3
    page.select_option('select[aria-label="Left timepoint"]', tps[1])
    wait_until(lambda: attr(page, "left", "timepoint-id") == tps[1], timeout=60)
    page.wait_for_selector('[data-viewport="left"][data-ready="true"]')
