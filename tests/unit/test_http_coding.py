"""Accept-Encoding as the assets and the series metadata read it, and If-None-Match as the
report and the series metadata read it (api/http_coding.py)."""

from __future__ import annotations

import pytest

from api.http_coding import accepted_codings, none_match


@pytest.mark.parametrize(("header", "expected"), [
    ("gzip, deflate, br", {"gzip", "deflate", "br"}),
    ("GZip;q=0.5, identity", {"gzip", "identity"}),
    ("br;q=1.0, gzip;q=0", {"br"}),
    ("gzip; q=0.000", set()),
    ("gzip;q=zero", set()),  # unreadable: not taken as accepted
    ("gzip;q=2", set()),
    ("gzip;q=0.5000", set()),
    ("", set()),
    (" , ;q=1, gzip", {"gzip"}),
    ("gzip;level=9", {"gzip"}),
])
def test_codings_with_a_weight_above_zero(header: str, expected: set[str]) -> None:
    assert accepted_codings(header) == expected


@pytest.mark.parametrize(("header", "current"), [
    ('"md-1"', True),
    ('W/"md-1"', True),
    ('"other", "md-1"', True),
    ("*", True),
    ('"md-1-gz"', False),  # another representation's tag
    ('"md-2"', False),
    ("", False),
    (None, False),
])
def test_if_none_match_names_the_tag_or_any(header: str | None, current: bool) -> None:
    assert none_match(header, '"md-1"') is not current
