"""A case opened from the worklist opens in the same page (issue 22: the page, its script and
its connection are there already when the review starts): the address changes, nothing is
loaded anew, the viewer's code is fetched only once the case is asked for, and the review
works as after a load of its address. What the reader asked of the browser stays the
browser's: a click with Ctrl opens a new tab, Back shows the worklist loaded anew."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import LiveNadir, sign_in
from tests.browser.helpers import dialogs_dismissed, drawn_not_saved, nodule_case, put_known
from tests.browser.test_loading import VIEWER
from tests.conftest import wait_until

pytestmark = pytest.mark.integration

#: A mark in the page's JavaScript world: gone if the page is loaded anew.
_MARK = "window.__samePage = 'worklist'"
_SAME_PAGE = "window.__samePage === 'worklist'"


def _both_drawn(page: Any) -> None:
    for side in ("left", "right"):
        page.wait_for_selector(f'[data-viewport="{side}"][data-ready="true"]')
    page.wait_for_selector('body[data-opened="true"]', state="attached")


def test_a_case_opens_from_the_worklist_in_the_same_page(page: Any, live: LiveNadir) -> None:
    case = live.new_case()
    baseline = case["timepoints"][0]["id"]
    for label in case["by_label"]:
        put_known(live, case, label, baseline)
    sign_in(page, live)
    link = page.locator(f'.work-list li[data-case-id="{case["id"]}"] a')
    link.wait_for()
    page.wait_for_load_state("networkidle")
    responses: list[Any] = []
    page.on("response", lambda r: responses.append(r))
    page.evaluate(_MARK)
    link.click()
    page.wait_for_url(f"{live.url}/cases/{case['id']}")
    _both_drawn(page)
    # Not loaded anew: no document was asked for, and the page's JavaScript world is the same.
    assert page.evaluate(_SAME_PAGE)
    assert not [r.url for r in responses if r.request.resource_type == "document"]
    # The viewer's code came with the click, not with the worklist (test_loading checks that
    # the worklist alone never asks for it).
    assert any(VIEWER.search(r.url) for r in responses)
    # The review works as after a load of its address: the case's lesions, the reader's
    # role, the measurements read in one request.
    rows = page.locator(".lesion-list [data-lesion-id]")
    assert rows.count() >= len(case["by_label"])
    assert page.get_attribute("body", "data-role") == "radiologist"
    measurements = [r.url for r in responses
                    if r.url.split("?")[0].endswith(f"/api/v1/cases/{case['id']}/measurements")]
    assert len(measurements) == 1, measurements
    left = page.get_attribute('[data-viewport="left"]', "data-sop-instance-uid")
    box = page.locator('[data-viewport="left"]').bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.9)
    page.keyboard.press("ArrowDown")
    wait_until(lambda: page.get_attribute('[data-viewport="left"]', "data-sop-instance-uid")
               != left, timeout=30)

    # Back: the worklist, loaded anew (the review's viewer and state are not kept around).
    page.go_back()
    page.wait_for_url(f"{live.url}/")
    link.wait_for()
    assert not page.evaluate(_SAME_PAGE)
    # Forward: the case again, loaded from its address.
    page.go_forward()
    page.wait_for_url(re.compile(rf"^{re.escape(live.url)}/cases/{case['id']}(\?.*)?$"))
    _both_drawn(page)


def test_what_the_reader_asks_of_the_browser_stays_the_browsers(
        page: Any, live: LiveNadir) -> None:
    case = live.new_case()
    sign_in(page, live)
    link = page.locator(f'.cases-table tr[data-case-id="{case["id"]}"] a.button')
    link.wait_for()
    page.evaluate(_MARK)
    # Ctrl and a click: a new tab with the case; this page stays on the worklist.
    with page.context.expect_page() as opened:
        link.click(modifiers=["Control"])
    tab = opened.value
    tab.wait_for_url(f"{live.url}/cases/{case['id']}")
    tab.close()
    assert page.url == f"{live.url}/" and page.evaluate(_SAME_PAGE)
    # The keyboard: Enter on a focused link opens the case in this page too.
    link.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live.url}/cases/{case['id']}")
    _both_drawn(page)
    assert page.evaluate(_SAME_PAGE)


def test_a_case_created_on_the_worklist_opens_in_the_same_page(
        page: Any, live: LiveNadir) -> None:
    sign_in(page, live)
    form = page.locator("form.create-case").first
    form.wait_for()
    page.evaluate(_MARK)
    form.locator("button[type=submit]").click()
    # A new case, or the patient's case with this baseline and criteria (409): either opens.
    page.wait_for_url(re.compile(rf"^{re.escape(live.url)}/cases/\d+$"))
    _both_drawn(page)
    assert page.evaluate(_SAME_PAGE)


def test_back_from_a_case_with_a_change_not_saved_asks_first_and_keeps_its_address(
        page: Any, live: LiveNadir) -> None:
    """Back from a case opened from the worklist loads the worklist anew; with a change not
    saved the browser asks first, and a reader who stays keeps the case, at its address."""
    nodule = nodule_case(live)
    sign_in(page, live)
    link = page.locator(f'.work-list li[data-case-id="{nodule.case["id"]}"] a')
    link.wait_for()
    link.click()
    _both_drawn(page)
    asked = dialogs_dismissed(page)  # the reader stays
    failed = drawn_not_saved(page, live, nodule)
    page.go_back()
    wait_until(lambda: page.evaluate("true") and asked == ["beforeunload"], timeout=30)
    assert failed.is_visible()
    # The next change of place puts the case's address back.
    box = page.locator('[data-viewport="left"]').bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.9)
    page.keyboard.press("ArrowDown")
    page.wait_for_url(re.compile(rf"^{re.escape(live.url)}/cases/{nodule.case['id']}\?"))
    failed.locator("button[data-action=discard]").click()
    failed.wait_for(state="detached")
    # Nothing held now: the page leaves without asking.
    page.goto(f"{live.url}/")
    page.locator(".work-list li").first.wait_for()
    assert asked == ["beforeunload"]


def test_a_double_click_opens_the_case_once(page: Any, live: LiveNadir) -> None:
    """The worklist stays on screen until the review is built: a second click meanwhile (a
    double click, or another case) opens nothing more, so one review runs in the page."""
    case = live.new_case()
    other = live.new_case()
    sign_in(page, live)
    link = page.locator(f'.work-list li[data-case-id="{case["id"]}"] a')
    link.wait_for()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(urlsplit(r.url).path))
    link.dblclick()
    # Another case clicked at once, if the worklist is still there.
    page.evaluate(f"document.querySelector('.work-list li[data-case-id=\"{other['id']}\"] a')"
                  "?.click()")
    page.wait_for_url(f"{live.url}/cases/{case['id']}")
    _both_drawn(page)
    opened = [p for p in asked if re.fullmatch(r"/api/v1/cases/\d+", p)]
    assert opened == [f"/api/v1/cases/{case['id']}"], opened
    assert asked.count(f"/api/v1/cases/{case['id']}/measurements") == 1
    assert len(page.locator('[data-viewport="left"]').all()) == 1


def test_a_review_whose_code_is_gone_loads_its_address_anew(page: Any, live: LiveNadir) -> None:
    """A worklist loaded before an upgrade names the review's code of then; should that code
    fail to load at the click, the case's address is loaded anew (naming the code the server
    has now) instead of the page saying that something went wrong."""
    case = live.new_case()
    sign_in(page, live)
    link = page.locator(f'.work-list li[data-case-id="{case["id"]}"] a')
    link.wait_for()
    refused: list[str] = []

    def gone_once(route: Any) -> None:
        if refused:
            route.continue_()
            return
        refused.append(route.request.url)
        route.fulfill(status=404, body="Not Found")

    page.route(re.compile(r"/assets/review-[^/]*\.js$"), gone_once)
    page.evaluate(_MARK)
    link.click()
    page.wait_for_url(f"{live.url}/cases/{case['id']}*")
    _both_drawn(page)
    assert refused, "the review's code was not asked for"
    assert not page.evaluate(_SAME_PAGE)  # loaded anew
    assert "Something went wrong" not in page.inner_text("body")
