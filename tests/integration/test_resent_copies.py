"""Copies sent again by C-STORE (pacs/resent_spool.py), with a real Orthanc running Debian's
orthanc-python plugin: the plugin spools each copy of a held instance, Nadir's ingest
leader compares it with the stored file by the upload's rule and empties the spool. Orthanc
stays alive under concurrent re-sends and with sequences nested past the depth that crashed
it with the earlier Lua filter; a copy differing only in its pixels is flagged; copies
sent while Nadir is stopped are flagged once it runs."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydicom.dataset import Dataset

from pacs.resent_spool import spooled
from tests.conftest import Service, orthanc_says, orthanc_verbose, storescu, wait_until
from tests.factories import tiny_ct_series, write_all

pytestmark = pytest.mark.integration


def _spooled(orthanc: Any) -> int:
    return len(spooled(orthanc.config.resent_spool_dir))


def _with_nested_attributes(series: list[Dataset], depth: int) -> None:
    """Text with quotes, a backslash and non-ASCII letters, and sequences nested in
    sequences (PS3.5 7.5) down to ``depth``."""
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
        ds.ContentSequence = _nested_content(depth)


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
    from sqlalchemy import func, select

    from api.db.image_checks import ImageCheck

    def done() -> bool:
        with service.app.state.sessions() as s:
            return (s.scalar(select(func.count()).select_from(ImageCheck)
                             .where(ImageCheck.checked.is_(True))) or 0) >= n
    wait_until(done, timeout=60)


def _alive(orthanc: Any) -> None:
    with orthanc.client() as client:
        assert client.system()["DicomAet"] == orthanc.config.aet
    log = orthanc.log_file.read_text(errors="replace")
    assert "malloc" not in log and "Segmentation" not in log


def test_a_series_re_sent_over_concurrent_associations_is_compared_and_orthanc_lives(
        watched_service: Service, watched_orthanc: Any, tmp_path: Path) -> None:
    service, orthanc = watched_service, watched_orthanc
    series = tiny_ct_series(120, patient_id="RESENT-MANY")
    _with_nested_attributes(series, 6)
    storescu(orthanc, write_all(series, tmp_path / "first"))
    _checked(service, len(series))
    assert _spooled(orthanc) == 0  # first arrivals are not copies
    # Every other copy with another accession number; the rest exactly as stored, which
    # must stay quiet.
    changed = {ds.SOPInstanceUID for ds in series[::2]}
    for ds in series[::2]:
        ds.AccessionNumber = "OTHER-1"
    files = write_all(series, tmp_path / "again")
    # A push that fails says why: storescu's messages, and Orthanc's about associations
    # (once, under load, one of the four was aborted by its peer; stop 25 saw the same).
    orthanc_verbose(orthanc)
    results: list[Any] = []
    senders = [threading.Thread(target=lambda part=files[i::4]: results.append(
        storescu(orthanc, part, check=False))) for i in range(4)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(timeout=300)
    assert len(results) == 4 and all(r.returncode == 0 for r in results), {
        "storescu": [r.stderr[-2000:] for r in results if r.returncode], "threads": len(results),
        "orthanc": orthanc_says(orthanc)}
    _alive(orthanc)
    with orthanc.client() as client:
        kept = client.instance_tags(client.find_instance(series[0].SOPInstanceUID) or "")
    assert kept.get("AccessionNumber") != "OTHER-1"  # Orthanc keeps the first version
    flags = wait_until(lambda: (f := _flags(service, "RESENT-MANY")) and len(f) >= len(
        changed) and _spooled(orthanc) == 0 and f, timeout=90)
    assert {f["sop_instance_uid"] for f in flags} == changed, [f["attributes"] for f in flags]
    assert all(f["kind"] == "resent_with_other_content" and f["attributes"] ==
               ["AccessionNumber"] and "sent again by STORESCU" in f["reason"] for f in flags)


def test_sequences_nested_9_deep_and_more_are_stored_and_their_copies_compared(
        watched_service: Service, watched_orthanc: Any, tmp_path: Path) -> None:
    """Orthanc 1.10.1 crashed on these with any Lua ReceivedInstanceFilter (it converts
    each received instance to a Lua table); the plugin gets bytes, and no Lua filter is
    installed any more."""
    service, orthanc = watched_service, watched_orthanc
    config = json.loads((orthanc.config_dir / "orthanc.json").read_text())
    assert not any("ReceivedInstanceFilter" in Path(lua).read_text()
                   for lua in config["LuaScripts"])
    series = tiny_ct_series(12, patient_id="RESENT-DEEP")
    for depth, part in zip((9, 10, 12), (series[0:4], series[4:8], series[8:12]),
                           strict=True):
        _with_nested_attributes(part, depth)
    storescu(orthanc, write_all(series, tmp_path / "first"))
    _alive(orthanc)
    with orthanc.client() as client:
        held = {client.find_instance(ds.SOPInstanceUID) for ds in series}
    assert None not in held and len(held) == len(series)
    _checked(service, len(series))
    series[11].ContentSequence[0].TextValue = "changed at the top of 12 levels"
    storescu(orthanc, write_all(series[8:], tmp_path / "again"))
    _alive(orthanc)
    flags = wait_until(lambda: (f := _flags(service, "RESENT-DEEP")) and _spooled(
        orthanc) == 0 and f, timeout=60)
    assert [(f["sop_instance_uid"], f["attributes"]) for f in flags] == \
        [(series[11].SOPInstanceUID, ["ContentSequence"])]


def test_a_copy_differing_only_in_its_pixels_is_flagged(
        watched_service: Service, watched_orthanc: Any, tmp_path: Path) -> None:
    service, orthanc = watched_service, watched_orthanc
    series = tiny_ct_series(2, patient_id="RESENT-PIXELS")
    storescu(orthanc, write_all(series, tmp_path / "first"))
    _checked(service, 2)
    series[1].PixelData = bytes(reversed(series[1].PixelData[:-2])) + b"\x07\x00"
    storescu(orthanc, write_all(series, tmp_path / "again"))
    flags = wait_until(lambda: (f := _flags(service, "RESENT-PIXELS")) and _spooled(
        orthanc) == 0 and f, timeout=60)
    assert [(f["sop_instance_uid"], f["attributes"]) for f in flags] == \
        [(series[1].SOPInstanceUID, ["PixelData"])]


def test_copies_sent_while_nadir_is_stopped_are_flagged_once_it_runs(
        service_factory: Callable[..., Service], watched_orthanc: Any,
        tmp_path: Path) -> None:
    orthanc = watched_orthanc
    series = tiny_ct_series(3, patient_id="RESENT-LATER")
    storescu(orthanc, write_all(series, tmp_path / "first"))
    # No Nadir runs: the C-STORE succeeds and the copies wait in the spool.
    series[1].PatientName = "Other^Name"
    storescu(orthanc, write_all(series, tmp_path / "again"))
    assert _spooled(orthanc) == 3  # spooled before Orthanc answered each C-STORE
    up = service_factory(orthanc, resent_spool_dir=orthanc.config.resent_spool_dir)
    flags = wait_until(lambda: _flags(up, "RESENT-LATER"), timeout=60)
    assert [(f["sop_instance_uid"], f["attributes"]) for f in flags] == \
        [(series[1].SOPInstanceUID, ["PatientName"])]
    wait_until(lambda: _spooled(orthanc) == 0, timeout=60)


def test_the_lua_filters_endpoint_is_gone(service: Service) -> None:
    from pacs.stable_push import PUSH_SECRET_HEADER

    secret = str(service.app.state.settings.orthanc_push_secret)
    for headers in ({PUSH_SECRET_HEADER: secret}, service.headers("admin")):
        r = service.client.post("/internal/orthanc/resent-copy", json={}, headers=headers)
        assert r.status_code == 404, r.text


def test_the_queue_table_goes_and_comes_back(database_url: str) -> None:
    import sqlalchemy as sa
    from alembic import command

    from api.db.session import alembic_config

    config = alembic_config(database_url)
    engine = sa.create_engine(database_url)
    try:
        command.upgrade(config, "0021")
        with engine.begin() as conn:
            assert "resent_copies" in sa.inspect(conn).get_table_names()
        command.upgrade(config, "0023")
        with engine.begin() as conn:
            assert "resent_copies" not in sa.inspect(conn).get_table_names()
        command.downgrade(config, "0022")
        with engine.begin() as conn:
            assert "resent_copies" in sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()
