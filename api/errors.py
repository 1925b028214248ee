"""The one place where errors become HTTP responses."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.workflow.errors import (
    Conflict,
    InvalidInput,
    MalformedPayload,
    NotAcceptable,
    NotAllowed,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    StaleVersion,
    UnsupportedMediaType,
    WorkflowError,
)
from imaging.errors import ImagingError
from measurement.errors import MeasurementError
from pacs.errors import OrthancUnavailable, PacsError

log = logging.getLogger(__name__)


#: Each kind of application error and the HTTP status that answers it; the most specific
#: class wins (a TimepointSignedOff is a Conflict).
STATUS_OF: tuple[tuple[type[WorkflowError], int], ...] = (
    (NotAuthenticated, 401),
    (NotAllowed, 403),
    (NotFound, 404),
    (Conflict, 409),
    (StaleVersion, 412),
    (MalformedPayload, 400),
    (PayloadTooLarge, 413),
    (UnsupportedMediaType, 415),
    (NotAcceptable, 406),
    (InvalidInput, 422),
)


#: Errors of the other packages, by the same rule.
OTHER_STATUS_OF: tuple[tuple[type[Exception], int], ...] = (
    (OrthancUnavailable, 503),
    (PacsError, 502),
    (MeasurementError, 422),
    (ImagingError, 422),
    (RequestValidationError, 422),
)


def status_of(exc: WorkflowError) -> int:
    return status_for(type(exc))


def status_for(kind: type[Exception]) -> int:
    """The status that answers an error of this kind (``/openapi.json`` lists it too)."""
    for known, status in (*STATUS_OF, *OTHER_STATUS_OF):
        if issubclass(kind, known):
            return status
    return 400


def _body(message: str, **extra: Any) -> dict[str, Any]:
    return {"detail": message, **extra}


def error_response(exc: WorkflowError, *, close: bool = False) -> JSONResponse:
    """The answer to an application error; ``close`` ends the connection after it (for a
    refusal sent before the request's body was read: the rest is not worth receiving)."""
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotAuthenticated) else {}
    if close:
        headers["Connection"] = "close"
    return JSONResponse(_body(exc.message, **exc.extra), status_code=status_of(exc),
                        headers=headers or None)


class CatchUnexpected:
    """ASGI middleware: an unexpected error becomes a 500 that names only its type.

    Neither the message, the traceback nor the URL is logged: all can carry patient data
    (database errors quote their parameters). Pure ASGI, so requests pay almost nothing.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            route = getattr(scope.get("route"), "path", "?")
            log.error("unexpected %s in %s %s", type(exc).__name__, scope.get("method"), route)
            if not started:
                response = JSONResponse(_body(f"internal error ({type(exc).__name__})"),
                                        status_code=500)
                await response(scope, receive, send)


class RefuseNulInUrl:
    """ASGI middleware: a path or query with a NUL character is refused (422) up front.

    No identifier Nadir knows contains one, and PostgreSQL text cannot hold it, so such a
    request could only fail deeper down.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query: bytes = scope.get("query_string", b"")
            if "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query:
                response = JSONResponse(
                    _body("the URL must not contain NUL characters (%00)"), status_code=422)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on this path.

    Starlette's 405 names only the methods of the first route that matched the path, so
    ``OPTIONS`` on a path with a GET and a POST route (each its own function) said
    ``Allow: POST``.
    """
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods.update(route.methods or ())
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            exc = StarletteHTTPException(405, exc.detail, headers={
                **(exc.headers or {}), "Allow": ", ".join(allowed_methods(request))})
        return await http_exception_handler(request, exc)

    @app.exception_handler(WorkflowError)
    async def _workflow_error(_: Request, exc: WorkflowError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append(f"{loc or 'body'}: {err.get('msg', 'invalid')}")
        return JSONResponse(_body("; ".join(problems) or "invalid request"),
                            status_code=status_for(RequestValidationError))

    @app.exception_handler(OrthancUnavailable)
    async def _orthanc_down(_: Request, exc: OrthancUnavailable) -> JSONResponse:
        return JSONResponse(_body("the PACS (Orthanc) is unreachable; try again shortly"),
                            status_code=status_for(OrthancUnavailable),
                            headers={"Retry-After": "5"})

    @app.exception_handler(PacsError)
    async def _pacs(_: Request, exc: PacsError) -> JSONResponse:
        log.warning("PACS error: %s", type(exc).__name__)
        return JSONResponse(_body(f"PACS error: {exc}"), status_code=status_for(PacsError))

    @app.exception_handler(MeasurementError)
    async def _measurement(_: Request, exc: MeasurementError) -> JSONResponse:
        extra = {k: v for k, v in (("lesion_id", exc.lesion_id),
                                   ("timepoint_id", exc.timepoint_id),
                                   ("field", exc.field)) if v is not None}
        return JSONResponse(_body(exc.message, **extra), status_code=status_for(MeasurementError))

    app.add_middleware(RefuseNulInUrl)
    app.add_middleware(CatchUnexpected)

    @app.exception_handler(ImagingError)
    async def _imaging(_: Request, exc: ImagingError) -> JSONResponse:
        return JSONResponse(_body(str(exc)), status_code=status_for(ImagingError))
