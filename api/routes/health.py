"""GET /healthz: liveness of the service and of its peers; answers 200 while Orthanc is down."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text

from api import __version__

router = APIRouter()


@router.get("/healthz")
def healthz(request: Request) -> dict[str, Any]:
    state = request.app.state
    orthanc = "ok" if state.orthanc.is_reachable(timeout=1.0) else "unreachable"
    try:
        with state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database = "ok"
    except Exception:
        database = "unreachable"
    status = state.ingest.follower.status
    return {
        "status": "ok",
        "orthanc": orthanc,
        "database": database,
        "version": __version__,
        "ingest": {
            "cursor": status.cursor,
            "indexed_series": status.indexed_series,
            "last_error": status.last_error,
        },
    }
