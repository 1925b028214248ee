"""A blinded second reader opening the case they review sees why it is closed to them, not a
broken page (issue 21); once their review is signed off everywhere the case opens."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import PID, LiveNadir, open_case, sign_in

pytestmark = pytest.mark.integration


def test_the_blinded_reader_sees_the_refusal_on_the_primary_case(page: Any,
                                                                 live: LiveNadir) -> None:
    # A case created by the admin: radiologist-user read none of it, so may review it.
    r = live.post("/api/v1/cases", {"patient_id": PID, "criteria": "RECIST1.1",
                                    "allow_duplicate": True}, role="admin")
    assert r.status_code == 201, r.text
    primary = r.json()["id"]
    r = live.post(f"/api/v1/cases/{primary}/reviews",
                  {"reader": "radiologist-user", "blinded": True}, role="admin")
    assert r.status_code == 201, r.text
    review = r.json()["id"]
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live, "radiologist")
    page.goto(f"{live.url}/cases/{primary}")
    problem = page.locator(".problem-page .problem")
    problem.wait_for(timeout=30_000)
    assert problem.get_attribute("data-refused") == "blinded"
    text = problem.inner_text()
    assert f"Case {primary} is not open to you: blinded review: radiologist-user reads " \
        f"case {review}" in text
    assert page.locator(".problem-page a[href='/']").count() == 1
    assert page.locator('[data-viewport="left"]').count() == 0
    assert errors == []
    # The server says the same to the same reader.
    answer = live.get(f"/api/v1/cases/{primary}/response", role="radiologist")
    assert answer.status_code == 403 and answer.json()["detail"].startswith("blinded review")
    # Their own review opens as any case; another reader opens the primary.
    open_case(page, live, review)
    sign_in(page, live, "specialist")
    open_case(page, live, primary)
    assert errors == []
