"""api.body_guard driven by hand over ASGI: who is calling is known before ``receive`` is
first called, and a body is counted as it arrives (the real server is in
tests/integration/test_body_guard.py)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Request

from api.auth import CurrentUser, Measurer, Reader
from api.body_guard import MB, BodyGuard, RouteRules, install_body_guard
from api.errors import install_error_handlers
from api.settings import Settings
from api.workflow.roles import Principal, Role

TOKENS = {f"t-{role.value}": Principal(user_id=i, name=role.value, role=role)
          for i, role in enumerate(Role, start=1)}


class FakeAuthenticator:
    """The Authenticator's one method, over a fixed table; counts its look-ups."""

    def __init__(self) -> None:
        self.lookups = 0

    def resolve(self, token: str) -> Principal | None:
        self.lookups += 1
        return TOKENS.get(token)


@dataclass
class Exchange:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    receives: int = 0  # how often the app asked for body


async def raw_body(request: Request) -> bytes:
    return await request.body()


def _app(handled: list[int]) -> FastAPI:
    app = FastAPI()
    router = APIRouter(prefix="/api/v1")

    # Like the SR import: the body is a dependency listed before the principal.
    @router.post("/notes")
    async def notes(body: Annotated[bytes, Depends(raw_body)], who: Measurer
                    ) -> dict[str, Any]:
        handled.append(len(body))
        return {"bytes": len(body), "by": who.name}

    @router.put("/reads")
    def reads(payload: dict[str, Any], who: Reader) -> dict[str, Any]:
        handled.append(len(payload))
        return {"by": who.name}

    @router.post("/any")
    def any_role(payload: dict[str, Any], who: CurrentUser) -> dict[str, Any]:
        handled.append(len(payload))
        return {"by": who.name}

    @router.post("/sign")
    def sign(who: Measurer) -> dict[str, str]:
        return {"by": who.name}

    @router.post("/open")
    async def open_door(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    app.include_router(router)
    app.state.authenticator = FakeAuthenticator()
    return app


def _guarded(handled: list[int], limits: dict[tuple[str, str], int] | None = None) -> FastAPI:
    app = _app(handled)
    rules = RouteRules(app, limits or {("POST", "/api/v1/notes"): 2 * MB}, default_limit=MB)
    app.add_middleware(BodyGuard, rules=rules)
    install_error_handlers(app)
    return app


def call(app: FastAPI, method: str, path: str, *, token: str | None = None,
         chunks: list[bytes] | tuple[bytes, ...] = (), length: int | None = None,
         chunked: bool = False) -> Exchange:
    """One request over ASGI; ``length`` is the Content-Length declared (default: the
    size of the chunks, unless ``chunked``)."""
    headers = [(b"content-type", b"application/json")]
    if token is not None:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    if chunked:
        headers.append((b"transfer-encoding", b"chunked"))
    else:
        size = sum(map(len, chunks)) if length is None else length
        headers.append((b"content-length", str(size).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "headers": headers,
             "server": ("testserver", 80), "client": ("127.0.0.1", 1)}
    out = Exchange()
    pending = list(chunks)

    async def receive() -> dict[str, Any]:
        out.receives += 1
        if not pending:
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": pending.pop(0), "more_body": bool(pending)}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            out.status = message["status"]
            out.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            out.body += message.get("body", b"")

    asyncio.run(app(scope, receive, send))
    return out


def test_anonymous_and_unknown_tokens_get_401_before_the_body_is_asked_for() -> None:
    handled: list[int] = []
    app = _guarded(handled)
    for token in (None, "nobody"):
        out = call(app, "POST", "/api/v1/notes", token=token, chunks=[b"x" * 1000], length=400 * MB)
        assert out.status == 401 and out.receives == 0, out
        assert out.headers["www-authenticate"] == "Bearer"
        assert out.headers["connection"] == "close"
    detail = json.loads(out.body)["detail"]
    assert detail == "invalid or revoked token"
    assert handled == []


def test_a_role_the_route_does_not_admit_gets_403_before_the_body_is_asked_for() -> None:
    handled: list[int] = []
    app = _guarded(handled)
    for role in (Role.UPLOADER, Role.SPECIALIST, Role.ADMIN):
        out = call(app, "POST", "/api/v1/notes", token=f"t-{role.value}",
                   chunks=[b"x"], length=400 * MB)
        assert out.status == 403 and out.receives == 0, out
        assert "needs one of: radiologist" in json.loads(out.body)["detail"]
    out = call(app, "PUT", "/api/v1/reads", token="t-uploader", chunks=[b"{}"])
    assert out.status == 403 and out.receives == 0
    assert handled == []


def test_a_declared_length_over_the_limit_gets_413_before_the_body_is_asked_for() -> None:
    handled: list[int] = []
    app = _guarded(handled)
    out = call(app, "POST", "/api/v1/notes", token="t-radiologist", chunks=[b"x"],
               length=2 * MB + 1)
    assert out.status == 413 and out.receives == 0
    assert json.loads(out.body) == {
        "detail": "the request body is larger than 2 MB, the limit of POST /api/v1/notes; "
                  "nothing was stored", "limit_bytes": 2 * MB}
    # The JSON limit applies to routes the table does not name, whatever the role.
    out = call(app, "PUT", "/api/v1/reads", token="t-specialist", length=MB + 1)
    assert out.status == 413 and out.receives == 0
    assert handled == []


@pytest.mark.parametrize("path", ["/api/v1/notes", "/api/v1/reads"])
def test_a_body_without_length_is_cut_off_once_past_the_limit(path: str) -> None:
    handled: list[int] = []
    app = _guarded(handled, {("POST", "/api/v1/notes"): MB})
    chunk = b" " * (256 * 1024)
    method = "POST" if path.endswith("notes") else "PUT"
    out = call(app, method, path, token="t-radiologist", chunks=[chunk] * 400, chunked=True)
    # Four chunks fill the limit; the fifth passes it and is the last one asked for (a
    # JSON route's own 400 for the interrupted read is replaced by the 413).
    assert out.status == 413 and out.receives == 5, out
    assert out.headers["connection"] == "close"
    assert handled == []


def test_a_body_within_the_limit_reaches_the_route_and_the_token_is_looked_up_once() -> None:
    handled: list[int] = []
    app = _guarded(handled)
    authenticator: FakeAuthenticator = app.state.authenticator
    out = call(app, "POST", "/api/v1/notes", token="t-radiologist",
               chunks=[b"x" * MB, b"y" * MB])
    assert out.status == 200 and json.loads(out.body) == {"bytes": 2 * MB, "by": "radiologist"}
    assert authenticator.lookups == 1 and "connection" not in out.headers
    out = call(app, "POST", "/api/v1/any", token="t-uploader", chunks=[b'{"a": 1}'],
               chunked=True)
    assert out.status == 200 and json.loads(out.body) == {"by": "uploader"}
    assert handled == [2 * MB, 1]


def test_requests_without_a_body_and_routes_without_authentication_pass_through() -> None:
    handled: list[int] = []
    app = _guarded(handled)
    authenticator: FakeAuthenticator = app.state.authenticator
    out = call(app, "POST", "/api/v1/notes", token=None, length=0)
    assert out.status == 401  # the route's own dependency answers
    assert authenticator.lookups == 0
    out = call(app, "POST", "/api/v1/open", chunks=[b"abc"])
    assert out.status == 200 and json.loads(out.body) == {"bytes": 3}
    # Still limited, like a URL that no route serves (which never reads its body).
    assert call(app, "POST", "/api/v1/open", length=MB + 1).status == 413
    out = call(app, "POST", "/api/v1/nowhere", chunks=[b"x"], length=400 * MB)
    assert out.status == 413 and out.receives == 0
    out = call(app, "POST", "/api/v1/nowhere", chunks=[b"x"])
    assert out.status == 404 and out.receives == 0


def test_a_limit_for_a_route_that_does_not_exist_is_refused_at_start() -> None:
    app = _app([])
    with pytest.raises(ValueError, match="name no route"):
        RouteRules(app, {("POST", "/api/v1/note"): MB}, default_limit=MB)
    # install_body_guard uses the real table: the test app has none of its routes.
    with pytest.raises(ValueError, match="/api/v1/dicom"):
        install_body_guard(app, Settings())


def test_a_route_that_answers_without_reading_the_body_closes_the_connection() -> None:
    app = _guarded([])
    out = call(app, "POST", "/api/v1/sign", token="t-radiologist", chunks=[b"x"] * 10,
               chunked=True)
    assert out.status == 200 and out.receives == 0
    assert out.headers["connection"] == "close"
    out = call(app, "POST", "/api/v1/sign", token="t-radiologist", length=0)
    assert out.status == 200 and "connection" not in out.headers
