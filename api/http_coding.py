"""Request headers the API reads the same way wherever they come: the content codings a
client accepts (``Accept-Encoding``, RFC 9110 12.5.3) and whether its cached copy is current
(``If-None-Match``, RFC 9110 13.1.2)."""

from __future__ import annotations

import re

#: A qvalue (RFC 9110 12.4.2): 0 to 1, at most three decimals.
_QVALUE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")


def accepted_codings(header: str) -> set[str]:
    """Codings of an Accept-Encoding header with a q-value above 0, in lower case. A coding
    whose q-value cannot be read is not taken as accepted: the answer is then sent as it
    is, which every client takes."""
    accepted = set()
    for part in header.split(","):
        coding, *params = (piece.strip() for piece in part.split(";"))
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                value = value.strip()
                weight = float(value) if _QVALUE.fullmatch(value) else 0.0
        if coding and weight > 0:
            accepted.add(coding.lower())
    return accepted


def none_match(if_none_match: str | None, etag: str) -> bool:
    """False when ``If-None-Match`` names ``etag`` or is ``*``: the client's copy is current
    (304). Tags are compared weakly (RFC 9110 13.1.2), a ``W/`` prefix set aside."""
    tags = {t.strip().removeprefix("W/") for t in (if_none_match or "").split(",")}
    return "*" not in tags and etag not in tags
