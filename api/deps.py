"""Request-scoped dependencies: the database session and the services built on it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.adapters.registration_computer import RegistrationComputer
from api.adapters.registration_store import SqlRegistrationStore
from api.adapters.share_store import SqlShareStore
from api.adapters.sql_store import SqlCaseStore
from api.workflow.case_reader import CaseReader
from api.workflow.cases import CaseService
from api.workflow.comparisons import ComparisonService
from api.workflow.markers import MarkerService
from api.workflow.publishing import DocumentService
from api.workflow.registration import RegistrationService, queue_comparison
from api.workflow.registration_jobs import RegistrationJobs
from api.workflow.roles import Principal
from api.workflow.shares import ShareService
from imaging.registration import RegistrationSettings


def db_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(db_session)]


def case_reader(session: SessionDep) -> CaseReader:
    return CaseReader(SqlCaseStore(session))


#: One per request: every service of the request loads cases through the same reader.
CaseLoader = Annotated[CaseReader, Depends(case_reader)]


def case_service(request: Request, reader: CaseLoader) -> CaseService:
    state = request.app.state
    return CaseService(reader, state.pacs,
                       on_case_created=state.sr_drafts.collect_existing,
                       events=state.event_publisher)


Cases = Annotated[CaseService, Depends(case_service)]


def marker_service(session: SessionDep) -> MarkerService:
    return MarkerService(SqlCaseStore(session))


Markers = Annotated[MarkerService, Depends(marker_service)]


def watch_case(state: Any, who: Principal, case_id: int) -> None:
    """Check and audit a reader opening a case's event stream, in a session of its own
    (a stream must not hold a database connection while it is open)."""
    with state.sessions() as session:
        CaseService(CaseReader(SqlCaseStore(session)), state.pacs).watch(who, case_id)


def still_watching(state: Any, who: Principal, case_id: int) -> None:
    """Check again that ``who`` may read the case whose events they watch (Blinded,
    CaseNotFound otherwise), in a session of its own; not audited (opening was)."""
    with state.sessions() as session:
        CaseReader(SqlCaseStore(session)).case_for(who, case_id)


def document_service(request: Request, reader: CaseLoader) -> DocumentService:
    state = request.app.state
    return DocumentService(reader, state.pacs, events=state.event_publisher)


Documents = Annotated[DocumentService, Depends(document_service)]


_REGISTRATION_LOCK = threading.Lock()


def registration_jobs(state: Any) -> RegistrationJobs:
    """The process's registration jobs, made on first use (one per app)."""
    jobs: RegistrationJobs | None = getattr(state, "registrations", None)
    if jobs is None:
        with _REGISTRATION_LOCK:
            jobs = getattr(state, "registrations", None)
            if jobs is None:
                store = SqlRegistrationStore(state.sessions)
                settings = RegistrationSettings(affine=state.settings.registration_affine)
                jobs = RegistrationJobs(store, RegistrationComputer(store, state.orthanc,
                                                                    settings))
                state.registration_store = store
                state.registrations = jobs
    return jobs


def comparison_service(request: Request, session: SessionDep) -> ComparisonService:
    jobs = registration_jobs(request.app.state)
    # A new comparison's registration starts in the background at once.
    return ComparisonService(SqlCaseStore(session),
                             on_changed=lambda view: queue_comparison(jobs, view))


Comparisons = Annotated[ComparisonService, Depends(comparison_service)]


def registration_service(request: Request, reader: CaseLoader) -> RegistrationService:
    state = request.app.state
    jobs = registration_jobs(state)
    return RegistrationService(reader, state.pacs, jobs,
                               state.registration_store)


Registrations = Annotated[RegistrationService, Depends(registration_service)]


def share_service(request: Request, session: SessionDep, reader: CaseLoader) -> ShareService:
    return ShareService(reader, SqlShareStore(session), request.app.state.share_copies)


Shares = Annotated[ShareService, Depends(share_service)]
