"""Two Nadir processes on one PostgreSQL database and one Orthanc (issue 18): a change made
through the other process reaches the open page without a reload (the case's event stream,
fed by LISTEN/NOTIFY), and the page says who changed what: a measurement, a deleted lesion, a
sign-off. Assertions are on what the server stored and what the page shows. How soon it
arrives is printed, not asserted: a loaded machine may take longer than the 2 s a quiet one
needs, and speed is measured, not asserted (issue 17)."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from measurement.figures import tenths
from tests.browser.conftest import (
    LiveNadir,
    open_case,
    orthanc_for_demo,
    push_demo_pair,
    sign_in,
    wait_indexed,
)
from tests.browser.helpers import nodule_case, panel_matches_server, put_known, wait_for_note
from tests.conftest import PG_URL, _postgres_available, free_ports
from tests.integration.test_cli_and_crash import NADIR, _serve

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class TwoNodes:
    live: LiveNadir  # the node the browser uses; tokens "radiologist" (dr-ana), "admin"
    other_url: str  # the second process
    other_token: str  # dr-ben, a radiologist working through the second process

    def other(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return httpx.request(method, self.other_url + path, json=body, timeout=30,
                             headers={"Authorization": f"Bearer {self.other_token}"})


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoNodes]:
    """Orthanc, and two `nadir serve` processes on one new PostgreSQL schema."""
    if not _postgres_available():
        if os.environ.get("NADIR_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL required but unreachable at {PG_URL}")
        pytest.skip(f"PostgreSQL server unreachable at {PG_URL}")
    root = tmp_path_factory.mktemp("two-nodes")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    pacs = None
    procs: list[subprocess.Popen[bytes]] = []
    try:
        pacs = orthanc_for_demo(root)
        envs = [dict(os.environ, NADIR_DATABASE_URL=f"{PG_URL}?options=-csearch_path%3D{schema}",
                     NADIR_ORTHANC_URL=pacs.config.url,
                     NADIR_ORTHANC_USERNAME=pacs.config.username,
                     NADIR_ORTHANC_PASSWORD=pacs.config.password,
                     NADIR_DATA_DIR=str(root / f"node{i}"), NADIR_INGEST_INTERVAL_S="0.05")
                for i in range(2)]

        def token(name: str, role: str) -> str:
            out = subprocess.run([*NADIR, "users", "create", name, "--role", role],
                                 env=envs[0], capture_output=True, text=True, check=True)
            return out.stdout.strip().splitlines()[-1]

        tokens = {"radiologist": token("dr-ana", "radiologist"), "admin": token("admin", "admin")}
        ben = token("dr-ben", "radiologist")
        ports = free_ports(2)
        for env, port in zip(envs, ports, strict=True):
            procs.append(_serve(env, port))
        live = LiveNadir(url=f"http://127.0.0.1:{ports[0]}", tokens=tokens,
                         demo=push_demo_pair(pacs))
        wait_indexed(live)
        yield TwoNodes(live, f"http://127.0.0.1:{ports[1]}", ben)
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=30)
        if pacs is not None:
            pacs.stop(kill=True)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def open_live(page: Any, live: LiveNadir, case_id: int) -> None:
    """Open the case and wait until its event stream is open (changes from now on show)."""
    sign_in(page, live)
    open_case(page, live, case_id)
    page.wait_for_selector('body[data-live="on"]')


def test_a_measurement_saved_through_the_other_process_is_shown_without_a_reload(
        page: Any, nodes: TwoNodes) -> None:
    live = nodes.live
    nodule = nodule_case(live)
    case, lesion, known = nodule.case, nodule.lesion, nodule.known
    open_live(page, live, case["id"])
    cell = f'[data-lesion-id="{lesion["id"]}"] .cell .value'
    assert "mm" not in page.locator(cell).first.inner_text()
    r = nodes.other("PUT", f"/api/v1/cases/{case['id']}/lesions/{lesion['id']}/measurements/"
                           f"{nodule.baseline}",
                    {"sop_instance_uid": known.sop_instance_uid,
                     "endpoints": [list(p) for p in known.endpoints]})
    assert r.status_code == 200, r.text
    saved = time.monotonic()
    shown = f"{tenths(r.json()['length_mm'])} mm"
    # The panel is drawn anew on each change: the cell is looked up again at each poll.
    page.wait_for_function("([cell, text]) => document.querySelector(cell)?.textContent.trim()"
                           " === text", arg=[cell, shown], )
    print(f"\nshown {time.monotonic() - saved:.2f} s after the other process stored it")
    wait_for_note(page, f"dr-ben changed {lesion['label']} at Baseline")
    panel_matches_server(page, live, case["id"])


def test_a_deletion_and_a_sign_off_by_another_reader_show_who_did_what(
        page: Any, nodes: TwoNodes) -> None:
    live = nodes.live
    nodule = nodule_case(live, measured=True)
    case = nodule.case
    node = case["by_label"]["Subcarinal node"]
    put_known(live, case, "Subcarinal node", nodule.baseline)
    open_live(page, live, case["id"])
    row = page.locator(f'[data-lesion-id="{node["id"]}"]')
    row.wait_for()
    r = nodes.other("DELETE", f"/api/v1/cases/{case['id']}/lesions/{node['id']}",
                    {"reason": "a vessel, not a node"})
    assert r.status_code == 200, r.text
    row.wait_for(state="detached", )
    wait_for_note(page, f"dr-ben deleted {node['label']}")
    panel_matches_server(page, live, case["id"])
    # The other reader signs the baseline off: the page shows who, and offers it no more.
    r = nodes.other("POST", f"/api/v1/cases/{case['id']}/timepoints/{nodule.baseline}"
                            "/sign-off", {})
    assert r.status_code == 200, r.text
    signed = page.locator(".response .signoff-row .signed", has_text="dr-ben")
    signed.wait_for()
    wait_for_note(page, "dr-ben signed off Baseline")
    assert page.locator(f'button.sign-off[data-timepoint-id="{nodule.baseline}"]').count() == 0
    page.screenshot(path=os.environ.get("NADIR_SHOTS", "/tmp") + "/two-nodes-signed-off.png")
