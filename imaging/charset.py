"""Person names decoded with the file's Specific Character Set, by pydicom.

Orthanc transcodes text to UTF-8 for its JSON, but names in ISO 2022 with code
extensions (PS3.5 6.1.2.5, e.g. ``ISO 2022 IR 13\\ISO 2022 IR 87`` for Japanese) come
back garbled (seen on Orthanc 1.10.1: ``ﾔﾏﾀﾞ^ﾀﾛｳ=;3ED^B@O:=...``). pydicom decodes the
raw bytes of the element with the escape sequences as the standard says.
"""

from __future__ import annotations

import logging
import warnings

from pydicom.charset import convert_encodings
from pydicom.valuerep import PersonName

log = logging.getLogger(__name__)

#: The default repertoire (ASCII): nothing to decode again. Any other set is decoded by
#: pydicom, so that a name reads the same as pydicom reads the file.
PLAIN_CHARSETS = frozenset({"", "ISO_IR 6"})


def charsets_of(raw: bytes | str | None) -> list[str]:
    """The values of a Specific Character Set (0008,0005), raw or as text."""
    text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else (raw or "")
    return [part.strip() for part in text.split("\\")]


def needs_decoding(charsets: list[str]) -> bool:
    """Whether names in these character sets must be decoded from the raw bytes."""
    return any(c not in PLAIN_CHARSETS for c in charsets)


def decode_person_name(raw: bytes, charsets: list[str]) -> str | None:
    """The name as text (components joined by ``^``, groups by ``=``, trailing padding and
    empty groups removed), or None when it is empty or cannot be decoded at all."""
    try:
        with warnings.catch_warnings():
            # pydicom warns of an unknown character set and falls back to the default
            # repertoire: lenient read, as Nadir reads every header.
            warnings.simplefilter("ignore")
            name = str(PersonName(raw, encodings=convert_encodings(charsets)).decode())
    except (LookupError, ValueError, UnicodeError) as exc:
        log.warning("patient name not decodable (%s)", type(exc).__name__)
        return None
    # Trailing padding, and empty trailing component groups (PS3.5 6.2.1.1: "=" with
    # nothing after it), as pydicom shows a name it reads from a file.
    name = name.rstrip(" \x00=")
    return name or None
