"""Request-scoped dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session

from pacs.orthanc import OrthancClient


def db_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def orthanc(request: Request) -> OrthancClient:
    client: OrthancClient = request.app.state.orthanc
    return client
