"""Request-scoped dependencies: the database session and the services built on it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.workflow.comparisons import ComparisonService
from api.workflow.publishing import DocumentService
from api.workflow.service import CaseService
from api.workflow.sql_store import SqlCaseStore


def db_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(db_session)]


def case_service(request: Request, session: SessionDep) -> CaseService:
    state = request.app.state
    return CaseService(SqlCaseStore(session), state.pacs,
                       on_case_created=state.sr_drafts.collect_existing)


Cases = Annotated[CaseService, Depends(case_service)]


def document_service(cases: Cases) -> DocumentService:
    return DocumentService(cases)


Documents = Annotated[DocumentService, Depends(document_service)]


def comparison_service(session: SessionDep) -> ComparisonService:
    return ComparisonService(SqlCaseStore(session))


Comparisons = Annotated[ComparisonService, Depends(comparison_service)]
