"""Bearer-token authentication and role checks.

Tokens are 256-bit random strings shown once; only their SHA-256 digest is stored. A plain
(unsalted) digest is enough for such high-entropy secrets and allows lookup by digest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.db.models import ApiToken, User, shares_table
from api.share_access import act_for
from api.workflow.errors import NotAuthenticated
from api.workflow.roles import (
    CASE_MANAGERS,
    MEASURERS,
    READERS,
    Principal,
    Role,
    ShareScope,
    check_role,
)

__all__ = ["Principal", "Role", "READERS", "CurrentUser", "Reader", "Measurer",
           "CaseManager", "Admin", "Uploader", "require", "roles_admitted", "principal_of",
           "PRINCIPAL_SCOPE_KEY"]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return "ndr_" + secrets.token_urlsafe(32)


def create_user(session: Session, name: str, role: Role) -> User:
    user = User(name=name, role=role.value)
    session.add(user)
    session.flush()
    return user


def issue_token(session: Session, user: User, *, label: str = "") -> str:
    token = new_token()
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), label=label))
    session.flush()
    return token


class Authenticator:
    """Resolves bearer tokens to principals with one indexed query per request.

    Nothing is cached: a revoked token is refused on the very next request, on every node
    that shares the database (issue 15). The lookup is a single statement on the digest's
    unique index, run outside a transaction (no BEGIN or ROLLBACK round trips);
    bench/token_auth.py measures it against a cache.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    def resolve(self, token: str) -> Principal | None:
        with self._engine.connect() as connection:
            row = connection.execute(
                select(User.id, User.name, User.role, ApiToken.expires_at,
                       shares_table.c.id.label("share_id"), shares_table.c.case_id,
                       shares_table.c.review_case_id, shares_table.c.patient_id,
                       shares_table.c.pseudonym)
                .join(ApiToken, ApiToken.user_id == User.id)
                .outerjoin(shares_table, shares_table.c.user_id == User.id)
                .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked.is_(False))
            ).first()
        if row is None or _expired(row.expires_at):
            return None
        share = None if row.share_id is None else ShareScope(
            share_id=row.share_id, case_id=row.case_id, review_case_id=row.review_case_id,
            patient_id=row.patient_id, copy_patient_id=row.pseudonym)
        return Principal(user_id=row.id, name=row.name, role=Role(row.role), share=share)


def _expired(expires_at: dt.datetime | None) -> bool:
    """A share's token is refused from its expiry on (read aware, in UTC: UtcDateTime)."""
    return expires_at is not None and expires_at <= dt.datetime.now(dt.UTC)


#: Where ``api.body_guard`` leaves the principal it resolved before the body was read, so
#: that the request's dependencies do not look the token up a second time.
PRINCIPAL_SCOPE_KEY = "nadir.principal"


def principal_of(authorization: str, auth: Authenticator) -> Principal:
    """The principal of an ``Authorization`` header's bearer token (NotAuthenticated if none)."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("missing bearer token: send 'Authorization: Bearer <token>'")
    principal = auth.resolve(token.strip())
    if principal is None:
        raise NotAuthenticated("invalid or revoked token")
    return principal


def current_principal(request: Request) -> Principal:
    """The request's principal; a share token's acts only within its share
    (:func:`api.share_access.act_for`, checked again here after a body guard's check)."""
    known = request.scope.get(PRINCIPAL_SCOPE_KEY)
    principal = known if isinstance(known, Principal) else principal_of(
        request.headers.get("authorization", ""), request.app.state.authenticator)
    if principal.role is not Role.REVIEWER:
        return principal
    route = request.scope.get("route")
    template = str(getattr(route, "path", ""))
    return act_for(principal, request.method, template, request.path_params,
                   request.app.state.sessions)


#: The roles each ``require(...)`` dependency admits, for ``roles_admitted``.
_ADMITTED: dict[Callable[..., Principal], tuple[Role, ...]] = {}


def require(*roles: Role) -> Callable[..., Principal]:
    """A dependency that admits only the given roles (403 names the roles that may)."""
    allowed = tuple(roles)

    def dependency(principal: CurrentUser) -> Principal:
        check_role(principal, allowed)
        return principal

    _ADMITTED[dependency] = allowed
    return dependency


def roles_admitted(dependency: Callable[..., Any]) -> tuple[Role, ...] | None:
    """The roles a dependency lets through: every role for ``current_principal``, the
    given ones for a ``require(...)``, None for a dependency that authenticates nobody."""
    if dependency is current_principal:
        return tuple(Role)
    return _ADMITTED.get(dependency)


#: The authenticated principal of the request (any role).
CurrentUser = Annotated[Principal, Depends(current_principal)]
#: Principals admitted by role; the case service checks the same role lists again.
Reader = Annotated[Principal, Depends(require(*READERS))]
Measurer = Annotated[Principal, Depends(require(*MEASURERS))]
CaseManager = Annotated[Principal, Depends(require(*CASE_MANAGERS))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
Uploader = Annotated[Principal, Depends(require(Role.UPLOADER, Role.ADMIN))]
