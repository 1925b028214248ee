"""Review workstation benchmark: headless Chromium against a real `nadir serve` and Orthanc.

Data: the demo pair at full size (two CT studies, 300-slice 512x512 thin series), with a case
of four target lesions measured at both timepoints (the page loads them as a reader's would).
- First images: from navigation to /cases/{id} until both viewports are drawn
  (``data-ready``, then the next animation frame), cold in a new browser context (empty
  cache and sessionStorage), then warm in a new page of the same context. Playwright's
  contexts are off the record, and Chromium keeps no V8 code cache for those: so warm is also
  measured in a browser profile on disk, as a radiologist's own browser is (its HTTP cache
  and code cache kept; two visits to fill them, then the measured ones). Timed inside the
  page from navigation start, with the API requests (``/api/``, ``/dicom-web/``) that
  started before (Resource Timing).
  Baseline in the same run: fetching the same two first images (the frames the panes showed)
  by WADO-RS from Python, through the same /dicom-web/ proxy; and the two series' metadata.
- Scrolling: once both series are prefetched, ArrowDown over the left pane; time from the
  key event to the next animation frame after the pane shows the next image, and until the
  linked right pane has followed.
- ``--against REF``: the same warm visits against another commit of Nadir, served from a git
  worktree of REF (its own code and its own web build, made with this checkout's
  node_modules) on the same database and Orthanc, the two taking turns in each round: a
  change measured beside its baseline under the same load. Besides the time until both panes
  are drawn, each visit's CPU time of all Chromium's processes until then, which the
  machine's other work spreads less than it spreads the wall clock.
Usage: .venv/bin/python -m bench.workstation [--runs 5] [--keys 40] [--against REF]
(run `npm --prefix web run build` first: the page is web/dist)
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.common import (
    REPO,
    checkout,
    cpu_seconds,
    create_token,
    nadir_env,
    nadir_process,
    nadir_serve,
    orthanc,
)
from pacs.dimse import DicomPeer, store
from synthetic import demo_patient, generate_study
from synthetic.calipers import KnownCaliper, lesion_calipers

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", "--disable-dev-shm-usage",
                 # Chromium's own omnibox popup, a WebUI page of about 200 modules, loads
                 # with every new tab: on 2 cores it took CPU from the page's first 400 ms.
                 # Each visit here is a new tab, where a reader opens a case in one open
                 # already (a navigation in the same tab loads none of it).
                 "--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup,"
                 "WebUIOmniboxFullPopup,PreloadTopChromeWebUI"]
# Set before the page's own scripts: when both panes are ready, note the time of the next
# frame (performance.now() counts from navigation start).
READY_PROBE = """
performance.setResourceTimingBufferSize(100000);
window.__firstImages = new Promise((resolve) => {
  const ready = () => document.querySelectorAll('[data-viewport][data-ready="true"]').length === 2;
  const watch = new MutationObserver(() => {
    if (ready()) { watch.disconnect(); requestAnimationFrame(() => resolve(performance.now())); }
  });
  const options = { attributes: true, subtree: true, attributeFilter: ['data-ready'] };
  document.addEventListener('DOMContentLoaded', () => watch.observe(document.body, options));
});
"""
# One key press over the left pane: ms to the frame after the left pane's new image, and to
# the frame after the right pane (linked) shows its new image.
KEY_PROBE = """
() => { window.__keyProbe = new Promise((resolve) => {
  const left = document.querySelector('[data-viewport="left"]');
  const right = document.querySelector('[data-viewport="right"]');
  const before = [left.dataset.sopInstanceUid, right.dataset.sopInstanceUid];
  const times = {};
  let start = null;
  const once = { once: true, capture: true };
  document.addEventListener('keydown', (e) => { start = e.timeStamp; }, once);
  const done = () => {
    if (times.left > 0 && times.right > 0) { watch.disconnect(); resolve(times); }
  };
  const watch = new MutationObserver(() => {
    for (const [name, el, old] of [['left', left, before[0]], ['right', right, before[1]]]) {
      if (!times[name] && el.dataset.sopInstanceUid !== old) {
        times[name] = -1;
        requestAnimationFrame(() => { times[name] = performance.now() - start; done(); });
      }
    }
  });
  const options = { attributes: true, subtree: true, attributeFilter: ['data-sop-instance-uid'] };
  watch.observe(document.body, options);
  setTimeout(() => { watch.disconnect(); resolve(times); }, 5000);
}); }
"""


def background_settled(database: Path, timeout_s: float = 600.0) -> float:
    """Wait until Nadir's work after the ingest is done (every instance's image check and
    every series' metadata, each of which reads whole files from Orthanc): a radiologist
    opens a case some time after its studies came, not while they are being read. Seconds
    waited."""
    start = time.monotonic()
    while time.monotonic() < start + timeout_s:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            unchecked, unfilled = db.execute(
                "SELECT (SELECT count(*) FROM instances i LEFT JOIN image_checks c "
                "ON c.instance_pk = i.id WHERE c.instance_pk IS NULL OR NOT c.checked), "
                "(SELECT count(*) FROM instances WHERE dicom_json IS NULL)").fetchone()
        if unchecked == 0 and unfilled == 0:
            return time.monotonic() - start
        time.sleep(0.5)
    raise TimeoutError(f"Nadir's image checks and series metadata not done in {timeout_s} s")


def push_pair(pacs: Any) -> tuple[str, dict[str, list[KnownCaliper]]]:
    demo = demo_patient(matrix=512, thin_slice_count=300)
    calipers: dict[str, list[KnownCaliper]] = {}
    peer = DicomPeer("127.0.0.1", pacs.config.dicom_port, pacs.config.aet, "STORESCU")
    for key, spec, seed in (("bl", demo.baseline, 1), ("fu", demo.followup, 2)):
        datasets = generate_study(spec, seed=seed)
        calipers[key] = lesion_calipers(spec, datasets)
        store(peer, datasets)
    return demo.baseline.patient.patient_id, calipers


def seed_case(client: httpx.Client, patient_id: str,
              calipers: dict[str, list[KnownCaliper]]) -> int:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        r = client.get(f"/api/v1/patients/{patient_id}/studies")
        if r.status_code == 200 and len(r.json()) == 2 and all(
                max(s["instances"] for s in st["series"]) == 300 for st in r.json()):
            break
        time.sleep(0.5)
    else:
        raise RuntimeError("the study pair was not indexed within 300 s")
    case = client.post("/api/v1/cases", json={"patient_id": patient_id,
                                              "criteria": "RECIST1.1"}).json()
    lesions = {}
    for cal in calipers["bl"]:
        lesions[cal.label] = client.post(f"/api/v1/cases/{case['id']}/lesions", json={
            "kind": "target", "organ": cal.organ, "nodal": cal.organ == "lymph node"}).json()["id"]
    for tp, key in zip((t["id"] for t in case["timepoints"]), ("bl", "fu"), strict=True):
        for cal in calipers[key]:
            client.put(f"/api/v1/cases/{case['id']}/lesions/{lesions[cal.label]}/measurements/"
                       f"{tp}", json={"sop_instance_uid": cal.sop_instance_uid,
                                      "endpoints": [list(p) for p in cal.endpoints]}
                       ).raise_for_status()
    return int(case["id"])


# The requests to the API (/api/, /dicom-web/) that started before both panes had their
# first image (the later of the page's two `nadir:first-image-*` marks), not before the
# frame after: the page starts its neighbours' prefetch and thumbnails once both are drawn,
# which can be before that next frame. They are taken from the browser's network events, not
# the page's Resource Timing: the review's first requests are a worker's, and a worker's
# requests are in its own timeline only.
FIRST_IMAGES_AT = """
() => {
  const marks = performance.getEntriesByType('mark')
    .filter((m) => m.name.startsWith('nadir:first-image-')).map((m) => m.startTime);
  return [performance.timeOrigin, marks.length === 2 ? Math.max(...marks) : null];
}
"""


VIEWPORT = {"width": 1600, "height": 900}


def signed_in(context: Any, token: str) -> Any:
    """The context, its pages signed in and watched for both panes' first images."""
    context.add_init_script(f"sessionStorage.setItem('nadir.token', {token!r});")
    context.add_init_script(READY_PROBE)
    return context


def new_context(browser: Any, token: str) -> Any:
    """A browser context with an empty cache, signed in."""
    return signed_in(browser.new_context(viewport=VIEWPORT), token)


def profile_runs(playwright: Any, url: str, token: str, case_id: int, runs: int
                 ) -> tuple[list[float], list[list[Timed]]]:
    """Warm visits in a browser profile on disk: ms until both panes are drawn, and each
    visit's API requests. Two visits first fill its HTTP cache and make its code cache (Chromium
    keeps a script's compiled code once the script has been loaded twice)."""
    ready: list[float] = []
    requests: list[list[Timed]] = []
    with tempfile.TemporaryDirectory() as profile:
        context = signed_in(playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, viewport=VIEWPORT), token)
        for n in range(2 + runs):
            page, ready_ms, _, api = visit(context, url, case_id)
            page.close()
            if n >= 2:
                ready.append(ready_ms)
                requests.append(api)
        context.close()
    return ready, requests


#: An API request's path, and when the page asked for it, when the browser sent it (later
#: when it waited for a free connection), when its answer began and when it ended (ms from
#: navigation; Resource Timing).
Timed = tuple[str, float, float, float, float]


def visit(context: Any, url: str, case_id: int
          ) -> tuple[Any, float, dict[str, float], list[Timed]]:
    """Open the case in a new page of the context: the page, ms from navigation until
    both panes are drawn, the page's marks, and the API requests started before that."""
    page = context.new_page()
    ended: list[Any] = []

    def note(request: Any) -> None:
        ended.append(request)

    page.on("requestfinished", note)
    page.on("requestfailed", note)
    page.goto(f"{url}/cases/{case_id}")
    ready_ms = float(page.evaluate("window.__firstImages"))
    # Where the time went: the page's own marks, and when the viewer's code had arrived.
    marks = dict(page.evaluate(
        "performance.getEntriesByType('mark').filter((m) => m.name.startsWith('nadir:'))"
        ".map((m) => [m.name.slice(6), m.startTime])"))
    origin, first_images = page.evaluate(FIRST_IMAGES_AT)
    # Once the page is usable, every request started before its first images has ended
    # and been reported.
    page.locator("body[data-opened='true']").wait_for()
    api = api_requests(ended, origin, None if first_images is None else origin + first_images)
    return page, ready_ms, marks, api


def api_requests(ended: list[Any], since: float, until: float | None) -> list[Timed]:
    """The API requests among ``ended`` asked from ``since`` to before ``until`` (ms since
    the epoch; none when ``until`` is None), each timed in ms from ``since``, from Chromium's
    own timing (Playwright's: its start in ms since the epoch, the rest in ms after that
    start, -1 when it has none)."""
    api: list[Timed] = []
    for request in list(ended):
        path = urlsplit(request.url).path
        t = request.timing
        asked = float(t["startTime"]) - since
        if (path.startswith(("/api/", "/dicom-web/")) and until is not None
                and 0 <= asked < until - since):
            api.append((path, asked, *(asked + max(t[k], 0.0) for k in
                                       ("requestStart", "responseStart", "responseEnd"))))
    return sorted(api, key=lambda r: r[1])


# Before a click on the worklist: when it happened (ms since the epoch), kept where the page
# the click may load (a review opened by loading its address) can read it.
CLICK_PROBE = """
() => document.addEventListener('click', (e) => sessionStorage.setItem(
  'bench.click', String(performance.timeOrigin + e.timeStamp)), { capture: true, once: true })
"""
# Once both panes are drawn: ms from the click, and the click's time (ms since the epoch),
# in the page shown then (the worklist's own, or the one the click loaded).
FROM_CLICK = """
async () => {
  const clicked = Number(sessionStorage.getItem('bench.click'));
  return [performance.timeOrigin + await window.__firstImages - clicked, clicked];
}
"""


def worklist_visit(context: Any, url: str, case_id: int
                   ) -> tuple[float, float, list[Timed]]:
    """Open the worklist in a new page of the context and, once it is drawn and idle (a
    reader looks at it before choosing), click the case's link: ms from the click until
    both panes are drawn, Chromium's CPU ms meanwhile, and the API requests started in
    between. Whether the review then opens in the same page or loads its address is the
    served commit's own doing."""
    page = context.new_page()
    ended: list[Any] = []
    page.on("requestfinished", lambda request: ended.append(request))
    page.on("requestfailed", lambda request: ended.append(request))
    page.goto(f"{url}/")
    link = page.locator(f'.work-list li[data-case-id="{case_id}"] a')
    link.wait_for()
    page.wait_for_load_state("networkidle")
    time.sleep(0.3)
    page.evaluate(CLICK_PROBE)
    before = chromium_cpu()
    link.click()
    page.wait_for_url(re.compile(rf"/cases/{case_id}(\?.*)?$"))
    ready_ms, clicked = (float(v) for v in page.evaluate(FROM_CLICK))
    cpu_ms = cpu_since(before) * 1000
    origin, first_images = page.evaluate(FIRST_IMAGES_AT)
    page.locator("body[data-opened='true']").wait_for()
    api = api_requests(ended, clicked,
                       None if first_images is None else origin + first_images)
    page.close()
    return ready_ms, cpu_ms, api


def open_case(browser: Any, url: str, token: str, case_id: int
              ) -> tuple[Any, float, dict[str, float]]:
    page, ready_ms, marks, _ = visit(new_context(browser, token), url, case_id)
    return page, ready_ms, marks


def chromium_cpu() -> dict[int, float]:
    """CPU seconds used so far by each Chromium process of this machine (the benchmark's
    browser is the only one while it runs), by process id."""
    used: dict[int, float] = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            # Chromium's children rewrite their command line as one string with spaces.
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0", 1)[0]
            if command.split(b" ", 1)[0].endswith(b"/chromium"):
                used[int(pid)] = cpu_seconds(int(pid))
        except OSError:  # ended meanwhile
            continue
    return used


def cpu_since(before: dict[int, float]) -> float:
    """Chromium's CPU seconds since ``before``, over the processes alive now: one that ended
    meanwhile (the page before's) neither counts nor takes its earlier time away."""
    return sum(now - before.get(pid, 0.0) for pid, now in chromium_cpu().items())


def built_web(code: Path) -> None:
    """Build another checkout's front end (its sources and Vite config) into its web/dist,
    with this checkout's node_modules."""
    web = code / "web"
    (web / "node_modules").symlink_to(REPO / "web" / "node_modules")
    subprocess.run(["npm", "run", "build"], cwd=web, check=True, capture_output=True)


def warm_side_by_side(browser: Any, servers: dict[str, str], token: str, case_id: int,
                      rounds: int, visits: int, from_worklist: bool = False
                      ) -> dict[str, tuple[list[float], list[float]]]:
    """Warm visits to each server, taking turns (the first server of each round alternates):
    per server, ms until both panes are drawn and Chromium's CPU ms until then; with
    ``from_worklist``, each visit is a click on the case in the worklist, timed from it."""
    figures: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in servers}
    names = list(servers)
    for n in range(rounds):
        for name in names if n % 2 == 0 else names[::-1]:
            context = new_context(browser, token)
            visit(context, servers[name], case_id)[0].close()  # fills the context's cache
            for _ in range(visits):
                time.sleep(0.3)  # the page before has stopped working
                if from_worklist:
                    ready_ms, cpu_ms, _ = worklist_visit(context, servers[name], case_id)
                    figures[name][0].append(ready_ms)
                    figures[name][1].append(cpu_ms)
                    continue
                page = context.new_page()
                before = chromium_cpu()
                page.goto(f"{servers[name]}/cases/{case_id}")
                ready_ms = float(page.evaluate("window.__firstImages"))
                cpu_ms = cpu_since(before) * 1000
                page.locator("body[data-opened='true']").wait_for()
                page.close()
                figures[name][0].append(ready_ms)
                figures[name][1].append(cpu_ms)
            context.close()
    return figures


def shown(page: Any) -> list[tuple[str, str, str]]:
    return [(str(page.get_attribute(f'[data-viewport="{side}"]', "data-timepoint-id")),
             str(page.get_attribute(f'[data-viewport="{side}"]', "data-series-uid")),
             str(page.get_attribute(f'[data-viewport="{side}"]', "data-sop-instance-uid")))
            for side in ("left", "right")]


def baseline_fetch(client: httpx.Client, images: list[tuple[str, str, str]]) -> float:
    start = time.perf_counter()
    for study, series, sop in images:
        client.get(f"/dicom-web/studies/{study}/series/{series}/instances/{sop}/frames/1",
                   headers={"Accept": "multipart/related; type=application/octet-stream; "
                                      "transfer-syntax=*"}).raise_for_status()
    return (time.perf_counter() - start) * 1000


def metadata_fetch(client: httpx.Client, images: list[tuple[str, str, str]]) -> float:
    start = time.perf_counter()
    for study, series, _ in images:
        client.get(f"/dicom-web/studies/{study}/series/{series}/metadata").raise_for_status()
    return (time.perf_counter() - start) * 1000


def scrolling(page: Any, keys: int) -> dict[str, list[float]]:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        counts = page.evaluate("[window.nadirReview.cached('left'), "
                               "window.nadirReview.cached('right')]")
        if all(cached == total > 0 for cached, total in counts):
            break
        time.sleep(0.5)
    box = page.locator('[data-viewport="left"]').bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.9)
    # Start high in the series so that every press moves both panes.
    for _ in range(60):
        page.keyboard.press("ArrowUp")
    page.wait_for_timeout(300)
    figures: dict[str, list[float]] = {"left": [], "right": []}
    for _ in range(keys):
        page.evaluate(KEY_PROBE)  # installs window.__keyProbe, a promise of the timings
        page.keyboard.press("ArrowDown")
        times = page.evaluate("window.__keyProbe")
        for side in figures:
            if times.get(side, -1) > 0:
                figures[side].append(float(times[side]))
        page.wait_for_timeout(30)
    return figures


def _shape(path: str) -> str:
    """A request's path with its ids and UIDs left out."""
    return "/".join("{}" if part.replace(".", "").isdigit() else part
                    for part in path.split("/"))


def describe(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return (f"median {statistics.median(values):.0f} ms, p95 {p95:.0f} ms, "
            f"min {ordered[0]:.0f}, max {ordered[-1]:.0f} (n={len(values)})")


def main() -> int:
    parser = argparse.ArgumentParser(description="review workstation benchmark")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keys", type=int, default=40)
    parser.add_argument("--against", metavar="REF",
                        help="also time warm visits to a server of this commit, in turns")
    parser.add_argument("--rounds", type=int, default=8,
                        help="rounds of warm visits per server with --against")
    parser.add_argument("--visits", type=int, default=3,
                        help="warm visits per server and round with --against")
    parser.add_argument("--from-worklist", action="store_true",
                        help="with --against: each warm visit a click on the worklist")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        print(f"Chromium is not installed at {CHROMIUM}: bash scripts/setup.sh dev",
              file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with orthanc(root) as pacs:
            patient_id, calipers = push_pair(pacs)
            env = nadir_env(root, pacs)
            token = create_token(env, "radiologist")
            with nadir_serve(env) as url, sync_playwright() as playwright:
                client = httpx.Client(base_url=url, timeout=120,
                                      headers={"Authorization": f"Bearer {token}"})
                case_id = seed_case(client, patient_id, calipers)
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                # A first visit pairs the series and starts their registration: let it finish
                # so that it does not share the two cores with the measured runs.
                page, _, _ = open_case(browser, url, token, case_id)
                comparisons = client.post("/api/v1/comparisons", json={"patient_id": patient_id})
                client.get(f"/api/v1/comparisons/{comparisons.json()['id']}/registration",
                           params={"wait_s": 60})
                page.context.close()
                settled = background_settled(root / "nadir" / "nadir.db")
                first: list[float] = []
                warm: list[float] = []
                requests_cold: list[list[Timed]] = []
                requests_warm: list[list[Timed]] = []
                clicked: list[float] = []
                clicked_cpu: list[float] = []
                requests_clicked: list[list[Timed]] = []
                fetch: list[float] = []
                meta: list[float] = []
                steps: dict[str, list[float]] = {}
                for _ in range(args.runs):
                    # Cold: a new context (empty HTTP cache); warm: a new page of the same
                    # context (the viewer's code and the series' metadata cached).
                    context = new_context(browser, token)
                    page, ready_ms, marks, api = visit(context, url, case_id)
                    images = shown(page)
                    first.append(ready_ms)
                    requests_cold.append(api)
                    for name, at in marks.items():
                        steps.setdefault(name, []).append(at)
                    page.close()
                    page, ready_ms, _, api = visit(context, url, case_id)
                    warm.append(ready_ms)
                    requests_warm.append(api)
                    page.close()
                    ready_ms, cpu_ms, api = worklist_visit(context, url, case_id)
                    clicked.append(ready_ms)
                    clicked_cpu.append(cpu_ms)
                    requests_clicked.append(api)
                    fetch.append(baseline_fetch(client, images))
                    meta.append(metadata_fetch(client, images))
                    context.close()
                profile, requests_profile = profile_runs(playwright, url, token, case_id,
                                                         args.runs)
                page, _, _ = open_case(browser, url, token, case_id)
                scroll = scrolling(page, args.keys)
                sync = page.get_attribute('[data-viewport="left"]', "data-sync")
                page.context.close()
                against: dict[str, tuple[list[float], list[float]]] = {}
                if args.against:
                    with checkout(args.against, root) as code:
                        built_web(code)
                        with nadir_process(env, code=code) as (other, _):
                            servers = {"this checkout": url, args.against: other}
                            against = warm_side_by_side(browser, servers, token, case_id,
                                                        args.rounds, args.visits,
                                                        args.from_worklist)
                browser.close()
    print(f"(Nadir's image checks and series metadata after the ingest took {settled:.1f} s "
          "more: the runs start after them)")
    print("first images, 300-slice 512x512 pair (navigation -> both panes drawn):")
    print(f"  baseline: the two first frames by WADO-RS from Python: {describe(fetch)}")
    print(f"  the two series' metadata by WADO-RS from Python: {describe(meta)}")
    print(f"  Nadir workstation, cold (new browser context): {describe(first)}")
    print(f"  Nadir workstation, warm (same context again): {describe(warm)}")
    print(f"  Nadir workstation, warm in a browser profile on disk (code cache kept): "
          f"{describe(profile)}")
    print(f"  Nadir workstation, warm, from the worklist (click -> both panes drawn, same "
          f"tab): {describe(clicked)}; Chromium's CPU meanwhile: {describe(clicked_cpu)}")
    for name, runs in (("cold", requests_cold), ("warm", requests_warm),
                       ("warm, profile on disk", requests_profile),
                       ("warm, from the worklist (ms from the click)", requests_clicked)):
        counts = [len(r) for r in runs]
        print(f"  API requests started before both panes were drawn, {name}: "
              f"{min(counts)}-{max(counts)} (goal <= 6); the last run's: "
              + ", ".join(_shape(r[0]) for r in runs[-1]))
        # Each request's asked -> sent -> first byte -> answered, median ms from navigation:
        # where the page waited on a connection, on the server, and on itself.
        timings: dict[str, list[Timed]] = {}
        for run in runs:
            seen: dict[str, int] = {}
            for r in run:
                shape = _shape(r[0])
                seen[shape] = seen.get(shape, 0) + 1
                timings.setdefault(f"{shape} #{seen[shape]}", []).append(r)
        print(f"  {name}, asked -> sent -> first byte -> answered (median ms from "
              "navigation): "
              + "; ".join(f"{key} " + " -> ".join(
                  f"{statistics.median(t[i] for t in ts):.0f}" for i in (1, 2, 3, 4))
                          for key, ts in sorted(timings.items(),
                                                key=lambda kv: statistics.median(
                                                    t[1] for t in kv[1]))))
    print("  on the way (median ms from navigation): " + ", ".join(
        f"{name} {statistics.median(at):.0f}" for name, at in sorted(
            steps.items(), key=lambda item: statistics.median(item[1]))))
    how = "from the worklist, ms from the click" if args.from_worklist else "a new tab"
    for name, (ready, cpu) in against.items():
        print(f"  warm ({how}), taking turns with --against ({name}): {describe(ready)}; "
              f"Chromium's CPU until then: {describe(cpu)}")
    print(f"scrolling once prefetched (ArrowDown -> next frame; panes linked by {sync}):")
    print(f"  pane scrolled: {describe(scroll['left'])}")
    print(f"  linked pane: {describe(scroll['right'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
