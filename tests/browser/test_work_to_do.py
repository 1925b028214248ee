"""The worklist shows work to do, and the review shows what is left out (issue 20): a case
with a new follow-up comes first with "new follow-up to read" and the lesions to measure,
in the server's order; an undated study is listed on the review with its reason and a
radiologist dates it there (stored, audited, a timepoint afterwards)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.conftest import PID, LiveNadir, open_case, sign_in
from tests.browser.helpers import put_known
from tests.conftest import wait_until
from tests.factories import tiny_ct_series, to_bytes

pytestmark = pytest.mark.integration
SHOTS = Path(os.environ.get("NADIR_SHOTS", tempfile.gettempdir())) / "nadir-work-to-do"


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_the_worklist_puts_a_new_follow_up_first(page: Any, live: LiveNadir) -> None:
    empty = live.post("/api/v1/cases", {"patient_id": PID, "criteria": "iRECIST",
                                        "allow_duplicate": True}).json()
    read = live.new_case()
    baseline = read["timepoints"][0]["id"]
    for label in read["by_label"]:
        put_known(live, read, label, baseline)
    order = [c["id"] for c in live.get("/api/v1/worklist").json()["cases"]]
    assert order[0] == read["id"] and empty["id"] in order
    sign_in(page, live)
    page.wait_for_selector(".work-list li")
    rows = page.locator(".work-list li")
    assert [int(rows.nth(i).get_attribute("data-case-id") or 0)
            for i in range(rows.count())] == order
    first = rows.nth(0)
    assert first.get_attribute("data-new-followup") == "true"
    text = first.inner_text()
    assert "new follow-up to read" in text and f"{len(read['by_label'])} lesions to measure" in text
    _shot(page, "worklist")
    first.locator("a").click()
    page.wait_for_url(f"{live.url}/cases/{read['id']}")


def test_an_undated_study_is_listed_with_its_reason_and_dated_on_the_review(
    page: Any, live: LiveNadir
) -> None:
    case = live.new_case()
    undated = tiny_ct_series(2, patient_id=PID, study_date="")
    uid = str(undated[0].StudyInstanceUID)
    for ds in undated:
        ds.PatientName = "Demo^Dana"  # the demo patient's name, as the index keeps the last
    for ds in undated:
        r = httpx.post(live.url + "/api/v1/dicom", content=to_bytes(ds), timeout=30, headers={
            **live.headers("uploader"), "Content-Type": "application/dicom"})
        assert r.status_code == 200, r.text
    wait_until(lambda: any(s["study_instance_uid"] == uid for s in live.get(
        f"/api/v1/cases/{case['id']}").json()["left_out"]), timeout=60)
    item = page.locator(f'.studies-panel li[data-study-uid="{uid}"]')
    # A specialist sees the study and why, but no form to date it.
    sign_in(page, live, "specialist")
    open_case(page, live, case["id"])
    item.wait_for()
    assert "date unknown" in item.inner_text() and item.locator("form").count() == 0
    sign_in(page, live)
    open_case(page, live, case["id"])
    item.wait_for()
    assert "date unknown" in item.inner_text()
    _shot(page, "review-left-out")
    item.locator("input[name=date]").fill("2026-06-01")
    item.locator("input[name=reason]").fill("date on the requisition")
    item.locator("button[type=submit]").click()
    stored = wait_until(lambda: live.get(f"/api/v1/cases/{case['id']}").json()
                        ["study_dates_set"], timeout=60)
    assert [(d["study_instance_uid"], d["date"], d["reason"], d["set_by"]) for d in stored] \
        == [(uid, "2026-06-01", "date on the requisition", "radiologist-user")]
    after = live.get(f"/api/v1/cases/{case['id']}").json()
    assert uid in [tp["id"] for tp in after["timepoints"]]
    assert uid not in [s["study_instance_uid"] for s in after["left_out"]]
