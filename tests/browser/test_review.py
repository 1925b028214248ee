"""The review workstation as a radiologist and a specialist use it: sign in, open a case, scroll,
draw and correct calipers, sign off. Assertions are on what the server stored."""

from __future__ import annotations

from typing import Any

import pytest

from measurement.figures import tenths
from tests.browser.conftest import LiveNadir, open_case, sign_in
from tests.browser.helpers import (
    attr,
    choose_tool,
    drag,
    go_to_image,
    history,
    hover,
    httpx_put,
    measurement,
    position,
    press,
    put_known,
    select,
)
from tests.conftest import wait_until

pytestmark = pytest.mark.integration


def test_sign_in_keeps_the_token_in_this_tab_only_and_sign_out_clears_it(
        page: Any, live: LiveNadir) -> None:
    case = live.new_case()
    sign_in(page, live)
    token = live.tokens["radiologist"]
    assert page.evaluate("sessionStorage.getItem('nadir.token')") == token
    assert page.evaluate("localStorage.length") == 0 and page.evaluate("document.cookie") == ""
    row = page.locator(f'tr[data-case-id="{case["id"]}"]')
    row.wait_for()
    assert "Case" in row.inner_text()
    assert token not in page.url
    page.click("button.sign-out")
    page.wait_for_url(f"{live.url}/login")
    assert page.evaluate("sessionStorage.getItem('nadir.token')") is None
    page.goto(f"{live.url}/cases/{case['id']}")
    page.wait_for_url(f"{live.url}/login?next=%2Fcases%2F{case['id']}")


def test_both_viewports_show_the_paired_series_and_decode_jpeg_ls(
        page: Any, live: LiveNadir) -> None:
    case = live.new_case()
    sign_in(page, live)
    open_case(page, live, case["id"])
    baseline, followup = (tp["id"] for tp in case["timepoints"])
    assert attr(page, "left", "timepoint-id") == baseline
    assert attr(page, "right", "timepoint-id") == followup
    assert attr(page, "left", "series-uid") == live.demo.thin_series["baseline"]
    assert attr(page, "right", "series-uid") == live.demo.thin_series["followup"]
    # The follow-up's thin series is stored JPEG-LS: decoded in the browser by the codec,
    # its values equal pydicom's (the image loader hands over modality values).
    go_to_image(page, "right", live.demo.compressed_sop, live.demo.compressed_z)
    expected = live.demo.compressed_pixels
    for row, column in ((128, 128), (121, 70), (10, 10), (200, 40)):
        shown = page.evaluate("([r, c]) => window.nadirReview.pixel('right', r, c)", [row, column])
        assert shown["rescaled"], "the loader did not apply the rescale"
        assert shown["value"] == expected[row, column], (row, column)
    assert "computed reading" in page.locator(".disclaimer").first.inner_text()


def test_scrolling_one_viewport_moves_the_other_within_a_slice(
        page: Any, live: LiveNadir) -> None:
    case = live.new_case()
    sign_in(page, live)
    open_case(page, live, case["id"])
    thickness = live.demo.slice_thickness_mm
    # Where the same anatomy is in the follow-up: the patient lay 6.25 mm further in.
    shift = live.demo.followup.table_position_mm - live.demo.baseline.table_position_mm
    hover(page, "left")
    for key in ["ArrowDown"] * 6 + ["ArrowUp"] * 2 + ["PageDown", "PageUp"]:
        before = position(page, "left")
        press(page, "left", key)
        assert abs(abs(position(page, "left") - before) - thickness) < 0.01, key

        def followed() -> bool:
            target = position(page, "left")
            if attr(page, "right", "sync") == "registration":
                # Through the registration the target is the same anatomy; allow its error.
                return abs(position(page, "right") - (target + shift)) <= thickness + 2.0
            return abs(position(page, "right") - target) <= thickness

        wait_until(followed, timeout=60)
    page.mouse.wheel(0, 120)
    wait_until(lambda: abs(position(page, "right") - position(page, "left")) <= thickness
               or attr(page, "right", "sync") == "registration", timeout=60)
    page.click("button.link-toggle")
    assert attr(page, "left", "sync") == "unlinked"
    right_before = attr(page, "right", "sop-instance-uid")
    press(page, "left", "ArrowDown")
    page.wait_for_timeout(300)
    assert attr(page, "right", "sop-instance-uid") == right_before


def test_a_caliper_drawn_with_the_mouse_is_stored_and_an_edit_is_a_new_version(
        page: Any, live: LiveNadir) -> None:
    case = live.new_case()
    lesion = case["by_label"]["RUL nodule"]
    known = live.demo.calipers["RUL nodule"]
    baseline = case["timepoints"][0]["id"]
    sign_in(page, live)
    open_case(page, live, case["id"])
    select(page, lesion["id"])
    choose_tool(page, "caliper")
    z = live.demo.baseline.lesion_center_patient_mm("RUL nodule")[2]
    go_to_image(page, "left", known.sop_instance_uid, z)
    drag(page, "left", known.endpoints[0], known.endpoints[1])
    stored = wait_until(lambda: measurement(live, case["id"], lesion["id"], baseline), timeout=60)
    assert abs(stored["length_mm"] - known.diameter_mm) <= 1.0, stored
    assert stored["sop_instance_uid"] == attr(page, "left", "sop-instance-uid")
    # The server's length is what the panel shows.
    cell = page.locator(f'[data-lesion-id="{lesion["id"]}"] .cell .value').first
    wait_until(lambda: cell.inner_text() == f"{tenths(stored['length_mm'])} mm", timeout=60)
    # Drag the second end 4 mm further along the row: a new version.
    (row, column) = known.endpoints[1]
    spacing = live.demo.baseline.pixel_spacing_mm
    drag(page, "left", (row, column), (row, column + 4.0 / spacing))
    versions = wait_until(lambda: (v := history(live, case["id"], lesion["id"]))
                          and len(v) == 2 and v, timeout=60)
    assert [v["version"] for v in versions] == [1, 2]
    assert abs(versions[1]["measurement"]["length_mm"] - (stored["length_mm"] + 4.0)) <= 1.0


def test_a_node_is_labelled_short_axis(page: Any, live: LiveNadir) -> None:
    case = live.new_case()
    node = case["by_label"]["Subcarinal node"]
    sign_in(page, live)
    open_case(page, live, case["id"])
    select(page, node["id"])
    assert "short axis" in page.locator(".lesions .hint").inner_text()


def test_sign_off_then_a_change_asks_for_an_amendment_reason(page: Any, live: LiveNadir) -> None:
    case = live.new_case()
    baseline = case["timepoints"][0]["id"]
    for label in live.demo.calipers:
        put_known(live, case, label, baseline)
    sign_in(page, live)
    open_case(page, live, case["id"])
    page.click(f'button.sign-off[data-timepoint-id="{baseline}"]')
    signed = wait_until(lambda: live.get(f"/api/v1/cases/{case['id']}").json()
                        ["timepoints"][0]["signed_off_by"], timeout=60)
    assert signed == "radiologist-user"
    # A correction of the signed-off timepoint: the page asks why, the reason is kept.
    lesion = case["by_label"]["RUL nodule"]
    known = live.demo.calipers["RUL nodule"]
    select(page, lesion["id"])
    page.wait_for_function("() => document.querySelector('[data-viewport=left]').dataset"
                           f".sopInstanceUid === '{known.sop_instance_uid}'")
    hover(page, "left")
    page.keyboard.press("c")
    row, column = known.endpoints[1]
    drag(page, "left", (row, column), (row, column + 3.0 / live.demo.baseline.pixel_spacing_mm))
    page.locator("dialog.modal textarea").fill("caliper end on the vessel, corrected")
    page.click("dialog.modal button[value=ok]")
    versions = wait_until(lambda: (v := history(live, case["id"], lesion["id"]))
                          and len(v) == 2 and v, timeout=60)
    assert versions[1]["reason"] == "caliper end on the vessel, corrected"


def test_a_caliper_changed_meanwhile_shows_what_changed_and_reloads(
        page: Any, live: LiveNadir) -> None:
    case = live.new_case()
    baseline = case["timepoints"][0]["id"]
    lesion = case["by_label"]["RUL nodule"]
    known = live.demo.calipers["RUL nodule"]
    put_known(live, case, "RUL nodule", baseline)
    # Without the live stream (a proxy that drops it, say), the page learns of the other
    # change only when its own save meets the 412.
    page.route("**/events", lambda route: route.abort("connectionrefused"))
    sign_in(page, live)
    open_case(page, live, case["id"])
    select(page, lesion["id"])
    page.wait_for_function("() => document.querySelector('[data-viewport=left]').dataset"
                           f".sopInstanceUid === '{known.sop_instance_uid}'")
    # Someone else shortens the caliper after the page read it.
    (r0, c0), (r1, c1) = known.endpoints
    r = httpx_put(live, f"/api/v1/cases/{case['id']}/lesions/{lesion['id']}/measurements/"
                        f"{baseline}", {"sop_instance_uid": known.sop_instance_uid,
                                        "endpoints": [[r0, c0 + 2], [r1, c1 - 2]]})
    assert r.status_code == 200
    theirs = r.json()["length_mm"]
    choose_tool(page, "caliper")
    drag(page, "left", (r1, c1), (r1, c1 + 3))
    dialog = page.locator("dialog.modal")
    dialog.wait_for()
    assert f"{tenths(theirs)} mm" in dialog.inner_text()
    page.click("dialog.modal button[value=reload]")
    assert len(history(live, case["id"], lesion["id"])) == 2
    cell = page.locator(f'[data-lesion-id="{lesion["id"]}"] .cell .value').first
    wait_until(lambda: cell.inner_text() == f"{tenths(theirs)} mm", timeout=60)


def test_a_specialist_sees_the_case_but_cannot_draw_or_sign_off(
        page: Any, live: LiveNadir) -> None:
    case = live.new_case()
    baseline = case["timepoints"][0]["id"]
    lesion = case["by_label"]["RUL nodule"]
    known = live.demo.calipers["RUL nodule"]
    writes: list[str] = []
    page.on("request", lambda req: writes.append(req.url) if req.method == "PUT" else None)
    sign_in(page, live, "specialist")
    open_case(page, live, case["id"])
    wait_until(lambda: "Read-only" in page.locator(".lesions").inner_text(), timeout=60)
    assert page.locator("button.sign-off").count() == 0
    select(page, lesion["id"])
    z = live.demo.baseline.lesion_center_patient_mm("RUL nodule")[2]
    go_to_image(page, "left", known.sop_instance_uid, z)
    drag(page, "left", known.endpoints[0], known.endpoints[1])
    # The caliper tool tells a read-only role why it does not draw.
    choose_tool(page, "caliper")
    assert "Read-only" in page.locator(".tool-advice").inner_text()
    drag(page, "left", known.endpoints[0], known.endpoints[1])
    page.wait_for_timeout(1000)
    assert writes == []
    assert measurement(live, case["id"], lesion["id"], baseline) is None
