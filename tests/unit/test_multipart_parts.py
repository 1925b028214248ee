"""Multipart bodies on disk: parts are split exactly, across chunk boundaries, and a body
of more parts than allowed is refused before the first part is written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from api.upload import CHUNK, count_parts, split_multipart
from api.workflow.errors import PayloadTooLarge

BOUNDARY = b"nadir-test-boundary"


def _body(tmp_path: Path, parts: list[bytes], *, close: bool = True) -> Path:
    data = b"preamble"
    for part in parts:
        data += b"\r\n--" + BOUNDARY + b"\r\nContent-Type: application/dicom\r\n\r\n" + part
    data += (b"\r\n--" + BOUNDARY + b"--\r\nepilogue") if close else b""
    path = tmp_path / "body"
    path.write_bytes(data)
    return path


def test_parts_are_split_exactly_whatever_their_size(tmp_path: Path) -> None:
    # A part larger than the read chunk, one that ends right at a chunk boundary, empty
    # parts, and bytes that look like the start of the delimiter.
    parts = [os.urandom(CHUNK * 2 + 17), b"", b"\r\n--nadir-test", b"x" * (CHUNK - 40), b"y"]
    workdir = tmp_path / "parts"
    workdir.mkdir()
    found = split_multipart(_body(tmp_path, parts), BOUNDARY, workdir)
    assert [p.path.read_bytes() for p in found] == parts
    assert count_parts(tmp_path / "body", BOUNDARY, stop_after=10) == len(parts)


def test_many_small_parts_are_counted_like_split(tmp_path: Path) -> None:
    body = _body(tmp_path, [b"%d" % i for i in range(5000)])
    assert count_parts(body, BOUNDARY, stop_after=10_000) == 5000
    assert count_parts(body, BOUNDARY, stop_after=99) == 100  # stops once past
    workdir = tmp_path / "parts"
    workdir.mkdir()
    assert len(split_multipart(body, BOUNDARY, workdir)) == 5000
    # A last part without the closing delimiter is left out by both.
    unclosed = _body(tmp_path, [b"a", b"b", b"c"], close=False)
    assert count_parts(unclosed, BOUNDARY, stop_after=10) == 2
    assert len(split_multipart(unclosed, BOUNDARY, workdir)) == 2


def test_more_parts_than_allowed_are_refused_before_any_is_written(tmp_path: Path) -> None:
    workdir = tmp_path / "parts"
    workdir.mkdir()
    assert len(split_multipart(_body(tmp_path, [b"a", b"b", b"c"]), BOUNDARY, workdir,
                               max_parts=3)) == 3
    for leftover in workdir.iterdir():
        leftover.unlink()
    with pytest.raises(PayloadTooLarge, match="more than 3 parts") as refused:
        split_multipart(_body(tmp_path, [b"a", b"b", b"c", b"d"]), BOUNDARY, workdir,
                        max_parts=3)
    assert refused.value.extra == {"max_parts": 3}
    assert list(workdir.iterdir()) == []
