"""Rendered key images kept between reports, so that a second report of an unchanged case
neither fetches its instances from the PACS again nor renders them again.

A rendering is keyed by what it depends on: the measurement version (a new version is a new
key, so an edited measurement renders anew without any invalidation), which caliper of it,
the Orthanc instance and frame, the window and the crop size. The key holds database ids and
Orthanc's own hashed ids only, no patient data; keys are never logged. Memory is bounded by
the bytes of PNG kept: the least recently used renderings go first.

One cache per PACS adapter (per running app): ids from two databases never meet.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

from api.report.lru import SizedLRU
from imaging.render import KeyImage, Window

#: Bytes of PNG kept per app; a demo case's 8 key images take about 1 MB.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class KeyImageKey:
    """What a rendered key image depends on."""

    measurement_version_id: int
    caliper: int  # index of the caliper in the version (fragments of a split lesion)
    orthanc_id: str
    frame: int
    window: Window | None  # None keeps the image's own VOI
    crop_mm: float | None


class KeyImageCache(SizedLRU[KeyImageKey, KeyImage]):
    """A thread-safe LRU of rendered key images, bounded in bytes of PNG."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        super().__init__(max_bytes, _size)


def _size(image: KeyImage) -> int:
    return len(image.crop_png) + len(image.thumbnail_png)


_caches: weakref.WeakKeyDictionary[object, KeyImageCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def key_images_for(pacs: object) -> KeyImageCache:
    """The cache of the app that owns this PACS adapter (made on first use)."""
    with _caches_lock:
        cache = _caches.get(pacs)
        if cache is None:
            cache = _caches[pacs] = KeyImageCache()
        return cache
