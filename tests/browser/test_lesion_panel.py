"""The lesion panel's changes (issue 18): relabel, organ, kind and nodal flag through PATCH,
with the amendment reason a signed-off timepoint needs, and what a reading forbids said in
words. Assertions are on what the server stored."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest

from tests.browser.conftest import LiveNadir, open_case, sign_in
from tests.browser.helpers import (
    dialogs_dismissed,
    nodule_case,
    put_known,
    select,
    wait_for_note,
)
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


def test_what_the_reader_typed_in_a_lesion_form_outlives_the_panel_drawn_again(
        page: Any, live: LiveNadir) -> None:
    """The panel is drawn anew whenever the case changes. A label typed in a lesion's form and
    an organ typed in "Add a lesion", left unsent while the reader clicks elsewhere, come back
    in the forms drawn next: after another lesion is selected and back, and after a
    measurement stored elsewhere arrives. Unsent, they hold the page; sent, they are gone."""
    case = live.new_case()
    nodule, node = case["by_label"]["RUL nodule"], case["by_label"]["Subcarinal node"]
    baseline = case["timepoints"][0]["id"]
    sign_in(page, live)
    open_case(page, live, case["id"])
    asked = dialogs_dismissed(page)
    select(page, nodule["id"])
    unfold(page).locator("input[name=label]").fill("RUL-draft")
    adding = page.locator(".add-lesion")
    adding.locator("summary").click()
    adding.locator("input[name=organ]").fill("left adrenal")
    adding.locator("select[name=kind]").select_option("new")
    # Elsewhere: another lesion, then back (each selection draws the panel again).
    select(page, node["id"])
    assert page.locator(".add-lesion input[name=organ]").input_value() == "left adrenal"
    select(page, nodule["id"])
    assert unfold(page).locator("input[name=label]").input_value() == "RUL-draft"
    # A change from elsewhere draws the panel again too.
    put_known(live, case, "Subcarinal node", baseline)
    row = page.locator(f'[data-lesion-id="{node["id"]}"]')
    wait_until(lambda: "mm" in row.inner_text(), timeout=60)
    assert page.locator(".edit-lesion input[name=label]").input_value() == "RUL-draft"
    adding = page.locator(".add-lesion")
    assert adding.locator("input[name=organ]").input_value() == "left adrenal"
    assert adding.locator("select[name=kind]").input_value() == "new"
    assert adding.locator(".first-seen").is_visible()  # follows the restored kind
    # Marked as not sent: the fields the reader changed, and only those.
    drafted = page.locator(".panel.lesions [data-draft]")
    assert sorted(drafted.evaluate_all("fs => fs.map(f => f.name)")) == ["kind", "label", "organ"]
    page.screenshot(path=f"{SHOTS}/lesion-form-drafts.png")
    # Unsent, they hold the page.
    page.close(run_before_unload=True)
    wait_until(lambda: page.evaluate("true") and asked == ["beforeunload"], timeout=30)
    assert not page.is_closed()
    # Sent, they are stored and gone from the forms.
    page.locator(".edit-lesion button.save-lesion").click()
    wait_until(lambda: lesion_of(live, case["id"], nodule["id"])["label"] == "RUL-draft",
               timeout=60)
    page.locator(".add-lesion button[type=submit]").click()
    wait_until(lambda: any(x["organ"] == "left adrenal" for x in
                           live.get(f"/api/v1/cases/{case['id']}/lesions").json()), timeout=60)
    wait_until(lambda: page.locator(".add-lesion input[name=organ]").input_value() == "",
               timeout=60)
    assert page.locator(".panel.lesions [data-draft]").count() == 0
    page.close(run_before_unload=True)
    page.wait_for_event("close")
    assert asked == ["beforeunload"]


def test_a_drafted_choice_no_longer_offered_falls_back_to_what_the_form_offers(
        page: Any, live: LiveNadir) -> None:
    """A merge target chosen and not sent, then deleted elsewhere: the form drawn next offers
    the lesions left, shows one of them (not an empty choice) and keeps no draft of it."""
    case = live.new_case()
    nodule = case["by_label"]["RUL nodule"]
    added = []
    for organ in ("liver", "spleen"):
        r = live.post(f"/api/v1/cases/{case['id']}/lesions",
                      {"kind": "target", "organ": organ, "nodal": False})
        assert r.status_code == 201, r.text
        added.append(r.json())
    liver, spleen = added
    sign_in(page, live)
    open_case(page, live, case["id"])
    select(page, nodule["id"])
    into = page.locator(".merge-form select[name=merge-into]")
    assert into.input_value() == str(liver["id"])  # the first offered
    into.select_option(str(spleen["id"]))
    assert into.get_attribute("data-draft") is not None
    r = httpx.request("DELETE", f"{live.url}/api/v1/cases/{case['id']}/lesions/{spleen['id']}",
                      json={"reason": "entered twice"}, headers=live.headers("radiologist"),
                      timeout=30)
    assert r.status_code == 200, r.text
    page.locator(f'[data-lesion-id="{spleen["id"]}"]').wait_for(state="detached", timeout=60_000)
    into = page.locator(".merge-form select[name=merge-into]")
    wait_until(lambda: into.evaluate("s => [...s.options].map(o => o.value)")
               == [str(liver["id"])], timeout=60)
    assert into.input_value() == str(liver["id"])
    assert into.get_attribute("data-draft") is None
