"""`nadir start`: Orthanc and the service in one foreground process, started and stopped together.

SIGTERM, SIGINT and SIGHUP stop the service gracefully and then Orthanc. uvicorn handles the
first two while it runs and re-raises them after its shutdown; the handlers installed here
turn that (and a signal during the start) into :class:`Stopped`, so the ``finally`` that
stops Orthanc always runs. If Nadir is killed (SIGKILL), the kernel sends Orthanc SIGTERM
(``die_with_parent``).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from sqlalchemy import select

from api.auth import Role, create_user, issue_token
from api.datadir import is_shared, private_data_dir
from api.db.models import ApiToken, User
from api.db.session import make_engine, make_sessionmaker, migrate
from api.settings import RUNTIME_FILE, Settings
from pacs.listeners import Listener, listening
from pacs.process import OrthancConfig, OrthancProcess

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stopped(Exception):
    """A stop signal arrived."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stopped(signum: int, _frame: FrameType | None) -> None:
    raise Stopped(signum)


def _hang_up(_signum: int, _frame: FrameType | None) -> None:
    # The terminal went away: stop as for SIGTERM (uvicorn's handler, while it runs).
    signal.raise_signal(signal.SIGTERM)


@contextmanager
def _stop_signals() -> Iterator[None]:
    previous = {sig: signal.getsignal(sig) for sig in (*STOP_SIGNALS, signal.SIGHUP)}
    for sig in STOP_SIGNALS:
        signal.signal(sig, _raise_stopped)
    signal.signal(signal.SIGHUP, _hang_up)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_start(args: argparse.Namespace) -> int:
    """Start Orthanc (own storage under the data folder) and the service, in the foreground."""
    from pacs.errors import PacsError

    with _stop_signals():
        try:
            return _start(args)
        except PacsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        except Stopped:
            return 0


def _start(args: argparse.Namespace) -> int:
    settings = Settings()
    data_dir = private_data_dir(settings.data_dir)
    if is_shared(data_dir):
        print(f"warning: the data folder {data_dir} is shared or not yours: its modes are "
              "left as they are; give Nadir a folder of its own (NADIR_DATA_DIR)",
              file=sys.stderr)
    config = OrthancConfig(
        storage_dir=data_dir / "orthanc", http_port=args.orthanc_http_port,
        dicom_port=args.dicom_port, username="nadir",
        password=_orthanc_secret(data_dir), aet=settings.orthanc_aet,
        index_url=args.orthanc_db, expose_dicom=args.public_dicom,
        stable_series_url=stable_series_url(args.host, args.port),
        resent_spool_dir=data_dir / "orthanc" / "resent-spool",
    )
    # Started before any thread exists: the kernel stops Orthanc if Nadir is killed.
    orthanc = OrthancProcess(config, die_with_parent=True)
    try:
        orthanc.start()
        return _serve(args, settings, data_dir, orthanc)
    finally:
        # A second signal must not interrupt the stop and leave Orthanc behind.
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        orthanc.stop()


def stable_series_url(host: str, port: int) -> str | None:
    """Where the local Orthanc posts stable series: this service over loopback, or None
    (the change feed alone) when the service listens on no loopback address."""
    from api.routes.internal import STABLE_SERIES_PATH

    return _loopback_url(host, port, STABLE_SERIES_PATH)


def _loopback_url(host: str, port: int, path: str) -> str | None:
    if host in ("0.0.0.0", "", "localhost") or host.startswith("127."):
        loopback = "127.0.0.1" if not host.startswith("127.") else host
    elif host in ("::", "::1"):
        loopback = "[::1]"
    else:
        return None
    return f"http://{loopback}:{port}{path}"


def _orthanc_secret(data_dir: Path) -> str:
    secret_file = data_dir / "orthanc.secret"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(24))
    secret_file.chmod(0o600)
    return secret_file.read_text().strip()


def _serve(args: argparse.Namespace, settings: Settings, data_dir: Path,
           orthanc: OrthancProcess) -> int:
    import uvicorn

    from api.app import create_app
    from api.demo import DEMO_AET, remove_standing_demo_peer

    config = orthanc.config
    runtime = {
        "orthanc_url": config.url, "orthanc_username": config.username,
        "orthanc_password": config.password, "orthanc_dicom_host": "127.0.0.1",
        "orthanc_dicom_port": config.dicom_port, "orthanc_aet": config.aet,
        "resent_spool_dir": str(config.resent_spool_dir),
        "ingest_pushes_expected": config.stable_series_url is not None,
    }
    runtime_path = data_dir / RUNTIME_FILE
    runtime_path.write_text(json.dumps(runtime))
    runtime_path.chmod(0o600)
    settings = settings.model_copy(update=runtime)
    with orthanc.client() as client:
        if remove_standing_demo_peer(client):
            print(f"Removed the standing peer {DEMO_AET}@127.0.0.1 of earlier versions: "
                  "`nadir demo` registers it while it pushes")
    tokens = _start_tokens(settings)
    app = create_app(settings)
    # Bound here, not by uvicorn: the banner reports the listener the kernel has.
    web = _bind(args.host, args.port)
    print(f"Nadir web API:   http://{_url_host(args.host)}:{args.port}  (docs at /docs)")
    print(f"DICOM (C-STORE): AE title {config.aet}, port {config.dicom_port}"
          f"  (register senders: nadir peers add AET HOST)")
    print(f"Orthanc:         {config.url} (credentials in {data_dir / 'orthanc.secret'})")
    for line in exposure_lines(nadir=listening(os.getpid()), orthanc=orthanc.listeners(),
                               orthanc_http_port=config.http_port,
                               loopback_problem=orthanc.loopback_problem):
        print(line)
    print("Push a demo patient: .venv/bin/nadir demo")
    if Role.RADIOLOGIST in tokens:  # the admin may not measure: say who may
        print("Measuring needs a radiologist's token (more: .venv/bin/nadir users create "
              "NAME --role radiologist)")
        print(f"Radiologist token: {tokens[Role.RADIOLOGIST]}")
    print(f"Admin token:     {tokens[Role.ADMIN]}", flush=True)
    # No access log: request URLs carry patient IDs.
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[web])
    return 0


def _start_tokens(settings: Settings) -> dict[Role, str]:
    """A new start token of "admin" and, made on the first start, of "radiologist" (the
    admin cannot measure); the tokens of earlier starts are revoked."""
    engine = make_engine(settings.effective_database_url)
    migrate(engine)
    tokens = {}
    with make_sessionmaker(engine).begin() as s:
        first_start = s.scalar(select(User).where(User.name == "admin")) is None
        for name, role in (("admin", Role.ADMIN), ("radiologist", Role.RADIOLOGIST)):
            user = s.scalar(select(User).where(User.name == name))
            if user is None and (first_start or role is Role.ADMIN):
                user = create_user(s, name, role)
            if user is None or user.role != role.value:
                continue
            for old in s.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                         ApiToken.label == "start")):
                old.revoked = True
            tokens[role] = issue_token(s, user, label="start")
    engine.dispose()
    return tokens


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def exposure_lines(*, nadir: list[Listener], orthanc: list[Listener], orthanc_http_port: int,
                   loopback_problem: str | None) -> list[str]:
    """What the banner says about the listeners: each one, and what other machines reach."""
    named = [(listener, "Nadir") for listener in nadir] + [
        (listener, "Orthanc HTTP" if listener.port == orthanc_http_port else "Orthanc DICOM")
        for listener in orthanc]
    lines = ["Listening:       " + ", ".join(f"{name} {listener}" for listener, name in named)]
    exposed = [(listener, name) for listener, name in named if not listener.loopback]
    if not exposed:
        lines.append("Exposed:         nothing; every listener is on loopback")
        return lines
    lines.append("Exposed:         " + ", ".join(
        f"{name} on {'every interface' if listener.every_interface else listener.address} "
        f"port {listener.port}" for listener, name in exposed))
    for listener, name in exposed:
        if name == "Orthanc HTTP":
            lines.append(f"                 Orthanc HTTP refuses clients other than loopback "
                         f"(RemoteAccessAllowed false): firewall port {listener.port}")
        elif name == "Orthanc DICOM":
            lines.append(f"                 Orthanc DICOM accepts stores from registered peers "
                         f"only: firewall port {listener.port} to the hospital network")
    if loopback_problem is not None:
        lines.append(f"                 ({loopback_problem})")
    return lines
