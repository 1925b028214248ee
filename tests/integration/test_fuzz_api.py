"""Schemathesis, all checks and all phases, against the API's own /openapi.json: 0 failures.

The app is served by a real uvicorn on a free loopback port, and schemathesis' own command
line (``st run``) sends the requests, as anyone auditing the service would run it: the
examples, the coverage phase (boundary values, missing headers, undocumented methods), the
fuzzing phase (valid and invalid data) and the stateful phase (links inferred from the
document: create a case, then read, change and measure it). Every check is on
(``--checks all``): no server error, every status, content type, header and body as the
document says, valid data accepted and invalid data refused, a refused method told the
allowed ones, a request without the token refused, a deleted resource gone.

A real Orthanc holds a small study pair, so cases and comparisons can be made of it.
Generation is seeded and bounded (``--max-examples``), so a run sends the same requests
each time and takes about a minute per database on the 2-core machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.conftest import Service, free_ports, wait_until
from tests.integration.test_cases import PID, _case, _lesion, _put, indexed  # noqa: F401

pytestmark = pytest.mark.integration

SEED = 20261204
#: Per operation and phase; the stateful phase runs its own scenarios on top.
MAX_EXAMPLES = 10
STATEFUL_SCENARIOS = 50
#: Not fuzzed: an event stream never ends (each request would wait out the timeout);
#: tests/integration/test_case_events.py reads it from real servers, every role included.
STREAM = "GET /api/v1/cases/{case_id}/events"
ST = Path(sys.executable).with_name("st")
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Tally:
    """What the server answered, counted at its door."""

    statuses: Counter[int] = field(default_factory=Counter)

    def wrap(self, app: Any) -> Any:
        async def counted(scope: Any, receive: Any, send: Any) -> None:
            async def counting_send(message: Any) -> None:
                if message["type"] == "http.response.start":
                    self.statuses[message["status"]] += 1
                await send(message)

            await app(scope, receive, counting_send if scope["type"] == "http" else send)

        return counted


@pytest.fixture
def served(service: Service, indexed: dict[str, Any]  # noqa: F811
           ) -> Iterator[tuple[str, Tally]]:
    """The service's app on a real HTTP listener (its lifespan already runs in the fixture)."""
    port = free_ports(1)[0]
    tally = Tally()
    server = uvicorn.Server(uvicorn.Config(tally.wrap(service.app), host="127.0.0.1",
                                           port=port, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=60)
    try:
        yield f"http://127.0.0.1:{port}", tally
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def schemathesis(url: str, token: str, config: Path, report: Path, *options: str,
                 phases: str = "examples,coverage,fuzzing,stateful") -> dict[str, Any]:
    """Run ``st run`` with every check; what its JSON run report says."""
    command = [str(ST), "--config-file", str(config), "run", f"{url}/openapi.json",
               "--checks", "all", "--phases", phases,
               "--mode", "all", "--seed", str(SEED), "--max-examples", str(MAX_EXAMPLES),
               "--generation-database", "none", "--workers", "1", "--no-color",
               "--suppress-health-check", "all", "--request-timeout", "120",
               "-H", f"Authorization: Bearer {token}",
               "--report", "json", "--report-json-path", str(report), *options]
    # Run in the test's folder: schemathesis keeps a cache folder where it runs.
    result = subprocess.run(command, capture_output=True, text=True, timeout=1200,
                            cwd=report.parent, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert report.exists(), result.stdout[-4000:] + result.stderr[-4000:]
    data: dict[str, Any] = json.loads(report.read_text())
    return {"exit": result.returncode, "output": result.stdout[-20000:],
            "cases": data["test_cases"]["generated"], "operations": data["operations"]["tested"],
            "phases": {name: phase["status"] for name, phase in data["phases"].items()}}

# The checks' own default: what a schema-valid request may be answered with.
_VALID_ANSWERS = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
#: Where a request the document calls valid may still be refused, and why. Each rule is a
#: fact of the stored data or of a file's content, which no schema can state; only the
#: `positive_data_acceptance` check is told, every other check still runs there.
REFUSED_THOUGH_VALID: dict[tuple[str, str], tuple[tuple[str, ...], str]] = {
    ("POST", "/api/v1/cases"): (("422",), (
        "a baseline_study_uid must be a dated study of that patient in the index")),
    ("POST", "/api/v1/comparisons"): (("422",), (
        "the patient needs a baseline and a follow-up study in the index, and named "
        "studies must be theirs")),
    ("POST", "/api/v1/cases/{case_id}/lesions"): (("422",), (
        "a timepoint or confirmed_at must be one of the case's timepoints, and a new "
        "lesion needs the timepoint of its first sighting")),
    ("PATCH", "/api/v1/cases/{case_id}/lesions/{lesion_id}"): (("422",), (
        "confirmed_at must be one of the case's timepoints")),
    ("PUT", "/api/v1/cases/{case_id}/lesions/{lesion_id}/measurements/{timepoint_id}"): (
        ("412", "422"), (
            "the caliper must lie on an image of that timepoint and the status must be one "
            "the lesion's kind takes; an If-Match that is well formed but not the current "
            "version is a stale write (412)")),
    ("PUT", "/api/v1/comparisons/{comparison_id}/pairs"): (("412", "422"), (
        "an If-Match that is not the comparison's current ETag is a stale write (412); "
        "each pair must name a series of the baseline and one of the follow-up study")),
    ("POST", "/api/v1/recist/evaluate"): (("422",), (
        "the engine's own rules: lesion and timepoint ids must be consistent, dates in "
        "order, statuses allowed for each kind (its 422s name the lesion and field)")),
    ("POST", "/api/v1/cases/{case_id}/sr"): (("400", "422"), (
        "generated bytes are not a DICOM TID 1500 report; a real one is tested in "
        "test_report_and_sr")),
    ("POST", "/api/v1/dicom"): (("400", "415"), (
        "generated bytes are not DICOM files or zips of them; real ones are tested in "
        "test_auth_health_upload and test_upload_limits")),
    ("GET", "/api/v1/cases/{case_id}/lesions/{lesion_id}/proposal"): (("422",), (
        "the timepoint must be one of the case's")),
    ("POST", "/api/v1/patients/{patient_id}/priors"): (("422",), (
        "date_from must not be after date_to, a relation between two fields")),
    ("POST", "/api/v1/cases/{case_id}/reviews"): (("422",), (
        "the reader must be an existing radiologist who did not read the case: a fact of "
        "the user store")),
    ("POST", "/api/v1/cases/{case_id}/shares"): (("422",), (
        "include_measurements needs a share that is not blinded, a relation between two "
        "fields")),
    ("PUT", "/api/v1/cases/{case_id}/studies/{study_uid}/date"): (("422",), (
        "the date must lie between the earliest plausible one and today: a rule of "
        "today's date, which a schema cannot state; and the study must be the case's")),
}


def _config(path: Path, timepoints: tuple[str, str]) -> Path:
    """The checks' allowances above; half the requests that name a timepoint name one of
    the study pair's (a generated UID would only ever be "not found")."""
    lines = ['hooks = "tests.integration.fuzz_hooks"', "",
             "[dictionaries.timepoints]", f'values = ["{timepoints[0]}", "{timepoints[1]}"]', "",
             "[parameters]",
             '"path.timepoint_id" = { dictionary = "timepoints", probability = 0.5 }',
             '"query.timepoint" = { dictionary = "timepoints", probability = 0.5 }', "",
             # Scenarios of linked calls (create a case, add a lesion, measure it, ...).
             "[phases.stateful]", f"generation.max-examples = {STATEFUL_SCENARIOS}"]
    for (method, route), (statuses, _) in REFUSED_THOUGH_VALID.items():
        expected = ", ".join(f'"{s}"' for s in [*_VALID_ANSWERS, *statuses])
        lines += ["", "[[operations]]", f'include-name = "{method} {route}"',
                  f"checks.positive_data_acceptance.expected-statuses = [{expected}]"]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def seeded(service: Service, indexed: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    """Case 1 with a measured target lesion (1) and a non-target (2), comparison 1: the
    coverage phase's first ids, so its valid requests reach stored data."""
    case = _case(service)
    cid = case["id"]
    baseline = case["timepoints"][0]["id"]
    target = _lesion(service, cid, kind="target", organ="lung")
    _lesion(service, cid, kind="non_target", organ="liver")
    r = _put(service, cid, target, baseline, {
        "sop_instance_uid": indexed["bl"][1].SOPInstanceUID, "endpoints": [[10, 2], [10, 62]]})
    assert r.status_code == 200, r.text
    r = service.client.post("/api/v1/comparisons", json={"patient_id": PID},
                            headers=service.headers("admin"))
    assert r.status_code == 201, r.text
    return {"case_id": cid, "lesion_id": target, "comparison_id": r.json()["id"],
            "timepoints": (baseline, case["timepoints"][1]["id"])}


def test_fuzz_api_all_checks(
    served: tuple[str, Tally], service: Service, seeded: dict[str, Any], tmp_path: Path,
    record_property: Any,
) -> None:
    """Every operation with a radiologist's token (the role that may do most); the admin-only
    audit log and the upload again with an admin's (their stateful phase has no links to
    follow: neither creates what another operation reads). Both databases, as for every
    database test: they fail differently (PostgreSQL's INTEGER is 32-bit, its text cannot
    hold NUL)."""
    url, tally = served
    assert (seeded["case_id"], seeded["lesion_id"], seeded["comparison_id"]) == (1, 1, 1)
    config = _config(tmp_path / "schemathesis.toml", seeded["timepoints"])
    runs = {
        "radiologist": schemathesis(url, service.tokens["radiologist"], config,
                                    tmp_path / "radiologist.json", "--exclude-name", STREAM),
        "admin": schemathesis(url, service.tokens["admin"], config, tmp_path / "admin.json",
                              "--include-path-regex", "^/api/v1/(audit|dicom)$",
                              phases="examples,coverage,fuzzing"),
    }
    sent = tally.statuses.total()
    print(f"schemathesis: {sent} requests, statuses {dict(sorted(tally.statuses.items()))}, "
          + "; ".join(f"as {role}: {run['cases']} test cases over {run['operations']} "
                      f"operations, phases {run['phases']}" for role, run in runs.items()))
    record_property("fuzz_requests", sent)
    failed = {role: run["output"] for role, run in runs.items() if run["exit"] != 0}
    if failed:
        pytest.fail("\n\n".join(f"as {role}:\n{out}" for role, out in failed.items()),
                    pytrace=False)
    assert runs["radiologist"]["operations"] >= 34 and runs["admin"]["operations"] == 2
    assert set(runs["radiologist"]["phases"].values()) == {"success"}
    # Requests reached stored data and were served, not only refused.
    assert tally.statuses[200] > 100 and tally.statuses[201] > 10
