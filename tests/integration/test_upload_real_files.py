"""Uploads of files nobody here wrote (pydicom's test corpus) into a real Orthanc: valid
ones stored, damaged ones refused with every bad file named, a SOP Instance UID re-sent with
other content refused, and no element value in the service's log."""

from __future__ import annotations

import io
import logging
import zipfile
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.data import get_testdata_file

from tests.conftest import Service
from tests.unit.test_dicomfile_corpus import VALID

pytestmark = pytest.mark.integration


def _file(name: str) -> bytes:
    path = get_testdata_file(name)
    if path is None:
        pytest.skip(f"{name} is not shipped with this pydicom")
    return Path(str(path)).read_bytes()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def _post(service: Service, body: bytes, media: str = "application/zip") -> Any:
    return service.client.post("/api/v1/dicom", content=body, headers={
        **service.headers("uploader"), "Content-Type": media})


def _sop(data: bytes) -> str:
    return str(pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True).SOPInstanceUID)


def test_pydicoms_valid_files_are_stored(service: Service, orthanc: Any) -> None:
    # pydicom's corpus reuses SOP Instance UIDs for other images (8 and 32 bits): one each.
    files: dict[str, bytes] = {}
    for name in VALID:
        data = _file(name)
        if _sop(data) not in {_sop(d) for d in files.values()}:
            files[name] = data
    r = _post(service, _zip(files))
    assert r.status_code == 200, r.text
    sent = {_sop(d) for d in files.values()}
    assert {i["sop_instance_uid"] for i in r.json()["instances"]} == sent
    with orthanc.client() as client:
        assert all(client.find_instance(uid) for uid in sent)


def test_every_bad_file_of_a_zip_is_named_and_nothing_is_stored(
    service: Service, orthanc: Any
) -> None:
    members = {"good.dcm": _file("CT_small.dcm"), "mr_cut.dcm": _file("MR_truncated.dcm"),
               "plan_cut.dcm": _file("rtplan_truncated.dcm"), "nometa.dcm": _file("no_meta.dcm"),
               "text.dcm": b"not a DICOM file at all" * 10}
    with orthanc.client() as client:
        before = client.statistics()
    r = _post(service, _zip(members))
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["refused_count"] == 4
    reasons = {item["file"]: item["reason"] for item in body["refused"]}
    assert set(reasons) == {"mr_cut.dcm", "plan_cut.dcm", "nometa.dcm", "text.dcm"}
    assert "declares 8,192 bytes" in reasons["mr_cut.dcm"]
    assert "(300A,00B0)" in reasons["plan_cut.dcm"]
    for name in reasons:
        assert name in body["detail"]
    with orthanc.client() as client:
        assert client.statistics() == before


def test_one_image_in_two_encodings_is_one_instance_two_images_are_a_conflict(
    service: Service,
) -> None:
    """Real files nobody here wrote: MR_small in RLE and JPEG 2000 lossless are the same
    instance (same pixels); pydicom's 8- and 32-bit RGB RLE files share a UID but are
    different images, which Orthanc would keep one of without a word."""
    same = {"rle.dcm": _file("MR_small_RLE.dcm"), "j2k.dcm": _file("MR_small_jp2klossless.dcm"),
            "plain.dcm": _file("MR_small.dcm")}
    assert len({_sop(d) for d in same.values()}) == 1
    assert _post(service, _zip(same)).status_code == 200
    eight, wide = _file("SC_rgb_rle_2frame.dcm"), _file("SC_rgb_rle_32bit_2frame.dcm")
    assert _sop(eight) == _sop(wide)
    assert _post(service, eight, "application/dicom").status_code == 200
    r = _post(service, wide, "application/dicom")
    assert r.status_code == 409, r.text
    assert {"BitsAllocated", "PixelData"} <= set(r.json()["differing_attributes"])


def test_a_dicomdir_says_it_is_a_media_directory(service: Service) -> None:
    path = get_testdata_file("DICOMDIR")
    if path is None:
        pytest.skip("DICOMDIR is not shipped with this pydicom")
    r = _post(service, Path(str(path)).read_bytes(), "application/dicom")
    assert r.status_code == 400
    assert "media directory" in r.json()["detail"]


def test_a_re_sent_instance_with_other_content_is_refused(service: Service,
                                                          orthanc: Any) -> None:
    original = _file("CT_small.dcm")
    assert _post(service, original, "application/dicom").status_code == 200
    # The same content again: a quiet success.
    again = _post(service, original, "application/dicom")
    assert again.status_code == 200, again.text
    changed = pydicom.dcmread(io.BytesIO(original))
    changed.PatientName = "Other^Name"
    changed.SliceThickness = "9"
    buffer = io.BytesIO()
    changed.save_as(buffer)
    # With a new instance in the same upload: that one is rolled back too.
    new = pydicom.dcmread(io.BytesIO(original))
    new.SOPInstanceUID = pydicom.uid.generate_uid()
    newer = io.BytesIO()
    new.save_as(newer)
    r = _post(service, _zip({"new.dcm": newer.getvalue(), "changed.dcm": buffer.getvalue()}))
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["file"] == "changed.dcm"
    assert set(body["differing_attributes"]) == {"PatientName", "SliceThickness"}
    with orthanc.client() as client:
        held = client.find_instance(changed.SOPInstanceUID)
        assert held is not None
        kept = pydicom.dcmread(io.BytesIO(client.instance_file(held)))
        assert str(kept.PatientName) == str(pydicom.dcmread(io.BytesIO(original)).PatientName)
        assert client.find_instance(new.SOPInstanceUID) is None


def test_element_values_pydicom_complains_about_stay_out_of_the_log(
    service: Service, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    from pydicom.dataelem import DataElement
    from pydicom.uid import ImplicitVRLittleEndian

    ds = pydicom.dcmread(io.BytesIO(_file("CT_small.dcm")))
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    # Instance Number (IS) holding text: pydicom warns, quoting it, when the value is read.
    ds[0x00200013] = DataElement(0x00200013, "LO", "SECRET1A")
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    buffer = io.BytesIO()
    ds.save_as(buffer, implicit_vr=True, little_endian=True)
    data = buffer.getvalue()
    with caplog.at_level(logging.DEBUG):
        r = _post(service, data, "application/dicom")
        # Reading it again (as reports, SR import and ingest do) makes pydicom complain.
        pydicom.dcmread(io.BytesIO(data)).get("InstanceNumber")
    assert r.status_code == 200, r.text
    assert any("withheld" in rec.getMessage() for rec in caplog.records), \
        "pydicom said nothing: the test no longer exercises the filter"
    logged = "\n".join(rec.getMessage() for rec in caplog.records if rec.name != "httpx")
    out, err = capfd.readouterr()
    for text in (logged, out, err):
        assert "SECRET1A" not in text
