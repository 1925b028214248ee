"""Shared fixtures: real Orthanc processes, SQLite and PostgreSQL databases, API clients."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings

# Properties are checked, not timed (timing goes in bench/): on a loaded machine one example
# can take longer than hypothesis's default deadline of 200 ms, or its data longer than the
# too_slow health check allows, and the test would fail without any property being broken.
settings.register_profile("nadir", deadline=None, suppress_health_check=[HealthCheck.too_slow])
# The fast layer (`-m fast`, below) tries 20 examples per property where none is set; the
# whole suite tries hypothesis's 100.
settings.register_profile("nadir-fast", parent=settings.get_profile("nadir"), max_examples=20)
settings.load_profile("nadir")


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# A run ended with SIGTERM (`timeout`, `kill`) stops as after Ctrl-C: fixtures are torn down,
# so the Orthanc and `nadir serve` processes it started do not outlive it (they are started
# in sessions of their own; a killed run left an Orthanc running).
signal.signal(signal.SIGTERM, _interrupt)

PG_URL = os.environ.get(
    "NADIR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
STORESCU_AET = "STORESCU"
PYNETDICOM_AET = "PYNETDICOM"


def free_ports(n: int) -> list[int]:
    """n distinct free TCP ports, chosen together.

    Every probe socket stays bound until all n ports are read, so the kernel cannot hand
    out one port twice (probing one port at a time could, and then Orthanc's HTTP and DICOM
    listeners collided). The probes bind every interface, as Orthanc's listeners do."""
    with ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(n)]
        for probe in probes:
            probe.bind(("0.0.0.0", 0))
        return [int(probe.getsockname()[1]) for probe in probes]


#: How long a wait gives a condition by default: far past what a quiet machine needs, so
#: that a loaded one (other suites, benchmarks) delays a test and never fails it. A wait
#: returns as soon as its condition holds, so a passing test is no slower for it.
WAIT_S = 60.0


def wait_until(predicate: Callable[[], Any], timeout: float = WAIT_S,
               interval: float = 0.05) -> Any:
    """The predicate's first truthy value; AssertionError once ``timeout`` has gone by."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def _postgres_available() -> bool:
    try:
        engine = sa.create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new schema on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'nadir.db'}"
        return
    if not _postgres_available():
        if os.environ.get("NADIR_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL required but unreachable at {PG_URL}")
        pytest.skip(f"PostgreSQL server unreachable at {PG_URL}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def start_orthanc(storage_dir: Path, **config: Any) -> Any:
    """Start a real Orthanc on two free ports (config: the other OrthancConfig fields).

    Another process may take a port between choosing it and Orthanc binding it: then Orthanc
    says which port is in use, and it is started once more on new ports."""
    from pacs.errors import OrthancPortInUse
    from pacs.process import OrthancConfig, OrthancProcess

    def attempt() -> OrthancProcess:
        http_port, dicom_port = free_ports(2)
        proc = OrthancProcess(OrthancConfig(storage_dir=storage_dir, http_port=http_port,
                                            dicom_port=dicom_port, **config))
        proc.start()
        return proc

    try:
        return attempt()
    except OrthancPortInUse:
        return attempt()


@pytest.fixture
def orthanc(tmp_path: Path) -> Iterator[Any]:
    """A real Orthanc on free ports with temporary storage and authentication on."""
    from pacs.process import find_orthanc_executable

    if find_orthanc_executable() is None:
        pytest.skip("Orthanc is not installed (scripts/setup.sh installs Debian's orthanc)")
    proc = start_orthanc(tmp_path / "orthanc", username="nadir-test",
                         password=uuid.uuid4().hex, stable_age_s=1)
    with proc.client() as client:
        client.put_modality(STORESCU_AET, aet=STORESCU_AET, host="127.0.0.1", port=104)
        client.put_modality(PYNETDICOM_AET, aet=PYNETDICOM_AET, host="127.0.0.1", port=104)
    yield proc
    # The storage is thrown away: no need to wait ~3 s for Orthanc's graceful shutdown.
    proc.stop(kill=True)


@pytest.fixture
def watched_orthanc(tmp_path: Path) -> Iterator[Any]:
    """A real Orthanc whose Python plugin spools copies sent again by C-STORE
    (pacs/resent_spool.py) to ``config.resent_spool_dir``."""
    from pacs.process import PYTHON_PLUGIN, find_orthanc_executable, find_plugin

    if find_orthanc_executable() is None:
        pytest.skip("Orthanc is not installed (scripts/setup.sh installs Debian's orthanc)")
    if find_plugin(PYTHON_PLUGIN) is None:
        pytest.skip("orthanc-python is not installed (scripts/setup.sh installs it)")
    proc = start_orthanc(tmp_path / "orthanc", username="nadir-test",
                         password=uuid.uuid4().hex, stable_age_s=1,
                         resent_spool_dir=tmp_path / "orthanc" / "resent-spool")
    with proc.client() as client:
        client.put_modality(STORESCU_AET, aet=STORESCU_AET, host="127.0.0.1", port=104)
        client.put_modality(PYNETDICOM_AET, aet=PYNETDICOM_AET, host="127.0.0.1", port=104)
    yield proc
    proc.stop(kill=True)


def orthanc_verbose(orthanc: Any) -> None:
    """Orthanc's log at its verbose level: only there does it say why it ended a DICOM
    association (a DIMSE failure, a time-out), which :func:`orthanc_says` then shows."""
    import httpx

    httpx.put(f"{orthanc.config.url}/tools/log-level", content=b"verbose", timeout=30,
              auth=(orthanc.config.username, orthanc.config.password)).raise_for_status()


def orthanc_says(orthanc: Any, lines: int = 40) -> str:
    """The last of Orthanc's warnings and errors and of what it said about DICOM associations."""
    text = orthanc.log_file.read_text(errors="replace").splitlines()
    kept = [line for line in text if line[:1] in ("W", "E")
            or "ssociation" in line or "DIMSE" in line or "Timeout" in line]
    state = "running" if orthanc.running else "exited"
    return f"Orthanc {state}; its log ({orthanc.log_file}):\n" + "\n".join(kept[-lines:])


def storescu(orthanc: Any, files: list[Path], *, aet: str = STORESCU_AET,
             check: bool = True) -> subprocess.CompletedProcess[str]:
    """Push files with dcmtk's storescu (a client nobody here wrote)."""
    if shutil.which("storescu") is None:
        pytest.skip("dcmtk storescu is not installed (scripts/setup.sh dev installs it)")
    env = dict(os.environ, TCP_NODELAY="1")
    result = subprocess.run(
        ["storescu", "-aet", aet, "-aec", orthanc.config.aet, "127.0.0.1",
         str(orthanc.config.dicom_port), *map(str, files)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"storescu failed ({result.returncode}): {result.stderr[-2000:]}")
    return result


@dataclass
class Service:
    client: Any
    app: Any
    tokens: dict[str, str]

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def make_tokens(app: Any) -> dict[str, str]:
    from api.auth import Role, create_user, issue_token

    tokens: dict[str, str] = {}
    with app.state.sessions.begin() as s:
        for role in Role:
            user = create_user(s, f"{role.value}-user", role)
            tokens[role.value] = issue_token(s, user)
    return tokens


def radiologist_tokens(app: Any, names: Iterable[str]) -> dict[str, str]:
    """More radiologists (second readers, adjudicators), each with a token, by name."""
    from api.auth import Role, create_user, issue_token

    with app.state.sessions.begin() as s:
        return {name: issue_token(s, create_user(s, name, Role.RADIOLOGIST))
                for name in names}


@pytest.fixture
def service_factory(
    database_url: str, tmp_path: Path
) -> Iterator[Callable[..., Service]]:
    """Build the app against a given Orthanc; ingest runs in its background thread."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings

    opened: list[Any] = []

    def build(orthanc: Any, *, ingest: bool = True, tokens: dict[str, str] | None = None,
              **overrides: Any) -> Service:
        settings = Settings(
            data_dir=tmp_path / "data", database_url=database_url,
            orthanc_url=orthanc.config.url if orthanc else "http://127.0.0.1:9",
            orthanc_username=orthanc.config.username if orthanc else "x",
            orthanc_password=orthanc.config.password if orthanc else "x",
            orthanc_dicom_port=orthanc.config.dicom_port if orthanc else 104,
            ingest=ingest, ingest_interval_s=0.05, **overrides,
        )
        app = create_app(settings)
        client = TestClient(app)
        client.__enter__()
        opened.append(client)
        return Service(client=client, app=app, tokens=tokens or make_tokens(app))

    yield build
    for client in reversed(opened):
        client.__exit__(None, None, None)


@pytest.fixture
def service(service_factory: Callable[..., Service], orthanc: Any) -> Service:
    return service_factory(orthanc)


@pytest.fixture
def watched_service(service_factory: Callable[..., Service],
                    watched_orthanc: Any) -> Service:
    """The service on ``watched_orthanc``, draining its spool of copies sent again."""
    return service_factory(watched_orthanc,
                           resent_spool_dir=watched_orthanc.config.resent_spool_dir)


# --- the fast layer -----------------------------------------------------------------------
# `pytest -m fast` runs the pure tests in seconds, to be run at every change. A module is in
# it by its name (a pattern) below, so a test added to one of these modules is fast without
# a marker of its own. A module belongs here when its tests start no process, open no port
# or database, and build no synthetic study: the RECIST engine and its codec, the workflow
# on fakes, pairing scores and features, geometry, the report's model and notes.
FAST_MODULES = (
    "unit/test_recist_*",  # the RECIST 1.1 / iRECIST engine, its codec and its properties
    "unit/test_case_service",  # the case workflow on in-memory fakes (workflow_fakes.py)
    "unit/test_case_response",
    "unit/test_reviews",  # second readings on the fakes
    "unit/test_lesion_changes",
    "unit/test_study_dates",
    "unit/test_comparison_reuse",
    "unit/test_registration_jobs",  # the registration scheduler on a fake computer
    "unit/test_pairing",  # series scores, exclusions and features on hand-built descriptors
    "unit/test_registration_maths",  # transforms, image planes, coarse volumes
    "unit/test_vocabulary_and_errors",
    "unit/test_report_factories",  # the report's model refuses what it cannot show
    "unit/test_report_notes",
    "unit/test_figures",  # one number written alike on screen and in the report
    "unit/test_report_charts",
    "unit/test_sr_codes",
    "unit/test_upload",  # multipart parsing and member names
    "unit/test_upload_rules",  # all or nothing, on a fake archive
    "unit/test_dicomweb_routes",  # the image proxy's allow-list
    "unit/test_deid_profile",  # the share's de-identification plan: offsets, UID map, exclusions
    "unit/test_dicomjson",  # cutting series metadata into instances, as raw text
    "unit/test_settings",
    "unit/test_query_retrieve",  # the C-FIND identifier and its answers
    "unit/test_resent_spool",  # the re-sent copy spool and the plugin's filter, on a fake
    "unit/test_layers",  # workflow modules import no database, adapter or pacs module
)
TESTS = Path(__file__).parent


def _is_fast(path: Path) -> bool:
    name = path.relative_to(TESTS).with_suffix("").as_posix()
    return any(fnmatch(name, pattern) for pattern in FAST_MODULES)


def pytest_configure(config: pytest.Config) -> None:
    if config.option.markexpr == "fast":
        settings.load_profile("nadir-fast")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With exactly `-m fast`, the other test modules are not even imported (importing them
    took about as long as running the fast tests)."""
    if config.option.markexpr == "fast" and collection_path.suffix == ".py" \
            and collection_path.name.startswith("test_") and TESTS in collection_path.parents:
        return not _is_fast(collection_path)
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name.startswith("test_") and TESTS in item.path.parents \
                and _is_fast(item.path):
            item.add_marker(pytest.mark.fast)
