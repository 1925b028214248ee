"""A series' DICOM JSON metadata (PS3.18 F.2), cut into instances and attributes as raw text.

Nadir answers ``.../series/{uid}/metadata`` from its own index instead of asking Orthanc's
DICOMweb plugin, which reads every file of the series to answer. The index keeps, for each
instance, the attributes of Orthanc's own answer **as Orthanc wrote them**: each
attribute's JSON text is cut out of Orthanc's body, never parsed and written again, so
numbers keep their exact digits (Orthanc writes a DS such as 0.1 as 0.10000000000000001;
a JSON round trip through Python would shorten it) and strings their escapes.

What is kept: every attribute but Pixel Data (held as a ``BulkDataURI``), the Icon Image
Sequence (whose pixel data is one) and Retrieve URL (0008,1190). They name Orthanc's own
URLs, which Nadir must not hand out, and the pixels come from Orthanc's frames resource
anyway; see :data:`PIXEL_BULK` for other bulk data. Geometry, the pixel module, rescale,
VOI, frame of reference and the per-frame functional groups of a multi-frame image are
plain attributes and sequences: they are kept whole.

Pure: no I/O. A body that is not the JSON array of objects PS3.18 F.2 describes raises
:class:`MetadataRefused`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pacs.errors import PacsError

#: (0008,1190) Retrieve URL: Orthanc writes its own address into it.
RETRIEVE_URL = "00081190"
#: (0008,0018) SOP Instance UID, the key of each instance.
SOP_INSTANCE_UID = "00080018"
#: Bulk data the viewer does without: Pixel Data in its three forms (the frames come from
#: Orthanc's frames resource) and the Icon Image Sequence (a thumbnail with pixel data).
#: Any other attribute held as bulk data (a palette's lookup tables, an overlay, an ICC
#: profile) is needed to draw the image: such a series is not kept (``MetadataRefused``),
#: and Orthanc keeps answering its metadata.
PIXEL_BULK = frozenset({"7FE00010", "7FE00008", "7FE00009", "00880200"})
_WHITESPACE = b" \t\r\n"
_BULK = b'"BulkDataURI"'


class MetadataRefused(PacsError):
    """Orthanc's metadata answer is not the DICOM JSON array this module can cut."""


@dataclass(frozen=True)
class InstanceJson:
    """One instance of a series' metadata: its UID and its kept attributes, as one JSON
    object in Orthanc's own text (attributes in Orthanc's order, no whitespace between)."""

    sop_instance_uid: str
    text: str

    def __post_init__(self) -> None:
        if not self.sop_instance_uid:
            raise MetadataRefused("an instance without SOP Instance UID")
        if not (self.text.startswith("{") and self.text.endswith("}")):
            raise MetadataRefused(f"not a JSON object: {self.text[:40]!r}")


def split_series_metadata(body: bytes) -> list[InstanceJson]:
    """Each instance of ``body`` (a DICOM JSON array) with its kept attributes."""
    reader = _Reader(body)
    reader.expect(b"[")
    instances: list[InstanceJson] = []
    if reader.peek() == b"]"[0]:
        reader.pos += 1
    else:
        while True:
            instances.append(_instance(reader))
            if reader.separator(b"]"):
                break
    reader.end()
    return instances


def join_series_metadata(instances: list[bytes]) -> bytes:
    """The series' metadata answer from the stored instance objects."""
    return b"[" + b",".join(instances) + b"]"


def _instance(reader: _Reader) -> InstanceJson:
    reader.expect(b"{")
    kept: list[bytes] = []
    sop_uid = ""
    if reader.peek() == b"}"[0]:
        reader.pos += 1
    else:
        while True:
            key = reader.string()
            reader.expect(b":")
            value = reader.value()
            tag = json.loads(key)
            if tag == SOP_INSTANCE_UID:
                sop_uid = _first_string(value)
            if _BULK in value:
                if tag.upper() not in PIXEL_BULK:
                    raise MetadataRefused(f"attribute {tag} is bulk data the viewer needs")
            elif tag != RETRIEVE_URL:
                kept.append(key + b":" + value)
            if reader.separator(b"}"):
                break
    text = b"{" + b",".join(kept) + b"}"
    try:
        json.loads(text)  # whole and valid, as cut
        return InstanceJson(sop_uid, text.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError included
        raise MetadataRefused(f"instance {sop_uid} is not valid JSON") from None


def _first_string(value: bytes) -> str:
    try:
        parsed = json.loads(value)
        first = parsed["Value"][0]
    except (ValueError, KeyError, IndexError, TypeError):
        raise MetadataRefused("SOP Instance UID has no value") from None
    if not isinstance(first, str):
        raise MetadataRefused("SOP Instance UID is not a string")
    return first


class _Reader:
    """A cursor over JSON text that finds where each value ends, without converting it."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.pos = 0

    def skip(self) -> None:
        while self.pos < len(self.body) and self.body[self.pos] in _WHITESPACE:
            self.pos += 1

    def peek(self) -> int:
        self.skip()
        if self.pos >= len(self.body):
            raise MetadataRefused("the metadata ends too early")
        return self.body[self.pos]

    def expect(self, char: bytes) -> None:
        if self.peek() != char[0]:
            raise MetadataRefused(f"expected {char.decode()!r} at byte {self.pos}")
        self.pos += 1

    def separator(self, closing: bytes) -> bool:
        """Past a ``,`` (False) or the closing bracket (True)."""
        char = self.peek()
        self.pos += 1
        if char == closing[0]:
            return True
        if char != b","[0]:
            raise MetadataRefused(f"expected ',' or {closing.decode()!r} at byte {self.pos - 1}")
        return False

    def end(self) -> None:
        self.skip()
        if self.pos != len(self.body):
            raise MetadataRefused(f"text after the metadata at byte {self.pos}")

    def string(self) -> bytes:
        """The raw text of the string at the cursor, quotes included."""
        self.expect(b'"')
        start = self.pos - 1
        body = self.body
        while True:
            quote = body.find(b'"', self.pos)
            if quote < 0:
                raise MetadataRefused("a string is not closed")
            backslashes = 0
            while body[quote - 1 - backslashes] == 0x5C:  # "\"
                backslashes += 1
            self.pos = quote + 1
            if backslashes % 2 == 0:
                return body[start:self.pos]

    def value(self) -> bytes:
        """The value at the cursor with the whitespace between its tokens left out (the
        tokens themselves, numbers and strings, are kept byte for byte)."""
        out = bytearray()
        depth = 0
        while True:
            char = self.peek()
            if char == 0x22:  # a string
                out += self.string()
            elif char in b"{[":
                depth += 1
                out.append(char)
                self.pos += 1
            elif char in b"}]":
                if depth == 0:
                    raise MetadataRefused(f"unexpected {chr(char)!r} at byte {self.pos}")
                depth -= 1
                out.append(char)
                self.pos += 1
            elif char in b",:":
                if depth == 0:
                    raise MetadataRefused(f"unexpected {chr(char)!r} at byte {self.pos}")
                out.append(char)
                self.pos += 1
            else:  # a number, true, false or null
                start = self.pos
                while self.pos < len(self.body) and self.body[self.pos] not in b",:]} \t\r\n":
                    self.pos += 1
                out += self.body[start:self.pos]
            if depth == 0:
                break
        if not out:
            raise MetadataRefused(f"no value at byte {self.pos}")
        return bytes(out)
