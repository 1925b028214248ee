"""FastAPI application factory: ``create_app(settings)``; no import-time singletons."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from sqlalchemy import Engine

from api import __version__
from api.adapters.index_store import DatabaseIndex
from api.adapters.pacs_gateway import OrthancPacs
from api.adapters.pg_events import PgEventListener, PgEventPublisher, channel_of, conninfo_of
from api.adapters.series_metadata import SeriesMetadataStore
from api.adapters.share_copies import OrthancShareCopies
from api.adapters.sql_store import unit_of_work
from api.auth import Authenticator
from api.body_guard import install_body_guard
from api.db.session import make_engine, make_sessionmaker, migrate
from api.errors import install_error_handlers
from api.log_privacy import withhold_library_values
from api.openapi import install_openapi
from api.routes import (
    case_documents,
    case_report,
    cases,
    comparisons,
    dicomweb,
    health,
    internal,
    measurements,
    patients,
    priors,
    readings,
    recist,
    registration,
    shares,
    upload,
)
from api.routes import (
    case_events as case_events_routes,
)
from api.routes.docs import install_docs
from api.routes.web import WEB_DIST, install_web
from api.schemas import EvaluateRequest
from api.security_headers import SecurityHeaders
from api.settings import Settings, load_settings
from api.workers.image_checks import ImageChecker
from api.workers.ingest import Ingest, leader_lock
from api.workers.outbox import OutboxSender
from api.workers.priors import PriorFetcher
from api.workers.report_warmup import start_report_warm_up
from api.workers.series_metadata import MetadataFiller
from api.workers.share_purge import SharePurger
from api.workers.sr_drafts import SrDraftCollector
from api.workflow.event_bus import LocalEventBus
from api.workflow.events import CaseEventPublisher
from api.workflow.image_reads import ImageReads
from api.workflow.priors import HospitalPacs
from api.workflow.share_purge import PurgeAfter
from pacs.dicomweb import DicomWebGateway
from pacs.dimse import DicomPeer
from pacs.feed import ChangeFeedFollower
from pacs.orthanc import OrthancClient

log = logging.getLogger(__name__)
#: How long start-up waits for the LISTEN connection of the case events (PostgreSQL).
EVENT_LISTEN_WAIT_S = 5.0


def case_events(engine: Engine) -> tuple[LocalEventBus, CaseEventPublisher,
                                          PgEventListener | None]:
    """The process's event bus, where the case service publishes, and (PostgreSQL) the
    LISTEN thread that brings every process's changes onto the bus."""
    bus = LocalEventBus()
    if engine.dialect.name != "postgresql":
        return bus, bus, None
    channel = channel_of(engine)
    return (bus, PgEventPublisher(engine, channel),
            PgEventListener(conninfo_of(engine), channel, bus.publish))


def create_app(settings: Settings, *, run_ingest: bool | None = None) -> FastAPI:
    withhold_library_values()
    engine = make_engine(settings.effective_database_url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    orthanc = OrthancClient(
        settings.orthanc_url, settings.orthanc_username, settings.orthanc_password
    )
    follower = ChangeFeedFollower(client=OrthancClient(
        settings.orthanc_url, settings.orthanc_username, settings.orthanc_password
    ), sink=DatabaseIndex(sessions))
    drafts = SrDraftCollector(sessions, orthanc)
    follower.observers.append(drafts)
    metadata = SeriesMetadataStore(sessions)
    # Orthanc is still receiving series: the background readers of whole series wait.
    def receiving() -> bool:
        return bool(follower.sink.pending())

    metadata_filler = MetadataFiller(metadata, lambda: OrthancClient(
        settings.orthanc_url, settings.orthanc_username, settings.orthanc_password),
        receiving=receiving)
    follower.observers.append(metadata_filler.observe)
    ingest = Ingest(follower, settings.ingest_interval_s,
                    leader_lock(engine, settings.data_dir),
                    pushed_interval_s=settings.ingest_pushed_interval_s,
                    pushes_expected=settings.ingest_pushes_expected)
    start_ingest = settings.ingest if run_ingest is None else run_ingest
    outbox = OutboxSender.from_settings(sessions, settings)
    prior_fetcher = PriorFetcher(
        sessions, OrthancClient(settings.orthanc_url, settings.orthanc_username,
                                settings.orthanc_password),
        HospitalPacs(settings.remote_ae_title, settings.remote_ae_host,
                     settings.remote_ae_port) if settings.remote_ae_host else None,
        target_aet=settings.orthanc_aet, policy=outbox.policy,
        automatic=settings.fetch_priors)
    follower.observers.append(prior_fetcher)
    image_checker = ImageChecker(sessions, OrthancClient(
        settings.orthanc_url, settings.orthanc_username, settings.orthanc_password),
        is_leader=lambda: ingest.leader, receiving=receiving, spool=settings.resent_spool_dir)
    follower.observers.append(image_checker)
    share_copies = OrthancShareCopies(orthanc)
    share_purger = SharePurger(sessions, share_copies,
                               PurgeAfter(settings.share_purge_after_days),
                               is_leader=lambda: ingest.leader)
    event_bus, event_publisher, event_listener = case_events(engine)

    @asynccontextmanager
    async def lifespan(running: FastAPI) -> AsyncIterator[None]:
        if start_ingest:
            ingest.start()
            image_checker.start()
            share_purger.start()
        outbox.start()
        prior_fetcher.start()
        metadata_filler.start()
        start_report_warm_up()
        if event_listener is not None:
            event_listener.start()
            # Streams opened once the app serves must hear every change from then on.
            event_listener.listening.wait(EVENT_LISTEN_WAIT_S)
        try:
            yield
        finally:
            if event_listener is not None:
                event_listener.stop()
            outbox.stop()
            prior_fetcher.close()
            metadata_filler.stop()
            image_checker.close()
            share_purger.stop()
            ingest.stop()
            await running.state.dicomweb.aclose()
            orthanc.close()
            follower.client.close()
            engine.dispose()

    app = FastAPI(
        title="Nadir",
        version=__version__,
        description=(
            "Tumour-response review. Every result is a computed reading that supports, and "
            "never replaces, the interpretation of a qualified oncologist."
        ),
        lifespan=lifespan,
        # /docs is served from installed files (api/routes/docs.py), not FastAPI's CDN page.
        docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None,
    )
    state: Any = app.state
    state.settings = settings
    state.engine = engine
    state.sessions = sessions
    state.orthanc = orthanc
    hospital = DicomPeer(settings.remote_ae_host, settings.remote_ae_port,
                         settings.remote_ae_title, settings.orthanc_aet) \
        if settings.remote_ae_host else None
    state.pacs = OrthancPacs(orthanc, hospital, on_outbox_changed=outbox.wake)
    state.share_copies = share_copies
    state.share_purger = share_purger
    state.outbox = outbox
    state.priors = prior_fetcher
    state.image_checks = image_checker
    public = urlsplit(settings.public_url)
    state.dicomweb = DicomWebGateway(settings.orthanc_url, *settings.orthanc_reader,
                                     public_host=public.netloc, public_proto=public.scheme)
    state.image_reads = ImageReads(lambda: unit_of_work(sessions))
    state.series_metadata = metadata
    state.metadata_filler = metadata_filler
    state.ingest = ingest
    state.push_secret = settings.orthanc_push_secret
    state.sr_drafts = drafts
    state.authenticator = Authenticator(engine)
    state.event_bus = event_bus
    state.event_publisher = event_publisher
    for module in (health, patients, comparisons, upload, recist, cases, measurements,
                   case_documents, case_report, case_events_routes, dicomweb, registration,
                   priors, internal, shares, readings):
        app.include_router(module.router)
    install_web(app, settings.web_dist or WEB_DIST)
    install_docs(app)
    install_body_guard(app, settings)  # inside the error handlers' middleware
    install_error_handlers(app)
    # Added last, so the outermost: every answer gets the headers, errors included.
    app.add_middleware(SecurityHeaders)
    _document_request_schemas(app)
    install_openapi(app)
    return app


def _document_request_schemas(app: FastAPI) -> None:
    """Add the request schemas that routes parse themselves (to keep the engine's own
    error messages) to ``/openapi.json``'s components."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = plain()
            extra = EvaluateRequest.model_json_schema(
                ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(extra.pop("$defs", {}))
            components[EvaluateRequest.__name__] = extra
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def app_from_environment() -> FastAPI:
    """Factory for ``uvicorn --factory`` (one call per worker process)."""
    return create_app(load_settings())
