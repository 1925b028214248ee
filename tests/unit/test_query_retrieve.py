"""The pure parts of priors: the C-FIND identifier and the answers kept."""

from __future__ import annotations

import datetime as dt

import pytest

from pacs.errors import PacsError
from pacs.query_retrieve import PriorQuery, parse_answer


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
