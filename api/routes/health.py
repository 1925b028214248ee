"""GET /healthz: liveness of the service and of its peers; answers 200 while Orthanc is down."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text

from api import __version__
from api.auth import CurrentUser
from api.schemas import HealthOut, MeOut

router = APIRouter()


@router.get("/healthz", tags=["health"])
def healthz(request: Request) -> HealthOut:
    state = request.app.state
    orthanc = "ok" if state.orthanc.is_reachable(timeout=1.0) else "unreachable"
    try:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database = "ok"
    except Exception:
        database = "unreachable"
    status = state.ingest.follower.status
    return HealthOut.model_validate({
        "status": "ok",
        "orthanc": orthanc,
        "database": database,
        "version": __version__,
        "ingest": {
            "leader": state.ingest.leader,
            "cursor": status.cursor,
            "indexed_series": status.indexed_series,
            "last_error": status.last_error,
            "pushes": status.pushes,
        },
    })


@router.get("/api/v1/me", tags=["auth"])
def me(who: CurrentUser) -> MeOut:
    """Who the bearer token belongs to: the user's name and role (no patient data)."""
    return MeOut(name=who.name, role=who.role.value,
                 review_case_id=who.share.review_case_id if who.share else None)
