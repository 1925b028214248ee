"""Safe reading (issue 18): tools are explicit and only the caliper draws, a save that gets no
answer stays on screen as "not saved" until Retry or Discard. Assertions are on what the
server stored."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import LiveNadir, open_case, sign_in
from tests.browser.helpers import (
    attr,
    choose_tool,
    client_point,
    dialogs_dismissed,
    drag,
    drawn_not_saved,
    go_to_image,
    history,
    hover,
    httpx_put,
    measurement,
    nodule_case,
    press,
    put_known,
    select,
    to_nodule,
    wait_for_note,
)
from tests.conftest import wait_until

pytestmark = pytest.mark.integration


def pressed_tool(page: Any) -> str:
    return str(page.get_attribute('button[data-tool][aria-pressed="true"]', "data-tool"))


def window(page: Any, side: str) -> tuple[float, float]:
    w = page.evaluate("(s) => window.nadirReview.window(s)", side)
    return round(w["width"], 1), round(w["center"], 1)


def on_image(page: Any, side: str, sop_uid: str) -> None:
    page.wait_for_function(f"() => document.querySelector('[data-viewport={side}]').dataset"
                           f".sopInstanceUid === '{sop_uid}'")


def test_a_windowing_drag_on_a_selected_lesion_changes_no_measurement(
        page: Any, live: LiveNadir) -> None:
    nodule = nodule_case(live, measured=True)
    case, lesion, known = nodule.case, nodule.lesion, nodule.known
    stored_before = history(live, case["id"], lesion["id"])
    sign_in(page, live)
    open_case(page, live, case["id"])
    assert pressed_tool(page) == "windowlevel"
    assert attr(page, "left", "active-tool") == "windowlevel"
    select(page, lesion["id"])
    on_image(page, "left", known.sop_instance_uid)
    # Selecting a lesion leaves the tool alone.
    assert pressed_tool(page) == "windowlevel"
    # The gestures that used to overwrite a measurement: across the lesion, and from the end
    # of its caliper. They window the image and the server keeps what it had.
    shown = window(page, "left")
    (r0, c0), (r1, c1) = known.endpoints
    drag(page, "left", (r0, c0), (r1, c1))
    drag(page, "left", (r1, c1), (r1 + 30, c1 + 30))
    wait_until(lambda: window(page, "left") != shown, timeout=60)
    page.wait_for_timeout(1000)
    assert history(live, case["id"], lesion["id"]) == stored_before
    # The caliper tool (key C) draws on the selected lesion, with a crosshair.
    hover(page, "left")
    page.keyboard.press("c")
    assert pressed_tool(page) == "caliper" and attr(page, "right", "active-tool") == "caliper"
    cursor = page.evaluate("getComputedStyle(document.querySelector("
                           "'[data-viewport=left] .viewport-canvas')).cursor")
    assert cursor == "crosshair"
    spacing = live.demo.baseline.pixel_spacing_mm
    drag(page, "left", (r1, c1), (r1, c1 + 4.0 / spacing))
    versions = wait_until(lambda: (v := history(live, case["id"], lesion["id"]))
                          and len(v) == 2 and v, timeout=60)
    assert versions[1]["measurement"]["length_mm"] > versions[0]["measurement"]["length_mm"]
    # Esc: back to window/level, nothing selected.
    page.keyboard.press("Escape")
    assert pressed_tool(page) == "windowlevel"
    assert page.locator('[data-lesion-id][aria-selected="true"]').count() == 0


def cursor(page: Any, side: str) -> str:
    return str(page.evaluate("(s) => getComputedStyle(document.querySelector("
                             "`[data-viewport=${s}] .viewport-canvas`)).cursor", side))


def test_the_caliper_without_a_lesion_says_what_to_do_and_draws_nothing(
        page: Any, live: LiveNadir) -> None:
    nodule = nodule_case(live)
    case, lesion, known = nodule.case, nodule.lesion, nodule.known
    writes: list[str] = []
    page.on("request", lambda req: writes.append(req.url) if req.method == "PUT" else None)
    sign_in(page, live)
    open_case(page, live, case["id"])
    assert cursor(page, "left") != "crosshair"  # window/level
    choose_tool(page, "caliper")
    advice = page.locator(".tool-advice")
    assert advice.is_visible() and "Select a lesion" in advice.inner_text()
    # Nothing to draw for: no crosshair, and a drag draws and stores nothing.
    assert cursor(page, "left") != "crosshair"
    z = live.demo.baseline.lesion_center_patient_mm("RUL nodule")[2]
    go_to_image(page, "left", known.sop_instance_uid, z)
    drag(page, "left", *known.endpoints)
    wait_for_note(page, "Select a lesion")
    assert page.locator(".pending").count() == 0
    page.screenshot(path=os.environ.get("NADIR_SHOTS", "/tmp") + "/caliper-no-lesion.png")
    # A non-target lesion has no caliper either.
    nt = live.post(f"/api/v1/cases/{case['id']}/lesions",
                   {"kind": "non_target", "organ": "pleura", "nodal": False})
    assert nt.status_code == 201, nt.text
    page.locator(f'[data-lesion-id="{nt.json()["id"]}"]').wait_for()
    select(page, nt.json()["id"])
    assert "non-target" in advice.inner_text() and cursor(page, "left") != "crosshair"
    # Selecting a target makes the caliper draw, with a crosshair; the advice goes. The
    # same drag now stores the lesion's first version, and it is the only write: the drag
    # made without a lesion wrote nothing (requests are seen in order).
    select(page, lesion["id"])
    assert not advice.is_visible()
    assert pressed_tool(page) == "caliper" and cursor(page, "left") == "crosshair"
    on_image(page, "left", known.sop_instance_uid)
    drag(page, "left", *known.endpoints)
    wait_until(lambda: len(history(live, case["id"], lesion["id"])) == 1, timeout=60)
    # Playwright hands events over while the page is called: call it until the write is in.
    wait_until(lambda: page.evaluate("true") and writes, timeout=60)
    assert len(writes) == 1 and f"/lesions/{lesion['id']}/" in writes[0]
    other = case["by_label"]["Subcarinal node"]["id"]
    assert history(live, case["id"], other) == []


def test_clicking_a_caliper_selects_its_lesion(page: Any, live: LiveNadir) -> None:
    nodule = nodule_case(live, measured=True)
    case, lesion, known = nodule.case, nodule.lesion, nodule.known
    sign_in(page, live)
    open_case(page, live, case["id"])
    z = live.demo.baseline.lesion_center_patient_mm("RUL nodule")[2]
    go_to_image(page, "left", known.sop_instance_uid, z)
    (r0, c0), (r1, c1) = known.endpoints
    page.mouse.click(*client_point(page, "left", (r0 + r1) / 2, (c0 + c1) / 2))
    item = page.locator(f'[data-lesion-id="{lesion["id"]}"]')
    wait_until(lambda: item.get_attribute("aria-selected") == "true", timeout=60)
    assert pressed_tool(page) == "windowlevel"
    assert len(history(live, case["id"], lesion["id"])) == 1


def test_a_save_without_an_answer_shows_not_saved_and_retry_stores_it(
        page: Any, live: LiveNadir) -> None:
    nodule = nodule_case(live)
    case, baseline, lesion, known = nodule.case, nodule.baseline, nodule.lesion, nodule.known
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live)
    open_case(page, live, case["id"])
    to_nodule(page, live, nodule, "caliper")
    # The first PUT's connection is reset, the second is answered 503, the third never.
    answers = ["reset", "503", "hang"]
    held: list[Any] = []

    def on_put(route: Any) -> None:
        if route.request.method != "PUT" or not answers:
            route.continue_()
            return
        answer = answers.pop(0)
        if answer == "reset":
            route.abort("connectionreset")
        elif answer == "503":
            route.fulfill(status=503, body="Service Unavailable")
        else:
            held.append(route)  # no answer: the page gives up after its time-out

    page.route("**/measurements/**", on_put)
    drag(page, "left", known.endpoints[0], known.endpoints[1])
    row = page.locator(f'[data-lesion-id="{lesion["id"]}"] .save-failed')
    row.wait_for()
    assert "not saved" in row.inner_text()
    badge = page.locator(".caliper-badge")
    assert badge.is_visible() and "not saved" in badge.inner_text()
    assert measurement(live, case["id"], lesion["id"], baseline) is None
    # Retry from the caliper: a server error, still not saved.
    badge.locator("button[data-action=retry]").click()
    wait_until(lambda: "server error 503" in row.inner_text(), timeout=60)
    page.screenshot(path=os.environ.get("NADIR_SHOTS", "/tmp") + "/not-saved.png")
    # Retry from the lesion row: no answer at all; after the time-out it is not saved again.
    row.locator("button[data-action=retry]").click()
    page.locator(f'[data-lesion-id="{lesion["id"]}"] .pending.saving').wait_for()
    wait_until(lambda: "did not answer" in row.inner_text(), timeout=60)
    assert measurement(live, case["id"], lesion["id"], baseline) is None
    row.locator("button[data-action=retry]").click()
    # The route handler passes the new PUT on only during a Playwright call (the sync API):
    # a loaded page may send it after the click returned, so the wait calls the page too.
    stored = wait_until(lambda: page.evaluate("true")
                        and measurement(live, case["id"], lesion["id"], baseline), timeout=60)
    assert abs(stored["length_mm"] - known.diameter_mm) <= 1.0
    page.locator(".save-failed").first.wait_for(state="detached")
    assert errors == []
    for route in held:
        route.abort()


def test_discard_drops_a_change_that_was_not_saved(page: Any, live: LiveNadir) -> None:
    nodule = nodule_case(live)
    case, baseline, lesion = nodule.case, nodule.baseline, nodule.lesion
    sign_in(page, live)
    open_case(page, live, case["id"])
    row = drawn_not_saved(page, live, nodule)
    row.locator("button[data-action=discard]").click()
    row.wait_for(state="detached")
    assert page.locator(".caliper-badge").count() == 0
    assert measurement(live, case["id"], lesion["id"], baseline) is None


@dataclass(frozen=True)
class MeasuredTwice:
    """A nodule's lesion drawn, then lengthened by 4 mm, in the open case."""

    nodule: Any
    versions: Callable[[int], list[Any]]  # waits for the lesion's n versions (its history)
    first: Any  # the first version's reading
    second: Any  # the lengthened one's
    end: tuple[float, float]  # the moved end (row, column)
    step: float  # 4 mm in pixels


def measured_twice(page: Any, live: LiveNadir) -> MeasuredTwice:
    nodule = nodule_case(live)
    case, lesion, known = nodule.case, nodule.lesion, nodule.known
    sign_in(page, live)
    open_case(page, live, case["id"])
    to_nodule(page, live, nodule, "caliper")

    def versions(n: int) -> list[Any]:
        found = wait_until(lambda: (v := history(live, case["id"], lesion["id"]))
                           and len(v) == n and v, timeout=60)
        return list(found)

    drag(page, "left", known.endpoints[0], known.endpoints[1])
    first = versions(1)[0]["measurement"]
    (r1, c1) = known.endpoints[1]
    step = 4.0 / live.demo.baseline.pixel_spacing_mm
    drag(page, "left", (r1, c1), (r1, c1 + step))
    second = versions(2)[1]["measurement"]
    return MeasuredTwice(nodule, versions, first, second, (r1, c1 + step), step)


def test_undo_and_redo_write_new_versions(page: Any, live: LiveNadir) -> None:
    two = measured_twice(page, live)
    case, lesion, versions = two.nodule.case, two.nodule.lesion, two.versions
    first, edited = two.first, two.second

    def ready(button: str) -> None:
        # As a reader sees it: the button is enabled once the page has taken the last
        # change's answer. The server can list a version before the page has taken it.
        page.wait_for_selector(f"button.{button}:not([disabled])", timeout=60_000)

    hover(page, "left")
    ready("undo")
    page.keyboard.press("Control+z")
    undone = versions(3)[2]["measurement"]
    assert undone["endpoints"] == first["endpoints"]
    assert undone["length_mm"] == first["length_mm"]
    ready("redo")
    page.keyboard.press("Control+Shift+z")
    assert versions(4)[3]["measurement"]["endpoints"] == edited["endpoints"]
    page.click("button.undo")
    assert versions(5)[4]["measurement"]["endpoints"] == first["endpoints"]
    ready("redo")
    page.keyboard.press("Control+y")
    assert versions(6)[5]["measurement"]["endpoints"] == edited["endpoints"]
    # Nothing more to redo: the button says so once the page has the redo's answer, and
    # the key writes nothing.
    page.wait_for_selector("button.redo[disabled]", timeout=60_000)
    page.keyboard.press("Control+y")
    page.wait_for_timeout(800)
    assert len(history(live, case["id"], lesion["id"])) == 6


def test_undo_keys_pressed_while_a_change_is_saving_wait_for_it_and_are_each_done(
        page: Any, live: LiveNadir) -> None:
    """Ctrl+Z twice while the last drag's save is still on its way: the first undo takes
    back that drag (not the change before it), the second the one before; neither key is
    lost, and the toolbar says how many wait."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    two = measured_twice(page, live)
    case, lesion, versions = two.nodule.case, two.nodule.lesion, two.versions
    first, second, (r1, c1), step = two.first, two.second, two.end, two.step
    page.wait_for_selector("button.undo:not([disabled])", timeout=60_000)
    # The third length's save is held on its way while both keys are pressed.
    held: list[Any] = []
    page.route("**/measurements/**", lambda route: held.append(route)
               if route.request.method == "PUT" and not held else route.continue_())
    drag(page, "left", (r1, c1), (r1, c1 + step))
    wait_until(lambda: page.evaluate("true") and held, timeout=30)
    hover(page, "left")
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+z")
    waiting = page.locator(".history-waiting")
    waiting.wait_for()
    assert waiting.inner_text() == "2 waiting"
    page.screenshot(path=os.environ.get("NADIR_SHOTS", "/tmp") + "/undo-waiting.png")
    assert len(history(live, case["id"], lesion["id"])) == 2  # nothing written meanwhile
    held[0].continue_()
    page.unroute("**/measurements/**")  # what it intercepts meanwhile goes on its way
    found = versions(5)
    third = found[2]["measurement"]
    assert third["endpoints"] != second["endpoints"]
    assert found[3]["measurement"]["endpoints"] == second["endpoints"]
    assert found[4]["measurement"]["endpoints"] == first["endpoints"]
    waiting.wait_for(state="hidden")
    page.wait_for_selector("button.redo:not([disabled])", timeout=60_000)
    page.wait_for_timeout(500)
    assert len(history(live, case["id"], lesion["id"])) == 5
    assert errors == []


def test_a_reload_keeps_both_images_and_the_selected_lesion(page: Any, live: LiveNadir) -> None:
    nodule = nodule_case(live, measured=True)
    sign_in(page, live)
    open_case(page, live, nodule.case["id"])
    select(page, nodule.lesion["id"])
    on_image(page, "left", nodule.known.sop_instance_uid)
    # The right pane on an image of its own: unlinked, three images further.
    page.click("button.link-toggle")
    hover(page, "right")
    for _ in range(3):
        before = attr(page, "right", "sop-instance-uid")
        page.keyboard.press("ArrowDown")
        page.wait_for_function("(b) => document.querySelector('[data-viewport=right]')"
                               ".dataset.sopInstanceUid !== b", arg=before)
    shown = {side: (attr(page, side, "timepoint-id"), attr(page, side, "series-uid"),
                    attr(page, side, "sop-instance-uid")) for side in ("left", "right")}
    assert live.tokens["radiologist"] not in page.url
    wait_until(lambda: shown["right"][2] in page.url, timeout=60)
    page.reload()
    for side in ("left", "right"):
        page.wait_for_selector(f'[data-viewport="{side}"][data-ready="true"]')
    item = page.locator(f'[data-lesion-id="{nodule.lesion["id"]}"]')
    wait_until(lambda: item.get_attribute("aria-selected") == "true", timeout=60)
    for side in ("left", "right"):
        assert (attr(page, side, "timepoint-id"), attr(page, side, "series-uid"),
                attr(page, side, "sop-instance-uid")) == shown[side], side


CANVAS_PIXEL = ("(s) => { const e = document.querySelector(`[data-viewport=${s}] canvas`);"
                " const d = e.getContext('2d').getImageData(e.width / 2, e.height / 2, 1, 1).data;"
                " return [d[0], d[1], d[2]]; }")


def test_the_window_overlay_shows_the_window_applied_after_scrolling(
        page: Any, live: LiveNadir) -> None:
    case = live.new_case()
    sign_in(page, live)
    open_case(page, live, case["id"])
    hover(page, "left")
    corner = page.locator('[data-viewport="left"] .overlay-corner.top-right')

    def overlay() -> str:
        return " ".join(corner.inner_text().split())

    page.keyboard.press("2")  # mediastinum: W 400 L 40
    wait_until(lambda: overlay() == "W 400 L 40", timeout=60)
    shown = attr(page, "left", "sop-instance-uid")
    press(page, "left", "ArrowDown")
    # The next image is shown (on a loaded machine that can take a while), and its overlay
    # says the window it is drawn in (it said W 1500 L -600 for good before the fix).
    wait_until(lambda: attr(page, "left", "sop-instance-uid") != shown, timeout=60)
    wait_until(lambda: overlay() == "W 400 L 40", timeout=60)
    assert window(page, "left") == (400.0, 40.0)
    # The image is drawn in that window: choosing it again changes no pixel.
    drawn = _settled_pixel(page, "left")
    page.keyboard.press("2")
    page.wait_for_timeout(300)
    assert _settled_pixel(page, "left") == drawn


def _settled_pixel(page: Any, side: str) -> list[int]:
    """The centre pixel once two reads 200 ms apart agree (the canvas has been drawn)."""
    last: list[list[int]] = [page.evaluate(CANVAS_PIXEL, side)]

    def settled() -> bool:
        page.wait_for_timeout(200)
        now = page.evaluate(CANVAS_PIXEL, side)
        same = now == last[-1]
        last.append(now)
        return same

    wait_until(settled, timeout=60)
    return last[-1]


def test_the_amendment_dialog_names_the_timepoint_by_date_and_cancel_works(
        page: Any, live: LiveNadir) -> None:
    nodule = nodule_case(live, measured=True)
    case, baseline = nodule.case, nodule.baseline
    put_known(live, case, "Subcarinal node", baseline)
    r = live.post(f"/api/v1/cases/{case['id']}/timepoints/{baseline}/sign-off", {})
    assert r.status_code == 200, r.text
    sign_in(page, live)
    open_case(page, live, case["id"])
    to_nodule(page, live, nodule, "caliper")
    (r1, c1) = nodule.known.endpoints[1]
    drag(page, "left", (r1, c1), (r1, c1 + 3.0 / live.demo.baseline.pixel_spacing_mm))
    dialog = page.locator("dialog.modal")
    dialog.wait_for()
    text = dialog.inner_text()
    assert "Baseline (15 Jan 2024) is signed off" in text
    assert baseline not in text and "amendment_reason" not in text
    dialog.locator("button[value=cancel]").click()
    dialog.wait_for(state="detached")
    page.wait_for_timeout(500)
    assert len(history(live, case["id"], nodule.lesion["id"])) == 1
    assert page.locator(".pending").count() == 0


def test_a_late_proposal_does_not_move_a_pane_the_reader_is_working_on(
        page: Any, live: LiveNadir) -> None:
    """Selecting a lesion moves the follow-up pane to the registration's proposal; when that
    answer comes after the reader has already scrolled the pane, the pane stays put."""
    nodule = nodule_case(live, measured=True)
    case, lesion = nodule.case, nodule.lesion
    held: list[Any] = []

    def is_proposal(url: str) -> bool:
        return "/proposal?" in url

    page.route(is_proposal, lambda route: held.append(route))
    sign_in(page, live)
    open_case(page, live, case["id"])
    page.locator(f'[data-lesion-id="{lesion["id"]}"]').click()
    # The sync API runs route handlers only inside its own calls: wait through the page.
    wait_until(lambda: held or page.wait_for_timeout(100), timeout=120)
    assert page.get_attribute("body", "data-jump") == "moving"
    hover(page, "right")
    press(page, "right", "ArrowUp")
    press(page, "right", "ArrowUp")
    where = (attr(page, "right", "sop-instance-uid"), attr(page, "right", "image-index"))
    # Let the held answer through, and any later one (unrouting hands held requests on).
    page.unroute(is_proposal)
    page.wait_for_selector('body[data-jump="done"]', timeout=120_000)
    assert (attr(page, "right", "sop-instance-uid"), attr(page, "right", "image-index")) == where
    # Untouched, the same selection does move the pane to the proposal.
    page.keyboard.press("Escape")
    page.locator(f'[data-lesion-id="{lesion["id"]}"]').click()
    page.wait_for_selector('body[data-jump="done"]', timeout=120_000)
    wait_until(lambda: attr(page, "right", "image-index") != where[1], timeout=60)


def test_a_lesion_picked_before_the_measurements_arrive_goes_to_its_measured_image(
        page: Any, live: LiveNadir) -> None:
    """The panes are ready before the case's measurements are read; a lesion selected in
    between waits for them and goes to its measured image. (Measured at the follow-up only,
    the nodule has no earlier caliper for the registration to propose from: without its
    measurement the pane would not move at all.)"""
    nodule = nodule_case(live)
    case, lesion = nodule.case, nodule.lesion
    followup = case["timepoints"][1]["id"]
    known = live.demo.calipers_at[1]["RUL nodule"]
    r = httpx_put(live, f"/api/v1/cases/{case['id']}/lesions/{lesion['id']}/measurements/"
                        f"{followup}",
                  {"sop_instance_uid": known.sop_instance_uid,
                   "endpoints": [list(p) for p in known.endpoints]})
    assert r.status_code == 200, r.text
    held: list[Any] = []

    def is_measurement_list(url: str) -> bool:
        return urlsplit(url).path == f"/api/v1/cases/{case['id']}/measurements"

    page.route(is_measurement_list, lambda route: held.append(route))
    sign_in(page, live)
    open_case(page, live, case["id"], usable=False)
    wait_until(lambda: held or page.wait_for_timeout(100), timeout=120)
    assert attr(page, "right", "sop-instance-uid") != known.sop_instance_uid
    page.locator(f'[data-lesion-id="{lesion["id"]}"]').click()
    assert page.get_attribute("body", "data-jump") == "moving"
    page.unroute(is_measurement_list)
    page.wait_for_selector('body[data-jump="done"]', timeout=120_000)
    on_image(page, "right", known.sop_instance_uid)


def test_leaving_with_a_change_not_saved_asks_the_reader_first(
        page: Any, live: LiveNadir) -> None:
    """A change drawn and not stored holds the page: closing it (or going elsewhere) asks
    first; once the change is discarded (or stored), the page leaves without asking."""
    nodule = nodule_case(live)
    case, baseline, lesion = nodule.case, nodule.baseline, nodule.lesion
    sign_in(page, live)
    open_case(page, live, case["id"])
    asked = dialogs_dismissed(page)  # the reader stays
    row = drawn_not_saved(page, live, nodule)
    page.close(run_before_unload=True)
    wait_until(lambda: page.evaluate("true") and asked == ["beforeunload"], timeout=30)
    assert not page.is_closed()
    row.locator("button[data-action=discard]").click()
    row.wait_for(state="detached")
    assert measurement(live, case["id"], lesion["id"], baseline) is None
    page.close(run_before_unload=True)
    page.wait_for_event("close")
    assert asked == ["beforeunload"]
