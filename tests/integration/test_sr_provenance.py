"""Who a timepoint's TID 1500 report names: the measurers, the signer, never the reader.

Two radiologists measure one lesion each at the baseline; a specialist downloads the SR
over HTTP. Every measurer is a person observer (PS3.16 TID 1001/1002/1003, latest
measurer first) and the specialist is not. Before sign-off the report is PARTIAL,
UNVERIFIED and PRELIMINARY; after it, COMPLETE, VERIFIED and FINAL, with the signing
radiologist as Verifying Observer at the time of the sign-off (PS3.3 C.17.2).
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from io import BytesIO
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom import Dataset
from pydicom.valuerep import DT

from api.auth import Role, create_user, issue_token
from imaging.sr import read_measurement_report
from tests.conftest import Service
from tests.integration.test_cases import _case, _lesion, _put, indexed  # noqa: F401

pytestmark = pytest.mark.integration
SECOND = "radiologist-2"  # key of the second radiologist's token in Service.tokens
FIRST_PN, SECOND_PN = "radiologist-user^", "radiologist-two^"  # user names as DICOM PNs


def _add_second_radiologist(service: Service) -> None:
    with service.app.state.sessions.begin() as s:
        user = create_user(s, "radiologist-two", Role.RADIOLOGIST)
        service.tokens[SECOND] = issue_token(s, user)


def _download(service: Service, cid: int, tp: str, tmp_path: Path) -> Dataset:
    r = service.client.get(f"/api/v1/cases/{cid}/timepoints/{tp}/sr",
                           headers=service.headers("specialist"))
    assert r.status_code == 200, r.text
    assert _dciodvfy_errors(r.content, tmp_path) == []
    return pydicom.dcmread(BytesIO(r.content))


def _dciodvfy_errors(data: bytes, tmp_path: Path) -> list[str]:
    assert shutil.which("dciodvfy"), "dciodvfy missing: bash scripts/setup.sh dev installs it"
    path = tmp_path / "sr.dcm"
    path.write_bytes(data)
    out = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    return [ln for ln in (out.stdout + out.stderr).splitlines() if ln.startswith("Error")]


def _person_observers(ds: Dataset) -> list[str]:
    return [str(item.PersonName) for item in ds.ContentSequence
            if item.ConceptNameCodeSequence[0].CodeValue == "121008"]  # Person Observer Name


def _as_utc(value: dt.datetime) -> dt.datetime:
    # SQLite gives the stored UTC time back without its zone; PostgreSQL keeps it.
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def test_sr_names_the_measurers_and_the_signer_not_the_reader(
    service: Service, indexed: dict[str, Any], tmp_path: Path,  # noqa: F811
) -> None:
    _add_second_radiologist(service)
    case = _case(service)
    cid, bl_uid = case["id"], case["timepoints"][0]["id"]
    lung = _lesion(service, cid, kind="target", organ="lung")
    liver = _lesion(service, cid, kind="target", organ="liver")
    # 60 columns x 0.8 mm = 48 mm; 40 rows x 0.5 mm = 20 mm.
    r = _put(service, cid, lung, bl_uid, {"sop_instance_uid": indexed["bl"][0].SOPInstanceUID,
                                          "endpoints": [[10, 2], [10, 62]]})
    assert r.status_code == 200 and r.json()["author"] == "radiologist-user", r.text
    r = _put(service, cid, liver, bl_uid, {"sop_instance_uid": indexed["bl"][1].SOPInstanceUID,
                                           "endpoints": [[5, 30], [45, 30]]}, role=SECOND)
    assert r.status_code == 200 and r.json()["author"] == "radiologist-two", r.text

    before = _download(service, cid, bl_uid, tmp_path)
    assert (before.CompletionFlag, before.VerificationFlag, before.PreliminaryFlag) == (
        "PARTIAL", "UNVERIFIED", "PRELIMINARY")
    assert "VerifyingObserverSequence" not in before
    # Both measurers, the latest first; the specialist who downloads is nobody here.
    assert _person_observers(before) == [SECOND_PN, FIRST_PN]
    assert read_measurement_report(before).observer_names == (SECOND_PN, FIRST_PN)
    assert len(read_measurement_report(before).measurements) == 2

    r = service.client.post(f"/api/v1/cases/{cid}/timepoints/{bl_uid}/sign-off",
                            headers=service.headers("radiologist"))
    assert r.status_code == 200 and r.json()["signed_off_by"] == "radiologist-user", r.text
    signed_at = dt.datetime.fromisoformat(r.json()["signed_off_at"])

    after = _download(service, cid, bl_uid, tmp_path)
    assert (after.CompletionFlag, after.VerificationFlag, after.PreliminaryFlag) == (
        "COMPLETE", "VERIFIED", "FINAL")
    (verifier,) = after.VerifyingObserverSequence
    assert str(verifier.VerifyingObserverName) == FIRST_PN
    assert _as_utc(DT(verifier.VerificationDateTime)) == _as_utc(signed_at)
    assert _person_observers(after) == [SECOND_PN, FIRST_PN]
    assert read_measurement_report(after).observer_names == (SECOND_PN, FIRST_PN)
    named = {*_person_observers(after), str(verifier.VerifyingObserverName)}
    assert not any(name.startswith("specialist") for name in named)
