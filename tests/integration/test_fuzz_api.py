"""Schemathesis over the API's own /openapi.json: no generated request may get a server error.

A real Orthanc holds a small study pair and the database a case with lesions, a measurement
and a comparison, so that requests aimed at those ids reach past "not found". Generation is
derandomized (same inputs every run) and bounded per operation; only `not_a_server_error`
is checked. Every failing request is listed, not only the first one.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.errors import FailureGroup

from tests.conftest import Service
from tests.integration.test_cases import PID, _case, _lesion, _put, indexed  # noqa: F401

pytestmark = pytest.mark.integration

# Per operation and per kind of input (valid, invalid, valid aimed at the seeded ids): about
# 25 operations x 3 x 10 requests keep one database's run near 30 s on the 2-core machine.
EXAMPLES = 10
# The upload takes DICOM files; its own tests send real ones.
EXCLUDED = ("POST", "/api/v1/dicom")
# An event stream never ends (test_case_events.py reads it from real servers).
STREAM = ("GET", "/api/v1/cases/{case_id}/events")
PATH_PARAMETER = re.compile(r"{(\w+)}")


@pytest.fixture
def seeded(service: Service, indexed: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    """Ids that exist: a case with a measured target lesion and a non-target, a comparison."""
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
    return {"patient_id": PID, "case_id": cid, "lesion_id": target, "timepoint_id": baseline,
            "comparison_id": r.json()["id"]}


def _send(client: TestClient, case: Any, headers: dict[str, str]) -> Any:
    """Send a generated case through the app's own test client (its lifespan already runs)."""
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url), headers=headers)
    body = {key: kwargs[key] for key in ("json", "data", "files") if key in kwargs}
    if isinstance(body.get("data"), bytes | str):
        body["content"] = body.pop("data")
    return client.request(kwargs["method"], kwargs["url"], params=kwargs.get("params"),
                          headers=kwargs["headers"], cookies=kwargs.get("cookies") or None,
                          **body)


@dataclass
class FuzzLog:
    sent: Counter[str] = field(default_factory=Counter)  # requests per operation
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[str, list[str]] = field(default_factory=dict)  # kind -> requests

    @property
    def errors(self) -> int:
        return sum(map(len, self.failures.values()))

    def report(self) -> str:
        return f"{self.errors} server errors in {self.sent.total()} requests:\n" + "\n".join(
            f"{kind} ({len(requests)}x), e.g.\n    " + "\n    ".join(requests[:3])
            for kind, requests in self.failures.items())


def _fuzz(operation: Any, client: TestClient, headers: dict[str, str], known: dict[str, Any],
          log: FuzzLog) -> None:
    aimed = {name: known[name] for name in PATH_PARAMETER.findall(operation.path) if name in known}
    strategies = [operation.as_strategy(GenerationMode.POSITIVE),
                  operation.as_strategy(GenerationMode.NEGATIVE)]
    if aimed:
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=aimed))

    @settings(max_examples=EXAMPLES * len(strategies), derandomize=True, database=None,
              deadline=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=st.one_of(strategies))
    def run(case: Any) -> None:
        response = _send(client, case, headers)
        log.sent[operation.label] += 1
        log.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except FailureGroup:
            kind = f"{case.method} {operation.path} -> {response.status_code} {response.text:.100}"
            body = "" if isinstance(case.body, NotSet) else f" body={case.body!r:.160}"
            log.failures.setdefault(kind, []).append(
                f"{case.method} {case.formatted_path} query={case.query!r:.160}{body}")

    run()


def test_fuzz_api_no_server_error(
    service: Service, seeded: dict[str, Any], record_property: Any
) -> None:
    """Every operation but the upload, with an admin token, on SQLite and on PostgreSQL.

    Both databases, as for every database test: they fail differently (PostgreSQL's INTEGER
    is 32-bit, and its strings cannot hold NUL). Radiologist-only writes answer the admin
    with 403 before reaching the database."""
    # DICOM bodies (the SR import) are sent as generated bytes, like any binary body.
    schemathesis.serializer.alias("application/dicom", "application/octet-stream")
    raw = service.client.get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(raw).exclude(method=EXCLUDED[0], path=EXCLUDED[1]) \
        .exclude(method=STREAM[0], path=STREAM[1])
    operations = [result.ok() for result in schema.get_all_operations()]
    # A server error must come back as a response to check, not as a raised exception.
    client = TestClient(service.app, raise_server_exceptions=False)
    log = FuzzLog()
    for operation in operations:
        _fuzz(operation, client, service.headers("admin"), seeded, log)
    record_property("fuzz_requests", log.sent.total())
    print(f"schemathesis: {log.sent.total()} requests over {len(operations)} operations, "
          f"statuses {dict(sorted(log.statuses.items()))}, {log.errors} server errors")
    assert len(operations) >= 20 and set(log.sent) == {op.label for op in operations}
    assert EXCLUDED[0] + " " + EXCLUDED[1] not in log.sent
    # The admin token went with every request, and some reached the seeded data.
    assert 401 not in log.statuses and log.statuses[200] > 0
    if log.failures:
        pytest.fail(log.report(), pytrace=False)
