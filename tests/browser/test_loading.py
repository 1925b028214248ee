"""How the workstation loads (issue 22), in Chromium: sign-in and worklist never fetch the
viewer's code or codecs, the worklist is one API request, the review page preloads its
chunks, every asset comes compressed with a long-lived immutable cache, a second visit
takes them from the browser's cache, and the case page reads its measurements in one
request and its series metadata from Nadir's index."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from api.routes.web import IMMUTABLE, review_chunks
from tests.browser.conftest import WEB_DIST, LiveNadir, open_case, sign_in
from tests.conftest import wait_until

pytestmark = pytest.mark.integration
#: What only the review needs: its chunks, the image loader's workers, the codecs.
VIEWER = re.compile(r"/assets/(review-|decodeImageFrameWorker|computeWorker)|\.wasm$")


def _record(page: Any) -> list[Any]:
    responses: list[Any] = []
    page.on("response", lambda r: responses.append(r))
    return responses


def _until(page: Any, predicate: Any, timeout_ms: int = 30_000) -> None:
    """Wait while the page runs: Playwright's events come in only during its own calls."""
    waited = 0
    while not predicate():
        assert waited < timeout_ms, "condition not met"
        page.wait_for_timeout(100)
        waited += 100


def _api(responses: list[Any]) -> list[str]:
    return [r.url.split("?")[0] for r in responses
            if "/api/" in r.url or "/dicom-web/" in r.url]


def test_sign_in_and_worklist_do_not_load_the_viewer(page: Any, live: LiveNadir) -> None:
    responses = _record(page)
    sign_in(page, live)  # the sign-in page checks the token with GET /api/v1/patients
    page.locator("section.patient").first.wait_for()
    page.wait_for_load_state("networkidle")
    urls = [r.url for r in responses]
    responses.clear()
    page.goto(f"{live.url}/")
    page.locator("section.patient").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert not [u for u in urls if VIEWER.search(u)], urls
    assert "modulepreload" not in page.content()
    # The worklist: one request for the list (and /me for the role), whatever the cases.
    assert sorted(set(_api(responses))) == [f"{live.url}/api/v1/me", f"{live.url}/api/v1/worklist"]
    assert _api(responses).count(f"{live.url}/api/v1/worklist") == 1


def test_the_review_preloads_its_chunks_and_assets_are_cached_for_good(
        page: Any, live: LiveNadir) -> None:
    case = live.new_case()
    paths = [f"/dicom-web/studies/{study}/series/{uid}/metadata"
             for study, series in live.demo.pushed.items() for uid in series]
    # Filled from Orthanc once, after ingest.
    wait_until(lambda: all(live.get(p).headers.get("etag", "").startswith('"md-')
                           for p in paths), timeout=60, interval=0.5)
    sign_in(page, live)
    responses = _record(page)
    open_case(page, live, case["id"])
    measurements = f"{live.url}/api/v1/cases/{case['id']}/measurements"
    _until(page, lambda: measurements in _api(responses))
    chunks = review_chunks(Path(WEB_DIST))
    assert chunks and all(f'href="/assets/{name}"' in page.content() for name in chunks)
    assets = [r for r in responses if "/assets/" in r.url]
    assert any(VIEWER.search(r.url) for r in assets)
    for r in assets:
        headers = r.all_headers()
        assert headers["cache-control"] == IMMUTABLE, r.url
        if r.url.endswith((".js", ".css", ".wasm")):
            assert headers.get("content-encoding") in ("br", "gzip"), r.url
    # The case page: its measurements in one request, never one per lesion and timepoint.
    api = _api(responses)
    assert api.count(measurements) == 1
    assert not [u for u in api if re.search(r"/lesions/\d+/measurements/", u)], api
    # Both series' metadata came from Nadir's index (its ETag), not from Orthanc.
    metadata = [r for r in responses if r.url.endswith("/metadata")]
    assert len(metadata) == 2
    assert all(r.all_headers().get("etag", "").startswith('"md-') for r in metadata)

    # A second visit: every asset from the browser's cache (no bytes transferred).
    asked_before = len(_api(responses))
    open_case(page, live, case["id"])
    _until(page, lambda: _api(responses).count(measurements) == 2)
    assert len(_api(responses)) > asked_before
    loads = page.evaluate("performance.getEntriesByType('resource')"
                          ".filter(e => e.name.includes('/assets/'))"
                          ".map(e => [e.name, e.transferSize, e.decodedBodySize])")
    assert loads and all(size > 0 for _, _, size in loads), loads
    assert [name for name, transferred, _ in loads if transferred != 0] == [], loads


#: Before the page's scripts: the time (from navigation) at which both panes have drawn.
_BOTH_DRAWN = """
window.__bothDrawn = new Promise((resolve) => {
  const drawn = () => document.querySelectorAll('[data-viewport][data-ready="true"]').length === 2;
  const watch = new MutationObserver(() => {
    if (drawn()) { watch.disconnect(); resolve(performance.now()); }
  });
  document.addEventListener('DOMContentLoaded', () => watch.observe(document.body,
    { attributes: true, subtree: true, attributeFilter: ['data-ready'] }));
});
"""


def test_the_first_images_wait_for_no_other_request(page: Any, live: LiveNadir) -> None:
    """Before both panes are drawn the page asks only what they need: the case with the
    patient's studies (one request), the pairing, the two series' metadata and the two
    frames, six requests in all (issue 22's goal). Who is signed in, the thumbnails and the
    neighbours' prefetch wait until both are drawn."""
    case = live.new_case()
    sign_in(page, live)
    page.add_init_script(_BOTH_DRAWN)
    # Every request, the page's scripts', its preloads' and its workers' alike (the review's
    # first requests run in a worker, out of reach of the page's fetch), with when the
    # browser was asked for it (ms since the epoch; Chromium's wall time of the request).
    started: list[tuple[str, float]] = []

    def record(request: Any) -> None:
        url = urlsplit(request.url)
        started.append((url.path + (f"?{url.query}" if url.query else ""),
                        float(request.timing["startTime"])))

    page.on("requestfinished", record)
    page.on("requestfailed", record)
    open_case(page, live, case["id"])
    # The case page's navigation and both panes drawn, in ms since the epoch (the worklist's
    # requests, after the sign-in, can end after the listeners are on: they are before).
    opened, drawn = page.evaluate(
        "window.__bothDrawn.then((at) => [performance.timeOrigin, performance.timeOrigin + at])")
    # Then the rest comes: the header's user, the thumbnails, the other images. By then
    # every request started before both panes were drawn has ended.
    page.locator('.signed-in[data-user-role="radiologist"]').wait_for()
    page.locator('[data-series-thumbnail][data-loaded="true"]').first.wait_for()
    before = [p for p, at in started
              if opened <= at < drawn and re.match(r"^/(api|dicom-web)/", p)]
    shapes = sorted(re.sub(r"/(\d+|[0-9.]{20,})(?=/|\?|$)", "/{}", path) for path in before)
    pairing = [s for s in shapes if s.startswith("/api/v1/comparisons")]
    assert pairing in (["/api/v1/comparisons"], ["/api/v1/comparisons/{}"]), shapes
    assert [s for s in shapes if s not in pairing] == sorted([
        "/api/v1/cases/{}?include=studies",
        *["/dicom-web/studies/{}/series/{}/metadata"] * 2,
        *["/dicom-web/studies/{}/series/{}/instances/{}/frames/{}"] * 2]), shapes
    assert len(before) == 6, before
