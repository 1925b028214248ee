"""The image proxy's allow-list (pacs.dicomweb_routes): what it serves and what it refuses.

The refusals are the escapes that reached Orthanc's REST API through the proxy (issue 15)
and their variants: every level of encoding of '.', '/' and '\\', overlong UTF-8, mixed
case, ';' parameters, Orthanc's _method, absolute URLs.
"""

from __future__ import annotations

import pytest

from pacs.dicomweb_routes import DicomWebRoute, Kind, RouteRefused, parse

S, SE, IN = "1.2.840.113619.2.1", "1.2.840.113619.2.1.2", "1.2.840.113619.2.1.2.3"


@pytest.mark.parametrize(("path", "query", "kind", "upstream", "upstream_query"), [
    ("studies", "PatientID=P1&limit=10", Kind.SEARCH, "studies", "PatientID=P1&limit=10"),
    ("studies", "00100020=P1&includefield=00081030,StudyDescription", Kind.SEARCH, "studies",
     "00100020=P1&includefield=00081030,StudyDescription"),
    (f"studies/{S}", "", Kind.RETRIEVE, f"studies/{S}", ""),
    (f"studies/{S}/metadata", "", Kind.RETRIEVE, f"studies/{S}/metadata", ""),
    (f"studies/{S}/series", "Modality=CT", Kind.SEARCH, f"studies/{S}/series", "Modality=CT"),
    (f"studies/{S}/instances", "", Kind.SEARCH, f"studies/{S}/instances", ""),
    (f"studies/{S}/series/{SE}", "", Kind.RETRIEVE, f"studies/{S}/series/{SE}", ""),
    (f"studies/{S}/series/{SE}/metadata", "", Kind.RETRIEVE,
     f"studies/{S}/series/{SE}/metadata", ""),
    (f"studies/{S}/series/{SE}/rendered", "quality=80", Kind.RENDERED,
     f"studies/{S}/series/{SE}/rendered", "quality=80"),
    (f"studies/{S}/series/{SE}/thumbnail", "viewport=64,64", Kind.RENDERED,
     f"studies/{S}/series/{SE}/thumbnail", "viewport=64,64"),
    (f"studies/{S}/series/{SE}/instances", "offset=0&limit=100", Kind.SEARCH,
     f"studies/{S}/series/{SE}/instances", "offset=0&limit=100"),
    (f"studies/{S}/series/{SE}/instances/{IN}", "", Kind.RETRIEVE,
     f"studies/{S}/series/{SE}/instances/{IN}", ""),
    (f"studies/{S}/series/{SE}/instances/{IN}/metadata", "", Kind.RETRIEVE,
     f"studies/{S}/series/{SE}/instances/{IN}/metadata", ""),
    (f"studies/{S}/series/{SE}/instances/{IN}/frames/1,2,3", "", Kind.RETRIEVE,
     f"studies/{S}/series/{SE}/instances/{IN}/frames/1,2,3", ""),
    (f"studies/{S}/series/{SE}/instances/{IN}/frames/7/rendered", "window=40,400,linear",
     Kind.RENDERED, f"studies/{S}/series/{SE}/instances/{IN}/frames/7/rendered",
     "window=40,400,linear"),
    (f"studies/{S}/series/{SE}/instances/{IN}/bulk/7fe00010", "", Kind.RETRIEVE,
     f"studies/{S}/series/{SE}/instances/{IN}/bulk/7fe00010", ""),
    (f"studies/{S}/series/{SE}/instances/{IN}/bulk/00540016/0/00181072", "", Kind.RETRIEVE,
     f"studies/{S}/series/{SE}/instances/{IN}/bulk/00540016/0/00181072", ""),
    # %-encoding of characters that belong to the path is decoded once, as any server does.
    (f"studies/{S.replace('.', '%2E')}/series", "", Kind.SEARCH, f"studies/{S}/series", ""),
])
def test_dicomweb_resources_are_served_and_rebuilt_from_their_parts(
    path: str, query: str, kind: Kind, upstream: str, upstream_query: str
) -> None:
    route = parse(path.encode(), query.encode())
    assert route.kind is kind
    assert route.upstream_path == upstream
    assert route.upstream_query == upstream_query


ESCAPES = [
    # The issue's own findings.
    f"studies/{S}/%252e%252e/%252e%252e/%252e%252e/system",
    f"studies/{S}/..%252f..%252f..%252fsystem",
    f"studies/{S}/..%5c..%5c..%5csystem",
    f"studies/{S}/..\\..\\..\\system",
    # Dot segments, single, double and triple encoding of '.', '/' and '\'.
    f"studies/{S}/../../../system",
    f"studies/{S}/%2e%2e/%2e%2e/system", f"studies/{S}/%2E%2E/%2E%2E/system",
    f"studies/{S}/%25252e%25252e/system",
    f"studies/{S}%2f..%2f..%2fsystem", f"studies/{S}%2F..%2F..%2Fpatients",
    f"studies/{S}%252f..%252fpatients", f"studies/{S}%25252f..%25252fpatients",
    f"studies/{S}%5c..%5cpatients", f"studies/{S}%255c..%255cpatients",
    f"studies/{S}/./series", "studies/./", f"studies/{S}/series/.",
    # Overlong UTF-8 forms of '.' and '/'.
    f"studies/{S}/%c0%ae%c0%ae/system", f"studies/{S}/%c0%af..%c0%afsystem",
    f"studies/{S}/%e0%80%ae%e0%80%ae/system",
    # Mixed case, other resources, Orthanc's own REST API and Explorer.
    f"Studies/{S}/series", f"STUDIES/{S}", f"studies/{S}/Series", f"studies/{S}/SERIES/{SE}",
    "system", "patients", "instances", "modalities", "changes", "jobs", "tools/reset",
    "app/explorer.html", "../app/explorer.html", "%2e%2e/system", "servers", "wado",
    # ';' path parameters, empty segments, trailing slashes, UIDs that are not UIDs.
    f"studies/{S};x=y/series", f"studies/{S}/series;/{SE}", f"studies//{S}",
    f"studies/{S}/", "studies/", "", f"studies/{S}/series/{SE}//instances",
    "studies/not-a-uid", "studies/1..2", "studies/.1.2", "studies/1.2.", "studies/" + "1" * 65,
    f"studies/{S}/series/{SE}/instances/{IN}/frames/0",
    f"studies/{S}/series/{SE}/instances/{IN}/frames/1,,2",
    f"studies/{S}/series/{SE}/instances/{IN}/bulk/..%2f..",
    f"studies/{S}/series/{SE}/instances/{IN}/bulk",
    # Absolute URLs and other hosts.
    "http://127.0.0.1:8042/system", "http:/127.0.0.1:8042/patients", "//evil.example/studies",
    f"studies/{S}/http://127.0.0.1:8042/system", "studies%3fx=/../system",
    # A NUL, a space, a colon.
    f"studies/{S}%00/series", f"studies/{S}%20/series", f"studies/{S}:80/series",
]


@pytest.mark.parametrize("path", ESCAPES)
def test_escape_attempts_are_refused(path: str) -> None:
    with pytest.raises(RouteRefused):
        parse(path.encode())


@pytest.mark.parametrize("query", [
    "_method=DELETE", "PatientID=P1&_method=DELETE", "_METHOD=DELETE", "%5fmethod=DELETE",
    "method=DELETE", "expand", "expand=true", "requestedTags=00100010", "short", "full",
    "limit=ten", "limit=-1", "offset=1e3", "fuzzymatching=yes", "NotAKeyword=1",
    "patientid=P1", "includefield=NotAKeyword", "includefield=0010001", "PatientID=%00",
    "PatientID=a%0ab", "a=1&&b=2", "=x", "x",
])
def test_query_parameters_outside_dicomweb_are_refused(query: str) -> None:
    with pytest.raises(RouteRefused):
        parse(b"studies", query.encode())


@pytest.mark.parametrize(("path", "query"), [
    # Rendering parameters do not belong to searches, nor attribute matches to retrievals.
    (f"studies/{S}/series", "quality=90"),
    (f"studies/{S}/series/{SE}/metadata", "PatientID=P1"),
    (f"studies/{S}/series/{SE}/metadata", "limit=1"),
    (f"studies/{S}/series/{SE}/instances/{IN}/frames/1", "window=40,400"),
])
def test_parameters_are_allowed_only_on_their_resources(path: str, query: str) -> None:
    with pytest.raises(RouteRefused):
        parse(path.encode(), query.encode())


def test_a_route_cannot_be_built_invalid() -> None:
    with pytest.raises(RouteRefused, match="study is not a UID"):
        DicomWebRoute(Kind.RETRIEVE, study="../system")
    with pytest.raises(RouteRefused, match="needs its study"):
        DicomWebRoute(Kind.RETRIEVE, series=SE)
    with pytest.raises(RouteRefused, match="frame numbers"):
        DicomWebRoute(Kind.RETRIEVE, S, SE, IN, frames="1/../2")


def test_match_values_are_re_encoded_not_passed_raw() -> None:
    route = parse(b"studies", b"PatientName=Doe%5E*&PatientID=a%26_method%3DDELETE")
    assert route.query == (("PatientName", "Doe^*"), ("PatientID", "a&_method=DELETE"))
    assert route.upstream_query == "PatientName=Doe%5E%2A&PatientID=a%26_method%3DDELETE"


def test_commas_pass_as_commas_and_nothing_else_is_left_raw() -> None:
    """Orthanc's DICOMweb plugin reads `viewport=64%2C64` as one number (400): commas, a
    sub-delimiter that cannot start another parameter, go unescaped; & = % # do not."""
    route = parse(f"studies/{S}/series/{SE}/rendered".encode(),
                  b"viewport=64%2C64&window=40,400,linear")
    assert route.upstream_query == "viewport=64,64&window=40,400,linear"
    route = parse(b"studies", b"PatientName=Doe,J%26_method%3DDELETE%23x%25")
    assert route.upstream_query == "PatientName=Doe,J%26_method%3DDELETE%23x%25"
