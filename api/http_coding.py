"""Content codings a client accepts (``Accept-Encoding``, RFC 9110 12.5.3)."""

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
