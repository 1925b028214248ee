"""Copies sent again by C-STORE (pacs/resent.py): Orthanc's Lua filter posts them to an
internal endpoint that only the shared secret opens and that only queues; the ingest leader
compares them with the stored instances. Orthanc stays alive under concurrent re-sends."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from pydicom.dataset import Dataset
from sqlalchemy import func, select

from api.body_guard import RESENT_COPY_LIMIT_BYTES
from api.db.image_checks import ImageCheck, ResentCopy
from api.routes.internal import RESENT_COPY_PATH
from pacs.stable_push import PUSH_SECRET_HEADER, push_secret
from tests.conftest import Service, serving, storescu, wait_until
from tests.factories import tiny_ct_series, write_all

pytestmark = pytest.mark.integration
#: A well-formed Orthanc id that no Orthanc holds (ids are SHA-1s of DICOM UIDs).
UNKNOWN = "deadbeef-0a1b2c3d-22222222-33333333-44444444"
COPY = {"instance": UNKNOWN, "tags": {"PatientName": "A^B"}, "remote_aet": "STORESCU",
        "transfer_syntax": "1.2.840.10008.1.2.1"}


def _secret(service: Service) -> dict[str, str]:
    return {PUSH_SECRET_HEADER: str(service.app.state.settings.orthanc_push_secret)}


def _post(service: Service, body: object = None, **headers: str) -> httpx.Response:
    response: httpx.Response = service.client.post(
        RESENT_COPY_PATH, json=COPY if body is None else body, headers=headers)
    return response


def _queued(service: Service) -> int:
    with service.app.state.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(ResentCopy)) or 0)


@pytest.fixture
def quiet(service_factory: Callable[..., Service], orthanc: Any) -> Service:
    """A service whose ingest does not run: what is queued stays queued."""
    return service_factory(orthanc, ingest=False)


def test_missing_or_wrong_secret_is_refused(quiet: Service) -> None:
    r = _post(quiet)
    assert r.status_code == 401 and f"missing {PUSH_SECRET_HEADER}" in r.json()["detail"]
    secret = _secret(quiet)[PUSH_SECRET_HEADER]
    for wrong in ("", secret[:-1], secret + "0", secret.upper(), push_secret("other")):
        r = _post(quiet, **{PUSH_SECRET_HEADER: wrong})
        assert r.status_code == 401, wrong
        assert f"wrong {PUSH_SECRET_HEADER}" in r.json()["detail"] \
            or "missing" in r.json()["detail"]
    assert _queued(quiet) == 0


def test_no_role_token_opens_it(quiet: Service) -> None:
    assert set(quiet.tokens) >= {"uploader", "radiologist", "specialist", "admin"}
    for role, token in quiet.tokens.items():
        for headers in ({"Authorization": f"Bearer {token}"}, {PUSH_SECRET_HEADER: token},
                        {"Authorization": f"Bearer {token}", PUSH_SECRET_HEADER: token}):
            r = _post(quiet, **headers)
            assert r.status_code == 401, (role, headers.keys(), r.text)
    assert _queued(quiet) == 0


def test_oversized_and_malformed_bodies_are_refused(quiet: Service) -> None:
    secret = _secret(quiet)
    big = {**COPY, "tags": {"ImageComments": "x" * RESENT_COPY_LIMIT_BYTES}}
    r = _post(quiet, big, **secret)
    assert r.status_code == 413, r.text
    assert f"{RESENT_COPY_LIMIT_BYTES:,} bytes" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"instance": "' + UNKNOWN.encode() + b'", "tags": {"ImageComments": "'
        for _ in range(RESENT_COPY_LIMIT_BYTES // 1000 + 1):
            yield b"y" * 1000
        yield b'"}}'

    r = quiet.client.post(RESENT_COPY_PATH, content=chunks(),
                          headers={**secret, "Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    # Refused before its body when the secret is wrong, however large it says it is.
    r = quiet.client.post(RESENT_COPY_PATH, content=b"{}",
                          headers={PUSH_SECRET_HEADER: "wrong", "Content-Length": "99999999"})
    assert r.status_code == 401
    r = quiet.client.post(RESENT_COPY_PATH, content=b'{"instance": "' + UNKNOWN.encode(),
                          headers={**secret, "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    for bad in ({**COPY, "instance": "../../instances"}, {**COPY, "instance": UNKNOWN.upper()},
                {**COPY, "tags": "PatientName"}, {**COPY, "tags": ["A"]},
                {**COPY, "remote_aet": "A" * 17}, {**COPY, "transfer_syntax": "1.2;rm"},
                {**COPY, "other": 1}, {"tags": {}}, ["x"]):
        r = _post(quiet, bad, **secret)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["detail"], r.text
    assert _queued(quiet) == 0


def test_a_copy_is_queued_at_once_and_one_of_an_unknown_instance_dropped(
        quiet: Service, service_factory: Callable[..., Service], orthanc: Any) -> None:
    r = _post(quiet, **_secret(quiet))
    assert r.status_code == 202, r.text
    assert r.json() == {"instance": UNKNOWN, "queued": True}
    assert _queued(quiet) == 1
    # The queue is a table: the next process that leads ingest compares it (here: Orthanc
    # holds no such instance, so it is dropped and nothing is flagged).
    leader = service_factory(orthanc, tokens=quiet.tokens)
    wait_until(lambda: _queued(leader) == 0, timeout=30)
    with leader.app.state.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ImageCheck)) == 0


def test_not_in_the_public_openapi(quiet: Service) -> None:
    paths = quiet.client.get("/openapi.json").json()["paths"]
    assert RESENT_COPY_PATH not in paths


# -- Orthanc's filter, for real --------------------------------------------------------------

def _with_nested_attributes(series: list[Dataset]) -> None:
    """What the filter must carry exactly: text with quotes, a backslash and non-ASCII
    letters, and sequences nested in sequences (PS3.5 7.5)."""
    for ds in series:
        ds.SpecificCharacterSet = "ISO_IR 192"
        ds.ImageComments = 'say "again" \\ Müller Ørsted 雪'
        inner = Dataset()
        inner.CodeValue, inner.CodingSchemeDesignator, inner.CodeMeaning = \
            "121311", "DCM", "Localizer"
        item = Dataset()
        item.ReferencedSOPClassUID = ds.SOPClassUID
        item.ReferencedSOPInstanceUID = series[0].SOPInstanceUID
        item.PurposeOfReferenceCodeSequence = [inner]
        ds.ReferencedImageSequence = [item]
        ds.ContentSequence = _nested_content(NESTING)


#: As deep as a radiation dose SR's content tree goes, and deeper (PS3.16 TID 10001):
#: Orthanc's own DumpJson of such a copy, from inside the filter, corrupted its heap.
NESTING = 6


def _nested_content(depth: int) -> list[Dataset]:
    item = Dataset()
    item.RelationshipType, item.ValueType = "CONTAINS", "TEXT"
    item.TextValue = f"level {depth}"
    if depth > 1:
        item.ContentSequence = _nested_content(depth - 1)
    return [item, Dataset()] if depth % 3 == 0 else [item]


def _flags(service: Service, patient_id: str) -> list[dict[str, Any]]:
    r = service.client.get(f"/api/v1/patients/{patient_id}/studies",
                           headers=service.headers("radiologist"))
    if r.status_code == 404:
        return []  # not indexed yet
    assert r.status_code == 200, r.text
    return [f for st in r.json() for f in st["images_flagged"]]


def _checked(service: Service, n: int) -> None:
    def done() -> bool:
        with service.app.state.sessions() as s:
            return (s.scalar(select(func.count()).select_from(ImageCheck)
                             .where(ImageCheck.checked.is_(True))) or 0) >= n
    wait_until(done, timeout=60)


def test_a_series_re_sent_over_concurrent_associations_is_compared_and_orthanc_lives(
        watched_service: Service, watched_orthanc: Any, tmp_path: Path) -> None:
    service, orthanc = watched_service, watched_orthanc
    series = tiny_ct_series(120, patient_id="RESENT-MANY")
    _with_nested_attributes(series)
    storescu(orthanc, write_all(series, tmp_path / "first"))
    _checked(service, len(series))
    # Every other copy with another accession number; the rest exactly as stored, which
    # must stay quiet (the filter's JSON carries the nested attributes unchanged).
    changed = {ds.SOPInstanceUID for ds in series[::2]}
    for ds in series[::2]:
        ds.AccessionNumber = "OTHER-1"
    files = write_all(series, tmp_path / "again")
    results: list[Any] = []
    senders = [threading.Thread(target=lambda part=files[i::4]: results.append(
        storescu(orthanc, part))) for i in range(4)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(timeout=300)
    assert len(results) == 4 and all(r.returncode == 0 for r in results)
    with orthanc.client() as client:
        assert client.system()["DicomAet"] == orthanc.config.aet  # alive
        kept = client.instance_tags(client.find_instance(series[0].SOPInstanceUID) or "")
    assert kept.get("AccessionNumber") != "OTHER-1"  # Orthanc keeps the first version
    flags = wait_until(lambda: (f := _flags(service, "RESENT-MANY")) and len(f) >= len(
        changed) and _queued(service) == 0 and f, timeout=90)
    assert {f["sop_instance_uid"] for f in flags} == changed, [f["attributes"] for f in flags]
    assert all(f["kind"] == "resent_with_other_content" and f["attributes"] ==
               ["AccessionNumber"] and "sent again by STORESCU" in f["reason"] for f in flags)
    assert "malloc" not in orthanc.log_file.read_text(errors="replace")


def test_copies_posted_while_no_ingest_runs_are_compared_after_a_restart(
        service_factory: Callable[..., Service], watched_orthanc: Any,
        tmp_path: Path) -> None:
    orthanc = watched_orthanc
    port = urlsplit(orthanc.config.resent_copy_url).port
    series = tiny_ct_series(3, patient_id="RESENT-LATER")
    storescu(orthanc, write_all(series, tmp_path / "first"))
    down = service_factory(orthanc, ingest=False)
    with serving(down.app, port):
        series[1].PatientName = "Other^Name"
        storescu(orthanc, write_all(series, tmp_path / "again"))
        assert _queued(down) == 3  # the filter posted before Orthanc answered the C-STORE
    # Nadir is down now: a copy sent meanwhile goes unnoticed, and the C-STORE succeeds.
    storescu(orthanc, write_all(series[:1], tmp_path / "unheard"))
    up = service_factory(orthanc, tokens=down.tokens)
    flags = wait_until(lambda: _flags(up, "RESENT-LATER"), timeout=60)
    assert [(f["sop_instance_uid"], f["attributes"]) for f in flags] == \
        [(series[1].SOPInstanceUID, ["PatientName"])]
    wait_until(lambda: _queued(up) == 0, timeout=30)


def test_the_queue_migration_matches_the_model_and_goes_back(database_url: str) -> None:
    import sqlalchemy as sa
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from api.db.models import Base
    from api.db.session import alembic_config

    config = alembic_config(database_url)
    command.upgrade(config, "0021")
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert [d for d in diffs if "resent_copies" in repr(d)] == []
        command.downgrade(config, "0020")
        with engine.begin() as conn:
            assert "resent_copies" not in sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()
