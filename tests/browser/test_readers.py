"""A case read twice in the workstation (issue 21): the reader toggle shows the other
reading's calipers read-only (no tool, drag, key or undo changes them, as the versions on the
server show), the readings table says what GET .../readings says, a blinded reviewer sees
neither, and the toggle works from the keyboard."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from measurement.figures import tenths
from tests.browser.conftest import LiveNadir, open_case, sign_in
from tests.browser.helpers import (
    choose_tool,
    client_point,
    go_to_image,
    panel_signed,
    select,
)
from tests.conftest import wait_until

pytestmark = pytest.mark.integration

SECOND = "second-radiologist"
#: Where to keep screenshots of the pages for a person to look at (none when unset).
SHOTS = os.environ.get("NADIR_SCREENSHOTS")


@dataclass(frozen=True)
class ReadTwice:
    primary: dict[str, Any]  # the case as created, with by_label
    review: int  # the review case's id
    review_lesions: dict[str, int]  # label -> the review's lesion id
    timepoints: list[str]


def _call(live: LiveNadir, method: str, path: str, who: str, body: Any = None) -> Any:
    r = httpx.request(method, live.url + path, json=body, headers=live.headers(who), timeout=30)
    assert r.status_code in (200, 201), f"{method} {path}: {r.status_code} {r.text}"
    return r.json()


def _caliper(live: LiveNadir, index: int, label: str, stretch: float = 1.0) -> dict[str, Any]:
    """The known caliper of a lesion at timepoint `index`, its length times `stretch`."""
    known = live.demo.calipers_at[index][label]
    (r0, c0), (r1, c1) = known.endpoints
    mid, half = (c0 + c1) / 2, (c1 - c0) / 2 * stretch
    return {"sop_instance_uid": known.sop_instance_uid,
            "endpoints": [[r0, mid - half], [r1, mid + half]]}


def read_twice(live: LiveNadir, *, sign_review: bool = True) -> ReadTwice:
    """A case read by the radiologist (PR at the follow-up: 40 mm -> 26 mm) and a blinded
    review by a second radiologist who reads the nodule unchanged (SD: 40 -> 34 mm) and marks
    a non-target lesion the first reader did not choose."""
    live.user(SECOND, "radiologist")
    case = live.new_case()
    cid = case["id"]
    tps = [t["id"] for t in case["timepoints"]]
    for i, tp in enumerate(tps):
        for label, lesion in case["by_label"].items():
            _call(live, "PUT", f"/api/v1/cases/{cid}/lesions/{lesion['id']}/measurements/{tp}",
                  "radiologist", _caliper(live, i, label))
    review = _call(live, "POST", f"/api/v1/cases/{cid}/reviews",
                   "radiologist", {"reader": SECOND, "blinded": True})["id"]
    lesions: dict[str, int] = {}
    for label, caliper in live.demo.calipers.items():
        body = {"kind": "target", "organ": caliper.organ, "nodal": caliper.organ == "lymph node"}
        lesions[label] = _call(live, "POST", f"/api/v1/cases/{review}/lesions", SECOND, body)["id"]
    lesions["NT1"] = _call(live, "POST", f"/api/v1/cases/{review}/lesions", SECOND,
                           {"kind": "non_target", "organ": "pleura"})["id"]
    for i, tp in enumerate(tps):
        size = [live.demo.calipers_at[j]["RUL nodule"].diameter_mm for j in (0, i)]
        stretch = size[0] / size[1]
        for label in live.demo.calipers:
            _call(live, "PUT", f"/api/v1/cases/{review}/lesions/{lesions[label]}/measurements/{tp}",
                  SECOND, _caliper(live, i, label, stretch if label == "RUL nodule" else 1.0))
        nodule = live.demo.calipers_at[i]["RUL nodule"]
        _call(live, "PUT", f"/api/v1/cases/{review}/lesions/{lesions['NT1']}/measurements/{tp}",
              SECOND, {"status": "present", "sop_instance_uid": nodule.sop_instance_uid,
                       "point": [30.0, 30.0]})
        if sign_review:
            _call(live, "POST", f"/api/v1/cases/{review}/timepoints/{tp}/sign-off", SECOND, {})
    return ReadTwice(case, review, lesions, tps)


def versions(live: LiveNadir, case_id: int) -> dict[tuple[int, str], int]:
    found = live.get(f"/api/v1/cases/{case_id}/measurements", "admin").json()["measurements"]
    return {(m["lesion_id"], m["timepoint_id"]): m["version"] for m in found}


def writes(page: Any) -> list[str]:
    """Every request of the page that could change something, as it is sent."""
    sent: list[str] = []
    page.on("request", lambda r: sent.append(f"{r.method} {r.url}")
            if r.method in ("PUT", "POST", "PATCH", "DELETE") else None)
    return sent


def pressed(page: Any) -> str:
    return str(page.get_attribute("[data-reader-toggle] button[aria-pressed='true']",
                                  "data-reader"))


def other_calipers(page: Any, side: str, reader: int) -> Any:
    return page.locator(f'[data-viewport="{side}"] svg.reader-calipers g[data-reader="{reader}"]')


def own_calipers_shown(page: Any) -> int:
    """How many of this case's calipers cornerstone draws on the left pane."""
    return int(page.locator('[data-viewport="left"] .viewport-canvas svg '
                            '[data-annotation-uid]').count())


def screenshot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"readers-{name}.png"), full_page=True)


def test_the_other_reading_shows_read_only_and_nothing_changes_it(
        page: Any, live: LiveNadir) -> None:
    world = read_twice(live)
    primary = world.primary["id"]
    nodule = world.primary["by_label"]["RUL nodule"]["id"]
    review_nodule = world.review_lesions["RUL nodule"]
    sign_in(page, live, "radiologist")
    open_case(page, live, primary)
    toggle = page.locator("[data-reader-toggle]")
    toggle.wait_for(state="visible")
    buttons = toggle.locator("button[data-reader]")
    assert [b.get_attribute("data-reader") for b in buttons.all()] \
        == [str(primary), str(world.review), "all"]
    assert pressed(page) == str(primary)
    select(page, nodule)
    z = live.demo.baseline.lesion_center_patient_mm("RUL nodule")[2]
    go_to_image(page, "left", live.demo.calipers["RUL nodule"].sop_instance_uid, z)
    wait_until(lambda: own_calipers_shown(page) > 0, timeout=60)
    assert other_calipers(page, "left", world.review).count() == 0

    # The review's reading alone: its calipers, dashed and named, and none of this case's.
    page.click(f'[data-reader-toggle] button[data-reader="{world.review}"]')
    assert pressed(page) == str(world.review)
    drawn = other_calipers(page, "left", world.review)
    wait_until(lambda: drawn.count() == 2, timeout=60)  # the nodule and the non-target point
    label = page.locator(f'[data-viewport="left"] svg.reader-calipers g[data-reader='
                         f'"{world.review}"][data-lesion-id="{review_nodule}"]').text_content()
    assert label.startswith(f"{SECOND}: T") and "mm" in label
    assert own_calipers_shown(page) == 0
    assert f"readers={world.review}" in page.url
    screenshot(page, "review-only")

    # Nothing changes it: the caliper tool over it, a drag along and across it, keys, undo.
    before = {primary: versions(live, primary), world.review: versions(live, world.review)}
    sent = writes(page)
    choose_tool(page, "caliper")
    assert "read-only" in page.locator(".tool-advice").inner_text()
    assert page.get_attribute('[data-viewport="left"]', "data-primary-action") == "none"
    review_caliper = _caliper(live, 0, "RUL nodule")
    (r0, c0), (r1, c1) = review_caliper["endpoints"]
    for start, end in (((r0, c0), (r0 + 20, c0 - 15)), ((r1, c1), (r1, c1 + 25)),
                       ((r0 - 10, (c0 + c1) / 2), (r0 + 10, (c0 + c1) / 2))):
        a, b = client_point(page, "left", *start), client_point(page, "left", *end)
        page.mouse.move(*a)
        page.mouse.down()
        page.mouse.move(*b, steps=8)
        page.mouse.up()
        page.mouse.click(*a)
    for key in ("Delete", "Backspace", "Control+z", "Control+y", "Escape"):
        page.keyboard.press(key)
    # Back to this case's reading: one drag that does save, so every earlier write was sent.
    page.keyboard.press("r")  # all readings
    assert pressed(page) == "all"
    page.keyboard.press("r")  # this case's again
    assert pressed(page) == str(primary)
    select(page, nodule)
    choose_tool(page, "caliper")
    a, b = client_point(page, "left", r0 - 30, c0), client_point(page, "left", r0 - 30, c1)
    # Playwright reports the page's requests in the order they were sent.
    with page.expect_request(lambda r: r.method == "PUT"):
        page.mouse.move(*a)
        page.mouse.down()
        page.mouse.move(*b, steps=8)
        page.mouse.up()
    wait_until(lambda: versions(live, primary) != before[primary], timeout=60)
    assert [w for w in sent if "/measurements/" in w] == [
        f"PUT {live.url}/api/v1/cases/{primary}/lesions/{nodule}/measurements/"
        f"{world.timepoints[0]}"], sent
    assert [w for w in sent if f"/cases/{world.review}" in w] == []
    assert versions(live, world.review) == before[world.review]
    after = versions(live, primary)
    assert {k for k, v in before[primary].items() if after[k] != v} \
        == {(nodule, world.timepoints[0])}


def test_the_readings_table_says_what_the_api_says(page: Any, live: LiveNadir) -> None:
    world = read_twice(live)
    primary = world.primary["id"]
    follow_up = world.timepoints[1]
    sign_in(page, live, "specialist")
    open_case(page, live, primary)
    table = page.locator(".readings-panel .readings-table")
    table.wait_for()
    check_table(page, live.get(f"/api/v1/cases/{primary}/readings", "specialist").json())
    body = page.locator(f'.readings-table tbody[data-timepoint-id="{follow_up}"]')
    assert body.get_attribute("data-agree") == "false"
    assert "awaiting adjudication" in body.locator("tr.final").inner_text()
    page.locator(".readings-panel").scroll_into_view_if_needed()
    screenshot(page, "table-pending")

    # An adjudicator chooses the review: the table says so once the page reads it again.
    _call(live, "POST", f"/api/v1/cases/{primary}/adjudication", "admin",
          {"timepoint_id": follow_up, "chosen_case_id": world.review,
           "reason": "the nodule did not shrink"})
    page.reload()
    table.wait_for()
    readings = live.get(f"/api/v1/cases/{primary}/readings", "specialist").json()
    check_table(page, readings)
    final = body.locator("tr.final")
    assert final.get_attribute("data-source") == "adjudicated"
    assert "adjudicated by admin-user" in final.inner_text()
    assert "the nodule did not shrink" in final.inner_text()


def check_table(page: Any, readings: dict[str, Any]) -> None:
    """Every cell of the readings table against the API's answer; missing shows as —."""
    [review] = readings["reviews"]

    def mm(v: float | None) -> str:
        return "—" if v is None else f"{tenths(v)} mm"

    def pct(v: float | None) -> str:
        return "—" if v is None else f"{panel_signed(v)} %"

    for f in readings["final"]:
        body = page.locator(f'.readings-table tbody[data-timepoint-id="{f["timepoint_id"]}"]')
        [row] = [t for t in review["timepoints"] if t["timepoint_id"] == f["timepoint_id"]]
        agree = "null" if row["agree"] is None else str(row["agree"]).lower()
        assert body.get_attribute("data-agree") == agree
        for part in ("primary", "review"):
            r = row[part]
            cells = body.locator(f'tr[data-reader="{r["case_id"]}"]')
            assert cells.get_attribute("data-role") == part
            got = {k: cells.locator(f'td[data-field="{k}"]').inner_text().strip()
                   for k in ("sum_mm", "change_from_baseline_pct", "change_from_nadir_pct",
                             "overall_response")}
            assert got == {"sum_mm": mm(r["sum_mm"]),
                           "change_from_baseline_pct": pct(r["change_from_baseline_pct"]),
                           "change_from_nadir_pct": pct(r["change_from_nadir_pct"]),
                           "overall_response": r["overall_response"] or "—"}, (part, got, r)
        final = body.locator("tr.final")
        assert final.get_attribute("data-source") == f["source"]
        assert (f["overall_response"] or "—") in final.inner_text()
    lesions = page.locator(f'.review-readings[data-reader="{review["review_case_id"]}"]')
    matched = lesions.locator("tr[data-match]")
    assert matched.count() == len(review["lesions"]["matched"]) > 0
    for i, m in enumerate(review["lesions"]["matched"]):
        d = m["difference_mm"]
        text = "—" if d is None else f"{panel_signed(d)} mm"
        assert matched.nth(i).locator('td[data-field="difference_mm"]').inner_text() == text
    assert lesions.locator('tr[data-only="review"]').count() \
        == len(review["lesions"]["review_only"]) > 0
    assert lesions.locator('tr[data-only="primary"]').count() \
        == len(review["lesions"]["primary_only"])


def test_a_blinded_reviewer_sees_neither_until_signed_off(page: Any, live: LiveNadir) -> None:
    world = read_twice(live, sign_review=False)
    primary = world.primary["id"]
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live, SECOND)
    open_case(page, live, world.review)
    # The page has done what it does once open (its event stream follows the case).
    page.wait_for_selector('body[data-live="on"]')
    assert page.locator("[data-reader-toggle]").is_hidden()
    assert page.locator(".readings-panel").is_hidden()
    assert page.locator("svg.reader-calipers g").count() == 0
    # R does nothing and nothing of the primary case is asked for.
    page.keyboard.press("r")
    assert not [u for u in asked if f"/api/v1/cases/{primary}" in u], asked
    assert errors == []
    screenshot(page, "blinded")

    # Signed off everywhere: the blind is lifted, and the primary's reading is offered.
    for tp in world.timepoints:
        _call(live, "POST", f"/api/v1/cases/{world.review}/timepoints/{tp}/sign-off", SECOND, {})
    open_case(page, live, world.review)
    page.locator("[data-reader-toggle]").wait_for(state="visible")
    assert [b.get_attribute("data-reader") for b in
            page.locator("[data-reader-toggle] button").all()] \
        == [str(world.review), str(primary), "all"]
    assert page.locator(".readings-panel .readings-table").is_visible()
    assert errors == []


def test_the_toggle_works_from_the_keyboard(page: Any, live: LiveNadir) -> None:
    world = read_twice(live)
    primary = world.primary["id"]
    sign_in(page, live, "admin")
    open_case(page, live, primary)
    page.locator("[data-reader-toggle]").wait_for(state="visible")
    z = live.demo.baseline.lesion_center_patient_mm("RUL nodule")[2]
    go_to_image(page, "left", live.demo.calipers["RUL nodule"].sop_instance_uid, z)
    # Tab reaches the buttons; Space and Enter press them.
    page.focus(f'[data-reader-toggle] button[data-reader="{primary}"]')
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.reader") == str(world.review)
    page.keyboard.press("Space")
    assert pressed(page) == str(world.review)
    wait_until(lambda: other_calipers(page, "left", world.review).count() == 2, timeout=60)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert pressed(page) == "all"
    # R, over a pane, goes round: this case's, the review's, all.
    page.locator('[data-viewport="left"]').hover()
    page.keyboard.press("r")
    assert pressed(page) == str(primary)
    assert other_calipers(page, "left", world.review).count() == 0
    page.keyboard.press("R")
    assert pressed(page) == str(world.review)
    # The choice is kept in the address: a reload shows the same reading.
    page.reload()
    page.locator("[data-reader-toggle]").wait_for(state="visible")
    wait_until(lambda: pressed(page) == str(world.review), timeout=60)
