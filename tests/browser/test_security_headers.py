"""The workstation, the HTML report and /docs under Nadir's Content-Security-Policy, in
Chromium (issue 15): the review page still decodes and draws images, the report runs in an
opaque origin that cannot read the token, and /docs needs nothing from another origin.
Every CSP violation the browser reports, in a page, a popup or a worker, fails the test."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from api.security_headers import API_DOCUMENT_POLICY
from tests.browser.conftest import LiveNadir, open_case, sign_in
from tests.browser.helpers import go_to_image, put_known

pytestmark = pytest.mark.integration

# The browser's own words when a policy blocks something (a console error of the page).
VIOLATION = ("Content Security Policy", "Content-Security-Policy")


def watch(context: Any) -> tuple[list[str], list[str]]:
    """The CSP violations reported anywhere in a browser context (pages, popups, frames,
    workers) and every URL it requests, as they come."""
    violations: list[str] = []
    requests: list[str] = []

    def on_console(message: Any) -> None:
        if any(words in message.text for words in VIOLATION):
            violations.append(message.text)

    context.on("console", on_console)
    context.on("request", lambda request: requests.append(request.url))
    # Violations inside workers and frames are also dispatched as events there.
    context.add_init_script(
        "addEventListener('securitypolicyviolation', e => console.error("
        "'Content Security Policy violation: ' + e.violatedDirective + ' ' + e.blockedURI));")
    return violations, requests


@pytest.fixture
def watched(page: Any) -> tuple[Any, list[str], list[str]]:
    return page, *watch(page.context)


def _same_origin_only(requests: list[str], origin: str) -> list[str]:
    return [url for url in requests
            if urlsplit(url).scheme not in ("data", "blob")
            and f"{urlsplit(url).scheme}://{urlsplit(url).netloc}" != origin]


def test_the_review_page_draws_and_decodes_images_with_no_violation(
        watched: tuple[Any, list[str], list[str]], live: LiveNadir) -> None:
    page, violations, requests = watched
    case = live.new_case()
    sign_in(page, live)
    open_case(page, live, case["id"])
    # The follow-up's thin series is JPEG-LS: decoded by the codec's WebAssembly in the
    # image loader's worker, which runs under the policy of its own script's answer.
    go_to_image(page, "right", live.demo.compressed_sop, live.demo.compressed_z)
    shown = page.evaluate("() => window.nadirReview.pixel('right', 128, 128)")
    assert shown["value"] == live.demo.compressed_pixels[128, 128]
    assert violations == []
    assert _same_origin_only(requests, live.url) == []


def test_the_html_report_runs_in_an_opaque_origin_that_cannot_read_the_token(
        watched: tuple[Any, list[str], list[str]], live: LiveNadir) -> None:
    page, violations, _ = watched
    case = live.new_case()
    for label in live.demo.calipers:
        put_known(live, case, label, case["timepoints"][0]["id"])
    sign_in(page, live)
    open_case(page, live, case["id"])
    assert page.evaluate("sessionStorage.getItem('nadir.token')") == live.tokens["radiologist"]
    with page.context.expect_page() as popup_info:
        page.get_by_role("button", name="Open report").click()
    popup = popup_info.value
    frame_element = popup.wait_for_selector("iframe[sandbox]")
    assert frame_element.get_attribute("sandbox") == ""
    report = frame_element.content_frame()
    assert report is not None
    report.wait_for_selector("h1")
    assert "computed reading" in report.inner_text("body").lower()
    # The report's document: an opaque origin, no storage of the workstation's origin.
    assert report.evaluate("() => self.origin") == "null"
    reading = report.evaluate(
        "() => { try { return sessionStorage.getItem('nadir.token'); }"
        " catch (e) { return 'refused: ' + e.name; } }")
    assert reading == "refused: SecurityError"
    assert report.evaluate(
        "() => { try { return parent.sessionStorage.getItem('nadir.token'); }"
        " catch (e) { return 'refused: ' + e.name; } }") == "refused: SecurityError"
    # Its inline stylesheet applies (the pages' policy allows inline styles, not scripts).
    assert report.evaluate("() => getComputedStyle(document.body).fontFamily") != \
        popup.evaluate("() => getComputedStyle(document.body).fontFamily")
    # And its key images, data: URLs, load.
    sizes = report.evaluate("() => [...document.images].map(i => i.complete && i.naturalWidth)")
    assert sizes and all(sizes), sizes
    # Opened as an answer of its own (not through the workstation), it is sandboxed too.
    direct = live.get(f"/api/v1/cases/{case['id']}/report?format=html")
    assert direct.status_code == 200
    assert direct.headers["content-security-policy"] == API_DOCUMENT_POLICY
    assert violations == []


def test_docs_render_the_operations_from_this_origin_only(
        watched: tuple[Any, list[str], list[str]], live: LiveNadir) -> None:
    page, violations, requests = watched
    page.goto(f"{live.url}/docs")
    page.wait_for_selector(".opblock")
    assert page.locator(".opblock").count() > 20
    assert "Nadir" in page.locator(".info .title").inner_text()
    assert violations == []
    assert _same_origin_only(requests, live.url) == []


def test_the_pdf_report_opens_in_the_browsers_viewer_with_no_violation(
        browser: Any, live: LiveNadir) -> None:
    # Chromium shows a PDF in its viewer only when the context does not take downloads.
    context = browser.new_context(viewport={"width": 1600, "height": 900},
                                  accept_downloads=False)
    try:
        violations, _ = watch(context)
        page = context.new_page()
        case = live.new_case()
        for label in live.demo.calipers:
            put_known(live, case, label, case["timepoints"][0]["id"])
        sign_in(page, live)
        open_case(page, live, case["id"])
        with context.expect_page() as popup_info:
            page.get_by_role("button", name="Report as PDF").click()
        popup = popup_info.value
        # The PDF is a blob: page of this origin, shown by the viewer (an extension frame):
        # it inherits the pages' policy, whose object-src 'none' must not block the viewer.
        # (Polled with the browser's own waits: Playwright's events arrive only during them.)
        for _ in range(60):
            if popup.url.startswith("blob:") and any(
                    f.url.startswith("chrome-extension://") for f in popup.frames):
                break
            popup.wait_for_timeout(500)
        assert popup.url.startswith("blob:"), popup.url
        assert any(f.url.startswith("chrome-extension://") for f in popup.frames), \
            [f.url for f in popup.frames]
        assert violations == []
    finally:
        context.close()
