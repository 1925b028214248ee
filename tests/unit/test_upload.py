"""The upload body's files found on disk: multipart parts split chunk by chunk, zip entry
names checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.upload import CHUNK, check_member_name, split_multipart
from api.workflow.errors import MalformedPayload

BOUNDARY = b"nadir-boundary-42"


def _body(parts: list[tuple[bytes, bytes]]) -> bytes:
    return b"".join(b"--" + BOUNDARY + b"\r\n" + head + b"\r\n\r\n" + data + b"\r\n"
                    for head, data in parts) + b"--" + BOUNDARY + b"--\r\n"


# Part sizes that put the delimiter (or the headers' end) across a chunk boundary.
@pytest.mark.parametrize("shift", [-60, -25, -21, -20, -19, -2, -1, 0, 1, 7])
def test_parts_are_split_whatever_the_chunk_boundaries(tmp_path: Path, shift: int) -> None:
    head = b'Content-Disposition: form-data; name="files"; filename="a.dcm"'
    first = bytes(range(256)) * (CHUNK // 256)
    first = first[: CHUNK - len(head) - 30 + shift]
    second = b"\r\n--not-the-boundary\r\n" + b"x" * 1000
    body = tmp_path / "body"
    body.write_bytes(_body([(head, first), (b"Content-Type: application/dicom", second),
                            (b'Content-Disposition: form-data; name="comment"', b"hello")]))
    parts = split_multipart(body, BOUNDARY, tmp_path)
    assert [(p.name, p.is_file, p.path.read_bytes()) for p in parts] == [
        ("a.dcm", True, first), ("part 2", True, second), ("comment", False, b"hello")]


def test_a_body_without_its_boundary_is_refused(tmp_path: Path) -> None:
    body = tmp_path / "body"
    body.write_bytes(b"just some bytes")
    with pytest.raises(MalformedPayload, match="does not contain its boundary"):
        split_multipart(body, BOUNDARY, tmp_path)


@pytest.mark.parametrize("name", ["/abs.dcm", "\\\\server\\share\\x.dcm", "C:\\x.dcm",
                                  "C:x.dcm", "a/../../b.dcm", "../b.dcm", "a\\..\\..\\b"])
def test_entry_names_that_leave_the_archive(name: str) -> None:
    with pytest.raises(MalformedPayload):
        check_member_name(name)


@pytest.mark.parametrize("name", ["IM0001", "study/series/IM1.dcm", "a..b/c..dcm", "./x"])
def test_ordinary_entry_names(name: str) -> None:
    check_member_name(name)
