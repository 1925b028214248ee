"""GET /api/v1/cases/{id}/events: a case's changes as Server-Sent Events (issue 18).

Each committed change to the case (a measurement, a lesion added, changed or deleted, a
sign-off), made through any Nadir process, is sent as ``event: change`` with the JSON of
:class:`~api.workflow.events.CaseEvent`. ``event: resync`` means events were dropped: the
reader reloads the case. A comment line every 15 s keeps proxies from closing the stream.

Who may watch is checked again before every event and every 2 s of quiet: a token revoked
or expired (a share's too) ends the stream with ``event: revoked``; a reader whose blind
returned (the reader of a blinded review, once a new study makes a timepoint of both cases
that their review has not signed off) ends it with ``event: blinded``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.auth import Authenticator, Reader, principal_of
from api.deps import still_watching, watch_case
from api.routes.params import CaseId
from api.workflow.errors import Blinded, CaseNotFound, NotAuthenticated
from api.workflow.event_bus import LocalEventBus, Subscription
from api.workflow.roles import READERS, Principal, Role

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
KEEPALIVE_S = 15.0
#: A quiet stream checks its reader's access this often (and before every event).
RECHECK_S = 2.0
#: The browser's EventSource reconnects after this many ms (fetch readers may follow it).
RETRY_MS = 2000
EVENT_STREAM = "text/event-stream"
#: The last message of a stream whose token was revoked (or lost its reading role).
REVOKED = "event: revoked\ndata: {}\n\n"


@router.get("/{case_id}/events", response_class=StreamingResponse, responses={200: {
    "description": "Server-Sent Events: `event: change` with `data: {case_id, kind, who, "
                   "at, lesion_id, timepoint_id, version}`; `event: resync` after a gap",
    "content": {EVENT_STREAM: {"schema": {"type": "string"}}}}})
async def case_events(case_id: CaseId, request: Request, who: Reader) -> StreamingResponse:
    """The case's changes as they are committed, through any Nadir process."""
    state = request.app.state
    await run_in_threadpool(watch_case, state, who, case_id)
    bus: LocalEventBus = state.event_bus
    sub = bus.subscribe(case_id)
    still_allowed = _access_check(request, who, case_id)
    return StreamingResponse(_stream(request, bus, sub, still_allowed), media_type=EVENT_STREAM,
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _access_check(request: Request, who: Principal, case_id: int
                  ) -> Callable[[], Awaitable[str | None]]:
    """None while the stream's reader may still read the case, else its last message: the
    token still valid, of the same user, of a reading role (or the same share's), and the
    case not hidden from them by a blinded review (issue 15: revocation takes effect at
    once; issue 21: so does a blind)."""
    state = request.app.state
    auth: Authenticator = state.authenticator
    header = request.headers.get("authorization", "")

    def check() -> str | None:
        try:
            now = principal_of(header, auth)
        except NotAuthenticated:
            return REVOKED
        same_share = (now.role is Role.REVIEWER and who.share is not None
                      and now.share == who.share)
        if now.user_id != who.user_id or not (now.role in READERS or same_share):
            return REVOKED
        try:
            still_watching(state, who, case_id)
        except Blinded as exc:
            return f"event: blinded\ndata: {json.dumps({'reason': exc.message})}\n\n"
        except CaseNotFound:
            return REVOKED
        return None

    async def in_thread() -> str | None:
        return await run_in_threadpool(check)

    return in_thread


async def _stream(request: Request, bus: LocalEventBus, sub: Subscription,
                  ended: Callable[[], Awaitable[str | None]]) -> AsyncIterator[str]:
    try:
        yield f"retry: {RETRY_MS}\n: connected\n\n"
        sent = 0
        quiet_since = time.monotonic()
        while True:
            try:
                event = await asyncio.wait_for(sub.queue.get(), RECHECK_S)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                event = None
            last = await ended()
            if last is not None:
                yield last
                return
            if event is None:
                if time.monotonic() - quiet_since >= KEEPALIVE_S:
                    quiet_since = time.monotonic()
                    yield ": keep-alive\n\n"
                continue
            if sub.overflowed:
                sub.overflowed = False
                yield "event: resync\ndata: {}\n\n"
            sent += 1
            quiet_since = time.monotonic()
            yield f"id: {sent}\nevent: change\ndata: {event.to_json()}\n\n"
    finally:
        bus.unsubscribe(sub)
