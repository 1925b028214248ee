"""The lesion panel's changes (issue 18): relabel, organ, kind and nodal flag through PATCH,
with the amendment reason a signed-off timepoint needs, and what a reading forbids said in
words. Assertions are on what the server stored."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.browser.conftest import LiveNadir, open_case, sign_in
from tests.browser.helpers import nodule_case, put_known, select, wait_for_note
from tests.conftest import wait_until

pytestmark = pytest.mark.integration
SHOTS = os.environ.get("NADIR_SHOTS", "/tmp")


def unfold(page: Any) -> Any:
    """The selected lesion's "Change or delete" form, unfolded."""
    edit = page.locator(".edit-lesion")
    if not edit.evaluate("d => d.open"):
        edit.locator("summary").click()
    return edit


def lesion_of(live: LiveNadir, case_id: int, lesion_id: int) -> dict[str, Any]:
    lesions = live.get(f"/api/v1/cases/{case_id}/lesions").json()
    return dict(next(x for x in lesions if x["id"] == lesion_id))


def test_relabel_kind_and_nodal_change_from_the_panel(page: Any, live: LiveNadir) -> None:
    case = live.new_case()  # two targets, nothing read yet: kind and nodal may change
    nodule, node = case["by_label"]["RUL nodule"], case["by_label"]["Subcarinal node"]
    sign_in(page, live)
    open_case(page, live, case["id"])
    # The nodule: relabelled and made non-target in one change.
    select(page, nodule["id"])
    edit = unfold(page)
    edit.locator("input[name=label]").fill("RUL-a")
    edit.locator("select[name=kind]").select_option("non_target")
    edit.locator("button.save-lesion").click()
    wait_until(lambda: lesion_of(live, case["id"], nodule["id"])["kind"] == "non_target",
               timeout=60)
    stored = lesion_of(live, case["id"], nodule["id"])
    assert stored["label"] == "RUL-a"
    row = page.locator(f'[data-lesion-id="{nodule["id"]}"]')
    wait_until(lambda: "RUL-a" in row.inner_text() and "non-target" in row.inner_text().lower(),
               timeout=60)
    # The node: no longer nodal, so its caliper measures the long axis.
    select(page, node["id"])
    edit = unfold(page)
    assert edit.locator("input[name=nodal]").is_checked()
    edit.locator("input[name=nodal]").uncheck()
    edit.locator("button.save-lesion").click()
    wait_until(lambda: lesion_of(live, case["id"], node["id"])["nodal"] is False, timeout=60)
    row = page.locator(f'[data-lesion-id="{node["id"]}"]')
    wait_until(lambda: "long axis" in row.inner_text(), timeout=60)
    changes = live.get(f"/api/v1/cases/{case['id']}/lesions/{node['id']}/history").json()
    assert [c["changes"]["nodal"] for c in changes["changes"]] == [[True, False]]


def test_a_reading_keeps_kind_and_nodal_and_the_page_says_why(page: Any, live: LiveNadir) -> None:
    nodule = nodule_case(live, measured=True)
    case, lesion = nodule.case, nodule.lesion
    sign_in(page, live)
    open_case(page, live, case["id"])
    select(page, lesion["id"])
    edit = unfold(page)
    edit.locator("input[name=nodal]").check()
    edit.locator("button.save-lesion").click()
    wait_for_note(page, "reading", error=True)
    assert lesion_of(live, case["id"], lesion["id"])["nodal"] is False


def test_a_change_to_a_lesion_read_on_a_signed_off_timepoint_asks_the_reason(
        page: Any, live: LiveNadir) -> None:
    nodule = nodule_case(live, measured=True)
    case, lesion, baseline = nodule.case, nodule.lesion, nodule.baseline
    put_known(live, case, "Subcarinal node", baseline)
    r = live.post(f"/api/v1/cases/{case['id']}/timepoints/{baseline}/sign-off", {})
    assert r.status_code == 200, r.text
    sign_in(page, live)
    open_case(page, live, case["id"])
    select(page, lesion["id"])
    edit = unfold(page)
    edit.locator("input[name=organ]").fill("right upper lobe")
    edit.locator("button.save-lesion").click()
    dialog = page.locator("dialog.modal")
    dialog.wait_for()
    text = dialog.inner_text()
    assert "Baseline (15 Jan 2024)" in text and "signed off" in text
    assert baseline not in text and "amendment_reason" not in text
    page.screenshot(path=f"{SHOTS}/lesion-amendment.png")
    # Cancel: nothing changes on the server.
    dialog.locator("button[value=cancel]").click()
    dialog.wait_for(state="detached")
    wait_for_note(page, "not done")
    assert lesion_of(live, case["id"], lesion["id"])["organ"] == lesion["organ"]
    # With a reason: changed, and the reason is kept in the lesion's history.
    edit = unfold(page)
    edit.locator("input[name=organ]").fill("right upper lobe")
    edit.locator("button.save-lesion").click()
    dialog.wait_for()
    dialog.locator("textarea").fill("segment confirmed on the follow-up")
    dialog.locator("button[value=ok]").click()
    wait_until(lambda: lesion_of(live, case["id"], lesion["id"])["organ"] == "right upper lobe",
               timeout=60)
    changes = live.get(f"/api/v1/cases/{case['id']}/lesions/{lesion['id']}/history").json()
    assert [c["reason"] for c in changes["changes"]] == ["segment confirmed on the follow-up"]
    row = page.locator(f'[data-lesion-id="{lesion["id"]}"]')
    wait_until(lambda: "right upper lobe" in row.inner_text(), timeout=60)
