"""What the browser tests do as a reader does (keys, drags, clicks) and what they read back
from the server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from measurement.figures import signed_tenths, tenths
from tests.browser.conftest import PAGE_WAIT_MS, LiveNadir
from tests.conftest import wait_until


def attr(page: Any, side: str, name: str) -> str:
    return str(page.get_attribute(f'[data-viewport="{side}"]', f"data-{name}"))


def position(page: Any, side: str) -> float:
    return float(attr(page, side, "slice-position-mm"))


def hover(page: Any, side: str) -> None:
    box = page.locator(f'[data-viewport="{side}"]').bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.9)


def press(page: Any, side: str, key: str) -> None:
    """Press a key over a pane and wait until it shows another image (another instance, or
    another frame of a multi-frame one)."""
    before = attr(page, side, "image-index")
    page.keyboard.press(key)
    page.wait_for_function(
        "([side, before]) => document.querySelector(`[data-viewport=${side}]`)"
        ".dataset.imageIndex !== before", arg=[side, before])


def go_to_image(page: Any, side: str, sop_uid: str, z_mm: float, frame: int | None = None
                ) -> None:
    """Scroll a pane with the arrow keys to the image `sop_uid` (its `frame`, for a
    multi-frame image), at about `z_mm`."""
    hover(page, side)
    for _ in range(200):
        if attr(page, side, "sop-instance-uid") == sop_uid and (
                frame is None or attr(page, side, "frame") == str(frame)):
            return
        press(page, side, "ArrowDown" if position(page, side) > z_mm else "ArrowUp")
    raise AssertionError(f"image {sop_uid} (frame {frame}) not reached on the {side} pane")


def client_point(page: Any, side: str, row: float, column: float) -> tuple[float, float]:
    point = page.evaluate("([s, r, c]) => window.nadirReview.imageToClient(s, r, c)",
                          [side, row, column])
    assert point is not None
    return float(point[0]), float(point[1])


def drag(page: Any, side: str, start: tuple[float, float], end: tuple[float, float]) -> None:
    """A left-button drag between two image points (row, column) of the pane's image."""
    a, b = client_point(page, side, *start), client_point(page, side, *end)
    page.mouse.move(*a)
    page.mouse.down()
    page.mouse.move(*b, steps=12)
    page.mouse.up()


def wait_for_note(page: Any, text: str, *, error: bool = False) -> str:
    """The page said `text` in a passing note (an error note when `error`), now or since it
    was opened, though the note may be gone already (conftest.NOTES_LOG); its whole text."""

    def said() -> str | None:
        notes = page.evaluate("window.__nadirNotes || []")
        return next((n["text"] for n in notes
                     if text in n["text"] and (n["error"] or not error)), None)

    found = wait_until(said, timeout=PAGE_WAIT_MS / 1000)
    return str(found)


def measurement(live: LiveNadir, case_id: int, lesion_id: int, timepoint: str) -> Any:
    r = live.get(f"/api/v1/cases/{case_id}/lesions/{lesion_id}/measurements/{timepoint}")
    return r.json() if r.status_code == 200 else None


def history(live: LiveNadir, case_id: int, lesion_id: int) -> list[Any]:
    return list(live.get(f"/api/v1/cases/{case_id}/lesions/{lesion_id}/history")
                .json()["versions"])


def select(page: Any, lesion_id: int) -> None:
    item = page.locator(f'[data-lesion-id="{lesion_id}"]')
    item.click()
    assert item.get_attribute("aria-selected") == "true"


def put_known(live: LiveNadir, case: dict[str, Any], label: str, timepoint: str) -> Any:
    known = live.demo.calipers[label]
    r = httpx_put(live, f"/api/v1/cases/{case['id']}/lesions/{case['by_label'][label]['id']}"
                        f"/measurements/{timepoint}",
                  {"sop_instance_uid": known.sop_instance_uid,
                   "endpoints": [list(p) for p in known.endpoints]})
    assert r.status_code == 200, r.text
    return r.json()


def httpx_put(live: LiveNadir, path: str, body: Any) -> Any:
    return httpx.put(live.url + path, json=body, headers=live.headers("radiologist"), timeout=30)


def choose_tool(page: Any, tool: str) -> None:
    """Press the toolbar's button of a tool and check that both panes took it."""
    page.click(f'button[data-tool="{tool}"]')
    assert page.get_attribute(f'button[data-tool="{tool}"]', "aria-pressed") == "true"
    for side in ("left", "right"):
        assert attr(page, side, "active-tool") == tool


@dataclass(frozen=True)
class NoduleCase:
    """A new case of the demo patient, seen through its lung nodule "RUL nodule"."""

    case: dict[str, Any]
    baseline: str  # the baseline's timepoint id
    lesion: dict[str, Any]
    known: Any  # KnownCaliper: its image, endpoints and diameter on the baseline


def nodule_case(live: LiveNadir, measured: bool = False) -> NoduleCase:
    """A case whose nodule is measured at baseline by the API when `measured`."""
    case = live.new_case()
    baseline = case["timepoints"][0]["id"]
    if measured:
        put_known(live, case, "RUL nodule", baseline)
    return NoduleCase(case, baseline, case["by_label"]["RUL nodule"],
                      live.demo.calipers["RUL nodule"])


def to_nodule(page: Any, live: LiveNadir, nodule: NoduleCase, tool: str | None = None) -> None:
    """Select the nodule, choose `tool`, and scroll the left pane to its baseline image."""
    select(page, nodule.lesion["id"])
    if tool:
        choose_tool(page, tool)
    z = live.demo.baseline.lesion_center_patient_mm("RUL nodule")[2]
    go_to_image(page, "left", nodule.known.sop_instance_uid, z)


def panel_signed(value: float) -> str:
    """A change as the panels write it (web/src/figures.ts signedTenths): the report's rule,
    with a minus sign rather than a hyphen."""
    return signed_tenths(value).replace("-", "\u2212")


def expected_sums(live: LiveNadir, case_id: int) -> list[str]:
    """What the panel's sum row must say, from the server's response."""
    r = live.get(f"/api/v1/cases/{case_id}/response")
    assert r.status_code == 200, r.text
    return ["not yet measured" if not tp["complete"]
            else "—" if tp["sum_mm"] is None else f"{tenths(tp['sum_mm'])} mm"
            for tp in r.json()["timepoints"]]


def shown_sums(page: Any) -> list[str]:
    return [str(t).strip() for t in
            page.locator('.response tr[data-row="sum"] td').all_inner_texts()]


def panel_matches_server(page: Any, live: LiveNadir, case_id: int) -> None:
    wait_until(lambda: shown_sums(page) == expected_sums(live, case_id), timeout=60)


def drawn_not_saved(page: Any, live: LiveNadir, nodule: NoduleCase) -> Any:
    """Draw the nodule's caliper on the open case with every save refused (connection
    refused): the lesion's "not saved" row, once shown."""
    to_nodule(page, live, nodule, "caliper")
    page.route("**/measurements/**", lambda route: route.abort("connectionrefused")
               if route.request.method == "PUT" else route.continue_())
    drag(page, "left", nodule.known.endpoints[0], nodule.known.endpoints[1])
    row = page.locator(f'[data-lesion-id="{nodule.lesion["id"]}"] .save-failed')
    row.wait_for()
    return row


def dialogs_dismissed(page: Any) -> list[str]:
    """Dismiss every dialog the page opens (for `beforeunload`: the reader stays); the list
    of their types, as they come."""
    asked: list[str] = []

    def on_dialog(dialog: Any) -> None:
        asked.append(dialog.type)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return asked
