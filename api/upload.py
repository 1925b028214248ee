"""Unpacking an upload body into named files: single DICOM, multipart (related/form-data), zip."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

from api.workflow.errors import MalformedPayload, PayloadTooLarge, UnsupportedMediaType

MAX_UNZIPPED_BYTES = 8 * 1024**3  # refuse zip bombs before inflating them
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_FILENAME = re.compile(rb'filename="([^"]*)"', re.IGNORECASE)
_NAME = re.compile(rb'name="([^"]*)"', re.IGNORECASE)


@dataclass(frozen=True)
class UploadedFile:
    name: str
    data: bytes
    is_file: bool = True  # False for a multipart/form-data text field


def unpack(content_type: str, body: bytes) -> list[UploadedFile]:
    media = content_type.split(";", 1)[0].strip().lower()
    if not body:
        raise MalformedPayload("empty request body: send application/dicom, multipart or a zip")
    if media in ("application/dicom", "application/octet-stream") and not _is_zip(body):
        return [UploadedFile("body", body)]
    if media in ("application/zip", "application/x-zip-compressed") or _is_zip(body):
        return _unzip(body)
    if media in ("multipart/related", "multipart/form-data"):
        match = _BOUNDARY.search(content_type)
        if not match:
            raise MalformedPayload(f"{media} without a boundary parameter")
        files: list[UploadedFile] = []
        for part in split_multipart(body, match.group(1).encode("latin-1")):
            if media == "multipart/form-data" and not part.is_file:
                continue  # a plain form field (no filename, no content type), not a file
            files.extend(_unzip(part.data) if _is_zip(part.data) else [part])
        if not files:
            raise MalformedPayload(f"{media} body has no parts")
        return files
    raise UnsupportedMediaType(f"unsupported Content-Type {media!r}: use application/dicom, "
                   "multipart/related, multipart/form-data or application/zip")


def _is_zip(data: bytes) -> bool:
    return data[:4] == b"PK\x03\x04"


def _unzip(data: bytes) -> list[UploadedFile]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()
                   and not m.filename.startswith("__MACOSX/")
                   and m.filename.rsplit("/", 1)[-1] not in ("DICOMDIR", ".DS_Store")]
        if sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
            raise PayloadTooLarge("zip expands beyond the upload limit")
        files = [UploadedFile(m.filename, archive.read(m)) for m in members]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise MalformedPayload(f"unreadable zip archive ({exc})") from None
    if not files:
        raise MalformedPayload("zip archive holds no files")
    return files


def split_multipart(body: bytes, boundary: bytes) -> list[UploadedFile]:
    """Split a MIME multipart body (RFC 2046 5.1.1) into its parts."""
    delimiter = b"--" + boundary
    chunks = body.split(delimiter)
    if len(chunks) < 2:
        raise MalformedPayload("multipart body does not contain its boundary")
    parts: list[UploadedFile] = []
    for index, chunk in enumerate(chunks[1:], start=1):
        if chunk.startswith(b"--"):
            break
        chunk = chunk[2:] if chunk.startswith(b"\r\n") else chunk.lstrip(b"\n")
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise MalformedPayload(f"multipart part {index} has no header/body separator")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        filename = _FILENAME.search(head)
        name_match = filename or _NAME.search(head)
        name = name_match.group(1).decode("utf-8", "replace") if name_match else f"part {index}"
        # RFC 7578 4.4: a field without filename and content type is text, not a file.
        is_file = filename is not None or b"content-type" in head.lower()
        parts.append(UploadedFile(name or f"part {index}", content, is_file))
    return parts
