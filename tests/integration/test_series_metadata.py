"""Series metadata from Nadir's index (issue 22): for every series of the demo and of
pydicom's own test files, every attribute Nadir answers is Orthanc's text, byte for byte,
and Nadir leaves out only bulk data and Orthanc's URLs. ETag and 304, the roles, and the
audit as for any image read. A real Orthanc, SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydicom.data import get_testdata_file

from pacs.dicomjson import PIXEL_BULK, RETRIEVE_URL
from synthetic.demo import demo_patient
from synthetic.study import iter_study
from tests.conftest import Service, storescu, wait_until
from tests.factories import tiny_ct_series, to_bytes, write_all

pytestmark = pytest.mark.integration
#: pydicom's test files Orthanc stores, asked for by exact name: CT, MR in every transfer
#: syntax, colour, palette (lookup tables as bulk data), overlay, multi-frame RT dose,
#: RT plan and structures, SR, an ECG waveform. Several MR_small files share their UIDs:
#: Orthanc keeps the first, and the comparison is with what it kept.
PYDICOM_FILES = [
    "CT_small.dcm", "MR_small.dcm", "MR_small_RLE.dcm", "MR_small_jp2klossless.dcm",
    "MR_small_jpeg_ls_lossless.dcm", "MR_small_bigendian.dcm", "JPEG2000.dcm",
    "JPGExtended.dcm", "SC_rgb_rle_2frame.dcm", "SC_rgb_small_odd.dcm", "SC_rgb_jpeg_dcmtk.dcm",
    "examples_palette.dcm", "examples_overlay.dcm", "examples_ybr_color.dcm",
    "liver_1frame.dcm", "rtdose.dcm", "rtplan.dcm", "rtstruct.dcm", "test-SR.dcm",
    "waveform_ecg.dcm", "SC_rgb_rle_32bit_2frame.dcm",
]


def _pydicom_files() -> list[bytes]:
    found = [get_testdata_file(name) for name in PYDICOM_FILES]
    return [Path(str(path)).read_bytes() for path in found if path is not None]


def _demo_files() -> list[bytes]:
    demo = demo_patient(matrix=32, thin_slice_count=210, distractors=True)
    return [to_bytes(ds) for spec, seed in ((demo.baseline, 1), (demo.followup, 2))
            for ds in iter_study(spec, seed=seed)]


def _exact(text: bytes) -> Any:
    """JSON with every number kept as its literal text."""
    return json.loads(text, parse_float=str, parse_int=str)


def _has_bulk(value: Any) -> bool:
    if isinstance(value, dict):
        return "BulkDataURI" in value or any(_has_bulk(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_bulk(v) for v in value)
    return False


def _series_of(orthanc: Any) -> list[tuple[str, str]]:
    with orthanc.client() as client:
        out = []
        for series in client.resources("series"):
            study = client.study(series["ParentStudy"])
            out.append((study["MainDicomTags"]["StudyInstanceUID"],
                        series["MainDicomTags"]["SeriesInstanceUID"]))
        return out


def _compare(service: Service, orthanc: Any, study: str, series: str) -> str:
    """Nadir's answer against Orthanc's for one series; which one answered ("index" when
    the index did)."""
    path = f"/dicom-web/studies/{study}/series/{series}/metadata"
    ours = service.client.get(path, headers={**service.headers("specialist"),
                                             "Accept": "application/dicom+json"})
    assert ours.status_code == 200, ours.text
    with orthanc.client() as client:
        theirs_raw = client.series_dicom_json(study, series)
    theirs = {i["00080018"]["Value"][0]: i for i in _exact(theirs_raw)}
    answered = {i["00080018"]["Value"][0]: i for i in _exact(ours.content)}
    assert answered.keys() == theirs.keys()
    if not ours.headers.get("etag", "").startswith('"md-'):
        return "orthanc"
    for uid, instance in answered.items():
        expected = {tag: value for tag, value in theirs[uid].items()
                    if not _has_bulk(value) and tag != RETRIEVE_URL}
        assert instance == expected, uid
        dropped = theirs[uid].keys() - instance.keys()
        assert all(t == RETRIEVE_URL or t.upper() in PIXEL_BULK for t in dropped), dropped
    # Byte for byte: each attribute is the same sequence of JSON tokens (the whitespace
    # Orthanc puts between tokens is all that differs), cut by a tokenizer of the test's own.
    orthancs = {a[b'"00080018"']: a for a in _attribute_tokens(theirs_raw)}
    for attributes in _attribute_tokens(ours.content):
        own = orthancs[attributes[b'"00080018"']]
        assert attributes == {t: v for t, v in own.items() if t in attributes}
    return "index"


_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"|[{}\[\],:]|[^\s{}\[\],:"]+')


def _attribute_tokens(body: bytes) -> list[dict[bytes, bytes]]:
    """Each instance of a DICOM JSON array as {tag text: the value's tokens, joined}."""
    instances: list[dict[bytes, bytes]] = []
    depth, key, value = 0, b"", b""
    for token in _TOKEN.findall(body):
        if token in (b"{", b"["):
            depth += 1
            if depth == 2:
                instances.append({})
                continue
        elif token in (b"}", b"]"):
            depth -= 1
            if depth == 1 and key:
                instances[-1][key], key, value = value, b"", b""
            if depth <= 1:
                continue
        elif depth == 2:
            if not key:
                key = token
            elif token == b",":
                instances[-1][key], key, value = value, b"", b""
            continue  # the ':' after a key
        value += token
    return instances


@pytest.mark.parametrize("corpus", ["demo", "pydicom"])
def test_every_attribute_is_orthancs_own(service: Service, orthanc: Any, corpus: str) -> None:
    files = _demo_files() if corpus == "demo" else _pydicom_files()
    assert files
    with orthanc.client() as client:
        for data in files:
            client.store(data)
    series = _series_of(orthanc)
    indexed: dict[tuple[str, str], int] = {}
    store = service.app.state.series_metadata

    def filled() -> bool:
        indexed.update({key: 1 for key in series if store.answer(*key) is not None})
        return len(indexed) == len(series)

    # Lookup tables of a palette, an overlay...: bulk data the viewer needs. Orthanc keeps
    # answering those series.
    needs_bulk = [key for key in series if _needs_bulk(orthanc, *key)]
    if corpus == "pydicom":
        assert needs_bulk, "examples_palette.dcm holds its lookup tables as bulk data"
    series = [key for key in series if key not in needs_bulk]
    wait_until(filled, timeout=120, interval=0.5)
    answered = [_compare(service, orthanc, *key) for key in series]
    assert answered == ["index"] * len(series)
    for key in needs_bulk:
        assert _compare(service, orthanc, *key) == "orthanc"


def _needs_bulk(orthanc: Any, study: str, series: str) -> bool:
    with orthanc.client() as client:
        instances = _exact(client.series_dicom_json(study, series))
    return any(_has_bulk(value) and tag.upper() not in PIXEL_BULK
               for instance in instances for tag, value in instance.items())


def test_etag_roles_audit_and_what_orthanc_still_answers(
        service: Service, orthanc: Any, tmp_path: Path) -> None:
    series = tiny_ct_series(3, patient_id="MD-1", size=16)
    storescu(orthanc, write_all(series[:2], tmp_path / "a"))
    study, uid = str(series[0].StudyInstanceUID), str(series[0].SeriesInstanceUID)
    path = f"/dicom-web/studies/{study}/series/{uid}/metadata"
    store = service.app.state.series_metadata
    wait_until(lambda: store.answer(study, uid) is not None, timeout=60)
    assert service.client.get(path).status_code == 401
    r = service.client.get(path, headers=service.headers("uploader"))
    assert r.status_code == 403 and "uploader" in r.json()["detail"]
    for role in ("radiologist", "specialist", "admin"):
        r = service.client.get(path, headers=service.headers(role))
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/dicom+json"
        assert len(r.json()) == 2 and r.headers["etag"].startswith('"md-')
    etag = r.headers["etag"]
    again = service.client.get(path, headers={**service.headers("specialist"),
                                              "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    # Another representation or a parameter: Orthanc answers, as before.
    xml = service.client.get(path, headers={**service.headers("specialist"), "Accept":
                                            'multipart/related; type="application/dicom+xml"'})
    assert xml.status_code != 200 or "md-" not in xml.headers.get("etag", "")
    charset = service.client.get(path + "?charset=utf-8", headers=service.headers("admin"))
    assert charset.status_code == 200 and "md-" not in charset.headers.get("etag", "")
    assert len(charset.json()) == 2
    # A study that is not the series' own: the index has nothing, Orthanc says 404.
    other = tiny_ct_series(1, patient_id="MD-2", size=16)
    storescu(orthanc, write_all(other, tmp_path / "o"))
    wait_until(lambda: store.answer(str(other[0].StudyInstanceUID),
                                    str(other[0].SeriesInstanceUID)) is not None, timeout=60)
    wrong = service.client.get(f"/dicom-web/studies/{other[0].StudyInstanceUID}/series/"
                               f"{uid}/metadata", headers=service.headers("admin"))
    assert wrong.status_code == 404 or wrong.json() == []
    # The series grows: its metadata follows, with a new ETag.
    storescu(orthanc, write_all(series[2:], tmp_path / "b"))
    wait_until(lambda: (found := store.answer(study, uid)) is not None
               and found.etag != etag and len(json.loads(found.body)) == 3, timeout=60)
    r = service.client.get(path, headers={**service.headers("radiologist"),
                                          "If-None-Match": etag})
    assert r.status_code == 200 and len(r.json()) == 3
    events = service.client.get("/api/v1/audit?patient_id=MD-1",
                                headers=service.headers("admin")).json()["events"]
    reads = [(e["user"], e["resource"]) for e in events if e["action"] == "read_images"]
    assert sorted(reads) == sorted({(f"{role}-user", f"studies/{study}")
                                    for role in ("radiologist", "specialist", "admin")})


def test_metadata_is_gzipped_for_a_client_that_takes_it(
        service: Service, orthanc: Any, tmp_path: Path) -> None:
    series = tiny_ct_series(20, patient_id="MD-GZ", size=16)
    storescu(orthanc, write_all(series, tmp_path / "s"))
    study, uid = str(series[0].StudyInstanceUID), str(series[0].SeriesInstanceUID)
    path = f"/dicom-web/studies/{study}/series/{uid}/metadata"
    store = service.app.state.series_metadata
    wait_until(lambda: (found := store.answer(study, uid)) is not None
               and len(json.loads(found.body)) == 20, timeout=60)
    identity = store.answer(study, uid).body

    def raw(accept_encoding: str | None, role: str = "specialist",
            **more: str) -> tuple[Any, bytes]:
        headers = {**service.headers(role), **more}
        if accept_encoding is not None:
            headers["Accept-Encoding"] = accept_encoding
        with service.client.stream("GET", path, headers=headers) as r:
            return r, b"".join(r.iter_raw())

    r, body = raw("gzip, deflate, br")
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in r.headers["vary"].lower()
    assert gzip.decompress(body) == identity and len(body) < len(identity) / 3
    gz_tag = r.headers["etag"]
    # Not accepted (refused by q=0, or only other codings): the bytes as stored.
    for header in ("identity", "gzip;q=0, identity", "br", "", "gzip;q=zero"):
        plain, got = raw(header)
        assert plain.status_code == 200, header
        assert "content-encoding" not in plain.headers and got == identity, header
        assert plain.headers["etag"] != gz_tag and plain.headers["etag"].startswith('"md-')
    plain_tag = plain.headers["etag"]
    assert gz_tag == plain_tag.removesuffix('"') + '-gz"'
    # Each representation revalidates with its own tag, not the other's.
    again, body = raw("gzip", **{"If-None-Match": gz_tag})
    assert again.status_code == 304 and body == b"" and again.headers["etag"] == gz_tag
    other, body = raw("gzip", **{"If-None-Match": plain_tag})
    assert other.status_code == 200 and gzip.decompress(body) == identity
    again, _ = raw("identity", **{"If-None-Match": plain_tag})
    assert again.status_code == 304
    # An oversized header of codings: read as any other, the answer as it is.
    long_header = ", ".join(f"x-{i};q=0.{i % 10}" for i in range(600))
    assert len(long_header) > 7_000
    big, got = raw(long_header)
    assert big.status_code == 200 and "content-encoding" not in big.headers
    assert got == identity
    # The same doors as before: no token, a bad one, the wrong role.
    with service.client.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as none:
        assert none.status_code == 401
    assert raw("gzip", role="specialist", Authorization="Bearer nope")[0].status_code == 401
    assert raw("gzip", role="uploader")[0].status_code == 403


def test_the_metadata_migration_matches_the_model_and_goes_back(database_url: str) -> None:
    import sqlalchemy as sa
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from api.db.models import Base
    from api.db.session import alembic_config

    config = alembic_config(database_url)
    command.upgrade(config, "head")
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        assert "dicom_json" in {c["name"] for c in sa.inspect(conn).get_columns("instances")}
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if "dicom_json" in repr(d)] == []
    before = ScriptDirectory.from_config(config).get_revision("0014").down_revision
    command.downgrade(config, str(before))
    with engine.begin() as conn:
        assert "dicom_json" not in {c["name"] for c in sa.inspect(conn).get_columns("instances")}
    engine.dispose()
