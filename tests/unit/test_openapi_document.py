"""/openapi.json says what the server does: one error body, every status, the real methods."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import CaseManager, CurrentUser, Reader
from api.deps import SessionDep
from api.routes.params import CaseId
from api.schemas import LesionPatch
from api.settings import Settings

ERROR_REF = "#/components/schemas/Error"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    app = create_app(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/n.db"),
                     run_ingest=False)
    yield app
    app.state.engine.dispose()


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_every_error_status_names_the_one_error_body(app: FastAPI) -> None:
    document = app.openapi()
    assert "HTTPValidationError" not in str(document) and "ValidationError" not in str(document)
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["detail"]
    assert {"lesion_id", "timepoint_id", "field"} <= set(error["properties"])
    errors = 0
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                errors += 1
                assert response["content"] == {"application/json": {"schema": {
                    "$ref": ERROR_REF}}}, (method, path, status)
                assert response["description"], (method, path, status)
    assert errors > 100


def test_shared_statuses_follow_from_each_route(app: FastAPI) -> None:
    document = app.openapi()
    statuses = {(method, path): set(op["responses"]) for method, path, op in _operations(document)}
    assert statuses["GET", "/healthz"] == {"200"}
    assert statuses["GET", "/api/v1/me"] == {"200", "401"}
    assert statuses["GET", "/api/v1/patients"] == {"200", "401", "403"}
    assert statuses["GET", "/api/v1/cases/{case_id}"] == {"200", "401", "403", "404", "422"}
    assert {"412", "422"} <= statuses["PUT", "/api/v1/comparisons/{comparison_id}/pairs"]
    # A JSON body can be unreadable (400) or too large (413); a write can lose a race with
    # another (412); the patient named in the body may be unknown (404) and the case a
    # duplicate (409), both declared at the route.
    assert statuses["POST", "/api/v1/cases"] == {
        "201", "400", "401", "403", "404", "409", "412", "413", "422"}
    assert {"406", "409"} <= statuses["GET", "/api/v1/cases/{case_id}/report"]
    assert {"400", "413", "415", "502", "503"} <= statuses["POST", "/api/v1/dicom"]
    for method, path, operation in _operations(document):
        if path != "/healthz":
            assert operation["security"] == [{"bearer": []}], (method, path)
            assert "401" in operation["responses"], (method, path)
        if "{" in path:
            assert "404" in operation["responses"], (method, path)
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_a_route_added_later_is_documented_without_being_told(app: FastAPI) -> None:
    """The statuses come from the route's dependencies: nobody has to remember them."""
    router = APIRouter(prefix="/api/v1/later")

    @router.get("/{case_id}")
    def read_later(case_id: CaseId, who: Reader) -> dict[str, int]:
        return {"case_id": case_id}

    @router.get("")
    def who_am_i(who: CurrentUser) -> dict[str, str]:
        return {"name": who.name}

    @router.post("", status_code=201)
    def create_later(body: LesionPatch, who: CaseManager, session: SessionDep) -> dict[str, int]:
        return {"id": 1}

    app.include_router(router)
    paths = app.openapi()["paths"]
    assert set(paths["/api/v1/later/{case_id}"]["get"]["responses"]) == {
        "200", "401", "403", "404", "422"}
    assert set(paths["/api/v1/later"]["get"]["responses"]) == {"200", "401"}
    assert set(paths["/api/v1/later"]["post"]["responses"]) == {
        "201", "400", "401", "403", "412", "413", "422"}


def test_what_a_post_creates_is_linked_to_what_reads_it(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    links = paths["/api/v1/cases"]["post"]["responses"]["201"]["links"]
    read = paths["/api/v1/cases/{case_id}"]["get"]["operationId"]
    assert links[read] == {"operationId": read, "parameters": {"case_id": "$response.body#/id"}}
    lesion = paths["/api/v1/cases/{case_id}/lesions"]["post"]["responses"]["201"]["links"]
    patch = paths["/api/v1/cases/{case_id}/lesions/{lesion_id}"]["patch"]["operationId"]
    assert lesion[patch]["parameters"] == {"case_id": "$request.path.case_id",
                                          "lesion_id": "$response.body#/id"}
    assert "links" not in paths["/api/v1/cases/{case_id}/publish"]["post"]["responses"]["201"]


def test_parameters_say_what_the_server_accepts(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    report = {p["name"]: p for p in paths["/api/v1/cases/{case_id}/report"]["get"]["parameters"]}
    assert report["format"]["schema"]["anyOf"][0]["enum"] == ["json", "html", "pdf"]
    assert "406" in paths["/api/v1/cases/{case_id}/report"]["get"]["responses"]
    pairs = {p["name"]: p for p in
             paths["/api/v1/comparisons/{comparison_id}/pairs"]["put"]["parameters"]}
    assert pairs["if-match"]["required"] is True


def test_validation_errors_have_the_documented_shape(app: FastAPI) -> None:
    """FastAPI's own validation errors (bad path id, bad query, bad body) answer with the
    same body as every other error, which the document's Error schema accepts."""
    document = app.openapi()
    schema = document["components"]["schemas"]["Error"]
    with TestClient(app) as client:
        token = _token(app)
        h = {"Authorization": f"Bearer {token}"}
        answers = [
            client.get("/api/v1/cases/0", headers=h),
            client.get("/api/v1/cases/1/report?format=docx", headers=h),
            client.post("/api/v1/cases", json={"patient_id": 7}, headers=h),
            client.put("/api/v1/comparisons/1/pairs", json={"pairs": []}, headers=h),
            client.get("/api/v1/cases"),
        ]
    assert [r.status_code for r in answers] == [422, 422, 422, 422, 401]
    for r in answers:
        jsonschema_rs.validate(schema, r.json())
        assert isinstance(r.json()["detail"], str)
    assert "format" in answers[1].json()["detail"]
    assert "if-match" in answers[3].json()["detail"].lower()


def _token(app: FastAPI) -> str:
    from api.auth import Role, create_user, issue_token

    with app.state.sessions.begin() as s:
        return issue_token(s, create_user(s, "admin-user", Role.ADMIN))


@pytest.mark.parametrize(("path", "allowed"), [
    ("/api/v1/patients/P1/markers", "GET, POST"),
    ("/api/v1/patients/a%2Fb/markers", "GET, POST"),
    ("/api/v1/cases", "GET, POST"),
    ("/api/v1/cases/1", "GET"),
    ("/api/v1/comparisons/1/pairs", "PUT"),
])
def test_a_refused_method_is_told_every_method_of_the_path(
    app: FastAPI, path: str, allowed: str
) -> None:
    """Starlette's 405 named the methods of the first route matching the path only
    (`OPTIONS /patients/{id}/markers` said `Allow: POST`, though GET answers too)."""
    with TestClient(app) as client:
        for method in ("OPTIONS", "DELETE", "TRACE"):
            r = client.request(method, path)
            assert r.status_code == 405, (method, path)
            assert r.headers["allow"] == allowed, (method, path)
            assert isinstance(r.json()["detail"], str)


@pytest.mark.parametrize(("raw", "taken"), [
    ("778", 778), ("778.0", 778), ("7.78e2", 778),
    ("778.5", None), ('"778"', None), ("true", None), ("1e400", None),
])
def test_integers_take_whole_json_numbers_only(raw: str, taken: int | None) -> None:
    """JSON Schema's "integer" admits 778.0, so the parser does; 778.5, strings and
    booleans stay refused (a misread option would change a response silently)."""
    from pydantic import ValidationError

    from api.schemas import CaseCreate, MeasurementPut

    case = f'{{"patient_id": "P", "criteria": "RECIST1.1", "min_sd_duration_days": {raw}}}'
    frame = f'{{"frame": {raw}}}'
    if taken is None:
        with pytest.raises(ValidationError):
            CaseCreate.model_validate_json(case)
        with pytest.raises(ValidationError):
            MeasurementPut.model_validate(json.loads(frame))
    else:
        assert CaseCreate.model_validate_json(case).min_sd_duration_days == taken
        parsed = MeasurementPut.model_validate(json.loads(frame)).frame
        assert parsed == taken and isinstance(parsed, int)


@pytest.mark.parametrize("body", [
    {"date": 0}, {"date": "20240102"}, {"value": False}, {"value": "1"},
    {"upper_limit_normal": True},
])
def test_a_marker_takes_what_its_schema_says(body: dict[str, Any]) -> None:
    """Pydantic's lax mode took a number as a date (seconds since 1970) and false as 0."""
    from pydantic import ValidationError

    from api.schemas import MarkerIn

    good = {"name": "CEA", "unit": "ng/mL", "upper_limit_normal": 5, "value": 3.5,
            "date": "2026-01-05"}
    assert MarkerIn.model_validate(good).value == 3.5
    with pytest.raises(ValidationError):
        MarkerIn.model_validate({**good, **body})
