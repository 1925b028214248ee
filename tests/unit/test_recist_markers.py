"""Tumour markers in the non-target category (issue 7, tumour markers, engine part).

Source: RECIST 1.1 (Eisenhauer et al. 2009) section 3.2.2, tumour markers: "Tumour
markers alone cannot be used to assess objective tumour response. If markers are
initially above the upper normal limit, however, they must normalise for a patient to
be considered in complete response"; section 4.3.3, non-target CR: "Disappearance of all
non-target lesions and normalisation of tumour marker level"; non-CR/non-PD:
"Persistence of one or more non-target lesion(s) and/or maintenance of tumour marker
level above the normal limits"; Table 1: target CR with non-target non-CR/non-PD is PR.
"""

from __future__ import annotations

import copy
import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from measurement.codec import evaluate_request, parse_evaluation_request
from measurement.errors import InvalidEvaluationInput
from measurement.markers import (
    MARKER_WINDOW_DAYS,
    Marker,
    engine_markers,
    judging_limit,
    levels_at_timepoints,
)
from measurement.model import (
    Criteria,
    EvaluationInput,
    NonTargetLesion,
    NonTargetStatus,
    TargetLesion,
    Timepoint,
)
from measurement.recist import evaluate
from tests.unit.recist_factories import (
    column,
    irecist,
    marker,
    new,
    non_target,
    request,
    run,
    target,
)

# Everything gone at FU1: target CR, the non-target absent.
ALL_GONE = [target("T1", 20, 0), non_target("NT1", "present", "absent")]


@pytest.mark.parametrize(("level", "non_target_code", "overall"), [
    (12.0, "NON_CR_NON_PD", "PR"),   # still above 5: "maintenance ... above normal limits"
    (5.0, "CR", "CR"),               # at the upper limit: back within it
    (None, "NON_CR_NON_PD", "PR"),   # not measured: not shown to be normal (Nadir contract)
])
def test_marker_above_normal_at_baseline_must_normalise_for_cr(
    level: float | None, non_target_code: str, overall: str
) -> None:
    response = run(ALL_GONE, markers=[marker("CEA", 20.0, level)])
    assert column(response, "target_response") == ["CR"]
    assert column(response, "non_target_response") == [non_target_code]
    assert column(response, "overall_response") == [overall]
    i_overall = irecist(ALL_GONE, markers=[marker("CEA", 20.0, level)])
    assert column(i_overall, "overall_response") == ["i" + overall]


def test_marker_normal_at_baseline_does_not_matter() -> None:
    # "If markers are initially above the upper normal limit": this one was not.
    response = run(ALL_GONE, markers=[marker("CEA", 4.0, 40.0)])
    assert column(response, "overall_response") == ["CR"]


def test_every_elevated_marker_must_normalise() -> None:
    markers = [marker("CEA", 20.0, 3.0), marker("CA19-9", 80.0, 60.0, upper_limit_normal=37)]
    assert column(run(ALL_GONE, markers=markers), "overall_response") == ["PR"]


def test_markers_without_non_target_lesions() -> None:
    # Targets alone, CR at FU1 and FU2; CEA above normal at baseline and FU1, normal at
    # FU2: the marker makes the non-target category (NON_CR_NON_PD, then CR).
    response = run([target("T1", 20, 0, 0)], markers=[marker("CEA", 20.0, 9.0, 2.0)])
    assert column(response, "non_target_response") == ["NON_CR_NON_PD", "CR"]
    assert column(response, "overall_response") == ["PR", "CR"]
    assert column(run([target("T1", 20, 0)]), "non_target_response") == ["NA"]


def test_non_target_only_disease_with_elevated_marker() -> None:
    # Table 2: non-target lesions gone, marker still high: non-CR/non-PD.
    response = run([non_target("NT1", "present", "absent")],
                   markers=[marker("PSA", 30.0, 10.0, upper_limit_normal=4.0)])
    assert column(response, "overall_response") == ["NON_CR_NON_PD"]


def test_a_rising_marker_alone_is_never_progression() -> None:
    # "Tumour markers alone cannot be used": CEA x100 with stable disease stays SD.
    response = run([target("T1", 20, 20, 20)], markers=[marker("CEA", 20.0, 200.0, 2000.0)])
    assert column(response, "overall_response") == ["SD", "SD"]


def test_marker_values_are_in_every_row_only_when_markers_are_given() -> None:
    response = run(ALL_GONE, markers=[marker("CEA", 20.0, None)])
    baseline, fu1 = response["timepoints"]
    assert baseline["markers"] == [{"id": "CEA", "unit": "ng/mL", "value": 20.0,
                                    "upper_limit_normal": 5.0}]
    assert fu1["markers"] == [{"id": "CEA", "unit": "ng/mL", "value": None,
                               "upper_limit_normal": 5.0}]
    assert "markers" not in run(ALL_GONE)["timepoints"][1]


def _body(markers: list[dict[str, Any]]) -> dict[str, Any]:
    return request(ALL_GONE, markers=markers, timepoints=2)


INVALID_MARKERS = {
    "empty id": ([{"id": "", "upper_limit_normal": 5, "values": {}}], ["markers[0]", "id"]),
    "zero limit": ([marker("CEA", 1.0, upper_limit_normal=0)],
                   ['marker "CEA"', "upper_limit_normal", "> 0"]),
    "infinite limit": ([marker("CEA", 1.0, upper_limit_normal=float("inf"))],
                       ['marker "CEA"', "upper_limit_normal", "Infinity"]),
    "string limit": ([{**marker("CEA", 1.0), "upper_limit_normal": "5"}],
                     ['marker "CEA"', "upper_limit_normal", '"5"']),
    "negative value": ([marker("CEA", 1.0, -2.0)], ['marker "CEA"', 'values["FU1"]', "-2"]),
    "NaN value": ([marker("CEA", float("nan"))], ['marker "CEA"', 'values["BL"]', "NaN"]),
    "value beyond a double": ([{**marker("CEA", 1.0), "values": {"BL": 10**400}}],
                              ['marker "CEA"', 'values["BL"]']),
    "unknown timepoint": ([{**marker("CEA", 1.0), "values": {"FU9": 1.0}}],
                          ['marker "CEA"', 'values["FU9"]', "unknown timepoint"]),
    "duplicate id": ([marker("CEA", 1.0), marker("CEA", 2.0)], ['marker "CEA"', "duplicate"]),
    "unknown key": ([{**marker("CEA", 1.0), "lower_limit": 0}], ['marker "CEA"', "lower_limit",
                                                                 "unknown key"]),
    "not a list": ({"CEA": 1.0}, ["markers", "list"]),
}


@pytest.mark.parametrize("name", list(INVALID_MARKERS))
def test_invalid_markers_are_refused_naming_where(name: str) -> None:
    markers, fragments = INVALID_MARKERS[name]
    with pytest.raises(InvalidEvaluationInput) as caught:
        evaluate_request(_body(copy.deepcopy(markers)))
    for fragment in fragments:
        assert fragment in caught.value.message, (name, caught.value.message)


def test_marker_domain_type_validates_itself() -> None:
    with pytest.raises(InvalidEvaluationInput, match='marker "CEA": upper_limit_normal'):
        Marker(id="CEA", upper_limit_normal=Decimal(-1), values={})
    with pytest.raises(InvalidEvaluationInput, match='marker "CEA": values'):
        Marker(id="CEA", upper_limit_normal=Decimal(5), values={"BL": Decimal("NaN")})
    cea = Marker(id="CEA", upper_limit_normal=Decimal(5), values={"BL": Decimal(9)})
    assert cea.above_normal("BL") is True and cea.above_normal("FU1") is None
    with pytest.raises(InvalidEvaluationInput, match='values\\["FU1"\\]: unknown timepoint'):
        EvaluationInput(
            criteria=Criteria.RECIST_1_1,
            timepoints=[Timepoint("BL", datetime.date(2026, 1, 5))],
            lesions=[TargetLesion(id="T1", measurements={"BL": Decimal(20)}),
                     NonTargetLesion(id="NT1", assessments={"BL": NonTargetStatus.PRESENT})],
            markers=[Marker(id="CEA", upper_limit_normal=Decimal(5),
                            values={"FU1": Decimal(3)})],
        )


levels = st.one_of(st.none(), st.integers(0, 10_000).map(lambda tenths: tenths / 10))


@given(st.lists(st.lists(levels, min_size=3, max_size=3), min_size=1, max_size=3),
       st.sampled_from(["RECIST1.1", "iRECIST"]))
def test_markers_never_make_or_remove_progression(series: list[list[float | None]],
                                                   criteria: str) -> None:
    # Section 3.2.2: markers only ever hold back a complete response.
    lesions = [target("T1", 20, 0, 30), non_target("NT1", "present", "absent", "absent")]
    markers = [marker(f"M{i}", *levels_) for i, levels_ in enumerate(series)]
    plain = evaluate_request(request(lesions, criteria=criteria))
    with_markers = evaluate_request(request(lesions, criteria=criteria, markers=markers))
    progression = {"PD", "iUPD", "iCPD"}
    for row, marked in zip(plain["timepoints"][1:], with_markers["timepoints"][1:],
                           strict=True):
        assert (row["overall_response"] in progression) == (
            marked["overall_response"] in progression)


# --- which level a scan is judged with, and by which limit (issue 16: one home) --------------

@dataclass(frozen=True)
class _Level:
    """A recorded level as plain values (measurement.markers.MarkerLevel)."""

    id: int
    date: datetime.date
    value: float
    upper_limit_normal: float = 5.0
    name: str = "CEA"
    unit: str = "ng/mL"


_SCAN = datetime.date(2026, 3, 2)
_BL_SCAN = datetime.date(2026, 1, 5)


@pytest.mark.parametrize(("levels", "chosen"), [
    ([_Level(1, _SCAN - datetime.timedelta(days=14), 7.0)], 1),  # the window is inclusive
    ([_Level(1, _SCAN - datetime.timedelta(days=15), 7.0)], None),  # outside: none
    ([_Level(1, _SCAN - datetime.timedelta(days=3), 7.0),
      _Level(2, _SCAN + datetime.timedelta(days=2), 8.0)], 2),  # nearest wins
    ([_Level(1, _SCAN - datetime.timedelta(days=2), 7.0),
      _Level(2, _SCAN + datetime.timedelta(days=2), 8.0)], 1),  # tie: drawn before the scan
    ([_Level(1, _SCAN, 7.0), _Level(2, _SCAN, 8.0)], 2),  # same day: latest recorded
])
def test_the_level_a_scan_is_judged_with(levels: list[_Level], chosen: int | None) -> None:
    # Nadir contract (RECIST 1.1 section 3.2.2 sets no window): nearest within 14 days.
    by_marker = levels_at_timepoints(levels, [("BL", _BL_SCAN), ("FU1", _SCAN)],
                                     MARKER_WINDOW_DAYS)
    picked = by_marker[("CEA", "ng/mL")].get("FU1")
    assert (picked.id if picked else None) == chosen


def test_the_same_name_in_another_unit_is_another_series() -> None:
    levels = [_Level(1, _SCAN, 7.0), _Level(2, _SCAN, 70.0, unit="ug/L")]
    by_marker = levels_at_timepoints(levels, [("FU1", _SCAN)], MARKER_WINDOW_DAYS)
    assert sorted(by_marker) == [("CEA", "ng/mL"), ("CEA", "ug/L")]


def test_a_series_is_judged_by_its_baseline_limit() -> None:
    # RECIST 1.1 section 4.3.3: "normalisation" of a marker elevated at baseline, so the
    # laboratory's limit at baseline; without a baseline level, that of the latest used.
    levels = [_Level(1, _BL_SCAN, 9.0, upper_limit_normal=5.0),
              _Level(2, _SCAN, 6.0, upper_limit_normal=7.0)]
    scans = [("BL", _BL_SCAN), ("FU1", _SCAN)]
    chosen = levels_at_timepoints(levels, scans, MARKER_WINDOW_DAYS)[("CEA", "ng/mL")]
    assert judging_limit(chosen, "BL") == 5.0
    assert judging_limit({"FU1": chosen["FU1"]}, "BL") == 7.0
    (marker_,) = engine_markers(levels, scans, MARKER_WINDOW_DAYS)
    assert marker_.upper_limit_normal == Decimal("5.0")
    assert dict(marker_.values) == {"BL": Decimal("9.0"), "FU1": Decimal("6.0")}


# --- the engine says when a raised marker holds back a complete response (issue 16) --------

@pytest.mark.parametrize(("lesions", "levels", "criteria", "overall", "held"), [
    # RECIST 1.1 sections 3.2.2, 4.3.3; Table 1: target CR + non-target non-CR/non-PD = PR.
    ([target("T1", 20, 0), non_target("NT1", "present", "absent")], (18.4, 7.3),
     "RECIST1.1", "PR", ("CEA",)),
    ([target("T1", 20, 0), non_target("NT1", "present", "absent")], (18.4, 5.0),
     "RECIST1.1", "CR", ()),  # at the limit is within normal
    ([target("T1", 20, 0), non_target("NT1", "present", "absent")], (18.4, None),
     "RECIST1.1", "PR", ("CEA",)),  # Nadir contract: not measured is not normalised
    ([target("T1", 20, 0), non_target("NT1", "present", "absent")], (4.0, 7.3),
     "RECIST1.1", "CR", ()),  # normal at baseline: it cannot hold anything back
    ([target("T1", 20, 0), non_target("NT1", "present", "present")], (18.4, 7.3),
     "RECIST1.1", "PR", ()),  # a lesion remains: that, not the marker, is why
    ([target("T1", 20, 10), non_target("NT1", "present", "absent")], (18.4, 7.3),
     "RECIST1.1", "PR", ()),  # target PR
    ([target("T1", 20, 0), new("N1", 1)], (18.4, 7.3), "RECIST1.1", "PD", ()),
    ([non_target("NT1", "present", "absent")], (18.4, 7.3),
     "RECIST1.1", "NON_CR_NON_PD", ("CEA",)),  # Table 2
    ([target("T1", 20, 0), non_target("NT1", "present", "absent")], (18.4, 7.3),
     "iRECIST", "iPR", ("CEA",)),
])
def test_the_result_names_the_markers_holding_back_a_complete_response(
        lesions: list[dict[str, Any]], levels: tuple[float | None, ...], criteria: str,
        overall: str, held: tuple[str, ...]) -> None:
    body = request(lesions, criteria=criteria, markers=[marker("CEA", *levels)])
    result = evaluate(parse_evaluation_request(body))
    follow_up = result.timepoints[1]
    assert follow_up.overall_response == overall
    assert follow_up.markers_holding_back_cr == held
    assert result.timepoints[0].markers_holding_back_cr == ()
