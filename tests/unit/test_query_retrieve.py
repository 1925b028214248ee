"""The pure parts of priors and re-sent copies: the C-FIND identifier, the answers kept,
and the comparison of a re-sent copy's attributes with the stored ones."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from pacs.errors import PacsError
from pacs.query_retrieve import PriorQuery, parse_answer
from pacs.resent import RESENT_METADATA, differing_tags, received_copy, resent_watch_lua


def test_the_identifier_matches_patient_modality_and_a_date_range() -> None:
    query = PriorQuery("P1", "CT", dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert query.identifier() == {
        "PatientID": "P1", "StudyInstanceUID": "", "StudyDate": "20250101-20251231",
        "ModalitiesInStudy": "CT", "StudyDescription": "", "AccessionNumber": ""}
    # PS3.4 C.2.2.2.5: either end of a range may be open; no dates, no date matching.
    assert PriorQuery("P1", date_to=dt.date(2025, 6, 30)).identifier()["StudyDate"] == \
        "-20250630"
    assert PriorQuery("P1", date_from=dt.date(2025, 6, 30)).identifier()["StudyDate"] == \
        "20250630-"
    assert PriorQuery("P1").identifier()["StudyDate"] == ""


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"patient_id": ""}, "patient_id"), ({"patient_id": "x" * 65}, "patient_id"),
    ({"patient_id": "a\\b"}, "backslash"), ({"patient_id": "P", "modality": "ct"}, "modality"),
    ({"patient_id": "P", "modality": "CT*"}, "modality"),
    ({"patient_id": "P", "date_from": dt.date(2025, 2, 1), "date_to": dt.date(2025, 1, 1)},
     "after date_to"),
])
def test_a_query_cannot_be_built_invalid(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(PacsError, match=words):
        PriorQuery(**kwargs)  # type: ignore[arg-type]


def test_answers_are_read_leniently() -> None:
    answer = parse_answer({"StudyInstanceUID": "1.2", "StudyDate": "20250105",
                      "ModalitiesInStudy": "CT\\SR", "StudyDescription": ""})
    assert answer is not None
    assert (answer.study_date, answer.modalities, answer.description) == \
        (dt.date(2025, 1, 5), ("CT", "SR"), None)
    undated = parse_answer({"StudyInstanceUID": "1.3", "StudyDate": "2025"})
    assert undated is not None and undated.study_date is None
    assert parse_answer({"StudyDate": "20250105"}) is None


def test_a_copy_with_the_same_attributes_is_quiet_another_is_named() -> None:
    stored = {"PatientName": "A^B", "Rows": "8", "PixelData": None, "SpecificCharacterSet": "",
              "Seq": [{"CodeValue": "1"}]}
    assert differing_tags(stored, {**stored, "PixelData": "x", "SpecificCharacterSet":
                                   "ISO_IR 100"}) == []
    # Empty and absent are the same (type 2 attributes).
    assert differing_tags({**stored, "AccessionNumber": ""}, stored) == []
    other = {**stored, "PatientName": "C^D", "Seq": [{"CodeValue": "2"}], "New": "1"}
    assert differing_tags(stored, other) == ["New", "PatientName", "Seq"]
    assert len(differing_tags({}, {f"K{i}": "1" for i in range(20)}, limit=3)) == 3


def test_the_noted_copy_is_read_back() -> None:
    noted = json.dumps({"Tags": {"Rows": "8"}, "RemoteAet": "A" * 20})
    copy = received_copy(noted)
    assert copy is not None and copy.tags == {"Rows": "8"} and copy.remote_aet == "A" * 16
    assert received_copy("not json") is None and received_copy("[1]") is None
    assert received_copy(json.dumps({"Tags": "x"})) is None
    lua = resent_watch_lua()
    assert "function ReceivedInstanceFilter(dicom, origin, info)" in lua
    assert f"/metadata/{RESENT_METADATA}" in lua and "DicomProtocol" in lua
