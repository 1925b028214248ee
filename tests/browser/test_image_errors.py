"""An image that cannot be loaded is said on its pane, and nothing else breaks: no uncaught
error in the page. (cornerstone3D's loadAndCacheImage leaves the cache's rejected promise
unhandled; the page must not let that surface as an uncaught error.)"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import LiveNadir, sign_in
from tests.conftest import wait_until

pytestmark = pytest.mark.integration


def test_an_image_the_server_cannot_give_is_said_on_the_pane_with_no_uncaught_error(
        page: Any, live: LiveNadir) -> None:
    case = live.new_case()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    refused: list[str] = []

    def unavailable(route: Any) -> None:
        refused.append(route.request.url)
        route.fulfill(status=503, body="Service Unavailable")

    page.route("**/dicom-web/**/frames/**", unavailable)
    sign_in(page, live)
    page.goto(f"{live.url}/cases/{case['id']}")
    for side in ("left", "right"):
        pane = page.locator(f'[data-viewport="{side}"]')
        wait_until(lambda pane=pane: "could not be shown" in pane.inner_text(), timeout=60)
    assert refused, "no frame was requested"
    # A later task than every failed load: any unhandled rejection has been reported by now.
    page.evaluate("() => new Promise((done) => setTimeout(done, 0))")
    assert errors == []
