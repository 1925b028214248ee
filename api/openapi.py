"""What ``/openapi.json`` says about errors and authentication, derived from the routes.

Every error status answers with one body, :class:`ErrorOut`, FastAPI's own validation
errors included (``api/errors.py`` turns them into the same shape), so the document names
that body for every status of 400 and above instead of FastAPI's ``HTTPValidationError``.

The statuses every route shares are derived here from its dependencies and parameters, so
a new route is documented without anyone remembering to: 401 where a bearer token is
needed, 403 where a role is checked, 404 where the path names a resource, 400 where a
JSON body is parsed, 413 where a body is taken (every body has a limit), 422 where anything
is validated, 412 where a write can lose a race with another (the database's optimistic
locking). A status only some routes answer (a
conflict, an unreachable PACS) is declared at the route with
``responses=answers(Conflict, ...)``, by the error's kind; ``api/errors.py`` alone knows
which status each kind has.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Role, roles_admitted
from api.deps import db_session
from api.errors import status_for
from api.workflow.errors import (
    MalformedPayload,
    NotAllowed,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    StaleVersion,
)

ERROR_SCHEMA = "Error"
BEARER = "bearer"
#: The request-validation models FastAPI documents, which Nadir never sends.
_FASTAPI_ERRORS = ("HTTPValidationError", "ValidationError")


class ErrorOut(BaseModel):
    """The body of every error: what was wrong, in words, and where when that is known."""

    model_config = ConfigDict(extra="allow", title=ERROR_SCHEMA)

    detail: str = Field(description="what was wrong, naming the field or resource at fault")
    lesion_id: str | None = Field(default=None,
                                  description="the lesion at fault (the request's own id)")
    timepoint_id: str | None = Field(default=None, description="the timepoint at fault")
    field: str | None = Field(default=None, description="the field at fault")
    file: str | None = Field(default=None, description="an upload's file at fault")
    limit_bytes: int | None = Field(default=None, description="the size limit passed")
    unsigned: list[str] | None = Field(default=None,
                                       description="timepoints that are not signed off yet")
    existing_case_id: int | None = Field(default=None, description="the case that exists "
                                         "already (a duplicate case refused)")
    missing: list[dict[str, Any]] | None = Field(
        default=None, description="lesions without a reading at the timepoint: "
        "{lesion_id, label, kind}")


def _why(kind: type[Exception]) -> str:
    first = (kind.__doc__ or "").strip().splitlines()
    return first[0] if first else kind.__name__


def answers(*kinds: type[Exception]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that may raise these errors besides the shared ones."""
    found: dict[int | str, dict[str, Any]] = {}
    for kind in kinds:
        status = status_for(kind)
        entry = found.setdefault(status, {"description": HTTPStatus(status).phrase})
        entry["description"] += f"; {_why(kind)}"
    return found


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


def shared_answers(route: RouteContext) -> dict[int, type[Exception]]:
    """The statuses a route answers because of what it depends on and what it parses."""
    calls = list(_calls(route.dependant))
    admitted = [roles for roles in map(roles_admitted, calls) if roles is not None]
    shared: dict[int, type[Exception]] = {}
    if admitted:
        shared[status_for(NotAuthenticated)] = NotAuthenticated
    if any(set(roles) != set(Role) for roles in admitted):
        shared[status_for(NotAllowed)] = NotAllowed
    dependant = route.dependant
    if dependant.path_params:
        shared[status_for(NotFound)] = NotFound
    if dependant.body_params:
        shared[status_for(MalformedPayload)] = MalformedPayload  # a body that is not JSON
    if (dependant.path_params or dependant.query_params or dependant.header_params
            or dependant.cookie_params or dependant.body_params):
        shared[status_for(RequestValidationError)] = RequestValidationError
    if db_session in calls and not (route.methods or set()) <= {"GET", "HEAD"}:
        shared[status_for(StaleVersion)] = StaleVersion  # another write won the race
    return shared


def install_openapi(app: FastAPI) -> None:
    """Wrap ``app.openapi`` so the document lists every error status with :class:`ErrorOut`."""
    plain = app.openapi
    built: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        if not built:
            built.append(_complete(app, plain()))
        return built[0]

    app.openapi = openapi  # type: ignore[method-assign]


def _complete(app: FastAPI, schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in _FASTAPI_ERRORS:
        schemas.pop(name, None)
    schemas[ERROR_SCHEMA] = ErrorOut.model_json_schema()
    components["securitySchemes"] = {BEARER: {
        "type": "http", "scheme": "bearer",
        "description": "a token from `nadir token`: `Authorization: Bearer <token>`"}}
    error = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}}
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        shared = shared_answers(route)
        for method in route.methods or ():
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            answered = dict(shared)
            if "requestBody" in operation:  # every body has a limit (api/body_guard.py)
                answered[status_for(PayloadTooLarge)] = PayloadTooLarge
            for status, kind in answered.items():
                responses.setdefault(str(status), {}).setdefault(
                    "description", f"{HTTPStatus(status).phrase}; {_why(kind)}")
            if NotAuthenticated in shared.values():
                operation["security"] = [{BEARER: []}]
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    response["content"] = error
    _link_created_resources(schema)
    return schema


def _link_created_resources(schema: dict[str, Any]) -> None:
    """OpenAPI links from each ``POST <collection>`` that answers 201 with an ``id`` to the
    operations on ``<collection>/{x_id}...``: what a client (and schemathesis' stateful
    phase) does next with what it created."""
    paths: dict[str, dict[str, Any]] = schema["paths"]
    for collection, item in paths.items():
        created = item.get("post", {}).get("responses", {}).get("201")
        if created is None or "id" not in _properties(schema, created):
            continue
        below = re.compile(re.escape(collection) + r"/\{(\w+)\}(/.*)?")
        links: dict[str, Any] = {}
        for path, operations in paths.items():
            match = below.fullmatch(path)
            if match is None:
                continue
            parameters = {name: f"$request.path.{name}"
                          for name in re.findall(r"\{(\w+)\}", collection)}
            parameters[match.group(1)] = "$response.body#/id"
            for operation in operations.values():
                links[operation["operationId"]] = {
                    "operationId": operation["operationId"], "parameters": parameters}
        if links:
            created["links"] = links


def _properties(schema: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    body = response.get("content", {}).get("application/json", {}).get("schema", {})
    ref = body.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
    properties: dict[str, Any] = body.get("properties", {})
    return properties
