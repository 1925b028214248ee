"""Rendered reports kept between requests, keyed by a digest of everything they show.

Laying a report out as PDF takes WeasyPrint most of a second; a case that has not changed
since its last report is served the same bytes again. The key is not a list of what might
have changed (measurement versions, sign-offs, adjudications, studies, markers, ...) but
the assembled content itself: :func:`report_digest` hashes every field of the
:class:`ReportData` (key images included, pixel for pixel), the case's response as the JSON
report gives it, the format and the template's source. Whatever input changes what the
report shows changes the digest, so a report is never stale; what does not change it (a
new version of a measurement with the same caliper, say) is served from the cache, rightly.

The code that turns content into a report (charts, notes, vocabulary, the renderer) cannot
change while the process runs, and the cache lives in the process; the template is a file
and goes into the digest. ``generated_at`` is left out of the digest: a report served from
the cache says when its content was first rendered.

Memory is bounded by the bytes of the reports kept: the least recently used go first. The
digest serves as the report's ETag; keys hold no patient data and are never logged.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import hashlib
import threading
import weakref
from collections.abc import Callable
from pathlib import Path

from api.lru import SizedLRU
from api.report.model import ReportData
from imaging.render import Picture

#: Bytes of reports kept per app; a demo case's PDF is about 1.5 MB, its JSON about 3 MB.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
#: Changed by hand when the digest's encoding changes (old keys then never match).
DIGEST_VERSION = b"nadir-report-digest-2"
#: Stands in for ``generated_at`` in the digest (the clock is not content).
_ANY_MOMENT = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
#: The template :mod:`api.report.render` fills: a file, so it may change while Nadir runs.
TEMPLATE_PATH = Path(__file__).with_name("templates") / "report.html.j2"


def report_digest(data: ReportData, response_json: object, kind: str,
                  template: Path = TEMPLATE_PATH) -> str:
    """A hex digest of what the report of this ``kind`` shows: every field of ``data``
    but ``generated_at``, the case's response (``response_json``, as the JSON report has
    it) and the template's source."""
    h = hashlib.blake2b(DIGEST_VERSION, digest_size=20)
    _feed(h, kind)
    _feed(h, template.read_bytes())
    _feed(h, dataclasses.replace(data, generated_at=_ANY_MOMENT))
    _feed(h, response_json)
    return h.hexdigest()


def _feed(h: hashlib.blake2b, value: object) -> None:  # noqa: C901  (one case per type)
    """Feed ``value`` into ``h`` unambiguously: each value is tagged with its type and,
    where it has one, its length, so that no two different values feed the same bytes."""
    if value is None:
        h.update(b"N")
    elif isinstance(value, bool):  # before int: True is an int
        h.update(b"T" if value else b"F")
    elif isinstance(value, enum.Enum):
        _feed_text(h, b"E", f"{type(value).__qualname__}.{value.name}")
    elif isinstance(value, int | float | decimal.Decimal):
        _feed_text(h, b"n", f"{type(value).__name__}:{value!r}")
    elif isinstance(value, str):
        _feed_text(h, b"s", value)
    elif isinstance(value, Picture):
        # A key image by its own digest of its pixels, made once per picture: an unchanged
        # case's pictures are the same objects from one report to the next
        # (:mod:`api.report.key_images`), so about 6 MB of pixels per report of the
        # benchmark's case are not hashed again at every request.
        h.update(b"P")
        h.update(value.digest())
    elif isinstance(value, bytes):
        h.update(b"b%d:" % len(value))
        h.update(value)
    elif isinstance(value, datetime.date):  # datetimes too, with their offset
        _feed_text(h, b"d", f"{type(value).__name__}:{value.isoformat()}")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        _feed_text(h, b"D", f"{type(value).__qualname__}:{len(fields)}")
        for field in fields:
            _feed_text(h, b"f", field.name)
            _feed(h, getattr(value, field.name))
    elif isinstance(value, tuple | list):
        h.update(b"L%d:" % len(value))
        for item in value:
            _feed(h, item)
    elif isinstance(value, dict):
        h.update(b"M%d:" % len(value))
        for key in sorted(value, key=str):
            _feed(h, key)
            _feed(h, value[key])
    else:
        # A new kind of content must be taught here, never skipped: skipping it could
        # serve a report that no longer shows what the case holds.
        raise TypeError(f"report_digest cannot hash {type(value).__name__}")


def _feed_text(h: hashlib.blake2b, tag: bytes, text: str) -> None:
    data = text.encode("utf-8")
    h.update(tag + b"%d:" % len(data))
    h.update(data)


class ReportCache(SizedLRU[str, bytes]):
    """A thread-safe LRU of rendered reports by digest, bounded in bytes."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        super().__init__(max_bytes, len)

    def get_or_render(self, digest: str, render: Callable[[], bytes]) -> bytes:
        """The report of this digest: kept, or rendered now (outside the lock: two
        requests for a new report may both render it, and the same bytes are kept)."""
        body = self.get(digest)
        if body is None:
            body = render()
            self.put(digest, body)
        return body


_caches: weakref.WeakKeyDictionary[object, ReportCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def reports_for(pacs: object) -> ReportCache:
    """The report cache of the app that owns this PACS adapter (made on first use), as
    :func:`api.report.key_images.key_images_for` keeps its key images."""
    with _caches_lock:
        cache = _caches.get(pacs)
        if cache is None:
            cache = _caches[pacs] = ReportCache()
        return cache
