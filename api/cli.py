"""The ``nadir`` command: users, serve, start (Orthanc + service), demo, peers, db."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from typing import Any

from sqlalchemy import select

from api.auth import Role, create_user, issue_token
from api.datadir import PRIVATE_UMASK, private_data_dir
from api.db.models import ApiToken, User
from api.db.session import make_engine, make_sessionmaker, migrate
from api.demo import DEMO_AET
from api.settings import Settings, load_settings
from synthetic import DEFAULT_TIMEPOINTS, MAX_TIMEPOINTS


def _sessions(settings: Settings) -> Any:
    engine = make_engine(settings.effective_database_url)
    migrate(engine)
    return make_sessionmaker(engine)


def cmd_users_create(args: argparse.Namespace) -> int:
    try:
        role = Role(args.role)
    except ValueError:
        roles = ", ".join(r.value for r in Role if r is not Role.REVIEWER)
        print(f"error: unknown role {args.role!r}; one of: {roles}", file=sys.stderr)
        return 2
    if role is Role.REVIEWER:
        print("error: a reviewer is bound to one share; its token comes with the share "
              "(POST /api/v1/cases/{id}/shares)", file=sys.stderr)
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
    private_data_dir(load_settings().data_dir)
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
    from api.start import run_start

    busy = [f"{name} {port}" for name, port in (
        ("--port", args.port), ("--orthanc-http-port", args.orthanc_http_port),
        ("--dicom-port", args.dicom_port)) if _port_in_use(port)]
    if busy:
        print(f"error: port in use: {', '.join(busy)}. Debian's own orthanc service may hold "
              "8042/4242 (sudo systemctl stop orthanc), or choose other ports with "
              "these options.", file=sys.stderr)
        return 1
    _default_public_url(args.host, args.port)
    return run_start(args)


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

    return push_demo(load_settings(), calling_aet=args.aet, rows=args.rows, slices=args.slices,
                     timepoints=args.timepoints)


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
    start.add_argument("--public-dicom", action="store_true",
                       help="Orthanc's DICOM port on every interface, for senders on other "
                            "machines (registered peers only); default: loopback")
    start.set_defaults(func=cmd_start)

    demo = sub.add_parser("demo", help="push a synthetic demo patient over C-STORE")
    demo.add_argument("--aet", default=DEMO_AET, help="calling AE title (a registered peer)")
    demo.add_argument("--rows", type=int, default=256, help="image matrix size")
    demo.add_argument("--slices", type=int, default=300, help="slices of the thin series")
    demo.add_argument("--timepoints", type=int, default=DEFAULT_TIMEPOINTS,
                      help=f"baseline and follow-ups (2-{MAX_TIMEPOINTS}): 2 is a partial "
                           "response, 3 adds progression by a new lesion with the targets "
                           "near their nadir")
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
    # The data folder holds PHI, secrets and token digests: what Nadir creates is private.
    os.umask(PRIVATE_UMASK)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
