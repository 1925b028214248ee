"""Who may post Orthanc's notices (stable series): the holder of the shared secret only.

A notice (pacs/stable_push.py) comes from Orthanc's Lua over loopback. No
bearer token of any role opens it; the secret is compared in constant time
(``hmac.compare_digest``), and the body guard checks it before a byte of the body is read.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from fastapi import Request
from starlette.types import Scope

from api.workflow.errors import NotAuthenticated
from pacs.stable_push import PUSH_SECRET_HEADER


def check_push_secret(presented: str | None, expected: str | None) -> None:
    """NotAuthenticated unless ``presented`` is the configured secret."""
    if expected is None:
        raise NotAuthenticated("this service takes no posts from Orthanc: no shared "
                               "secret is configured")
    if presented is None:
        raise NotAuthenticated(f"missing {PUSH_SECRET_HEADER} header")
    if not hmac.compare_digest(presented.encode("utf-8", "surrogateescape"),
                               expected.encode("utf-8")):
        raise NotAuthenticated(f"wrong {PUSH_SECRET_HEADER}")


def orthanc_push(request: Request) -> None:
    """Dependency of the internal routes Orthanc posts to."""
    check_push_secret(request.headers.get(PUSH_SECRET_HEADER), request.app.state.push_secret)


def _check_scope(scope: Scope) -> None:
    name = PUSH_SECRET_HEADER.lower().encode("latin-1")
    presented = next((value.decode("latin-1") for key, value in scope["headers"]
                      if key.lower() == name), None)
    check_push_secret(presented, scope["app"].state.push_secret)


#: Dependencies that admit a caller by a shared secret, with the check the body guard runs
#: on the request before its body.
_SECRET_CHECKS: dict[Callable[..., Any], Callable[[Scope], None]] = {orthanc_push: _check_scope}


def secret_check_of(dependency: Callable[..., Any]) -> Callable[[Scope], None] | None:
    return _SECRET_CHECKS.get(dependency)
