"""The ``nadir`` command: users, serve, start (Orthanc + service), demo, peers, db."""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import socket
import sys
from typing import Any

from sqlalchemy import select

from api.auth import Role, create_user, issue_token
from api.db.models import ApiToken, User
from api.db.session import make_engine, make_sessionmaker, migrate
from api.settings import RUNTIME_FILE, Settings, load_settings

DEMO_AET = "NADIRDEMO"


def _sessions(settings: Settings) -> Any:
    engine = make_engine(settings.effective_database_url)
    migrate(engine)
    return make_sessionmaker(engine)


def cmd_users_create(args: argparse.Namespace) -> int:
    try:
        role = Role(args.role)
    except ValueError:
        roles = ", ".join(r.value for r in Role)
        print(f"error: unknown role {args.role!r}; one of: {roles}", file=sys.stderr)
        return 2
    sessions = _sessions(load_settings())
    with sessions.begin() as s:
        user = s.scalar(select(User).where(User.name == args.name))
        if user is None:
            user = create_user(s, args.name, role)
        elif user.role != role.value:
            print(f"error: user {args.name!r} exists with role {user.role!r}", file=sys.stderr)
            return 2
        token = issue_token(s, user, label="cli")
    print(f"user {args.name} ({role.value}); API token (shown once):")
    print(token)
    return 0


def cmd_users_revoke(args: argparse.Namespace) -> int:
    sessions = _sessions(load_settings())
    with sessions.begin() as s:
        user = s.scalar(select(User).where(User.name == args.name))
        if user is None:
            print(f"error: unknown user {args.name!r}", file=sys.stderr)
            return 2
        for token in s.scalars(select(ApiToken).where(ApiToken.user_id == user.id)):
            token.revoked = True
    print(f"revoked every token of {args.name}")
    return 0


def cmd_db_upgrade(_: argparse.Namespace) -> int:
    _sessions(load_settings())
    print("database schema is up to date")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    if args.no_ingest:
        os.environ["NADIR_INGEST"] = "false"
    _default_public_url(args.host, args.port)
    if args.workers > 1:
        # Each worker builds its own app; one of them takes the ingest lock.
        uvicorn.run("api.app:app_from_environment", factory=True, workers=args.workers,
                    host=args.host, port=args.port, log_level="warning", access_log=False)
        return 0
    app = create_app(load_settings())
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


def _default_public_url(host: str, port: int) -> None:
    """NADIR_PUBLIC_URL, unless set: the listener's own address (loopback for a wildcard)."""
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    os.environ.setdefault("NADIR_PUBLIC_URL", f"http://{host}:{port}")


def cmd_peers_add(args: argparse.Namespace) -> int:
    from pacs.orthanc import OrthancClient

    settings = load_settings()
    with OrthancClient(settings.orthanc_url, settings.orthanc_username,
                       settings.orthanc_password) as client:
        client.put_modality(args.name or args.aet, aet=args.aet, host=args.host, port=args.port)
    print(f"peer {args.aet}@{args.host} may now store into {settings.orthanc_aet}")
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    """Start Orthanc (own storage under the data dir) and the service, in the foreground."""
    import uvicorn

    from api.app import create_app
    from pacs.errors import PacsError
    from pacs.process import OrthancConfig, OrthancProcess

    busy = [f"{name} {port}" for name, port in (
        ("--port", args.port), ("--orthanc-http-port", args.orthanc_http_port),
        ("--dicom-port", args.dicom_port)) if _port_in_use(port)]
    if busy:
        print(f"error: port in use: {', '.join(busy)}. Debian's own orthanc service may hold "
              "8042/4242 (sudo systemctl stop orthanc), or choose other ports with "
              "these options.", file=sys.stderr)
        return 1
    _default_public_url(args.host, args.port)
    settings = Settings()
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret_file = data_dir / "orthanc.secret"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(24))
        secret_file.chmod(0o600)
    try:
        config = OrthancConfig(
            storage_dir=data_dir / "orthanc", http_port=args.orthanc_http_port,
            dicom_port=args.dicom_port, username="nadir",
            password=secret_file.read_text().strip(), aet=settings.orthanc_aet,
            index_url=args.orthanc_db,
        )
        orthanc = OrthancProcess(config)
        orthanc.start()
    except PacsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    runtime = {
        "orthanc_url": config.url, "orthanc_username": config.username,
        "orthanc_password": config.password, "orthanc_dicom_host": "127.0.0.1",
        "orthanc_dicom_port": config.dicom_port, "orthanc_aet": config.aet,
    }
    runtime_path = data_dir / RUNTIME_FILE
    runtime_path.write_text(json.dumps(runtime))
    runtime_path.chmod(0o600)
    settings = settings.model_copy(update=runtime)
    try:
        with orthanc.client() as client:
            # The local demo pushes from this machine under its own AE title.
            client.put_modality(DEMO_AET, aet=DEMO_AET, host="127.0.0.1", port=104)
        sessions = _sessions(settings)
        with sessions.begin() as s:
            admin = s.scalar(select(User).where(User.name == "admin"))
            if admin is None:
                admin = create_user(s, "admin", Role.ADMIN)
            for old in s.scalars(select(ApiToken).where(ApiToken.user_id == admin.id,
                                                         ApiToken.label == "start")):
                old.revoked = True
            token = issue_token(s, admin, label="start")
        print(f"Nadir web API:  http://{args.host}:{args.port}  (docs at /docs)")
        print(f"DICOM (C-STORE): AE title {config.aet}, {args.host} port {config.dicom_port}"
              f"  (register senders: nadir peers add AET HOST)")
        print(f"Orthanc:         {config.url} (loopback only; credentials in {secret_file})")
        print("Push a demo patient: .venv/bin/nadir demo")
        print(f"Admin token:     {token}", flush=True)
        # uvicorn handles SIGINT/SIGTERM and returns; Orthanc is stopped below.
        # No access log: request URLs carry patient IDs.
        uvicorn.run(create_app(settings), host=args.host, port=args.port,
                    log_level="warning", access_log=False)
    except KeyboardInterrupt:
        pass
    finally:
        orthanc.stop()
    return 0


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def cmd_demo(args: argparse.Namespace) -> int:
    from api.demo import push_demo

    return push_demo(load_settings(), calling_aet=args.aet, rows=args.rows, slices=args.slices)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nadir", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    users = sub.add_parser("users", help="manage API users").add_subparsers(
        dest="users_command", required=True)
    create = users.add_parser("create", help="create a user and print a new token last")
    create.add_argument("name")
    create.add_argument("--role", required=True, help="uploader, radiologist, specialist, admin")
    create.set_defaults(func=cmd_users_create)
    revoke = users.add_parser("revoke", help="revoke every token of a user")
    revoke.add_argument("name")
    revoke.set_defaults(func=cmd_users_revoke)

    serve = sub.add_parser("serve", help="serve the API and follow Orthanc's change feed")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-ingest", action="store_true", help="do not follow the change feed")
    serve.add_argument("--workers", type=int, default=1, help="worker processes")
    serve.set_defaults(func=cmd_serve)

    start = sub.add_parser("start", help="start a local Orthanc and the service together")
    start.add_argument("--host", default="127.0.0.1")
    start.add_argument("--port", type=int, default=8000)
    start.add_argument("--orthanc-http-port", type=int, default=8042)
    start.add_argument("--dicom-port", type=int, default=4242)
    start.add_argument("--orthanc-db", default=None, metavar="postgresql://...",
                       help="keep Orthanc's index in this PostgreSQL database "
                            "(Debian's orthanc-postgresql); the files stay on disk")
    start.set_defaults(func=cmd_start)

    demo = sub.add_parser("demo", help="push a synthetic demo patient over C-STORE")
    demo.add_argument("--aet", default=DEMO_AET, help="calling AE title (a registered peer)")
    demo.add_argument("--rows", type=int, default=256, help="image matrix size")
    demo.add_argument("--slices", type=int, default=300, help="slices of the thin series")
    demo.set_defaults(func=cmd_demo)

    peers = sub.add_parser("peers", help="DICOM peers allowed to store").add_subparsers(
        dest="peers_command", required=True)
    add = peers.add_parser("add", help="allow AET at HOST to C-STORE into Orthanc")
    add.add_argument("aet")
    add.add_argument("host")
    add.add_argument("--port", type=int, default=104)
    add.add_argument("--name", default=None)
    add.set_defaults(func=cmd_peers_add)

    db = sub.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", required=True)
    up = db.add_parser("upgrade", help="create or migrate the schema")
    up.set_defaults(func=cmd_db_upgrade)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request URL at INFO; keep that out of the service's logs.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
