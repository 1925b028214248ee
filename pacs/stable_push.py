"""Orthanc tells Nadir at once when a series is stable, instead of waiting for its poll.

Orthanc calls a Lua ``OnStableSeries(seriesId, tags, metadata)`` once a series has had no
new instance for ``StableAge`` seconds (Orthanc Book, "Lua scripting", callbacks), after it
wrote the ``StableSeries`` change to its change log. The script written here posts the
series' Orthanc id to Nadir over loopback (Lua ``HttpPost(url, body, headers)``) with a
shared secret in a header; Nadir answers at once and wakes its change-feed follower, which
reads the change and indexes the series. The change feed stays the one path that indexes,
and the safety net for a post that is lost (Nadir down, a timeout): nothing is indexed
from the post itself.

Nadir must answer without asking Orthanc anything: Orthanc runs every Lua script in one
context under one lock, and the image proxy's ``IncomingHttpRequestFilter`` (also Lua) is
called for every HTTP request Orthanc receives, so while ``HttpPost`` waits, Orthanc's
REST API waits too. Orthanc 1.10's Lua has no ``SetHttpTimeout``: its HTTP client takes
the global ``HttpTimeout`` option, which the configuration sets to :data:`PUSH_TIMEOUT_S`
(Orthanc makes no other outgoing HTTP request here: no Orthanc peers, no DICOMweb
client).

Unless configured otherwise the secret is derived from Nadir's own Orthanc password
(HMAC-SHA256, as for the image proxy's user), so ``nadir start`` needs no second secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

from pacs.errors import PacsError
from pacs.resent_spool import ORTHANC_ID as ORTHANC_ID  # the id grammar, used here too

#: The header that carries the secret.
PUSH_SECRET_HEADER = "X-Nadir-Push-Secret"
#: How long Orthanc's Lua waits for Nadir's answer (seconds, Orthanc's ``HttpTimeout``):
#: Orthanc's REST API waits as long (see above). Nadir answers in milliseconds.
PUSH_TIMEOUT_S = 2
_URL = re.compile(r"http://(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]):\d{1,5}"
                  r"/[A-Za-z0-9/_\-]*")
_SECRET = re.compile(r"[A-Za-z0-9_\-]{32,128}")
#: A compose service's URL (its name in Docker's DNS), plain http with a plain path.
_SERVICE_URL = re.compile(r"http://[a-z0-9][a-z0-9\-]{0,62}:\d{1,5}/[A-Za-z0-9/_\-]*")
_ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,63}")


def push_secret(orthanc_password: str) -> str:
    """The shared secret derived from Nadir's Orthanc password."""
    return hmac.new(orthanc_password.encode("utf-8"), b"nadir stable series push",
                    hashlib.sha256).hexdigest()


def check_push_target(url: str, secret: str, *, what: str) -> None:
    """Refuse a URL that is not plain http:// on loopback, or a secret that Lua could not
    hold verbatim in a string literal (both are written into a Lua script)."""
    if not _URL.fullmatch(url):
        raise PacsError(f"the {what} URL must be http:// on loopback with a plain "
                        f"path, got {url[:120]!r}")
    if not _SECRET.fullmatch(secret):
        raise PacsError(f"the {what} secret must be 32 to 128 letters, digits, "
                        "'-' or '_'")


def stable_push_lua(url: str, secret: str) -> str:
    """The Lua script: post every stable series' Orthanc id to ``url`` (loopback only)."""
    check_push_target(url, secret, what="stable-series")
    return (
        "-- Written by Nadir: tell it at once that a series is stable.\n"
        "-- Its change feed indexes the series, and catches any post that is lost.\n"
        "function OnStableSeries(seriesId, tags, metadata)\n"
        f"  HttpPost('{url}', DumpJson({{ series = seriesId }}, true),\n"
        "           { ['Content-Type'] = 'application/json',\n"
        f"             ['{PUSH_SECRET_HEADER}'] = '{secret}' }})\n"
        "end\n"
    )


def stable_push_lua_for_services(urls: Sequence[str], secret_env: str) -> str:
    """The Docker deployment's script (docker/orthanc/stable-push.lua): post every stable
    series' id to each Nadir node, by its compose service name, with the secret Orthanc's
    container has in ``secret_env``. The node that follows the change feed reads it at once;
    the others answer and do nothing (api/workers/ingest.py). A node that is down costs a
    refused connection; each post is under ``pcall``, so one failing never stops the next."""
    if not urls or not all(_SERVICE_URL.fullmatch(url) for url in urls):
        raise PacsError("each stable-series URL must be http://<service>:<port>/<path>")
    if not _ENV_NAME.fullmatch(secret_env):
        raise PacsError(f"not an environment variable name: {secret_env[:70]!r}")
    posts = "".join(f"  pcall(HttpPost, '{url}', body, headers)\n" for url in urls)
    return (
        "-- Written by Nadir (pacs/stable_push.py): tell its nodes at once that a series is\n"
        "-- stable. Their change feed indexes the series, and catches any post that is lost.\n"
        "function OnStableSeries(seriesId, tags, metadata)\n"
        f"  local secret = os.getenv('{secret_env}')\n"
        "  if secret == nil or secret == '' then\n"
        "    return\n"
        "  end\n"
        "  local body = DumpJson({ series = seriesId }, true)\n"
        "  local headers = { ['Content-Type'] = 'application/json',\n"
        f"                    ['{PUSH_SECRET_HEADER}'] = secret }}\n"
        f"{posts}"
        "end\n"
    )
