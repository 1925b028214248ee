"""The Orthanc user of the image proxy, which may only read DICOMweb.

Orthanc's ``RegisteredUsers`` have no roles: any registered user may write and delete
(/work notes, Orthanc 1.10). So the proxy gets a user of its own, and Orthanc itself is
told, by a Lua ``IncomingHttpRequestFilter`` (Orthanc Book, "Lua scripting"), to refuse
that user every request that is not a GET below ``/dicom-web/``. The proxy's client also
refuses to send anything but GET (:mod:`pacs.dicomweb`): two locks, either one enough.

Unless configured otherwise, the reader's name and password are derived from Nadir's own
Orthanc credentials (HMAC-SHA256), so ``nadir start`` and the tests need no second secret,
and knowing the reader's password tells nothing of Nadir's.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from pacs.errors import PacsError

_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


def reader_credentials(username: str, password: str) -> tuple[str, str]:
    """The image proxy's Orthanc user derived from Nadir's own (name, password)."""
    secret = hmac.new(password.encode("utf-8"), b"nadir dicomweb reader",
                      hashlib.sha256).hexdigest()
    return f"{username}-images", secret


def reader_filter_lua(reader: str) -> str:
    """A Lua script for Orthanc: the reader may only GET below /dicom-web/.

    Orthanc calls the filter with the method after ``_method`` / ``X-HTTP-Method-Override``
    were applied, so a GET turned into a DELETE is seen as the DELETE it is.
    """
    if not _NAME.fullmatch(reader):
        raise PacsError(f"reader user name must be letters, digits, '-', '_' or '.': "
                        f"{reader[:80]!r}")
    return (
        "-- Written by Nadir: its image proxy's user may only read DICOMweb.\n"
        "function IncomingHttpRequestFilter(method, uri, ip, username, httpHeaders)\n"
        f"  if username == '{reader}' then\n"
        "    return method == 'GET' and string.sub(uri, 1, 11) == '/dicom-web/'\n"
        "      and string.find(uri, '..', 1, true) == nil\n"
        "  end\n"
        "  return true\n"
        "end\n"
    )
