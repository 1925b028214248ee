"""What ``/openapi.json`` says about errors and authentication, derived from the routes.

Every error status answers with one body, :class:`ErrorOut`, FastAPI's own validation
errors included (``api/errors.py`` turns them into the same shape), so the document names
that body for every status of 400 and above instead of FastAPI's ``HTTPValidationError``.

The statuses every route shares are derived here from its dependencies and parameters, so
a new route is documented without anyone remembering to: 401 where a bearer token is
needed, 403 where a role is checked, 404 where the path names a resource, 422 where
anything is parsed. A status only some routes answer (a conflict, a stale version, an
unreachable PACS) is declared at the route with ``responses=answers(Conflict, ...)``, by
the error's kind; ``api/errors.py`` alone knows which status each kind has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field

from api.auth import current_principal, require
from api.errors import status_for
from api.workflow.errors import NotAllowed, NotAuthenticated, NotFound

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


#: The function ``require(...)`` returns, recognised by name, whatever roles it admits.
_ROLE_CHECK = require().__qualname__


def shared_answers(route: RouteContext) -> dict[int, type[Exception]]:
    """The statuses a route answers because of what it depends on and what it parses."""
    calls = list(_calls(route.dependant))
    shared: dict[int, type[Exception]] = {}
    if current_principal in calls:
        shared[status_for(NotAuthenticated)] = NotAuthenticated
    if any(getattr(call, "__qualname__", None) == _ROLE_CHECK for call in calls):
        shared[status_for(NotAllowed)] = NotAllowed
    if route.dependant.path_params:
        shared[status_for(NotFound)] = NotFound
    dependant = route.dependant
    if (dependant.path_params or dependant.query_params or dependant.header_params
            or dependant.cookie_params or dependant.body_params):
        shared[status_for(RequestValidationError)] = RequestValidationError
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
            for status, kind in shared.items():
                responses.setdefault(str(status), {}).setdefault(
                    "description", f"{HTTPStatus(status).phrase}; {_why(kind)}")
            if NotAuthenticated in shared.values():
                operation["security"] = [{BEARER: []}]
            for status, response in responses.items():
                if status.isdigit() and int(status) >= 400:
                    response["content"] = error
    return schema
