"""The pure parts of priors and re-sent copies: the C-FIND identifier, the answers kept,
and the comparison of a re-sent copy's attributes with the stored ones."""

from __future__ import annotations

import datetime as dt

import pytest

from pacs.errors import PacsError
from pacs.query_retrieve import PriorQuery, parse_answer
from pacs.resent import ReceivedCopy, differing_tags, resent_watch_lua
from pacs.stable_push import PUSH_SECRET_HEADER, push_secret


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
    # An empty item reaches Nadir as an empty list (Lua has one empty table).
    assert differing_tags({**stored, "Seq": [{}, {"CodeValue": "1"}]},
                          {**stored, "Seq": [[], {"CodeValue": "1"}]}) == []
    other = {**stored, "PatientName": "C^D", "Seq": [{"CodeValue": "2"}], "New": "1"}
    assert differing_tags(stored, other) == ["New", "PatientName", "Seq"]
    assert len(differing_tags({}, {f"K{i}": "1" for i in range(20)}, limit=3)) == 3


def test_the_noted_copy_is_built_valid_only() -> None:
    copy = ReceivedCopy({"Rows": "8"}, "A" * 16, "1.2.840.10008.1.2.1")
    assert copy.tags == {"Rows": "8"} and copy.remote_aet == "A" * 16
    with pytest.raises(PacsError, match="remote_aet"):
        ReceivedCopy({}, "A" * 17)
    with pytest.raises(PacsError, match="tags"):
        ReceivedCopy("x")  # type: ignore[arg-type]


def test_the_filter_posts_to_nadir_and_writes_nothing_to_orthanc() -> None:
    url, secret = "http://127.0.0.1:8000/internal/orthanc/resent-copy", push_secret("pw")
    lua = resent_watch_lua(url, secret)
    assert "function ReceivedInstanceFilter(dicom, origin, info)" in lua
    assert "DicomProtocol" in lua and f"HttpPost('{url}'" in lua
    assert f"['{PUSH_SECRET_HEADER}'] = '{secret}'" in lua
    # Orthanc 1.10.1 corrupted its heap when the filter wrote to it under concurrent
    # C-STOREs: only the lookup (a read) is asked of Orthanc.
    assert "RestApiPut" not in lua and "RestApiDelete" not in lua
    assert lua.count("RestApi") == 1 and "RestApiPost('/tools/lookup', uid)" in lua
    # A failure (Nadir down) never refuses the C-STORE: the note is made under pcall and
    # the filter accepts whatever happens.
    assert "pcall(NadirNoteCopy, dicom, origin, info)" in lua
    body = lua[lua.index("function ReceivedInstanceFilter"):]
    assert "return true" in body and "return false" not in body
    for bad_url in ("http://10.0.0.1:8000/x", "https://127.0.0.1/x", url + "'..os.exit()"):
        with pytest.raises(PacsError, match="re-sent copy URL"):
            resent_watch_lua(bad_url, secret)
    with pytest.raises(PacsError, match="re-sent copy secret"):
        resent_watch_lua(url, "short'")
