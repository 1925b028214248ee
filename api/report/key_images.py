"""Rendered key images kept between reports, so that a second report of an unchanged case
neither fetches its instances from the PACS again nor renders them again.

A rendering is keyed by what it depends on: the measurement version (a new version is a new
key, so an edited measurement renders anew without any invalidation), which caliper of it,
the Orthanc instance and frame, the window and the crop size. The key holds database ids and
Orthanc's own hashed ids only, no patient data; keys are never logged. Memory is bounded by
the bytes of pixels kept: the least recently used renderings go first. A rendering keeps
the encodings reports have asked of it too (PNG for JSON and HTML, JPEG for the PDF), at
most about a third more.

One cache per PACS adapter (per running app): ids from two databases never meet.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from api.lru import SizedLRU
from api.report.model import ReportData
from imaging.render import KeyImage, Picture, Window

#: Threads that encode a report's key images: Pillow's encoders release the GIL.
ENCODE_WORKERS = 2
#: Key images inside the PDF. 92 without chroma subsampling keeps one-pixel caliper lines
#: and text free of visible ringing at print size.
PDF_JPEG_QUALITY = 92
#: Bytes of pixels kept per app; a key image (a 384 px crop and a 256 px thumbnail) is
#: about 0.6 MB of them, so about 100 key images are kept.
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
    """A thread-safe LRU of rendered key images, bounded in bytes of pixels."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        super().__init__(max_bytes, _size)


def _size(image: KeyImage) -> int:
    return image.crop.nbytes + image.thumbnail.nbytes


_caches: weakref.WeakKeyDictionary[object, KeyImageCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def key_images_for(pacs: object) -> KeyImageCache:
    """The cache of the app that owns this PACS adapter (made on first use)."""
    with _caches_lock:
        cache = _caches.get(pacs)
        if cache is None:
            cache = _caches[pacs] = KeyImageCache()
        return cache


@dataclass(frozen=True)
class Encoding:
    """How one report format takes its key images: ``encode`` makes a picture's bytes
    (kept by the picture), ``done`` says whether it already has them."""

    encode: Callable[[Picture], bytes]
    done: Callable[[Picture], bool]


def _pdf_jpeg(picture: Picture) -> bytes:
    return picture.jpeg(PDF_JPEG_QUALITY)


def _has_pdf_jpeg(picture: Picture) -> bool:
    return picture.has_jpeg(PDF_JPEG_QUALITY)


#: Each report format's encoding: PNG for JSON and HTML (``data:`` URIs), JPEG for the PDF.
ENCODINGS = {"json": Encoding(Picture.png, Picture.has_png),
             "html": Encoding(Picture.png, Picture.has_png),
             "pdf": Encoding(_pdf_jpeg, _has_pdf_jpeg)}


def encode_key_images(data: ReportData, encoding: Encoding) -> None:
    """Encode every key image of the report for a format, in threads, before the format
    takes them one at a time. The PNGs of the benchmark's 10 key images are about 110 ms of
    CPU; a picture encodes each format once, so those already done (an unchanged case's, or
    encoded where they were rendered) start no thread."""
    todo = [picture for lesion in data.lesions for image in lesion.images
            for picture in (image.crop, image.thumbnail)
            if picture is not None and not encoding.done(picture)]
    if len(todo) < 2:
        for picture in todo:
            encoding.encode(picture)
        return
    with ThreadPoolExecutor(max_workers=ENCODE_WORKERS) as pool:
        list(pool.map(encoding.encode, todo))
