"""One acceptance rule for both ways in: pydicom's own test files sent by C-STORE (dcmtk's
storescu and pynetdicom) and uploaded; what the upload refuses is flagged when it came by
C-STORE, with the reason; a copy sent again with other content is flagged, the same
content again is not; and the index holds what Orthanc holds afterwards."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.data import get_testdata_file
from sqlalchemy import select

from api.db.models import Instance
from pacs.dimse import DicomPeer, store
from tests.conftest import PYNETDICOM_AET, Service, storescu, wait_until
from tests.factories import tiny_ct_series, write_all

pytestmark = pytest.mark.integration


# Orthanc's Python plugin spools the copies sent again for this service
# (pacs/resent_spool.py).
@pytest.fixture
def orthanc(watched_orthanc: Any) -> Any:
    return watched_orthanc


@pytest.fixture
def service(watched_service: Service) -> Service:
    return watched_service

#: One SOP Instance UID each (pydicom's corpus reuses them): valid, and MR_truncated, whose
#: Pixel Data is shorter than its Rows x Columns need.
ROUND_ONE = ["CT_small.dcm", "SC_ybr_full_422_uncompressed.dcm", "liver_1frame.dcm",
             "examples_palette.dcm", "MR_truncated.dcm"]
#: One image in three encodings (one SOP Instance UID): the second and third are copies.
ROUND_TWO = ["MR_small_RLE.dcm", "MR_small_jp2klossless.dcm", "MR_small_jpeg_ls_lossless.dcm"]


def _path(name: str) -> Path:
    found = get_testdata_file(name)
    if found is None:
        pytest.skip(f"{name} is not shipped with this pydicom")
    return Path(str(found))


def _sop(path: Path) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


def _checked(service: Service, sop_uids: set[str]) -> dict[str, Any]:
    """Wait until ingest indexed and checked every instance; the image checks by SOP UID."""
    from api.db.image_checks import ImageCheck

    def done() -> dict[str, Any] | None:
        with service.app.state.sessions() as s:
            rows = {r.sop_instance_uid: r for r in s.scalars(select(ImageCheck))}
        return rows if sop_uids <= {u for u, r in rows.items() if r.checked} else None

    return dict(wait_until(done, timeout=60))


def _index_equals_orthanc(service: Service, orthanc: Any) -> None:
    with orthanc.client() as client:
        held = {i["MainDicomTags"]["SOPInstanceUID"] for i in client.resources("instances")}
    with service.app.state.sessions() as s:
        indexed = set(s.scalars(select(Instance.sop_instance_uid)))
    assert indexed == held


def _upload(service: Service, path: Path) -> Any:
    return service.client.post("/api/v1/dicom", content=path.read_bytes(), headers={
        **service.headers("uploader"), "Content-Type": "application/dicom"})


def _flags(service: Service, patient_id: str) -> list[dict[str, Any]]:
    r = service.client.get(f"/api/v1/patients/{patient_id}/studies",
                           headers=service.headers("radiologist"))
    assert r.status_code == 200, r.text
    return [f for st in r.json() for f in st["images_flagged"]]


def test_pydicoms_files_meet_one_rule_by_c_store_and_by_upload(
    service: Service, orthanc: Any
) -> None:
    paths = [_path(n) for n in ROUND_ONE]
    peer = DicomPeer("127.0.0.1", orthanc.config.dicom_port, orthanc.config.aet,
                     PYNETDICOM_AET)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about the truncated file
        assert len(store(peer, paths)) == len(paths)
    uids = {_sop(p): p.name for p in paths}
    checks = _checked(service, set(uids))
    flagged = {uids[u]: c.refused_reason for u, c in checks.items() if u in uids
               and c.refused_reason}
    assert set(flagged) == {"MR_truncated.dcm"}
    assert "truncated Pixel Data" in flagged["MR_truncated.dcm"]
    assert all(c.origin == "DicomProtocol" for u, c in checks.items() if u in uids)
    # The upload takes what C-STORE brought quietly, and refuses what it flagged.
    for path in paths:
        r = _upload(service, path)
        if path.name in flagged:
            assert r.status_code == 400 and "truncated" in r.text, r.text
        else:
            assert r.status_code == 200, (path.name, r.text)
    # Shown with the patient's studies, with the reason, and stays in Orthanc and the index.
    shown = _flags(service, "4MR1")
    assert [(f["kind"], f["sop_instance_uid"]) for f in shown] == \
        [("refused_by_upload_rule", _sop(_path("MR_truncated.dcm")))]
    assert "would be refused by upload: truncated Pixel Data" in shown[0]["reason"]
    _index_equals_orthanc(service, orthanc)

    # One image in three lossless encodings, each sent as it is by pynetdicom: one
    # instance, the copies quiet (same attributes), nothing flagged; uploads quiet too.
    with orthanc.client() as client:
        client.delete("patients", client.lookup("4MR1")[0]["ID"])
    wait_until(lambda: _sop(_path("MR_truncated.dcm")) not in _indexed(service), timeout=60)
    two = [_path(n) for n in ROUND_TWO]
    for path in two:  # one association each: each proposes its file's transfer syntax
        assert store(peer, [path]) == [_sop(path)]
    checks = _checked(service, {_sop(two[0])})
    assert checks[_sop(two[0])].refused_reason is None
    for path in two:
        assert _upload(service, path).status_code == 200, path.name
    assert _flags(service, "4MR1") == []
    _index_equals_orthanc(service, orthanc)


def _indexed(service: Service) -> set[str]:
    with service.app.state.sessions() as s:
        return set(s.scalars(select(Instance.sop_instance_uid)))


def test_a_copy_re_sent_by_c_store_with_other_content_is_flagged_and_shown_on_the_case(
    service: Service, orthanc: Any, tmp_path: Path
) -> None:
    series = tiny_ct_series(2, patient_id="RESENT-1")
    first = write_all(series, tmp_path / "first")
    storescu(orthanc, first)
    _checked(service, {ds.SOPInstanceUID for ds in series})
    # The same files again: quiet.
    storescu(orthanc, first)
    # A copy of the first image with another name and other pixels, same SOP Instance UID.
    series[0].PatientName = "Someone^Else"
    series[0].AccessionNumber = "A-2"
    series[0].PixelData = b"\x01" * len(series[0].PixelData)
    changed = write_all(series[:1], tmp_path / "changed")
    storescu(orthanc, changed)  # Orthanc answers success and keeps the first version
    flags = wait_until(lambda: _flags(service, "RESENT-1"), timeout=60)
    assert [(f["kind"], f["sop_instance_uid"], f["attributes"]) for f in flags] == \
        [("resent_with_other_content", series[0].SOPInstanceUID,
          ["AccessionNumber", "PatientName", "PixelData"])]
    assert "sent again by STORESCU" in flags[0]["reason"]
    assert "keeps the first version" in flags[0]["reason"]
    with orthanc.client() as client:
        kept = client.instance_tags(client.find_instance(series[0].SOPInstanceUID) or "")
    assert kept["PatientName"] == "Test^Tiny"
    # The case shows it too.
    r = service.client.post("/api/v1/cases", json={"patient_id": "RESENT-1",
                                                   "criteria": "RECIST1.1"},
                            headers=service.headers("radiologist"))
    assert r.status_code == 201, r.text
    case = service.client.get(f"/api/v1/cases/{r.json()['id']}",
                              headers=service.headers("specialist")).json()
    assert [f["sop_instance_uid"] for f in case["images_flagged"]] == [series[0].SOPInstanceUID]
    # Sent again identical to what Orthanc holds: nothing more, once ingest has compared
    # the copies Orthanc spooled (they left the spool).
    storescu(orthanc, first)
    wait_until(lambda: _spooled(orthanc) == 0, timeout=60)
    assert _flags(service, "RESENT-1") == flags
    _index_equals_orthanc(service, orthanc)


def _spooled(orthanc: Any) -> int:
    """Copies Orthanc spooled that ingest has not compared yet."""
    from pacs.resent_spool import spooled

    return len(spooled(orthanc.config.resent_spool_dir))
