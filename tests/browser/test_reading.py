"""Safe reading (issue 18): nothing incomplete looks complete, and the screen shows what the
server holds: the response panel equals GET /response after each change, sign-off names
what is missing, lesions are deleted and changed from the panel, changes made elsewhere
appear. Assertions are on what the server stored."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest

from measurement.figures import tenths
from tests.browser.conftest import PID, LiveNadir, open_case, sign_in
from tests.browser.helpers import (
    drag,
    expected_sums,
    history,
    hover,
    httpx_put,
    measurement,
    nodule_case,
    panel_matches_server,
    put_known,
    shown_sums,
    to_nodule,
)
from tests.conftest import wait_until

pytestmark = pytest.mark.integration


def test_an_empty_case_says_what_to_do_and_the_worklist_logs_no_error(
        page: Any, live: LiveNadir) -> None:
    r = live.post("/api/v1/cases", {"patient_id": PID, "criteria": "RECIST1.1",
                                    "allow_duplicate": True})
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    sign_in(page, live)
    row = page.locator(f'tr[data-case-id="{case_id}"]')
    row.wait_for()
    page.wait_for_load_state("networkidle")
    assert console == []
    assert "not yet" in row.inner_text()
    open_case(page, live, case_id)
    step = page.locator(".response .next-step")
    step.wait_for()
    assert "Add the target lesions on the baseline" in step.inner_text()
    assert page.locator(".response .problem").count() == 0
    assert "0.0 mm" not in page.locator(".response").inner_text()
    # Nothing to sign off: no button offers it; each timepoint says nothing is read yet.
    assert page.locator(".response button.sign-off").count() == 0
    cells = page.locator(".response .signoff-row td").all_inner_texts()
    assert cells and all(c.strip() == "nothing read yet" for c in cells)
    page.screenshot(path=os.environ.get("NADIR_SHOTS", "/tmp") + "/empty-case.png")


def test_the_response_panel_equals_the_server_after_save_undo_and_a_412(
        page: Any, live: LiveNadir) -> None:
    nodule = nodule_case(live)
    case, lesion, known = nodule.case, nodule.lesion, nodule.known
    put_known(live, case, "Subcarinal node", nodule.baseline)
    sign_in(page, live)
    open_case(page, live, case["id"])
    panel_matches_server(page, live, case["id"])
    assert "not yet measured" in shown_sums(page)  # the nodule is not measured yet
    to_nodule(page, live, nodule, "caliper")
    drag(page, "left", known.endpoints[0], known.endpoints[1])
    wait_until(lambda: measurement(live, case["id"], lesion["id"], nodule.baseline), timeout=60)
    panel_matches_server(page, live, case["id"])
    (r1, c1) = known.endpoints[1]
    drag(page, "left", (r1, c1), (r1, c1 + 6.0 / live.demo.baseline.pixel_spacing_mm))
    wait_until(lambda: len(history(live, case["id"], lesion["id"])) == 2, timeout=60)
    panel_matches_server(page, live, case["id"])
    hover(page, "left")
    page.keyboard.press("Control+z")
    versions = wait_until(lambda: (v := history(live, case["id"], lesion["id"]))
                          and len(v) == 3 and v, timeout=60)
    assert versions[2]["reason"] == "undo"
    panel_matches_server(page, live, case["id"])
    # Someone else changes the nodule; this page's next drag meets a 412 and loads theirs.
    (r0, c0) = known.endpoints[0]
    theirs = httpx_put(live, f"/api/v1/cases/{case['id']}/lesions/{lesion['id']}/measurements/"
                             f"{nodule.baseline}", {"sop_instance_uid": known.sop_instance_uid,
                                                    "endpoints": [[r0, c0 + 3], [r1, c1 - 3]]})
    assert theirs.status_code == 200
    drag(page, "left", (r1, c1), (r1, c1 + 2))
    # Either the drag met their version (a 412, whose dialog may come at any moment) or the
    # live stream brought it in first; either way the panel ends equal to the server.
    dialog = page.locator("dialog.modal[open]")

    def settled() -> bool:
        if dialog.count():
            dialog.locator("button[value=reload]").click()
            return False
        return shown_sums(page) == expected_sums(live, case["id"])

    wait_until(settled, timeout=60)
    assert dialog.count() == 0


def test_sign_off_lists_the_lesion_not_read_and_marking_it_not_evaluable_lets_it_through(
        page: Any, live: LiveNadir) -> None:
    nodule = nodule_case(live, measured=True)
    case = nodule.case
    followup = case["timepoints"][1]["id"]
    node = case["by_label"]["Subcarinal node"]
    put_known(live, case, "Subcarinal node", nodule.baseline)
    r = httpx_put(live, f"/api/v1/cases/{case['id']}/lesions/{nodule.lesion['id']}"
                        f"/measurements/{followup}", {"status": "too_small"})
    assert r.status_code == 200, r.text  # the node is not read at follow-up
    sign_in(page, live)
    open_case(page, live, case["id"])
    missing = page.locator(f'.response ul.missing li[data-timepoint-id="{followup}"]')
    missing.wait_for()
    assert node["label"] in missing.inner_text()
    page.click(f'button.sign-off[data-timepoint-id="{followup}"]')
    dialog = page.locator("dialog.modal")
    dialog.wait_for()
    assert node["label"] in dialog.inner_text() and "not complete" in dialog.inner_text()
    page.screenshot(path=os.environ.get("NADIR_SHOTS", "/tmp") + "/sign-off-missing.png")
    assert live.get(f"/api/v1/cases/{case['id']}").json()["timepoints"][1]["signed_off_by"] is None
    dialog.locator(f'button[value="lesion-{node["id"]}"]').click()
    signed = wait_until(lambda: live.get(f"/api/v1/cases/{case['id']}").json()
                        ["timepoints"][1]["signed_off_by"], timeout=60)
    assert signed == "radiologist-user"
    stored = measurement(live, case["id"], node["id"], followup)
    assert stored["status"] == "not_evaluable"
    panel_matches_server(page, live, case["id"])


def unfold(page: Any) -> Any:
    """The selected lesion's "Change or delete" form, unfolded (it stays so once it was)."""
    edit = page.locator(".edit-lesion")
    if not edit.evaluate("d => d.open"):
        edit.locator("summary").click()
    return edit


def test_a_lesion_is_deleted_and_changed_from_the_panel(page: Any, live: LiveNadir) -> None:
    nodule = nodule_case(live, measured=True)
    case = nodule.case
    node = case["by_label"]["Subcarinal node"]
    put_known(live, case, "Subcarinal node", nodule.baseline)
    sign_in(page, live)
    open_case(page, live, case["id"])
    panel_matches_server(page, live, case["id"])
    # Change the nodule's organ.
    page.locator(f'[data-lesion-id="{nodule.lesion["id"]}"]').click()
    edit = unfold(page)
    edit.locator("input[name=organ]").fill("right upper lobe")
    edit.locator("button.save-lesion").click()
    wait_until(lambda: live.get(f"/api/v1/cases/{case['id']}").json()["lesions"][0]["organ"]
               == "right upper lobe", timeout=60)
    # Delete the node, with a reason: it leaves the list; the server keeps its history.
    page.locator(f'[data-lesion-id="{node["id"]}"]').click()
    edit = unfold(page)
    edit.locator("button.delete-lesion").click()
    page.locator("dialog.modal textarea").fill("not a lymph node: a vessel")
    page.locator("dialog.modal button[value=ok]").click()
    page.locator(f'[data-lesion-id="{node["id"]}"]').wait_for(state="detached")
    lesions = live.get(f"/api/v1/cases/{case['id']}/lesions?include_deleted=true").json()
    deleted = next(x for x in lesions if x["id"] == node["id"])
    assert deleted["deletion_reason"] == "not a lymph node: a vessel"
    assert len(history(live, case["id"], node["id"])) == 1
    panel_matches_server(page, live, case["id"])


def test_a_change_arriving_while_the_reader_types_keeps_the_typing_and_the_click(
        page: Any, live: LiveNadir) -> None:
    """The lesion panel draws itself again whenever the case changes, which replaces its
    forms: it waits while the reader is in one. Before, it waited only until the field lost
    the focus, which a press on Save does, so it drew between the press and the release of
    the click (a person's click holds the button down for a while): the click was lost, and
    what was typed with it. It now waits until the click has landed."""
    nodule = nodule_case(live, measured=True)
    case = nodule.case
    sign_in(page, live)
    open_case(page, live, case["id"])
    page.wait_for_selector('body[data-live="on"]')  # the page's event stream is open
    panel_matches_server(page, live, case["id"])
    page.locator(f'[data-lesion-id="{nodule.lesion["id"]}"]').click()
    edit = unfold(page)
    organ = edit.locator("input[name=organ]")
    organ.fill("right upper lobe")  # the focus stays in the field
    # A measurement made elsewhere reaches the page (its response panel shows the new sum).
    put_known(live, case, "Subcarinal node", nodule.baseline)
    panel_matches_server(page, live, case["id"])
    assert organ.input_value() == "right upper lobe"
    edit.locator("button.save-lesion").click(delay=300)  # 300 ms between press and release

    def organ_stored() -> str:
        lesions = live.get(f"/api/v1/cases/{case['id']}").json()["lesions"]
        return str(next(x for x in lesions if x["id"] == nodule.lesion["id"])["organ"])

    wait_until(lambda: organ_stored() == "right upper lobe", timeout=30)
    # Then the panel draws what changed meanwhile.
    node = case["by_label"]["Subcarinal node"]
    cell = page.locator(f'[data-lesion-id="{node["id"]}"] .cell .value').first
    wait_until(lambda: cell.inner_text() != "—", timeout=30)


def test_a_change_made_elsewhere_appears_on_the_page(page: Any, live: LiveNadir) -> None:
    nodule = nodule_case(live)
    case, lesion = nodule.case, nodule.lesion
    sign_in(page, live)
    open_case(page, live, case["id"])
    page.wait_for_selector('body[data-live="on"]')  # the page's event stream is open
    stored = put_known(live, case, "RUL nodule", nodule.baseline)
    cell = page.locator(f'[data-lesion-id="{lesion["id"]}"] .cell .value').first
    wait_until(lambda: cell.inner_text() == f"{tenths(stored['length_mm'])} mm", timeout=60)
    panel_matches_server(page, live, case["id"])
    r = httpx.post(live.url + f"/api/v1/cases/{case['id']}/lesions",
                   json={"kind": "non_target", "organ": "pleura", "nodal": False},
                   headers=live.headers("radiologist"), timeout=30)
    assert r.status_code == 201, r.text
    page.locator(f'[data-lesion-id="{r.json()["id"]}"]').wait_for()


def test_creating_a_case_the_patient_has_already_opens_the_existing_one(
        page: Any, live: LiveNadir) -> None:
    existing = live.new_case()  # the demo patient's baseline (first study), RECIST 1.1
    before = len(live.get(f"/api/v1/cases?patient_id={PID}").json())
    sign_in(page, live)
    form = page.locator(f'section.patient[data-patient-id="{PID}"] form.create-case')
    form.wait_for()
    form.locator("select[name=criteria]").select_option("RECIST1.1")
    form.locator("select[name=baseline]").select_option(existing["baseline_study_uid"])
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{live.url}/cases/*")
    opened = live.get("/api/v1/cases/" + page.url.split("/cases/")[1].split("?")[0]).json()
    assert (opened["patient_id"], opened["baseline_study_uid"], opened["criteria"]) == (
        PID, existing["baseline_study_uid"], "RECIST1.1")
    assert len([c for c in live.get(f"/api/v1/cases?patient_id={PID}").json()]) == before
