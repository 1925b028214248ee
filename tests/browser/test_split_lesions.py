"""A lesion that split, drawn as a reader draws it: two calipers for one lesion at one
timepoint, summed by the server (RECIST 1.1 s4.3.2: "the longest diameters of the
fragmented portions should be added together"), and a lesion marked as merged into another.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

from measurement.figures import tenths
from tests.browser.conftest import LiveNadir, open_case, sign_in
from tests.browser.helpers import (
    attr,
    choose_tool,
    drag,
    history,
    measurement,
    nodule_case,
    select,
)
from tests.conftest import wait_until

pytestmark = pytest.mark.integration
SHOTS = Path(tempfile.gettempdir()) / "nadir-browser-shots"


def test_two_fragments_drawn_on_the_follow_up_are_summed_by_the_server(
        page: Any, live: LiveNadir) -> None:
    nodule = nodule_case(live, measured=True)
    case, lesion, known = nodule.case, nodule.lesion, nodule.known
    follow_up = case["timepoints"][-1]["id"]
    sign_in(page, live)
    open_case(page, live, case["id"])
    select(page, lesion["id"])
    choose_tool(page, "caliper")
    wait_until(lambda: attr(page, "right", "timepoint-id") == follow_up
               and attr(page, "right", "ready") == "true", timeout=60)
    # Selecting the lesion moves the follow-up pane to the registration's proposal.
    page.wait_for_selector('body[data-jump="done"]')
    button = page.locator('button[data-action="add-fragment"]')
    assert button.get_attribute("aria-pressed") == "false"
    button.click()
    assert page.locator('button[data-action="add-fragment"]').get_attribute(
        "aria-pressed") == "true"
    (r0, c0), (r1, c1) = known.endpoints
    image = attr(page, "right", "sop-instance-uid")
    # First fragment: the lesion's first caliper at the follow-up.
    drag(page, "right", (r0, c0), (r1, c1))
    first = wait_until(lambda: (m := measurement(live, case["id"], lesion["id"], follow_up))
                       and m, timeout=60)
    # Second fragment, a little lower on the same image: now one lesion of two fragments.
    drag(page, "right", (r0 + 12, c0), (r0 + 12, c0 + (c1 - c0) / 2 + 3))
    split = wait_until(lambda: (m := measurement(live, case["id"], lesion["id"], follow_up))
                       and len(m["fragments"]) == 2 and m, timeout=60)
    lengths = [f["length_mm"] for f in split["fragments"]]
    assert lengths[0] == first["length_mm"]
    assert all(f["sop_instance_uid"] == image for f in split["fragments"])
    # The lesion's diameter is the server's sum of the fragments' longest diameters.
    assert split["length_mm"] == pytest.approx(sum(lengths), abs=0.011)
    assert split["sop_instance_uid"] is None and split["status"] is None
    versions = history(live, case["id"], lesion["id"])
    assert [len(v["measurement"]["fragments"]) for v in versions] == [0, 0, 2]
    # The panel shows the sum and its parts, as the server has them.
    cell = page.locator(f'[data-lesion-id="{lesion["id"]}"] .cell .value').last
    wait_until(lambda: f"{tenths(split['length_mm'])} mm" in cell.inner_text(), timeout=60)
    assert " + ".join(f"{tenths(v)}" for v in lengths) in cell.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "split-lesion-fragments.png"))
    # A third caliper without "Add fragment" replaces the fragments: one caliper again.
    page.locator('button[data-action="add-fragment"]').click()
    drag(page, "right", (r0, c0), (r1, c1))
    wait_until(lambda: (m := measurement(live, case["id"], lesion["id"], follow_up))
               and not m["fragments"] and m["sop_instance_uid"] == image, timeout=60)
    # Undo brings the two fragments back, as a new version.
    page.keyboard.press("Control+z")
    wait_until(lambda: (m := measurement(live, case["id"], lesion["id"], follow_up))
               and len(m["fragments"]) == 2, timeout=60)


def test_a_lesion_marked_merged_into_another(page: Any, live: LiveNadir) -> None:
    case = live.new_case()
    follow_up = case["timepoints"][-1]["id"]
    into = case["by_label"]["RUL nodule"]
    r = live.post(f"/api/v1/cases/{case['id']}/lesions", {"kind": "target", "organ": "lung"})
    assert r.status_code == 201, r.text
    absorbed = r.json()
    sign_in(page, live)
    open_case(page, live, case["id"])
    select(page, absorbed["id"])
    form = page.locator("form.merge-form")
    form.locator('select[name="merge-timepoint"]').select_option(follow_up)
    form.locator('select[name="merge-into"]').select_option(str(into["id"]))
    form.locator('button[data-action="merge"]').click()
    stored = wait_until(lambda: (m := measurement(live, case["id"], absorbed["id"], follow_up))
                        and m, timeout=60)
    assert (stored["coalesced_into"], stored["length_mm"]) == (into["id"], 0.0)
    cell = page.locator(f'[data-lesion-id="{absorbed["id"]}"] .cell .value').last
    wait_until(lambda: f"merged into {into['label']}" in cell.inner_text(), timeout=60)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "merged-lesion.png"))
