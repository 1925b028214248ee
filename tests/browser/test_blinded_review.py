"""A blinded second reader opening the case they review sees why it is closed to them, not a
broken page (issue 21); once their review is signed off everywhere the case opens, and a page
left open closes again, without a reload, when a new study brings the blind back."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import PID, LiveNadir, open_case, sign_in
from tests.browser.test_readers import SECOND, read_twice
from tests.conftest import wait_until
from tests.factories import tiny_ct_series, to_bytes

pytestmark = pytest.mark.integration
#: Where to keep screenshots of the pages for a person to look at (none when unset).
SHOTS = os.environ.get("NADIR_SCREENSHOTS")


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
    problem.wait_for()
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


def test_an_open_page_closes_when_the_blind_returns(page: Any, live: LiveNadir) -> None:
    """The second reader, their blinded review signed off at every timepoint, reads the
    primary case. A new study of the patient makes a timepoint of both cases that the review
    has not signed off: the open page takes the primary's reading down and says why, as the
    event stream ends with `event: blinded` (no reload, no change to the case needed)."""
    world = read_twice(live)
    primary = world.primary["id"]
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, live, SECOND)
    open_case(page, live, primary)
    page.wait_for_selector("body[data-live='on']", state="attached")
    assert page.locator(".problem-page").count() == 0
    later = tiny_ct_series(2, patient_id=PID, study_date="20270301")
    for ds in later:
        ds.PatientName = "Demo^Dana"  # the demo patient's name, as the index keeps the last
        r = httpx.post(live.url + "/api/v1/dicom", content=to_bytes(ds), timeout=30, headers={
            **live.headers("uploader"), "Content-Type": "application/dicom"})
        assert r.status_code == 200, r.text
    problem = page.locator(".problem-page .problem")
    problem.wait_for(timeout=60_000)
    assert problem.get_attribute("data-refused") == "blinded"
    assert f"Case {primary} is not open to you: blinded review: {SECOND} reads case " \
        f"{world.review}" in problem.inner_text()
    assert page.locator('[data-viewport="left"]').count() == 0
    assert page.locator("[data-lesion-id]").count() == 0
    assert page.locator("body").get_attribute("data-live") == "ended"
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "blind-returned.png"))
    # The server agrees; another reader's page of the same case stays open.
    assert live.get(f"/api/v1/cases/{primary}/response", role=SECOND).status_code == 403
    sign_in(page, live, "specialist")
    page.goto(f"{live.url}/cases/{primary}")
    page.wait_for_selector('[data-viewport="left"][data-ready="true"]')
    assert page.locator(".problem-page").count() == 0
    # The new study's one series is too short for a volume: its pane says which series was
    # left out and why, never that the timepoint has none.
    message = page.locator('[data-viewport="right"] .viewport-message')
    wait_until(lambda: "too few for a volume" in message.inner_text(), timeout=60)
    assert "left out: #" in message.inner_text()
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / "series-left-out.png"))
    assert errors == []
