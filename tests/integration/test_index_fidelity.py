"""The index follows Orthanc (issue 20): patients with no study left go, and names are
decoded with the file's Specific Character Set by pydicom, not taken from Orthanc's
transcoded JSON. pydicom's own character-set files, a real Orthanc, SQLite and
PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydicom
import pytest

from tests.conftest import Service, storescu, wait_until
from tests.factories import tiny_ct_series, write_all

pytestmark = pytest.mark.integration
CHARSET_FILES = Path(pydicom.__file__).parent / "data" / "charset_files"
#: Japanese (ISO 2022 IR 13 / IR 87, with and without a first value), Korean (IR 149),
#: Chinese (UTF-8, GB18030) and single-byte sets Orthanc already transcodes right.
NAMED = ["chrH31.dcm", "chrH32.dcm", "chrI2.dcm", "chrX1.dcm", "chrX2.dcm", "chrFren.dcm",
         "chrGreek.dcm", "chrRuss.dcm"]


def _patients(service: Service) -> dict[str, Any]:
    r = service.client.get("/api/v1/patients", headers=service.headers("specialist"))
    assert r.status_code == 200, r.text
    return {p["patient_id"]: p for p in r.json()}


def test_names_are_decoded_with_the_file_character_set(service: Service, orthanc: Any) -> None:
    files = [CHARSET_FILES / name for name in NAMED]
    expected = {}
    for path in files:
        ds = pydicom.dcmread(path)
        expected[str(ds.PatientID)] = str(ds.PatientName)
    storescu(orthanc, files)
    wait_until(lambda: expected.keys() <= _patients(service).keys(), timeout=60)
    names = {pid: p["patient_name"] for pid, p in _patients(service).items()}
    assert {pid: names[pid] for pid in expected} == expected
    assert names["H32EXAMPLE"] == "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう"
    # Orthanc's own JSON garbles it: the index does not take the name from there.
    with orthanc.client() as client:
        garbled = {p["MainDicomTags"]["PatientID"]: p["MainDicomTags"]["PatientName"]
                   for p in client.resources("patients")}
    assert garbled["H32EXAMPLE"] != expected["H32EXAMPLE"]


def test_a_patient_with_no_study_left_leaves_the_index(service: Service, orthanc: Any,
                                                       tmp_path: Path) -> None:
    gone = tiny_ct_series(2, patient_id="GONE-1")
    kept = tiny_ct_series(2, patient_id="KEPT-1")
    storescu(orthanc, write_all(gone, tmp_path / "g") + write_all(kept, tmp_path / "k"))
    wait_until(lambda: {"GONE-1", "KEPT-1"} <= _patients(service).keys(), timeout=60)
    # A tumour marker on the patient does not keep it in the index.
    marker = {"name": "CEA", "unit": "ng/mL", "upper_limit_normal": 5.0, "value": 9.0,
              "date": "2026-01-05"}
    assert service.client.post("/api/v1/patients/GONE-1/markers", json=marker,
                               headers=service.headers("radiologist")).status_code == 201
    with orthanc.client() as client:
        (study,) = [s["ID"] for s in client.resources("studies")
                    if s["PatientMainDicomTags"]["PatientID"] == "GONE-1"]
        client.delete("studies", study)
        assert "GONE-1" not in {p["MainDicomTags"]["PatientID"]
                                for p in client.resources("patients")}
    wait_until(lambda: "GONE-1" not in _patients(service), timeout=60)
    assert _patients(service)["KEPT-1"]["studies_count"] == 1
    assert service.client.get("/api/v1/patients/GONE-1/studies",
                              headers=service.headers("admin")).status_code == 404
    # Sent again, the patient is back with its markers.
    storescu(orthanc, write_all(gone, tmp_path / "g2"))
    wait_until(lambda: "GONE-1" in _patients(service), timeout=60)
    r = service.client.get("/api/v1/patients/GONE-1/markers",
                           headers=service.headers("specialist"))
    assert r.status_code == 200 and [m["value"] for m in r.json()] == [9.0]


TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"


def test_one_study_uid_under_two_patient_ids_is_flagged(service: Service,
                                                        orthanc: Any) -> None:
    """pydicom's rtdose_1frame.dcm ('id11111 ' padded, implicit VR) and
    rtdose_rle_1frame.dcm ('id11111 ' with VR UN) hold one Study Instance UID; Orthanc
    keeps PatientID byte for byte, so they are two patients there. The index neither
    trims the PatientID nor moves the study between patients: the first stays, and the
    study names the other PatientID."""
    with orthanc.client() as client:
        client.store((TEST_FILES / "rtdose_1frame.dcm").read_bytes())
        patients = {p["MainDicomTags"]["PatientID"] for p in client.resources("patients")}
        assert patients == {"id11111"}
        wait_until(lambda: "id11111" in _patients(service), timeout=60)
        client.store((TEST_FILES / "rtdose_rle_1frame.dcm").read_bytes())
        patients = {p["MainDicomTags"]["PatientID"] for p in client.resources("patients")}
        assert patients == {"id11111", "id11111 "}

    def flagged() -> list[Any]:
        r = service.client.get("/api/v1/patients/id11111/studies",
                               headers=service.headers("specialist"))
        assert r.status_code == 200, r.text
        return [st["other_patient_ids"] for st in r.json()]

    wait_until(lambda: flagged() == [["id11111 "]], timeout=60)
    # Still under the first patient; the padded PatientID is not merged into it.
    assert "id11111" in _patients(service)
    assert _patients(service)["id11111"]["studies_count"] == 1
