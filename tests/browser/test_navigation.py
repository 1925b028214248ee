"""Finding one's way in the workstation: who is signed in, three timepoints, the slice
scrollbar, the series thumbnails, the keyboard help and the layout on smaller screens.

The module's Nadir holds three studies of the demo patient: the baseline, a partial response
and a progression by a new lung nodule."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import LiveNadir, sign_in

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
