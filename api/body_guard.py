"""Who is calling is known before a byte of a request's body is read, and every body has a
limit.

:class:`BodyGuard` is a pure ASGI middleware in front of the routes. For a request that
declares a body (a ``Content-Length`` other than 0, or a ``Transfer-Encoding``) it finds
the route the request is for and, before ``receive`` is first called:

- resolves the bearer token and checks the roles that the route's dependencies admit
  (401 / 403, the same answers as the dependencies give);
- refuses a ``Content-Length`` over the route's limit (413).

Every such refusal closes the connection: the unread body is not worth receiving. The body
of an admitted request is counted as it arrives; past the limit the route stops reading
(``receive`` raises), its answer is replaced by 413, and the connection is closed without
reading the rest. A route that answers before it has read the whole body (one that takes
none) also closes the connection.

A route's roles come from its own dependencies (``api.auth.require``), so a new route is
guarded the day it is added; its limit is the JSON one unless :func:`route_limits` names it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import RouteContext, iter_route_contexts
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import PRINCIPAL_SCOPE_KEY, principal_of, roles_admitted
from api.errors import error_response
from api.push_auth import secret_check_of
from api.routes.internal import STABLE_SERIES_PATH
from api.settings import Settings
from api.share_access import act_for
from api.workflow.errors import NotAllowed, NotAuthenticated, NotFound, PayloadTooLarge
from api.workflow.roles import Principal, Role, check_role

MB = 1024**2
#: Orthanc's stable-series post is one Orthanc id in a small JSON object.
STABLE_SERIES_LIMIT_BYTES = 1024


def route_limits(settings: Settings) -> dict[tuple[str, str], int]:
    """The routes whose bodies may be larger than a JSON one (method, path template)."""
    return {
        ("POST", "/api/v1/dicom"): settings.max_upload_mb * MB,
        ("POST", "/api/v1/cases/{case_id}/sr"): settings.max_sr_mb * MB,
        ("POST", "/api/v1/recist/evaluate"): settings.max_evaluate_mb * MB,
        ("POST", STABLE_SERIES_PATH): STABLE_SERIES_LIMIT_BYTES,
    }


@dataclass(frozen=True)
class BodyRule:
    """What a route asks of a request with a body: who may send it, and how many bytes.

    ``roles`` is None for a route that authenticates nobody by token: its body is still
    limited, and ``secret`` (a route opened by a shared secret) checks the request."""

    label: str
    limit_bytes: int
    roles: frozenset[Role] | None
    secret: Callable[[Scope], None] | None = None
    #: The route's method and path template (for a share token's allow-list).
    method: str = ""
    path: str = ""

    def __post_init__(self) -> None:
        if self.limit_bytes < 1:
            raise ValueError(f"limit_bytes must be positive, not {self.limit_bytes}")
        if self.roles is not None and not self.roles:
            raise ValueError(f"{self.label}: no role may call it (roles is empty)")

    def too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"the request body is larger than {_size(self.limit_bytes)}, the limit of "
            f"{self.label}; nothing was stored", extra={"limit_bytes": self.limit_bytes})


class RouteRules:
    """The body rule of every route of an app, found the way the router finds the route."""

    def __init__(self, app: FastAPI, limits: Mapping[tuple[str, str], int], *,
                 default_limit: int) -> None:
        self._default = BodyRule("this URL", default_limit, None)
        self._rules: list[tuple[RouteContext, dict[str, BodyRule]]] = []
        unused = set(limits)
        # The routes as the router sees them (FastAPI includes routers lazily), each with
        # the dependencies of the routers it is included through.
        for route in iter_route_contexts(app.routes):
            dependant: Dependant | None = getattr(route, "dependant", None)
            roles = _roles_of(dependant) if dependant is not None else None
            secret = _secret_of(dependant) if dependant is not None else None
            by_method = {}
            for method in sorted(route.methods or ()):
                key = (method, route.path or "")
                unused.discard(key)
                by_method[method] = BodyRule(f"{method} {key[1]}",
                                             limits.get(key, default_limit), roles, secret,
                                             method, key[1])
            self._rules.append((route, by_method))
        if unused:
            raise ValueError(f"body limits name no route: {sorted(unused)}")

    def rule_for(self, scope: Scope) -> BodyRule:
        return self.match(scope)[0]

    def match(self, scope: Scope) -> tuple[BodyRule, dict[str, Any]]:
        """The request's rule and the path parameters of its route."""
        for route, by_method in self._rules:
            match, child = route.matches(scope)
            if match is Match.FULL:
                # A mount or a route without methods (none takes a body): the default.
                return (by_method.get(scope["method"], self._default),
                        dict(child.get("path_params", {})))
        # No route: the router answers 404 or 405 without reading the body.
        return self._default, {}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    """The functions of a route's dependencies, at every depth."""
    pending = [dependant]
    while pending:
        node = pending.pop()
        pending.extend(node.dependencies)
        if node.call is not None:
            yield node.call


def _roles_of(dependant: Dependant) -> frozenset[Role] | None:
    """The roles every authenticating dependency of a route admits (their intersection)."""
    found: frozenset[Role] | None = None
    for call in _calls(dependant):
        admitted = roles_admitted(call)
        if admitted is not None:
            found = frozenset(admitted) if found is None else found & frozenset(admitted)
    return found


def _secret_of(dependant: Dependant) -> Callable[[Scope], None] | None:
    """The shared-secret check of a route's dependencies, if it has one."""
    return next(filter(None, map(secret_check_of, _calls(dependant))), None)


class BodyGuard:
    """ASGI middleware: authentication, role and size of a body before it is read."""

    def __init__(self, app: ASGIApp, *, rules: RouteRules) -> None:
        self.app = app
        self.rules = rules

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _declares_body(scope):
            await self.app(scope, receive, send)
            return
        rule, params = self.rules.match(scope)
        try:
            principal = await _admit(scope, rule, params)
            declared = _content_length(scope)
            if declared is not None and declared > rule.limit_bytes:
                raise rule.too_large()
        except (NotAuthenticated, NotAllowed, NotFound, PayloadTooLarge) as exc:
            await _refuse(exc, scope, send)
            return
        if principal is not None:
            scope[PRINCIPAL_SCOPE_KEY] = principal
        await _Metered(self.app, rule)(scope, receive, send)


async def _admit(scope: Scope, rule: BodyRule, params: dict[str, Any]) -> Principal | None:
    if rule.secret is not None:
        rule.secret(scope)
    if rule.roles is None:
        return None
    authorization = _header(scope, b"authorization") or ""
    state: Any = scope["app"].state
    # The token is looked up in the database: off the event loop, like the dependencies.
    principal = await run_in_threadpool(principal_of, authorization, state.authenticator)
    if principal.role is Role.REVIEWER:
        # A share token: its own routes within its share only, as its review's reader.
        principal = await run_in_threadpool(act_for, principal, rule.method, rule.path,
                                            params, state.sessions)
    check_role(principal, tuple(rule.roles))
    return principal


async def _refuse(exc: NotAuthenticated | NotAllowed | NotFound | PayloadTooLarge, scope: Scope,
                  send: Send) -> None:
    async def no_body() -> Message:
        return {"type": "http.disconnect"}

    await error_response(exc, close=True)(scope, no_body, send)


class _BodyTooLarge(Exception):
    """Raised from ``receive`` to stop a route that reads past its limit."""


class _Metered:
    """One admitted request: its body counted as it arrives, 413 past the limit."""

    def __init__(self, app: ASGIApp, rule: BodyRule) -> None:
        self.app = app
        self.rule = rule
        self.received = 0
        self.over = False
        self.complete = False  # the last part of the body has been received
        self.started = False
        self.refused = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Message:
            if self.over:
                raise _BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                if self.received > self.rule.limit_bytes:
                    self.over = True
                    raise _BodyTooLarge
                self.complete = not message.get("more_body", False)
            return message

        async def guarded(message: Message) -> None:
            if self.over and not self.started:
                # Whatever the route answers to the interrupted read (FastAPI turns it
                # into a 400 "error parsing the body"), the answer is 413.
                await self._refuse_once(scope, send)
                return
            if message["type"] == "http.response.start":
                self.started = True
                if not self.complete:
                    # The route answered without reading the whole body (one that takes
                    # none): close rather than let the server receive and drop the rest.
                    message = {**message, "headers": [*message.get("headers", []),
                                                      (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception as exc:
            if not (self.over and _only_too_large(exc)):
                raise
        if self.over and not self.started:
            await self._refuse_once(scope, send)

    async def _refuse_once(self, scope: Scope, send: Send) -> None:
        if not self.refused:
            self.refused = True
            await _refuse(self.rule.too_large(), scope, send)


def _only_too_large(exc: BaseException) -> bool:
    if isinstance(exc, BaseExceptionGroup):
        return all(_only_too_large(inner) for inner in exc.exceptions)
    return isinstance(exc, _BodyTooLarge)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _declares_body(scope: Scope) -> bool:
    length = _header(scope, b"content-length")
    return (length is not None and length.strip() != "0") \
        or _header(scope, b"transfer-encoding") is not None


def _content_length(scope: Scope) -> int | None:
    length = (_header(scope, b"content-length") or "").strip()
    return int(length) if length.isdigit() else None


def _size(n: int) -> str:
    return f"{n / MB:,.0f} MB" if n % MB == 0 else f"{n:,} bytes"


def install_body_guard(app: FastAPI, settings: Settings) -> None:
    """Put the guard in front of the app's routes (call it once they are all included)."""
    rules = RouteRules(app, route_limits(settings),
                       default_limit=settings.max_json_mb * MB)
    app.add_middleware(BodyGuard, rules=rules)
