"""Who the exported SR names as observers: the authors of the measurements shown."""

from __future__ import annotations

import datetime as dt

from api.workflow.domain import MeasurementVersion
from api.workflow.sr_export import measurers, person_name

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _by(author: str, minutes: int) -> MeasurementVersion:
    return MeasurementVersion(lesion_id=1, timepoint_uid="1.2", version=minutes + 1,
                              author=author, at=T0 + dt.timedelta(minutes=minutes))


def test_each_author_once_latest_measurement_first() -> None:
    shown = [_by("ana", 0), _by("bob", 5), _by("ana", 10), _by("carl", 7)]
    assert measurers(shown) == ("ana^", "carl^", "bob^")


def test_equal_times_are_ordered_by_name() -> None:
    assert measurers([_by("zoe", 3), _by("ana", 3)]) == ("ana^", "zoe^")
    assert measurers([_by("ana", 3), _by("zoe", 3)]) == ("ana^", "zoe^")


def test_user_names_become_person_names_named_once() -> None:
    assert person_name("ana") == "ana^" and person_name("Martin^Paul") == "Martin^Paul"
    assert measurers([_by("ana^", 1), _by("ana", 2), _by("Martin^Paul", 0)]) == (
        "ana^", "Martin^Paul")
