"""Browser tests of the review workstation: Debian's Chromium driven by Playwright.

One real Orthanc and one real Nadir (uvicorn serving ``create_app`` in a thread, on a free
port) per module, with a small synthetic study pair of the demo patient pushed over C-STORE.
The follow-up's thin series is stored JPEG-LS lossless, so the browser decodes it with the
image loader's codec. Each test makes its own case. A failed test leaves a screenshot in
``$TMPDIR/nadir-browser-failures/`` and prints its path.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PYNETDICOM_AET, make_tokens, start_orthanc, wait_until

REPO = Path(__file__).resolve().parents[2]
WEB_DIST = REPO / "web" / "dist"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The flags a closed network and a root user need (see the machine notes).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic", "--disable-dev-shm-usage",
                 # Chromium's omnibox popup (a WebUI page of about 200 modules) loads with
                 # every new tab, and each test opens one: CPU the pages under test need.
                 "--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup,"
                 "WebUIOmniboxFullPopup,PreloadTopChromeWebUI"]
FAILURES = Path(tempfile.gettempdir()) / "nadir-browser-failures"
THIN_SLICES = 60
PID = "NADIR-DEMO-001"


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)


@dataclass(frozen=True)
class DemoPair:
    """The pushed study pair and what is known about it."""

    baseline: Any  # StudySpec
    followup: Any
    calipers: dict[str, Any]  # lesion label -> KnownCaliper on the baseline thin series
    thin_series: dict[str, str]  # "baseline"/"followup" -> Series Instance UID
    slice_thickness_mm: float
    compressed_sop: str  # a JPEG-LS follow-up image
    compressed_z: float  # its position (mm)
    compressed_pixels: Any  # its decoded modality values (numpy, rows x columns)
    #: Study Instance UID -> {Series Instance UID: number of instances}, as pushed.
    pushed: dict[str, dict[str, int]]
    #: Every pushed study, oldest first (more than two in modules that set DEMO_TIMEPOINTS).
    studies: tuple[Any, ...] = ()
    #: Per study: lesion label -> KnownCaliper on its thin series.
    calipers_at: tuple[dict[str, Any], ...] = ()


@dataclass
class LiveNadir:
    url: str
    tokens: dict[str, str]
    demo: DemoPair
    #: The app served (for a test that needs one more user, :meth:`user`).
    app: Any = None

    def user(self, name: str, role: str) -> str:
        """A user of that role (made once per module): its name is then a key of ``tokens``."""
        from api.auth import Role, create_user, issue_token

        if name not in self.tokens:
            with self.app.state.sessions.begin() as s:
                self.tokens[name] = issue_token(s, create_user(s, name, Role(role)))
        return name

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def get(self, path: str, role: str = "radiologist") -> httpx.Response:
        return httpx.get(self.url + path, headers=self.headers(role), timeout=30)

    def post(self, path: str, body: Any, role: str = "radiologist") -> httpx.Response:
        return httpx.post(self.url + path, json=body, headers=self.headers(role), timeout=30)

    def new_case(self) -> dict[str, Any]:
        """A case of the demo patient with its two lesions as targets (nothing measured)."""
        r = self.post("/api/v1/cases", {"patient_id": PID, "criteria": "RECIST1.1",
                                        "allow_duplicate": True})
        assert r.status_code == 201, r.text
        case = dict(r.json())
        lesions = {}
        for label, caliper in self.demo.calipers.items():
            nodal = caliper.organ == "lymph node"
            r = self.post(f"/api/v1/cases/{case['id']}/lesions",
                          {"kind": "target", "organ": caliper.organ, "nodal": nodal})
            assert r.status_code == 201, r.text
            lesions[label] = r.json()
        case["by_label"] = lesions
        return case


def small_demo(timepoints: int = 2) -> tuple[Any, ...]:
    """The demo patient's studies cut to the chest: 60 thin slices covering two lesions (and
    the new nodule of the second follow-up, when there is one)."""
    from synthetic import demo_patient
    from synthetic.demo import NEW_LESION

    demo = demo_patient(matrix=256, timepoints=timepoints)
    keep = {"RUL nodule", "Subcarinal node", NEW_LESION.label}

    def cut(spec: Any) -> Any:
        series = tuple(dataclasses.replace(s, slice_count=THIN_SLICES) if s.key == "lung_thin"
                       else s for s in spec.series)
        return dataclasses.replace(
            spec, lesions=tuple(les for les in spec.lesions if les.label in keep),
            scan_top_mm=-20.0, scan_length_mm=(THIN_SLICES - 1) * 1.25, series=series)

    return tuple(cut(spec) for spec in demo.studies)


def push_demo_pair(orthanc: Any, timepoints: int = 2, *,
                   baseline_thin: Callable[[list[Any]], list[Any]] | None = None) -> DemoPair:
    """Push :func:`small_demo`'s studies (the first follow-up's thin series as JPEG-LS);
    ``baseline_thin``, when given, replaces the baseline's thin series by what it makes of
    its slices (a multi-frame conversion). The calipers stay on the single-frame slices."""
    from pydicom.uid import JPEGLSLossless

    from pacs.dimse import DicomPeer, store
    from synthetic import generate_study
    from synthetic.calipers import lesion_calipers

    studies = small_demo(timepoints)
    baseline, followup = studies[:2]
    generated = [generate_study(spec, seed=index + 1) for index, spec in enumerate(studies)]
    bl, fu = generated[:2]
    thin = baseline.series_by_key("lung_thin")
    fu_thin = [ds for ds in fu if int(ds.SeriesNumber) == thin.series_number]
    for ds in fu_thin:
        ds.compress(JPEGLSLossless)
    sample = fu_thin[len(fu_thin) // 2]
    pixels = sample.pixel_array * float(sample.RescaleSlope) + float(sample.RescaleIntercept)
    peer = DicomPeer("127.0.0.1", orthanc.config.dicom_port, orthanc.config.aet, PYNETDICOM_AET)
    stored = list(generated)
    if baseline_thin is not None:
        slices = [ds for ds in bl if int(ds.SeriesNumber) == thin.series_number]
        stored[0] = [ds for ds in bl if int(ds.SeriesNumber) != thin.series_number] \
            + baseline_thin(slices)
    everything = [ds for datasets in stored for ds in datasets]
    store(peer, everything)
    pushed: dict[str, dict[str, int]] = {}
    for ds in everything:
        series = pushed.setdefault(str(ds.StudyInstanceUID), {})
        series[str(ds.SeriesInstanceUID)] = series.get(str(ds.SeriesInstanceUID), 0) + 1
    return DemoPair(
        baseline=baseline, followup=followup,
        calipers={c.label: c for c in lesion_calipers(baseline, bl)},
        thin_series={"baseline": str(stored[0][-1].SeriesInstanceUID) if baseline_thin
                     else str(bl[next(i for i, d in enumerate(bl) if int(
                         d.SeriesNumber) == thin.series_number)].SeriesInstanceUID),
            "followup": str(fu_thin[0].SeriesInstanceUID)},
        slice_thickness_mm=thin.slice_thickness_mm,
        compressed_sop=str(sample.SOPInstanceUID),
        compressed_z=float(sample.ImagePositionPatient[2]), compressed_pixels=pixels,
        pushed=pushed, studies=studies,
        calipers_at=tuple({c.label: c for c in lesion_calipers(spec, datasets)}
                          for spec, datasets in zip(studies, generated, strict=True)))


def wait_indexed(nadir: LiveNadir) -> None:
    """Wait until Nadir lists every series pushed, whole: a study is listed as soon as its
    first series is stable, and a test that starts before the rest would see a half study."""

    def indexed() -> bool:
        r = nadir.get(f"/api/v1/patients/{PID}/studies", "admin")
        return r.status_code == 200 and {
            st["study_instance_uid"]: {s["series_instance_uid"]: s["instances"]
                                       for s in st["series"]}
            for st in r.json()} == nadir.demo.pushed

    wait_until(indexed, timeout=60, interval=0.2)


def orthanc_for_demo(root: Path) -> Any:
    """A real Orthanc that accepts the demo pair from pynetdicom; skips without Orthanc."""
    from pacs.process import find_orthanc_executable

    if not (WEB_DIST / "index.html").is_file():
        pytest.fail("web/dist is not built: run bash scripts/setup.sh (npm ci && npm run build)")
    if find_orthanc_executable() is None:
        pytest.skip("Orthanc is not installed (scripts/setup.sh installs Debian's orthanc)")
    pacs = start_orthanc(root / "orthanc", username="nadir-test", password=uuid.uuid4().hex,
                         stable_age_s=1)
    try:
        with pacs.client() as client:
            client.put_modality(PYNETDICOM_AET, aet=PYNETDICOM_AET, host="127.0.0.1", port=104)
    except BaseException:
        pacs.stop(kill=True)
        raise
    return pacs


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory,
         request: pytest.FixtureRequest) -> Iterator[LiveNadir]:
    """A real Orthanc and Nadir on free ports, with the demo pair indexed (or the module's
    ``DEMO_TIMEPOINTS`` studies of the demo patient)."""
    timepoints = getattr(request.module, "DEMO_TIMEPOINTS", 2)
    with serving(tmp_path_factory.mktemp("browser"),
                 lambda pacs: push_demo_pair(pacs, timepoints)) as nadir:
        yield nadir


@contextmanager
def serving(root: Path, push: Callable[[Any], DemoPair]) -> Iterator[LiveNadir]:
    """A real Orthanc and Nadir (uvicorn in a thread) on free ports, with what ``push``
    stored into the Orthanc indexed."""
    import uvicorn

    from api.app import create_app
    from api.settings import Settings
    from tests.conftest import free_ports

    pacs = orthanc_for_demo(root)
    server: Any = None
    thread: threading.Thread | None = None
    try:
        settings = Settings(
            data_dir=root / "data", database_url=f"sqlite:///{root / 'nadir.db'}",
            orthanc_url=pacs.config.url, orthanc_username=pacs.config.username,
            orthanc_password=pacs.config.password, orthanc_dicom_port=pacs.config.dicom_port,
            ingest_interval_s=0.05)
        app = create_app(settings)
        tokens = make_tokens(app)
        [port] = free_ports(1)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", access_log=False))
        thread = threading.Thread(target=server.run, name="nadir-browser-tests", daemon=True)
        thread.start()
        wait_until(lambda: server.started, timeout=60)
        nadir = LiveNadir(url=f"http://127.0.0.1:{port}", tokens=tokens, demo=push(pacs),
                          app=app)
        wait_indexed(nadir)
        yield nadir
    finally:
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=30)
        pacs.stop(kill=True)


#: How long a page wait may last before the test fails. Every wait returns as soon as its
#: condition holds, so this is only reached by a failing test; it is long because a loaded
#: machine (CI beside other jobs, three suites at once) can take many seconds for what a
#: quiet one does at once (issue 17: a suite that assumes a quiet machine is a bug).
PAGE_WAIT_MS = 60_000

#: The page's passing notes (review/dialogs.ts: 4 s, 9 s for errors), kept as they appear:
#: a test under load may look only after a note has gone (see helpers.wait_for_note).
NOTES_LOG = """
window.__nadirNotes = [];
new MutationObserver((records) => {
  for (const record of records) {
    for (const node of record.addedNodes) {
      if (node instanceof HTMLElement && node.classList.contains('note')) {
        window.__nadirNotes.push({ text: node.textContent || '',
                                   error: node.classList.contains('error') });
      }
    }
  }
}).observe(document, { childList: true, subtree: true });
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} "
                    "(scripts/setup.sh dev installs Debian's chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context (empty sessionStorage) at 1600 x 900; screenshot on failure."""
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    context.set_default_timeout(PAGE_WAIT_MS)
    context.add_init_script(NOTES_LOG)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    yield tab
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        FAILURES.mkdir(parents=True, exist_ok=True)
        shot = FAILURES / f"{request.node.name}-{int(time.time())}.png"
        try:
            tab.screenshot(path=str(shot), full_page=True)
            print(f"\nscreenshot of the failure: {shot}", file=sys.stderr)
        except Exception as exc:  # the page may be gone: the failure itself matters more
            print(f"\nno screenshot ({type(exc).__name__})", file=sys.stderr)
        for problem in problems:
            print(problem, file=sys.stderr)
    context.close()


def sign_in(page: Any, live: LiveNadir, role: str = "radiologist") -> None:
    page.goto(f"{live.url}/login")
    page.fill("input[name=token]", live.tokens[role])
    page.click("button[type=submit]")
    page.wait_for_url(f"{live.url}/")


def open_case(page: Any, live: LiveNadir, case_id: int, *, usable: bool = True) -> None:
    """Open the case and wait until both panes are drawn and, when `usable`, until a reader
    can work on it: the role, the lesions' readings and the saved place loaded (a drag made
    before the role is known draws nothing, as the tool's advice says). A test that holds
    back one of those requests waits only for the panes."""
    page.goto(f"{live.url}/cases/{case_id}")
    for side in ("left", "right"):
        page.wait_for_selector(f'[data-viewport="{side}"][data-ready="true"]')
    if usable:
        page.wait_for_selector('body[data-opened="true"]', state="attached")
