"""Which DICOMweb requests the image proxy serves: an allow-list over parsed parts (PS3.18).

The proxy never passes the client's path or query on. It parses the raw request target
into the parts of one DICOMweb resource (study, series and instance UIDs, frame numbers, a
bulk-data tag path) and the query parameters the standard defines for that resource, and
builds Orthanc's request from those parts alone. Anything it does not parse is refused:
a percent sign or backslash left after decoding (double encoding), dot or empty segments,
bytes that are not ASCII (overlong UTF-8), ``;`` parameters, unknown resource names in any
case, and query parameters such as Orthanc's ``_method``.

Pure: no I/O. Parsing raises :class:`RouteRefused` with the reason.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, quote, unquote_to_bytes, urlencode

from pydicom.datadict import tag_for_keyword

from pacs.errors import PacsError

#: PS3.5 9.1: a UID is at most 64 characters of digits and dots, with no empty component.
#: (Leading zeros are tolerated: they occur in real archives and carry no path syntax.)
_UID = re.compile(r"[0-9]+(?:\.[0-9]+)*")
UID_MAX = 64
#: PS3.18 8.3.5.1 (frame list): comma-separated frame numbers, 1-based.
_FRAMES = re.compile(r"[1-9][0-9]{0,5}(?:,[1-9][0-9]{0,5}){0,999}")
#: One step of a bulk-data tag path as Orthanc's plugin writes BulkDataURIs: a tag
#: (8 hex digits) or a sequence item index.
_BULK_STEP = re.compile(r"[0-9A-Fa-f]{8}|[0-9]{1,6}")
_BULK_MAX_STEPS = 16
#: A request target no legitimate client sends (longest UIDs, a long frame list).
MAX_PATH_BYTES = 8192
MAX_QUERY_BYTES = 8192
#: What may remain in a path once decoded; everything else (%, \, ;, :, spaces...) is refused.
_PATH_CHARS = re.compile(r"[A-Za-z0-9.,/]*")

_RENDERINGS = ("rendered", "thumbnail")


class RouteRefused(PacsError):
    """The request is not one of the DICOMweb resources the proxy serves."""


class Kind(enum.Enum):
    """What the request asks for: a QIDO-RS search or a WADO-RS retrieval (PS3.18 10)."""

    SEARCH = "search"        # QIDO-RS
    RETRIEVE = "retrieve"    # WADO-RS: instances, metadata, frames, bulk data
    RENDERED = "rendered"    # WADO-RS rendered and thumbnail resources


#: PS3.18 8.3.4 (QIDO-RS query parameters) and 8.3.5 (WADO-RS); ``accept`` and ``charset``
#: are the query forms of the Accept headers (PS3.18 8.3.3).
_COMMON = frozenset({"accept", "charset"})
_SEARCH = _COMMON | {"includefield", "limit", "offset", "fuzzymatching"}
_RENDER = _COMMON | {"quality", "viewport", "window", "annotation", "iccprofile"}
_ALLOWED_PARAMS = {Kind.SEARCH: _SEARCH, Kind.RETRIEVE: _COMMON, Kind.RENDERED: _RENDER}
#: The shape of each parameter's value; attribute matches are checked apart.
_VALUE = {
    "limit": re.compile(r"[0-9]{1,6}"),
    "offset": re.compile(r"[0-9]{1,9}"),
    "fuzzymatching": re.compile(r"true|false"),
    "quality": re.compile(r"[0-9]{1,3}"),
    "viewport": re.compile(r"-?[0-9]{1,6}(?:,-?[0-9]{0,6}){1,5}"),
    "window": re.compile(r"-?[0-9.]{1,12},[0-9.]{1,12}(?:,(?:linear|linear-exact|sigmoid))?"),
    "annotation": re.compile(r"(?:patient|technique)(?:,(?:patient|technique))?"),
    "iccprofile": re.compile(r"no|yes|srgb|adobergb|rommrgb"),
    "accept": re.compile(r"[A-Za-z0-9!#$&^_.+\-/*;=\" ,]{1,256}"),
    "charset": re.compile(r"[A-Za-z0-9_.\-, ]{1,64}"),
}
#: An attribute of ``includefield`` or of a match: a tag, a keyword, or a dotted path of them.
_TAG = re.compile(r"[0-9A-Fa-f]{8}")
_MATCH_VALUE = re.compile(r"[^\x00-\x1f\x7f]{0,256}")


@dataclass(frozen=True)
class DicomWebRoute:
    """One DICOMweb resource, as parsed: the upstream request is built from these parts."""

    kind: Kind
    study: str | None = None
    series: str | None = None
    instance: str | None = None
    #: ``instances`` or ``series`` for searches below a study; None for a study search.
    search_level: str | None = None
    frames: str | None = None
    #: ``metadata``, ``rendered``, ``thumbnail``, or None for the objects themselves.
    view: str | None = None
    bulk: tuple[str, ...] = ()
    query: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        for name in ("study", "series", "instance"):
            uid = getattr(self, name)
            if uid is not None and not is_uid(uid):
                raise RouteRefused(f"{name} is not a UID: {uid[:80]!r}")
        if self.series is not None and self.study is None:
            raise RouteRefused("a series needs its study")
        if self.instance is not None and self.series is None:
            raise RouteRefused("an instance needs its series")
        if self.frames is not None and (self.instance is None
                                        or not _FRAMES.fullmatch(self.frames)):
            raise RouteRefused(f"frames must be a list of frame numbers: {self.frames!r}")
        if self.kind is Kind.SEARCH and self.view is not None:
            raise RouteRefused("a search has no view")

    @property
    def upstream_path(self) -> str:
        """The path below Orthanc's DICOMweb root, built from the parsed parts only."""
        parts: list[str] = ["studies"]
        if self.study is not None:
            parts.append(self.study)
        if self.series is not None:
            parts += ["series", self.series]
        if self.instance is not None:
            parts += ["instances", self.instance]
        if self.search_level is not None:
            parts.append(self.search_level)
        if self.frames is not None:
            parts += ["frames", self.frames]
        if self.bulk:
            parts += ["bulk", *self.bulk]
        if self.view is not None:
            parts.append(self.view)
        return "/".join(parts)

    @property
    def upstream_query(self) -> str:
        """The query string passed on: only the parameters parsed, re-encoded.

        Commas stay commas: they separate the values of ``viewport``, ``window`` and
        ``includefield`` (PS3.18 8.3.4, 8.3.5.1), and Orthanc's DICOMweb plugin (1.7) does
        not decode ``%2C`` there (``viewport=64%2C64`` is answered 400). A comma is a
        sub-delimiter (RFC 3986 3.4): it cannot end a parameter or start another."""
        return urlencode(self.query, safe=",", quote_via=quote)


def is_uid(text: str) -> bool:
    return len(text) <= UID_MAX and _UID.fullmatch(text) is not None


def parse(raw_path: bytes, raw_query: bytes = b"") -> DicomWebRoute:
    """Parse the part of a request target below ``/dicom-web/`` (raw, still %-encoded)."""
    segments = _segments(raw_path)
    route = _route(segments)
    query = _query(raw_query, route.kind)
    return replace(route, query=query)


def _segments(raw_path: bytes) -> list[str]:
    if len(raw_path) > MAX_PATH_BYTES:
        raise RouteRefused("path too long")
    decoded = unquote_to_bytes(raw_path)
    try:
        text = decoded.decode("ascii")
    except UnicodeDecodeError:
        raise RouteRefused("the path has bytes outside ASCII") from None
    # A % or \ left after one decoding is double encoding or a Windows separator; ; would be
    # a path parameter. None of them belongs to a DICOMweb path.
    if not _PATH_CHARS.fullmatch(text):
        raise RouteRefused("the path has characters no DICOMweb path has")
    segments = text.split("/")
    if any(s in ("", ".", "..") for s in segments):
        raise RouteRefused("the path has empty or dot segments")
    return segments


def _route(s: list[str]) -> DicomWebRoute:
    """The resource named by the path segments (PS3.18 10.4 and 10.6), or RouteRefused."""
    if s[0] != "studies":
        raise RouteRefused(f"not a DICOMweb resource: {s[0][:40]!r}")
    if len(s) == 1:
        return DicomWebRoute(Kind.SEARCH)
    study, rest = _uid(s[1], "study"), s[2:]
    if not rest:
        return DicomWebRoute(Kind.RETRIEVE, study)
    if rest in (["series"], ["instances"]):
        return DicomWebRoute(Kind.SEARCH, study, search_level=rest[0])
    if len(rest) == 1:
        return _view(rest[0], study)
    if rest[0] != "series":
        raise RouteRefused(f"not a resource of a study: {rest[0][:40]!r}")
    series, rest = _uid(rest[1], "series"), rest[2:]
    if not rest:
        return DicomWebRoute(Kind.RETRIEVE, study, series)
    if rest == ["instances"]:
        return DicomWebRoute(Kind.SEARCH, study, series, search_level="instances")
    if len(rest) == 1:
        return _view(rest[0], study, series)
    if rest[0] != "instances":
        raise RouteRefused(f"not a resource of a series: {rest[0][:40]!r}")
    instance, rest = _uid(rest[1], "instance"), rest[2:]
    if not rest:
        return DicomWebRoute(Kind.RETRIEVE, study, series, instance)
    if len(rest) == 1:
        return _view(rest[0], study, series, instance)
    if rest[0] == "frames" and len(rest) in (2, 3):
        if len(rest) == 3 and rest[2] not in _RENDERINGS:
            raise RouteRefused(f"not a resource of frames: {rest[2][:40]!r}")
        view = rest[2] if len(rest) == 3 else None
        return DicomWebRoute(Kind.RENDERED if view else Kind.RETRIEVE, study, series,
                             instance, frames=rest[1], view=view)
    if rest[0] == "bulk" and 1 < len(rest) <= _BULK_MAX_STEPS + 1 \
            and all(_BULK_STEP.fullmatch(step) for step in rest[1:]):
        return DicomWebRoute(Kind.RETRIEVE, study, series, instance, bulk=tuple(rest[1:]))
    raise RouteRefused(f"not a resource of an instance: {rest[0][:40]!r}")


def _uid(segment: str, name: str) -> str:
    if not is_uid(segment):
        raise RouteRefused(f"{name} is not a UID: {segment[:80]!r}")
    return segment


def _view(name: str, study: str, series: str | None = None,
          instance: str | None = None) -> DicomWebRoute:
    if name in ("metadata", *_RENDERINGS):
        kind = Kind.RETRIEVE if name == "metadata" else Kind.RENDERED
        return DicomWebRoute(kind, study, series, instance, view=name)
    raise RouteRefused(f"not a DICOMweb resource: {name[:40]!r}")


def _query(raw_query: bytes, kind: Kind) -> tuple[tuple[str, str], ...]:
    if not raw_query:
        return ()
    if len(raw_query) > MAX_QUERY_BYTES:
        raise RouteRefused("query too long")
    try:
        pairs = parse_qsl(raw_query.decode("ascii"), keep_blank_values=True,
                          strict_parsing=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise RouteRefused("the query is not a well-formed list of parameters") from None
    return tuple((key, value) for key, value in pairs if _admit(key, value, kind))


def _admit(key: str, value: str, kind: Kind) -> bool:
    allowed = _ALLOWED_PARAMS[kind]
    if key in allowed:
        if key == "includefield":
            if not all(f == "all" or _attribute(f) for f in value.split(",")):
                raise RouteRefused(f"includefield names an unknown attribute: {value[:80]!r}")
        elif not _VALUE[key].fullmatch(value):
            raise RouteRefused(f"bad value for {key}: {value[:80]!r}")
        return True
    # PS3.18 8.3.4.1: an attribute match, by keyword or tag (or a dotted path of them).
    if kind is Kind.SEARCH and _attribute(key):
        if not _MATCH_VALUE.fullmatch(value):
            raise RouteRefused(f"bad match value for {key}")
        return True
    raise RouteRefused(f"query parameter {key[:40]!r} is not one DICOMweb defines for "
                       f"this resource")


def _attribute(path: str) -> bool:
    steps = path.split(".")
    return 0 < len(steps) <= 4 and all(
        _TAG.fullmatch(step) or (step.isalnum() and step[0].isupper()
                                 and tag_for_keyword(step) is not None)
        for step in steps)
