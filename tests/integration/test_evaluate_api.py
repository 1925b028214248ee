"""POST /api/v1/recist/evaluate over HTTP: contract shape, roles and 422 messages."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import Service

CONTRACT_EXAMPLE: dict[str, Any] = {
    "criteria": "RECIST1.1",
    "timepoints": [{"id": "BL", "date": "2026-01-05"}, {"id": "FU1", "date": "2026-03-02"}],
    "lesions": [
        {"id": "T1", "kind": "target", "organ": "lung", "nodal": False,
         "measurements": {"BL": 32.0, "FU1": 20.0}},
        {"id": "N1", "kind": "target", "organ": "lymph node", "nodal": True,
         "measurements": {"BL": 18, "FU1": 10}},
        {"id": "NT1", "kind": "non_target", "organ": "liver", "nodal": False,
         "assessments": {"BL": "present", "FU1": "present"}},
    ],
}


@pytest.fixture
def api(service_factory: Any) -> Service:
    # The endpoint is stateless: no Orthanc needed, ingest off.
    return service_factory(None, ingest=False)


def test_every_role_may_evaluate_and_shape_matches_contract(api: Service) -> None:
    for role in ("uploader", "radiologist", "specialist", "admin"):
        r = api.client.post("/api/v1/recist/evaluate", json=CONTRACT_EXAMPLE,
                            headers=api.headers(role))
        assert r.status_code == 200, r.text
    body = r.json()
    assert body["criteria"] == "RECIST1.1"
    bl, fu = body["timepoints"]
    assert bl == {"id": "BL", "date": "2026-01-05", "sum_mm": 50.0}
    assert fu["sum_mm"] == 30.0 and fu["nadir_mm"] == 50.0
    assert fu["change_from_baseline_pct"] == -40.0 and fu["change_from_nadir_mm"] == -20.0
    assert fu["target_response"] == "PR" and fu["non_target_response"] == "NON_CR_NON_PD"
    assert fu["new_lesions"] is False and fu["overall_response"] == "PR"
    assert fu["mixed_response"] is False
    assert body["best_overall_response"] == "PR"
    assert isinstance(body["warnings"], list)


def test_without_token_is_401(api: Service) -> None:
    assert api.client.post("/api/v1/recist/evaluate", json=CONTRACT_EXAMPLE).status_code == 401


def _broken(path: list[Any], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(CONTRACT_EXAMPLE)
    target: Any = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


@pytest.mark.parametrize(("body", "names"), [
    (_broken(["criteria"], "RECIST2"), ["criteria"]),
    (_broken(["lesions", 0, "measurements", "FU1"], True), ["T1", "FU1"]),
    (_broken(["lesions", 0, "measurements", "FU1"], -3), ["T1", "FU1"]),
    (_broken(["lesions", 0, "measurements", "FU9"], 3), ["T1", "FU9"]),
    (_broken(["lesions", 1, "kind"], "tumour"), ["N1", "kind"]),
    (_broken(["lesions", 2, "assessments", "FU1"], "gone"), ["NT1", "FU1"]),
    (_broken(["timepoints", 1, "date"], "2026-13-01"), ["FU1", "date"]),
    (_broken(["timepoints", 1, "date"], "2025-12-01"), ["FU1", "date"]),
    (_broken(["timepoints"], []), ["timepoints"]),
    (_broken(["lesions"], []), ["lesions"]),
    (_broken(["lesions", 0, "measurements", "BL"], "not_evaluable"), ["T1", "BL"]),
    # Issue 7: input that would silently change the answer is refused, by name.
    (_broken(["lesions", 1, "is_nodal"], True), ["N1", "is_nodal"]),
    (_broken(["confirmation"], True), ["confirmation"]),
    (_broken(["timepoints", 0, "when"], "x"), ["BL", "when"]),
    (_broken(["lesions", 0, "measurements", "BL"], 0), ["T1", "BL"]),
    (_broken(["lesions", 0, "measurements", "BL"], "too_small"), ["T1", "BL"]),
    (_broken(["lesions", 0, "measurements", "BL"], "disappeared"), ["T1", "BL"]),
    (_broken(["lesions", 2, "assessments", "BL"], "absent"), ["NT1", "BL"]),
    (_broken(["lesions", 2, "assessments"], {"FU1": "present"}), ["NT1"]),
    (_broken(["lesions", 0, "measurements", "FU1"], 1000.5), ["T1", "FU1"]),
    (_broken(["lesions", 0, "measurements", "FU1"], 1e308), ["T1", "FU1"]),
    (_broken(["markers"], [{"id": "CEA", "upper_limit_normal": 0, "values": {}}]),
     ["CEA", "upper_limit_normal"]),
])
def test_invalid_input_is_422_naming_what_is_wrong(
    api: Service, body: dict[str, Any], names: list[str]
) -> None:
    r = api.client.post("/api/v1/recist/evaluate", json=body, headers=api.headers("specialist"))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    for name in names:
        assert name in detail, (name, detail)


def test_disappeared_is_zero_mm_and_markers_hold_back_cr(api: Service) -> None:
    """The evaluate request takes "disappeared" (0 mm) like the case API; a marker above
    its upper limit at baseline and still above it keeps CR from being CR (RECIST 1.1
    s.4.3.3): target CR + non-target non-CR/non-PD is PR (Table 1)."""
    body = copy.deepcopy(CONTRACT_EXAMPLE)
    body["lesions"] = [dict(body["lesions"][0], measurements={"BL": 32.0, "FU1": "disappeared"})]
    r = api.client.post("/api/v1/recist/evaluate", json=body, headers=api.headers("specialist"))
    assert r.status_code == 200, r.text
    assert r.json()["timepoints"][1]["overall_response"] == "CR"
    body["markers"] = [{"id": "CA-125", "unit": "U/mL", "upper_limit_normal": 35.0,
                        "values": {"BL": 120.0, "FU1": 60.0}}]
    r = api.client.post("/api/v1/recist/evaluate", json=body, headers=api.headers("specialist"))
    assert r.status_code == 200, r.text
    fu = r.json()["timepoints"][1]
    assert (fu["non_target_response"], fu["overall_response"]) == ("NON_CR_NON_PD", "PR")


def test_malformed_json_is_422(api: Service) -> None:
    r = api.client.post("/api/v1/recist/evaluate", content=b"{not json",
                        headers={**api.headers("admin"), "Content-Type": "application/json"})
    assert r.status_code == 422 and "JSON" in r.json()["detail"]


def test_openapi_describes_every_response_body_and_the_evaluate_request(api: Service) -> None:
    schema = api.client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    assert "EvaluateRequest" in components and "EvaluateLesion" in components
    body = schema["paths"]["/api/v1/recist/evaluate"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/EvaluateRequest"}
    untyped = []
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            ok = next((op["responses"][code] for code in ("200", "201", "202")
                       if code in op["responses"]), None)
            content = (ok or {}).get("content", {})
            json_schema = content.get("application/json", {}).get("schema")
            binary = set(content) & {"application/dicom", "text/html", "application/pdf",
                                      "application/dicom+json", "multipart/related",
                                      "text/event-stream", "application/zip"}
            if not binary and (not json_schema or json_schema == {}):
                untyped.append(f"{method.upper()} {path}")
    assert untyped == []


def _split_body() -> dict[str, Any]:
    """Issue 16: T1 split at FU1 (12 + 8 mm), T2 merged into T3 (35 mm on T3); NEW1 a new
    lesion followed by status (an iRECIST new-lesion non-target)."""
    body = copy.deepcopy(CONTRACT_EXAMPLE)
    body["lesions"] = [
        {"id": "T1", "kind": "target", "organ": "lung",
         "measurements": {"BL": 32.0, "FU1": {"fragments": [12, 8]}}},
        {"id": "T2", "kind": "target", "organ": "liver",
         "measurements": {"BL": 20.0, "FU1": {"coalesced_into": "T3"}}},
        {"id": "T3", "kind": "target", "organ": "liver",
         "measurements": {"BL": 20.0, "FU1": 35.0}},
    ]
    return body


@pytest.mark.parametrize("role", ["uploader", "radiologist", "specialist", "admin"])
def test_split_and_coalesced_lesions_are_summed_and_reported(api: Service, role: str) -> None:
    """RECIST 1.1 s.4.3.2: fragments add up (20 mm), the merged diameter counts once on T3
    (35 mm) and T2 counts 0 mm: 55 mm against 72 at baseline."""
    r = api.client.post("/api/v1/recist/evaluate", json=_split_body(), headers=api.headers(role))
    assert r.status_code == 200, r.text
    bl, fu = r.json()["timepoints"]
    assert "split" not in bl
    assert fu["sum_mm"] == 55.0
    assert fu["split"] == [{"id": "T1", "fragments_mm": [12.0, 8.0], "sum_mm": 20.0}]
    assert fu["coalesced"] == [{"id": "T2", "into": "T3"}]


@pytest.mark.parametrize(("where", "value", "names"), [
    (["lesions", 1, "measurements", "FU1"], {"coalesced_into": "T9"}, ["T2", "FU1", "T9"]),
    (["lesions", 1, "measurements", "FU1"], {"coalesced_into": "T2"}, ["T2", "itself"]),
    (["lesions", 0, "measurements", "FU1"], {"fragments": [12]}, ["T1", "FU1", "two"]),
    (["lesions", 0, "measurements", "FU1"], {"fragments": [12, -1]}, ["T1", "fragments[1]"]),
    (["lesions", 0, "measurements", "FU1"], {"fragments": [12, 8] * 5000},
     ["T1", "at most 1000"]),
    (["lesions", 0, "measurements", "FU1"], {"fragments": "12+8"}, ["T1", "fragments"]),
    (["lesions", 0, "measurements", "FU1"], {"../../x": 1}, ["T1", "exactly one key"]),
    (["lesions", 0, "measurements", "BL"], {"fragments": [20, 12]}, ["T1", "BL", "baseline"]),
    (["lesions", 0, "measurements", "FU1"], "increased", ["T1", "FU1"]),
])
def test_bad_split_or_merge_is_422_naming_where(api: Service, where: list[Any], value: Any,
                                                names: list[str]) -> None:
    body = _split_body()
    target: Any = body
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    r = api.client.post("/api/v1/recist/evaluate", json=body, headers=api.headers("specialist"))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    for name in names:
        assert name in detail, (name, detail)
