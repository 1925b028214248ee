"""The upload use case (api/workflow/uploads.py) on a fake archive: every file is checked
before the first is stored, all are stored or none, and what was there before stays."""

from __future__ import annotations

import io
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from api.workflow.errors import Conflict, MalformedPayload
from api.workflow.roles import Principal, Role
from api.workflow.uploads import MAX_NAMED_REFUSALS, audit_upload, check_and_store
from tests.unit.workflow_fakes import FakeCaseStore, FakeUploadArchive, FakeUploadedFile


def _file(name: str) -> FakeUploadedFile:
    path = get_testdata_file(name)
    if path is None:
        pytest.skip(f"{name} is not shipped with this pydicom")
    return FakeUploadedFile(name, Path(str(path)).read_bytes())


def _changed(f: FakeUploadedFile) -> FakeUploadedFile:
    """The same SOP Instance UID with other content."""
    ds = pydicom.dcmread(io.BytesIO(f.data))
    ds.PatientName = "Other^Content"
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return FakeUploadedFile("changed.dcm", out.getvalue())


def test_every_file_is_stored_and_each_study_audited_once() -> None:
    archive, files = FakeUploadArchive(), [_file("CT_small.dcm"), _file("MR_small.dcm")]
    identities = check_and_store(archive, files)
    assert sorted(archive.files) == sorted(i.sop_instance_uid for i in identities)
    store = FakeCaseStore()
    audit_upload(store, Principal(1, "uploader", Role.UPLOADER), identities + identities)
    studies = {i.study_instance_uid for i in identities}
    assert [e[1:3] for e in store.audit_events] == [
        ("upload", f"studies/{uid}") for uid in sorted(studies)]
    assert store.commits == 1


def test_one_bad_file_stores_nothing_and_each_bad_one_is_named() -> None:
    archive = FakeUploadArchive()
    bad = [FakeUploadedFile(f"bad-{n}.dcm", b"not dicom") for n in range(MAX_NAMED_REFUSALS + 2)]
    with pytest.raises(MalformedPayload) as err:
        check_and_store(archive, [_file("CT_small.dcm"), *bad])
    assert archive.files == {}
    assert err.value.extra["refused_count"] == len(bad)
    assert len(err.value.extra["refused"]) == MAX_NAMED_REFUSALS
    assert "bad-0.dcm" in err.value.message and "and 2 more bad files" in err.value.message


def test_a_file_the_archive_refuses_rolls_back_what_this_upload_stored() -> None:
    archive = FakeUploadArchive()
    ct, mr = _file("CT_small.dcm"), _file("MR_small.dcm")
    archive.refuse.add(mr.data)
    with pytest.raises(MalformedPayload) as err:
        check_and_store(archive, [ct, mr])
    assert err.value.message == ("file 'MR_small.dcm': refused by the PACS (bad file, says "
                                 "the archive); nothing was stored")
    assert err.value.extra == {"file": "MR_small.dcm"}
    assert archive.files == {} and len(archive.removed) == 1


def test_other_content_under_a_stored_uid_is_refused_and_the_first_version_kept() -> None:
    archive = FakeUploadArchive()
    ct = _file("CT_small.dcm")
    check_and_store(archive, [ct])
    before = dict(archive.files)
    with pytest.raises(Conflict) as err:
        check_and_store(archive, [_file("MR_small.dcm"), _changed(ct)])
    assert "PatientName" in err.value.extra["differing_attributes"]
    assert archive.files == before  # the MR stored by this upload is gone, the CT stays


def test_the_same_file_again_is_a_quiet_success() -> None:
    archive = FakeUploadArchive()
    ct = _file("CT_small.dcm")
    check_and_store(archive, [ct])
    assert len(check_and_store(archive, [ct, _file("MR_small.dcm")])) == 2
    assert archive.removed == []


def test_an_unreachable_archive_rolls_back_and_its_error_passes_through() -> None:
    archive = FakeUploadArchive()
    archive.fail_after = 1
    with pytest.raises(ConnectionError):
        check_and_store(archive, [_file("CT_small.dcm"), _file("MR_small.dcm")])
    assert archive.files == {} and len(archive.removed) == 1


def test_a_file_the_archive_did_not_keep_is_not_removed() -> None:
    archive = FakeUploadArchive()
    ct, mr = _file("CT_small.dcm"), _file("MR_small.dcm")
    archive.filter_out.add(ct.data)
    archive.refuse.add(mr.data)
    with pytest.raises(MalformedPayload):
        check_and_store(archive, [ct, mr])
    assert archive.removed == []
