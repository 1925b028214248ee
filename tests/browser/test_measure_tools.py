"""The radiologist's tools of issue 19 in the browser (Debian's Chromium, real Orthanc):
bidirectional measurements, non-target lesions marked on the image, the HU probe. The
assertions are on what the server stored, and on the phantom's known values."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from tests.browser.conftest import LiveNadir, open_case, sign_in
from tests.browser.helpers import (
    attr,
    client_point,
    drag,
    hover,
    measurement,
    nodule_case,
    press,
    select,
    to_nodule,
    wait_for_note,
)
from tests.conftest import wait_until

pytestmark = pytest.mark.integration


def _centre(live: LiveNadir, known: Any) -> tuple[float, float]:
    (r0, c0), (r1, c1) = known.endpoints
    return (r0 + r1) / 2, (c0 + c1) / 2


def _stored(live: LiveNadir, case_id: int, lesion_id: int, timepoint: str,
            version: int) -> Any:
    return wait_until(lambda: (m := measurement(live, case_id, lesion_id, timepoint))
                      and m["version"] >= version and m, timeout=60)


def test_bidirectional_stores_both_axes_within_a_millimetre(
        page: Any, live: LiveNadir) -> None:
    nodule = nodule_case(live)
    case, lesion = nodule.case, nodule.lesion
    sign_in(page, live)
    open_case(page, live, case["id"])
    to_nodule(page, live, nodule, "bidirectional")
    assert page.get_attribute('button[data-tool="bidirectional"]', "aria-pressed") == "true"
    spacing = live.demo.baseline.pixel_spacing_mm
    row, col = _centre(live, nodule.known)
    # The long axis across the nodule (20 mm); a short axis is proposed across its middle.
    drag(page, "left", (row, col - 10 / spacing), (row, col + 10 / spacing))
    first = _stored(live, case["id"], lesion["id"], nodule.baseline, 1)
    assert first["long_axis_mm"] == pytest.approx(20.0, abs=1.0)
    assert first["short_axis_mm"] is not None and first["short_axis_mm"] < first["long_axis_mm"]
    # Its ends dragged to 3 mm above and below the middle: a short axis of 6 mm.
    version = first["version"]
    for target in (row - 3 / spacing, row + 3 / spacing):
        current = measurement(live, case["id"], lesion["id"], nodule.baseline)
        end = min(current["short_axis_endpoints"], key=lambda p: abs(p[0] - target))
        drag(page, "left", (end[0], end[1]), (target, end[1]))
        version += 1
        _stored(live, case["id"], lesion["id"], nodule.baseline, version)
    final = measurement(live, case["id"], lesion["id"], nodule.baseline)
    assert final["short_axis_mm"] == pytest.approx(6.0, abs=1.0)
    assert final["long_axis_mm"] == pytest.approx(20.0, abs=1.0)
    assert final["length_mm"] == final["long_axis_mm"]  # a lung nodule counts its long axis


def test_a_non_target_point_is_stored_drawn_and_jumped_to(page: Any, live: LiveNadir) -> None:
    nodule = nodule_case(live)
    case = nodule.case
    r = live.post(f"/api/v1/cases/{case['id']}/lesions", {"kind": "non_target",
                                                          "organ": "pleura"})
    assert r.status_code == 201, r.text
    pleura = r.json()
    sign_in(page, live)
    open_case(page, live, case["id"])
    to_nodule(page, live, nodule)  # the left pane on the nodule's image
    select(page, pleura["id"])
    page.click('button[data-tool="caliper"]')
    row, col = _centre(live, nodule.known)
    x, y = client_point(page, "left", row, col)
    page.mouse.click(x, y)
    stored = _stored(live, case["id"], pleura["id"], nodule.baseline, 1)
    assert stored["status"] == "present"
    assert stored["sop_instance_uid"] == nodule.known.sop_instance_uid
    assert stored["point"] == pytest.approx([row, col], abs=1.0)
    marker = page.locator(f'[data-viewport="left"] .lesion-point[data-point-of="{pleura["id"]}"]')
    marker.wait_for()
    assert pleura["label"] in marker.inner_text()
    # Elsewhere, then "jump to lesion" (selecting it in the list) brings the pane back.
    hover(page, "left")
    for _ in range(5):
        press(page, "left", "ArrowUp")
    assert attr(page, "left", "sop-instance-uid") != nodule.known.sop_instance_uid
    select(page, case["by_label"]["Subcarinal node"]["id"])
    select(page, pleura["id"])
    page.wait_for_function(
        f"() => document.querySelector('[data-viewport=left]').dataset.sopInstanceUid === "
        f"'{nodule.known.sop_instance_uid}'")
    marker.wait_for(state="visible")  # drawn on the render after the image


def test_the_probe_reads_the_phantom_in_hu_and_saves_nothing(page: Any, live: LiveNadir) -> None:
    nodule = nodule_case(live)
    case, lesion = nodule.case, nodule.lesion
    sign_in(page, live)
    open_case(page, live, case["id"])
    to_nodule(page, live, nodule)
    page.keyboard.press("p")
    assert page.get_attribute('button[data-tool="probe"]', "aria-pressed") == "true"
    assert attr(page, "left", "active-tool") == "probe"
    spacing = live.demo.baseline.pixel_spacing_mm
    row, col = _centre(live, nodule.known)
    known_hu = live.demo.baseline.lesion("RUL nodule").hu
    readout = page.locator('[data-viewport="left"] [data-probe]')
    # One pixel: the value the page decoded there, with the rescale applied.
    x, y = client_point(page, "left", row + 0.5, col + 0.5)
    page.mouse.move(x, y)
    readout.wait_for()
    text = readout.inner_text()
    assert "HU" in text and "mm" in text
    value = float(str(readout.get_attribute("data-value")))
    raw = page.evaluate("([r, c]) => window.nadirReview.pixel('left', r, c)",
                        [math.floor(row), math.floor(col)])
    assert raw["rescaled"] or abs(value - raw["value"]) > 0  # rescale applied when not done
    # A circle of 12 mm inside the 22 mm nodule: its mean is the phantom's 50 HU (noise
    # 22 HU per pixel, about 90 pixels: the mean is within ~2.5 HU).
    drag(page, "left", (row, col), (row, col + 6 / spacing))
    page.wait_for_function("() => document.querySelector('[data-viewport=left] [data-probe]')"
                           ".dataset.mean !== undefined")
    mean = float(str(readout.get_attribute("data-mean")))
    sd = float(str(readout.get_attribute("data-sd")))
    assert mean == pytest.approx(known_hu, abs=5.0)
    assert 10 < sd < 40  # the lung series' noise (22 HU)
    assert "±" in readout.inner_text()
    page.wait_for_timeout(500)
    assert measurement(live, case["id"], lesion["id"], nodule.baseline) is None


def test_a_crooked_bidirectional_is_refused_with_a_visible_message(
        page: Any, live: LiveNadir) -> None:
    """cornerstone3D's tool keeps the axes perpendicular, so a reader cannot draw a crooked
    one by hand; an SR-made or hand-edited one can reach the server. The save is bent on its
    way (the short axis turned 30 degrees about its middle): the server refuses it, naming
    the angle, the page says so, and nothing is stored."""
    nodule = nodule_case(live)
    case, lesion = nodule.case, nodule.lesion
    bent: list[float] = []

    def turn(route: Any) -> None:
        request = route.request
        if request.method != "PUT":
            route.continue_()
            return
        body = json.loads(request.post_data or "{}")
        short = body.get("short_axis_endpoints")
        if not short:
            route.continue_()
            return
        (r0, c0), (r1, c1) = short
        mr, mc = (r0 + r1) / 2, (c0 + c1) / 2
        a = math.radians(30)

        def rotate(r: float, c: float) -> list[float]:
            dr, dc = r - mr, c - mc
            return [mr + dr * math.cos(a) - dc * math.sin(a),
                    mc + dr * math.sin(a) + dc * math.cos(a)]

        body["short_axis_endpoints"] = [rotate(r0, c0), rotate(r1, c1)]
        bent.append(a)
        route.continue_(post_data=json.dumps(body))

    page.route("**/measurements/**", turn)
    sign_in(page, live)
    open_case(page, live, case["id"])
    to_nodule(page, live, nodule, "bidirectional")
    spacing = live.demo.baseline.pixel_spacing_mm
    row, col = _centre(live, nodule.known)
    drag(page, "left", (row, col - 10 / spacing), (row, col + 10 / spacing))
    note = wait_for_note(page, "perpendicular", error=True)
    assert bent, "the page sent no short axis"
    assert "Not saved" in note and "degrees" in note
    assert measurement(live, case["id"], lesion["id"], nodule.baseline) is None
