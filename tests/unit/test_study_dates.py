"""Where a study's date comes from, and how a case dates and lists its studies (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from api.adapters.index_store import better_date
from api.db.models import Study
from api.workflow.domain import CaseStudyDate
from api.workflow.errors import InvalidInput
from api.workflow.study_dates import StudyDateChange
from api.workflow.timeline import NO_DATE, SET_FOR_CASE, case_timepoints, left_out, with_case_dates
from pacs.metadata import study_date_of

D = dt.date


@pytest.mark.parametrize(("study", "series", "instance", "expected"), [
    ({"StudyDate": "20260105"}, {"SeriesDate": "20250101"}, {}, (D(2026, 1, 5), "StudyDate")),
    ({"StudyDate": ""}, {"SeriesDate": "20260302"}, {"AcquisitionDate": "20260101"},
     (D(2026, 3, 2), "SeriesDate")),
    ({}, {}, {"SeriesDate": "20260302"}, (D(2026, 3, 2), "SeriesDate")),
    ({"StudyDate": "2026"}, {}, {"AcquisitionDate": "20260303", "ContentDate": "20260101"},
     (D(2026, 3, 3), "AcquisitionDate")),
    ({}, {"SeriesDate": "20261399"}, {"ContentDate": "20260304"},
     (D(2026, 3, 4), "ContentDate")),
    ({"StudyDate": "   "}, {}, {}, (None, None)),
])
def test_the_first_valid_date_in_order(study: dict[str, str], series: dict[str, str],
                                       instance: dict[str, str],
                                       expected: tuple[dt.date | None, str | None]) -> None:
    assert study_date_of(study, series, instance) == expected


@pytest.mark.parametrize(("held", "new", "expected"), [
    ((None, None), (D(2026, 3, 2), "SeriesDate"), (D(2026, 3, 2), "SeriesDate")),
    ((D(2026, 3, 2), "SeriesDate"), (D(2026, 3, 1), "SeriesDate"), (D(2026, 3, 1), "SeriesDate")),
    ((D(2026, 3, 1), "SeriesDate"), (D(2026, 3, 2), "ContentDate"), (D(2026, 3, 1), "SeriesDate")),
    ((D(2026, 3, 1), "SeriesDate"), (D(2026, 3, 5), "StudyDate"), (D(2026, 3, 5), "StudyDate")),
    ((D(2026, 3, 5), "StudyDate"), (D(2026, 3, 1), "SeriesDate"), (D(2026, 3, 5), "StudyDate")),
    ((D(2026, 3, 5), "StudyDate"), (None, None), (D(2026, 3, 5), "StudyDate")),
    ((None, None), (None, None), (None, None)),
])
def test_a_study_keeps_its_study_date_else_its_earliest(
        held: tuple[dt.date | None, str | None], new: tuple[dt.date | None, str | None],
        expected: tuple[dt.date | None, str | None]) -> None:
    assert better_date(held, new) == expected


def _study(uid: str, date: dt.date | None, source: str | None = "StudyDate") -> Study:
    return Study(study_instance_uid=uid, study_date=date,
                 date_source=source if date else None, series=[])


def test_undated_studies_are_listed_until_dated_for_the_case() -> None:
    studies = [_study("1.1", D(2026, 1, 5)), _study("1.2", D(2026, 3, 2), "SeriesDate"),
               _study("1.3", None), _study("1.0", D(2025, 1, 1))]
    dated = with_case_dates(studies, [])
    tps = case_timepoints(dated, "1.1")
    assert [st.study_instance_uid for st in tps] == ["1.1", "1.2"]
    out = left_out(dated, tps)
    assert [(lo.study.study_instance_uid, lo.reason) for lo in out] == [
        ("1.3", NO_DATE), ("1.0", "dated 2025-01-01, before the case's baseline of 2026-01-05")]

    dates = [_dated(1, "1.3", D(2026, 2, 1), "a"), _dated(2, "1.3", D(2026, 4, 1), "b"),
             _dated(3, "1.2", D(2020, 1, 1), "c")]
    tps = case_timepoints(with_case_dates(studies, dates), "1.1")
    # The newest date counts; a study dated by its DICOM keeps that date.
    assert [(st.study_instance_uid, st.study_date, st.date_source) for st in tps] == [
        ("1.1", D(2026, 1, 5), "StudyDate"), ("1.2", D(2026, 3, 2), "SeriesDate"),
        ("1.3", D(2026, 4, 1), SET_FOR_CASE)]
    # Another case of the patient, without the date, sees the study undated again.
    again = with_case_dates(studies, [])
    assert [st.study_instance_uid for st in case_timepoints(again, "1.1")] == ["1.1", "1.2"]
    assert studies[2].study_date is None and studies[2].date_source is None


TODAY = D(2026, 12, 4)


@pytest.mark.parametrize(("text", "words"), [
    ("2026-02-30", "not a day"), ("20260420", "YYYY-MM-DD"), ("", "YYYY-MM-DD"),
    ("2026-12-05", "outside"), ("1899-12-31", "outside"), (" 2026-01-01", "YYYY-MM-DD"),
    ("２０２６-01-01", "YYYY-MM-DD"), ("2026-04-20\n", "YYYY-MM-DD"),
])
def test_bad_dates_are_refused_by_name(text: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        StudyDateChange.parse(text, None, TODAY)


def test_a_good_date_and_reason() -> None:
    change = StudyDateChange.parse("2026-12-04", "  from the requisition ", TODAY)
    assert change == StudyDateChange(D(2026, 12, 4), "from the requisition")
    assert StudyDateChange.parse("1900-01-01", "  ", TODAY).reason is None
    with pytest.raises(InvalidInput, match="reason"):
        StudyDateChange(D(2026, 1, 1), "x" * 1001)


def _dated(id_: int, study_uid: str, date: dt.date, by: str) -> CaseStudyDate:
    """A date set by hand, as the store returns it (with its id)."""
    row = CaseStudyDate(study_uid=study_uid, date=date, set_by=by)
    row.id = id_
    return row
