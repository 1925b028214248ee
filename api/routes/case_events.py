"""GET /api/v1/cases/{id}/events: a case's changes as Server-Sent Events (issue 18).

Each committed change to the case (a measurement, a lesion added, changed or deleted, a
sign-off), made through any Nadir process, is sent as ``event: change`` with the JSON of
:class:`~api.workflow.events.CaseEvent`. ``event: resync`` means events were dropped: the
reader reloads the case. A comment line every 15 s keeps proxies from closing the stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.auth import Authenticator, Reader, principal_of
from api.deps import watch_case
from api.routes.params import CaseId
from api.workflow.errors import NotAuthenticated
from api.workflow.event_bus import LocalEventBus, Subscription
from api.workflow.roles import READERS

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
KEEPALIVE_S = 15.0
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
    still_allowed = _token_check(request)
    return StreamingResponse(_stream(request, bus, sub, still_allowed), media_type=EVENT_STREAM,
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _token_check(request: Request) -> Callable[[], Awaitable[bool]]:
    """Whether the stream's token is still valid and still a reader's, asked again before
    every event and keep-alive: a token revoked while its stream is open receives nothing
    more (issue 15: revocation takes effect at once)."""
    auth: Authenticator = request.app.state.authenticator
    header = request.headers.get("authorization", "")

    async def check() -> bool:
        try:
            who = await run_in_threadpool(principal_of, header, auth)
        except NotAuthenticated:
            return False
        return who.role in READERS

    return check


async def _stream(request: Request, bus: LocalEventBus, sub: Subscription,
                  still_allowed: Callable[[], Awaitable[bool]]) -> AsyncIterator[str]:
    try:
        yield f"retry: {RETRY_MS}\n: connected\n\n"
        sent = 0
        while True:
            try:
                event = await asyncio.wait_for(sub.queue.get(), KEEPALIVE_S)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                if not await still_allowed():
                    yield REVOKED
                    return
                yield ": keep-alive\n\n"
                continue
            if not await still_allowed():
                yield REVOKED
                return
            if sub.overflowed:
                sub.overflowed = False
                yield "event: resync\ndata: {}\n\n"
            sent += 1
            yield f"id: {sent}\nevent: change\ndata: {event.to_json()}\n\n"
    finally:
        bus.unsubscribe(sub)
