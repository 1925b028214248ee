"""Upload bodies on disk: spool the request, then find its files (single DICOM, multipart
related/form-data, zip) without holding the body in memory.

The body is written to a spool file as it arrives and refused (413) as soon as it passes
the size limit. Multipart parts are copied to files of their own; zip members are read
from the archive one at a time. Only the file being checked or stored is in memory.
"""

from __future__ import annotations

import re
import tempfile
import zipfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import IO, BinaryIO

from api.workflow.errors import MalformedPayload, PayloadTooLarge, UnsupportedMediaType

CHUNK = 1024 * 1024
DICOM_TYPES = ("application/dicom", "application/octet-stream")
ZIP_TYPES = ("application/zip", "application/x-zip-compressed")
MULTIPART_TYPES = ("multipart/related", "multipart/form-data")
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_FILENAME = re.compile(rb'filename="([^"]*)"', re.IGNORECASE)
_NAME = re.compile(rb'name="([^"]*)"', re.IGNORECASE)
_SKIPPED_MEMBERS = ("DICOMDIR", ".DS_Store")
#: The most parts a multipart upload may have (as many as a zip may have members): each
#: part becomes a file in the spool before it is checked.
MAX_PARTS = 100_000


@dataclass(frozen=True)
class ZipLimits:
    """What a zip may expand to (zip bombs are refused before anything is inflated).

    ``max_ratio`` applies to members over ``ratio_floor_bytes``: a small file of a few
    repeated values compresses far, legitimately; a large one that shrinks 200-fold is a
    bomb (a CT slice with noise compresses 2-5-fold)."""

    max_total_bytes: int
    max_ratio: float = 200.0
    ratio_floor_bytes: int = 1024 * 1024
    max_members: int = MAX_PARTS


@dataclass(frozen=True)
class UploadedFile:
    """One file of an upload; ``read`` returns its bytes (from disk, when asked)."""

    name: str
    size: int
    read: Callable[[], bytes]


def media_type(content_type: str) -> str:
    """The media type of a Content-Type header, refused (415) unless an upload kind."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media not in DICOM_TYPES + ZIP_TYPES + MULTIPART_TYPES:
        raise UnsupportedMediaType(
            f"unsupported Content-Type {media!r}: use application/dicom, multipart/related, "
            "multipart/form-data or application/zip")
    return media


async def spool(chunks: AsyncIterator[bytes], target: IO[bytes], *, limit_bytes: int) -> int:
    """Write the body to ``target`` as it arrives; 413 as soon as it passes the limit."""
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit_bytes:
            raise PayloadTooLarge(f"the upload is larger than {_mb(limit_bytes)}; nothing was "
                                  "stored", extra={"limit_bytes": limit_bytes})
        target.write(chunk)
    target.flush()
    return size


@contextmanager
def unpacked(content_type: str, body: Path, workdir: Path, limits: ZipLimits
             ) -> Iterator[list[UploadedFile]]:
    """The files of a spooled body; multipart parts are copied into ``workdir``. Zip
    archives stay open while the files are used."""
    media = media_type(content_type)
    size = body.stat().st_size
    if size == 0:
        raise MalformedPayload("empty request body: send application/dicom, multipart or a zip")
    with _Archives(limits) as archives:
        if media in DICOM_TYPES and not _is_zip(body):
            yield [_on_disk("body", body, size)]
        elif media in ZIP_TYPES or _is_zip(body):
            yield archives.members(body)
        else:
            match = _BOUNDARY.search(content_type)
            if not match:
                raise MalformedPayload(f"{media} without a boundary parameter")
            files: list[UploadedFile] = []
            for part in split_multipart(body, match.group(1).encode("latin-1"), workdir):
                if media == "multipart/form-data" and not part.is_file:
                    continue  # a plain form field (no filename, no content type), not a file
                upload = _on_disk(part.name, part.path, part.path.stat().st_size)
                files.extend(archives.members(part.path) if _is_zip(part.path) else [upload])
            if not files:
                raise MalformedPayload(f"{media} body has no parts")
            yield files


def _on_disk(name: str, path: Path, size: int) -> UploadedFile:
    return UploadedFile(name, size, path.read_bytes)


def _is_zip(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(4) == b"PK\x03\x04"


def _mb(n: int) -> str:
    return f"{n / 1024**2:,.0f} MB"


class _Archives:
    """Zip archives opened for one upload, checked before anything is inflated."""

    def __init__(self, limits: ZipLimits) -> None:
        self.limits = limits
        self._open: list[zipfile.ZipFile] = []
        self._expanded = 0

    def __enter__(self) -> _Archives:
        return self

    def __exit__(self, *exc: object) -> None:
        for archive in self._open:
            archive.close()

    def members(self, path: Path) -> list[UploadedFile]:
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
            raise MalformedPayload(f"unreadable zip archive ({exc})") from None
        self._open.append(archive)
        infos = archive.infolist()
        if len(infos) > self.limits.max_members:
            raise MalformedPayload(f"zip archive has {len(infos):,} entries, more than "
                                   f"{self.limits.max_members:,}; nothing was stored")
        files = []
        for info in infos:
            check_member_name(info.filename)
            if info.is_dir() or info.filename.startswith("__MACOSX/") \
                    or info.filename.rsplit("/", 1)[-1] in _SKIPPED_MEMBERS:
                continue
            self._check_expansion(info)
            files.append(UploadedFile(info.filename, info.file_size,
                                      _member_reader(archive, info)))
        if not files:
            raise MalformedPayload("zip archive holds no files")
        return files

    def _check_expansion(self, info: zipfile.ZipInfo) -> None:
        # zipfile reads no more than the declared size, and checks the CRC: a member that
        # lies about its size fails to read instead of expanding further.
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > self.limits.ratio_floor_bytes and ratio > self.limits.max_ratio:
            raise MalformedPayload(
                f"zip entry {info.filename!r} expands {ratio:,.0f}-fold, more than "
                f"{self.limits.max_ratio:,.0f}-fold (a zip bomb?); nothing was stored",
                extra={"file": info.filename})
        self._expanded += info.file_size
        if self._expanded > self.limits.max_total_bytes:
            raise MalformedPayload(
                f"zip archive expands beyond {_mb(self.limits.max_total_bytes)} (a zip bomb?); "
                "nothing was stored", extra={"file": info.filename})


def check_member_name(name: str) -> None:
    """Refuse a zip entry whose path is absolute or climbs out of the archive ('..')."""
    posix, windows = PurePosixPath(name.replace("\\", "/")), PureWindowsPath(name)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or name.startswith("\\"):
        raise MalformedPayload(f"zip entry {name!r} has an absolute path; nothing was stored",
                               extra={"file": name})
    if ".." in posix.parts:
        raise MalformedPayload(f"zip entry {name!r} contains '..'; nothing was stored",
                               extra={"file": name})


def _member_reader(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], bytes]:
    def read() -> bytes:
        try:
            return archive.read(info)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise MalformedPayload(f"file {info.filename!r}: unreadable zip entry ({exc}); "
                                   "nothing was stored", extra={"file": info.filename}) from None
    return read


@dataclass(frozen=True)
class Part:
    name: str
    path: Path
    is_file: bool  # False for a multipart/form-data text field


def count_parts(body: Path, boundary: bytes, *, stop_after: int) -> int:
    """How many parts ``split_multipart`` finds in the body (counting stops past
    ``stop_after``); nothing is written."""
    with body.open("rb") as source:
        scanner = _Scanner(source, b"\r\n--" + boundary)
        if not scanner.skip_to_delimiter():
            return 0
        parts = 0
        # Like split_multipart, a last part without its closing delimiter is not counted.
        while parts <= stop_after and not scanner.at_close_delimiter() \
                and scanner.skip_to_delimiter():
            parts += 1
        return parts


def split_multipart(body: Path, boundary: bytes, workdir: Path, *,
                    max_parts: int = MAX_PARTS) -> list[Part]:
    """Copy each part of a MIME multipart body (RFC 2046 5.1.1) into a file of its own,
    reading the body in chunks; a body of more than ``max_parts`` parts is refused (413)
    before the first file is written."""
    if count_parts(body, boundary, stop_after=max_parts) > max_parts:
        raise PayloadTooLarge(f"the multipart body has more than {max_parts:,} parts; "
                              "nothing was stored", extra={"max_parts": max_parts})
    parts: list[Part] = []
    with body.open("rb") as source:
        scanner = _Scanner(source, b"\r\n--" + boundary)
        if not scanner.skip_to_delimiter():
            raise MalformedPayload("multipart body does not contain its boundary")
        while not scanner.at_close_delimiter():
            index = len(parts) + 1
            head = scanner.read_headers()
            if head is None:
                raise MalformedPayload(f"multipart part {index} has no header/body separator")
            target = workdir / f"part-{index:06d}"
            with target.open("wb") as out:
                if not scanner.copy_to_delimiter(out):
                    break  # a body that ends without its close delimiter: keep what came
            filename = _FILENAME.search(head)
            name_match = filename or _NAME.search(head)
            name = name_match.group(1).decode("utf-8", "replace") if name_match \
                else f"part {index}"
            # RFC 7578 4.4: a field without filename and content type is text, not a file.
            is_file = filename is not None or b"content-type" in head.lower()
            parts.append(Part(name or f"part {index}", target, is_file))
    return parts


class _Scanner:
    """Finds a delimiter in a stream read chunk by chunk; the stream is taken to start
    with CRLF, so that a delimiter on the first line is found like any other.

    The buffer is read from a position rather than cut after each delimiter: a body of
    100,000 small parts would otherwise copy its megabyte buffer 100,000 times."""

    def __init__(self, source: BinaryIO, delimiter: bytes) -> None:
        self._source = source
        self._delimiter = delimiter
        self._buffer = b"\r\n"
        self._pos = 0
        self._eof = False

    def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = self._source.read(CHUNK)
        if not chunk:
            self._eof = True
            return False
        self._buffer = self._buffer[self._pos:] + chunk
        self._pos = 0
        return True

    def skip_to_delimiter(self) -> bool:
        return self.copy_to_delimiter(None)

    def copy_to_delimiter(self, out: IO[bytes] | None) -> bool:
        """Copy up to the next delimiter (which is consumed); False at the end of data."""
        keep = len(self._delimiter) - 1
        while True:
            found = self._buffer.find(self._delimiter, self._pos)
            if found >= 0:
                if out is not None:
                    out.write(memoryview(self._buffer)[self._pos:found])
                self._pos = found + len(self._delimiter)
                return True
            safe = len(self._buffer) - keep
            if safe > self._pos:
                if out is not None:
                    out.write(memoryview(self._buffer)[self._pos:safe])
                self._pos = safe
            if not self._fill():
                if out is not None:
                    out.write(memoryview(self._buffer)[self._pos:])
                self._buffer, self._pos = b"", 0
                return False

    def at_close_delimiter(self) -> bool:
        while len(self._buffer) - self._pos < 2 and self._fill():
            pass
        return self._buffer.startswith(b"--", self._pos) or self._pos >= len(self._buffer)

    def read_headers(self) -> bytes | None:
        """The part's header lines (after the delimiter line's end), or None."""
        while True:
            end = self._buffer.find(b"\r\n\r\n", self._pos)
            if end >= 0:
                head = self._buffer[self._pos:end]
                self._pos = end + 4
                return head
            if len(self._buffer) - self._pos > 64 * 1024 or not self._fill():
                return None


def spool_dir(data_dir: Path) -> Path:
    """Where upload bodies are spooled: the data folder (on disk, unlike a RAM /tmp)."""
    folder = data_dir / "spool"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def spool_space(data_dir: Path) -> Iterator[Path]:
    """A fresh folder for one upload, removed with everything in it afterwards."""
    with tempfile.TemporaryDirectory(dir=spool_dir(data_dir), prefix="upload-") as folder:
        yield Path(folder)
