"""The reviewer's view of a share (issue 21), in Chromium: the share's token signs in, lands
on its review case of the de-identified copy, both panes show images, and the measuring
tools are the reviewer's; nothing of the original case is asked for."""

from __future__ import annotations

import os
import re
from typing import Any

import httpx
import pytest

from tests.browser.conftest import LiveNadir, sign_in
from tests.browser.helpers import choose_tool, drag, select
from tests.conftest import wait_until

pytestmark = pytest.mark.integration


def test_a_share_token_signs_in_to_its_review_and_may_measure(
        page: Any, live: LiveNadir) -> None:
    case = live.new_case()
    r = live.post(f"/api/v1/cases/{case['id']}/shares", {"note": "second opinion"})
    assert r.status_code == 201, r.text
    share = r.json()
    wait_until(lambda: len(live.get(f"/api/v1/patients/{share['pseudonym']}/studies",
                                    "admin").json()) == 2, timeout=60)
    headers = {"Authorization": f"Bearer {share['token']}"}
    review = f"{live.url}/api/v1/cases/{share['review_case_id']}"
    r = httpx.post(f"{review}/lesions", json={"kind": "target", "organ": "lung"},
                   headers=headers)
    assert r.status_code == 201, r.text
    lesion = r.json()["id"]
    asked: list[str] = []
    page.on("request", lambda req: asked.append(req.url))
    page.goto(f"{live.url}/login")
    page.fill("input[name=token]", share["token"])
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/cases/{share['review_case_id']}")
    for side in ("left", "right"):
        page.wait_for_selector(f'[data-viewport="{side}"][data-ready="true"]', timeout=60_000)
    wait_until(lambda: page.locator(".lesions").count() > 0, timeout=60)
    assert "Read-only" not in page.locator(".lesions").inner_text()
    select(page, lesion)
    choose_tool(page, "caliper")
    assert "Read-only" not in page.locator(".tool-advice").inner_text()
    drag(page, "left", (100, 90), (100, 150))

    def stored() -> list[Any]:
        found = httpx.get(f"{review}/measurements", headers=headers).json()["measurements"]
        return [m for m in found if m["lesion_id"] == lesion]

    [caliper] = wait_until(stored, timeout=60)
    assert caliper["author"] == share["reviewer"] and caliper["length_mm"] > 0
    assert caliper["timepoint_id"] in {s["copy_study_uid"] for s in share["studies"]}
    copies = {s["copy_study_uid"] for s in share["studies"]}
    originals = {s["source_study_uid"] for s in share["studies"]}
    images = [u for u in asked if "/dicom-web/studies/" in u]
    assert images and all(any(c in u for c in copies) for u in images), images
    assert not [u for u in asked if any(o in u for o in originals)]
    primary = re.compile(rf"/api/v1/cases/{case['id']}(/|\?|$)")
    assert not [u for u in asked if primary.search(u)]
    # The token still reaches nothing else.
    assert httpx.get(f"{live.url}/api/v1/worklist", headers=headers).status_code == 403


def test_the_worklist_offers_no_new_case_on_a_shares_copy(page: Any, live: LiveNadir) -> None:
    """A radiologist's worklist shows the share's copy as a patient read in its review case,
    with a link to it and no form to open another case; the original keeps its form."""
    case = live.new_case()
    r = live.post(f"/api/v1/cases/{case['id']}/shares", {"blinded": False})
    assert r.status_code == 201, r.text
    share = r.json()
    wait_until(lambda: len(live.get(f"/api/v1/patients/{share['pseudonym']}/studies",
                                    "admin").json()) == 2, timeout=60)
    sign_in(page, live)
    copy = page.locator(f'section.patient[data-patient-id="{share["pseudonym"]}"]')
    note = copy.locator("p.copy-of-share")
    note.wait_for()
    assert note.get_attribute("data-read-in") == str(share["review_case_id"])
    assert "read in review case" in note.inner_text()
    assert note.locator("a").get_attribute("href") == f"/cases/{share['review_case_id']}"
    assert copy.locator("form.create-case").count() == 0
    original = page.locator(f'section.patient[data-patient-id="{case["patient_id"]}"]')
    assert original.locator("form.create-case").count() == 1
    if shots := os.environ.get("NADIR_SCREENSHOTS"):
        page.screenshot(path=f"{shots}/worklist-share-copy.png", full_page=True)
