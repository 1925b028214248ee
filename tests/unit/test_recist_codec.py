"""The evaluate contract's JSON shape and its strict parsing (measurement.codec)."""

from __future__ import annotations

import copy
import datetime
import json
import math
from decimal import Decimal
from typing import Any

import pytest

from measurement.codec import evaluate_request, parse_evaluation_request, result_to_json
from measurement.errors import InvalidEvaluationInput, MeasurementError
from measurement.model import (
    Criteria,
    EvaluationInput,
    NewLesion,
    NonTargetLesion,
    NonTargetStatus,
    TargetLesion,
    TargetStatus,
    Timepoint,
)
from measurement.recist import evaluate

FOLLOW_UP_KEYS = {
    "id", "date", "sum_mm", "nadir_mm", "change_from_baseline_pct", "change_from_nadir_pct",
    "change_from_nadir_mm", "target_response", "non_target_response", "new_lesions",
    "overall_response", "mixed_response",
}


def contract_example() -> dict[str, Any]:
    """The request of the contract, with FU2 added so that NEW1 can be confirmed."""
    return {
        "criteria": "RECIST1.1",
        "confirmation_required": False,
        "min_sd_duration_days": 42,
        "min_confirmation_interval_days": 28,
        "timepoints": [{"id": "BL", "date": "2026-01-05"}, {"id": "FU1", "date": "2026-03-02"},
                       {"id": "FU2", "date": "2026-04-27"}],
        "lesions": [
            {"id": "T1", "kind": "target", "organ": "lung", "nodal": False,
             "measurements": {"BL": 32.0, "FU1": 20.0, "FU2": 20.0}},
            {"id": "N1", "kind": "target", "organ": "lymph node", "nodal": True,
             "measurements": {"BL": 18, "FU1": "too_small", "FU2": 12}},
            {"id": "NT1", "kind": "non_target", "organ": "liver", "nodal": False,
             "assessments": {"BL": "present", "FU1": "absent", "FU2": "absent"}},
            {"id": "NEW1", "kind": "new", "organ": "bone", "timepoint": "FU2",
             "equivocal": False},
        ],
    }


def test_contract_example_response_shape_and_values() -> None:
    response = evaluate_request(contract_example())
    assert set(response) == {"criteria", "timepoints", "best_overall_response", "warnings"}
    baseline, fu1, fu2 = response["timepoints"]
    # BL row: only id, date, sum_mm. 32 + 18 = 50.
    assert baseline == {"id": "BL", "date": "2026-01-05", "sum_mm": 50.0}
    assert set(fu1) == FOLLOW_UP_KEYS
    # FU1: 20 + 5 (too_small) = 25: -50 % from 50; non-target all absent: CR.
    assert fu1 == {
        "id": "FU1", "date": "2026-03-02", "sum_mm": 25.0, "nadir_mm": 50.0,
        "change_from_baseline_pct": -50.0, "change_from_nadir_pct": -50.0,
        "change_from_nadir_mm": -25.0, "target_response": "PR", "non_target_response": "CR",
        "new_lesions": False, "overall_response": "PR", "mixed_response": False,
    }
    # FU2: 32 mm, +7 mm (+28 %) over the nadir 25: PD, and a new lesion.
    assert fu2["sum_mm"] == 32.0
    assert fu2["nadir_mm"] == 25.0
    assert fu2["change_from_nadir_pct"] == 28.0
    assert fu2["target_response"] == "PD"
    assert fu2["new_lesions"] is True
    assert fu2["overall_response"] == "PD"
    assert response["best_overall_response"] == "PR"
    assert response["warnings"] == []
    json.dumps(response, allow_nan=False)  # plain JSON, no Decimal, no NaN


def test_sizes_are_exact_decimals_not_binary_floats() -> None:
    body = contract_example()
    body["lesions"][0]["measurements"] = {"BL": 0.1, "FU1": 0.2, "FU2": 0.2}
    body["lesions"][1]["measurements"] = {"BL": 0.2, "FU1": 0.1, "FU2": 0.1}
    inp = parse_evaluation_request(body)
    assert inp.targets[0].measurements["BL"] == Decimal("0.1")
    assert evaluate_request(body)["timepoints"][0]["sum_mm"] == 0.3  # not 0.30000000000000004


def test_optional_parameters_default() -> None:
    body = contract_example()
    for key in ("confirmation_required", "min_sd_duration_days",
                "min_confirmation_interval_days"):
        del body[key]
    options = parse_evaluation_request(body).options
    assert (options.confirmation_required, options.min_sd_duration_days,
            options.min_confirmation_interval_days, options.min_icpd_confirmation_days) == (
        False, 42, 28, 28)


def test_min_icpd_confirmation_days_is_a_request_option() -> None:
    body = contract_example()
    body["min_icpd_confirmation_days"] = 26
    assert parse_evaluation_request(body).options.min_icpd_confirmation_days == 26


def test_integral_float_days_are_accepted() -> None:
    body = contract_example()
    body["min_sd_duration_days"] = 56.0
    assert parse_evaluation_request(body).options.min_sd_duration_days == 56


def test_domain_objects_give_the_same_result_as_json() -> None:
    """The API layer builds EvaluationInput from stored data without going through JSON."""
    inp = EvaluationInput(
        criteria=Criteria.RECIST_1_1,
        timepoints=[Timepoint("BL", datetime.date(2026, 1, 5)),
                    Timepoint("FU1", datetime.date(2026, 3, 2)),
                    Timepoint("FU2", datetime.date(2026, 4, 27))],
        lesions=[
            TargetLesion(id="T1", organ="lung", measurements={
                "BL": Decimal("32.0"), "FU1": Decimal(20), "FU2": Decimal(20)}),
            TargetLesion(id="N1", organ="lymph node", nodal=True, measurements={
                "BL": Decimal(18), "FU1": TargetStatus.TOO_SMALL, "FU2": Decimal(12)}),
            NonTargetLesion(id="NT1", organ="liver", assessments={
                tp: NonTargetStatus.PRESENT if tp == "BL" else NonTargetStatus.ABSENT
                for tp in ("BL", "FU1", "FU2")}),
            NewLesion(id="NEW1", organ="bone", timepoint_id="FU2"),
        ],
    )
    assert result_to_json(evaluate(inp)) == evaluate_request(contract_example())


def _with(path: str, value: Any) -> dict[str, Any]:
    """The contract example with one element replaced (``lesions.0.measurements.FU1``)."""
    body = contract_example()
    *parents, last = path.split(".")
    node: Any = body
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return body


def _without(path: str) -> dict[str, Any]:
    body = contract_example()
    *parents, last = path.split(".")
    node: Any = body
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    del node[int(last) if isinstance(node, list) else last]
    return body


def _lesions(*lesions: dict[str, Any]) -> dict[str, Any]:
    body = contract_example()
    body["lesions"] = list(lesions)
    return body


_T1 = 'lesion "T1"'
_MEAS = 'measurements["FU1"]'

# (request body, fragments the message must contain)
INVALID = {
    "unknown criteria": (_with("criteria", "RECIST1.0"), ["criteria", '"RECIST1.0"']),
    "criteria missing": (_without("criteria"), ["criteria", "null"]),
    "unknown kind": (_with("lesions.0.kind", "index"), [_T1, "kind", '"index"']),
    "unknown non-target status": (_with("lesions.2.assessments.FU1", "gone"),
                                  ['lesion "NT1"', 'assessments["FU1"]', '"gone"']),
    "unknown target string": (_with("lesions.0.measurements.FU1", "tiny"),
                              [_T1, _MEAS, '"tiny"']),
    "numeric string": (_with("lesions.0.measurements.FU1", "20"), [_T1, _MEAS, '"20"']),
    "boolean mm": (_with("lesions.0.measurements.FU1", True), [_T1, _MEAS, "true"]),
    "null mm": (_with("lesions.0.measurements.FU1", None), [_T1, _MEAS, "null"]),
    "negative mm": (_with("lesions.0.measurements.FU1", -1), [_T1, _MEAS, "-1"]),
    "NaN mm": (_with("lesions.0.measurements.FU1", math.nan), [_T1, _MEAS, "NaN"]),
    "infinite mm": (_with("lesions.0.measurements.FU1", math.inf), [_T1, _MEAS, "Infinity"]),
    "list mm": (_with("lesions.0.measurements.FU1", [20]), [_T1, _MEAS]),
    "measurement at unknown timepoint": (_with("lesions.0.measurements.FU9", 20),
                                         [_T1, 'measurements["FU9"]', "unknown timepoint"]),
    "assessment at unknown timepoint": (_with("lesions.2.assessments.FU9", "present"),
                                        ['lesion "NT1"', 'assessments["FU9"]', "unknown"]),
    "duplicate timepoint id": (_with("timepoints.2.id", "FU1"), ['timepoint "FU1"', "id",
                                                                 "duplicate"]),
    "duplicate lesion id": (_with("lesions.1.id", "T1"), [_T1, "id", "duplicate"]),
    "malformed date": (_with("timepoints.1.date", "2026-3-02"),
                       ['timepoint "FU1"', "date", '"2026-3-02"']),
    "impossible date": (_with("timepoints.1.date", "2026-02-30"),
                        ['timepoint "FU1"', "date", '"2026-02-30"']),
    "compact date": (_with("timepoints.1.date", "20260302"), ['timepoint "FU1"', "date"]),
    "date with time": (_with("timepoints.1.date", "2026-03-02T10:00:00"),
                       ['timepoint "FU1"', "date"]),
    "numeric date": (_with("timepoints.1.date", 20260302), ['timepoint "FU1"', "date"]),
    "equal dates": (_with("timepoints.1.date", "2026-01-05"),
                    ['timepoint "FU1"', "date", "strictly increasing"]),
    "decreasing dates": (_with("timepoints.2.date", "2026-02-01"),
                         ['timepoint "FU2"', "date", "strictly increasing"]),
    "no timepoints": (_with("timepoints", []), ["timepoints"]),
    "timepoints not a list": (_with("timepoints", {"BL": "2026-01-05"}), ["timepoints"]),
    "timepoint without id": (_with("timepoints.1", {"date": "2026-03-02"}),
                             ["timepoints[1]", "id"]),
    "no lesions": (_with("lesions", []), ["lesions"]),
    "lesion without id": (_with("lesions.0.id", ""), ["lesions[0]", "id"]),
    "target without baseline": (_without("lesions.0.measurements.BL"),
                                [_T1, 'measurements["BL"]', "baseline"]),
    "target without measurements": (_without("lesions.0.measurements"),
                                    [_T1, 'measurements["BL"]', "baseline"]),
    "target not evaluable at baseline": (_with("lesions.0.measurements.BL", "not_evaluable"),
                                         [_T1, 'measurements["BL"]', "not_evaluable"]),
    "new lesion at baseline": (_with("lesions.3.timepoint", "BL"),
                               ['lesion "NEW1"', "timepoint", "baseline"]),
    "new lesion at unknown timepoint": (_with("lesions.3.timepoint", "FU7"),
                                        ['lesion "NEW1"', "timepoint", '"FU7"']),
    "new lesion without timepoint": (_without("lesions.3.timepoint"),
                                     ['lesion "NEW1"', "timepoint"]),
    "confirmed before first sighting": (_with("lesions.3.confirmed_at", "FU1"),
                                        ['lesion "NEW1"', "confirmed_at", '"FU1"']),
    "confirmed at unknown timepoint": (_with("lesions.3.confirmed_at", "FU8"),
                                       ['lesion "NEW1"', "confirmed_at", '"FU8"']),
    "equivocal not boolean": (_with("lesions.3.equivocal", "yes"),
                              ['lesion "NEW1"', "equivocal", '"yes"']),
    "nodal not boolean": (_with("lesions.0.nodal", 1), [_T1, "nodal", "1"]),
    "organ not a string": (_with("lesions.0.organ", 3), [_T1, "organ"]),
    "confirmation_required not boolean": (_with("confirmation_required", "true"),
                                          ["confirmation_required", '"true"']),
    "negative sd duration": (_with("min_sd_duration_days", -1), ["min_sd_duration_days"]),
    "boolean sd duration": (_with("min_sd_duration_days", True), ["min_sd_duration_days"]),
    "fractional interval": (_with("min_confirmation_interval_days", 27.5),
                            ["min_confirmation_interval_days", "27.5"]),
    "measurements not an object": (_with("lesions.0.measurements", [32, 20]),
                                   [_T1, "measurements"]),
    # Issue 7: strict keys (a misspelt key would otherwise be silently ignored).
    "unknown lesion key": (_with("lesions.1.is_nodal", True),
                           ['lesion "N1"', "is_nodal", "unknown key", '"nodal"']),
    "key of another kind": (_with("lesions.0.assessments", {"BL": "present"}),
                            [_T1, "assessments", "unknown key"]),
    "unknown request key": (_with("comment", "x"), ["request", "comment", "unknown key"]),
    "unknown timepoint key": (_with("timepoints.1.label", "week 8"),
                              ['timepoint "FU1"', "label", "unknown key"]),
    # Issue 7: RECIST 1.1 sections 3.1.1, 4.2: a target is measurable at baseline.
    "target 0 mm at baseline": (_with("lesions.0.measurements.BL", 0),
                                [_T1, 'measurements["BL"]', "0 mm"]),
    "target disappeared at baseline": (_with("lesions.0.measurements.BL", "disappeared"),
                                       [_T1, 'measurements["BL"]', "0 mm"]),
    "target too_small at baseline": (_with("lesions.0.measurements.BL", "too_small"),
                                     [_T1, 'measurements["BL"]', "too_small", "measurable"]),
    # Issue 7: RECIST 1.1 section 4.2: non-target lesions are recorded present at baseline.
    "non-target absent at baseline": (_with("lesions.2.assessments.BL", "absent"),
                                      ['lesion "NT1"', 'assessments["BL"]', '"present"',
                                       '"absent"']),
    "non-target not evaluated at baseline": (
        _with("lesions.2.assessments.BL", "not_evaluated"),
        ['lesion "NT1"', 'assessments["BL"]', '"not_evaluated"']),
    "non-target progressing at baseline": (
        _with("lesions.2.assessments.BL", "unequivocal_progression"),
        ['lesion "NT1"', 'assessments["BL"]', '"unequivocal_progression"']),
    "non-target without baseline": (_without("lesions.2.assessments.BL"),
                                    ['lesion "NT1"', 'assessments["BL"]', "no baseline"]),
    # Issue 7: lengths are finite, from 0 to 1000 mm.
    "length over a metre": (_with("lesions.0.measurements.FU1", 1000.1),
                            [_T1, _MEAS, "1000.1", "at most 1000"]),
    "length under a hundredth of a mm": (_with("lesions.0.measurements.BL", 1e-300),
                                         [_T1, 'measurements["BL"]', "1E-300", "0.01"]),
    "huge float length": (_with("lesions.0.measurements.FU1", 1e308), [_T1, _MEAS, "1E+308"]),
    "huge integer length": (_with("lesions.0.measurements.FU1", 10**30), [_T1, _MEAS]),
    "huge baseline length": (_with("lesions.0.measurements.BL", 1e300),
                             [_T1, 'measurements["BL"]']),
    "huge new-lesion size": (_with("lesions.3.measurements", {"FU2": 1e200}),
                             ['lesion "NEW1"', 'measurements["FU2"]']),
    "new lesion 0 mm at first sighting": (_with("lesions.3.measurements", {"FU2": 0}),
                                          ['lesion "NEW1"', 'measurements["FU2"]',
                                           "first sighting"]),
    "negative iCPD interval": (_with("min_icpd_confirmation_days", -1),
                               ["min_icpd_confirmation_days"]),
    "fractional iCPD interval": (_with("min_icpd_confirmation_days", 2.5),
                                 ["min_icpd_confirmation_days", "2.5"]),
}


@pytest.mark.parametrize("name", list(INVALID))
def test_invalid_input_is_refused_with_a_message_naming_where(name: str) -> None:
    body, fragments = INVALID[name]
    with pytest.raises(InvalidEvaluationInput) as caught:
        evaluate_request(copy.deepcopy(body))
    for fragment in fragments:
        assert fragment in caught.value.message, (name, caught.value.message)
    assert isinstance(caught.value, MeasurementError)


def test_error_carries_structured_location() -> None:
    with pytest.raises(InvalidEvaluationInput) as caught:
        evaluate_request(_with("lesions.0.measurements.FU1", True))
    error = caught.value
    assert (error.lesion_id, error.timepoint_id, error.field) == ("T1", "FU1", "measurements")
    # Issue 16: the choices now name the forms of split and coalesced lesions too.
    assert error.message == ('lesion "T1": measurements["FU1"]: must be a number of mm, '
                             '"too_small", "not_evaluable", "disappeared", {"fragments": '
                             '[mm, ...]} or {"coalesced_into": "<target id>"}, got true')


@pytest.mark.parametrize(("path", "value", "where"), [
    ("lesions.1.is_nodal", True, ("N1", None, "is_nodal")),
    ("lesions.2.assessments.BL", "absent", ("NT1", "BL", "assessments")),
    ("lesions.0.measurements.BL", 0, ("T1", "BL", "measurements")),
    ("lesions.0.measurements.FU2", 1e308, ("T1", "FU2", "measurements")),
])
def test_new_refusals_carry_lesion_timepoint_and_field(
    path: str, value: Any, where: tuple[str, str | None, str]
) -> None:
    with pytest.raises(InvalidEvaluationInput) as caught:
        evaluate_request(_with(path, value))
    error = caught.value
    assert (error.lesion_id, error.timepoint_id, error.field) == where


def test_disappeared_is_a_target_reading_of_0_mm() -> None:
    # The case API's "disappeared" (RECIST 1.1 section 4.3.2: "recorded as 0 mm").
    as_word = evaluate_request(_with("lesions.0.measurements.FU1", "disappeared"))
    as_zero = evaluate_request(_with("lesions.0.measurements.FU1", 0))
    assert as_word == as_zero
    assert as_word["timepoints"][1]["sum_mm"] == 5.0  # 0 + N1 too_small


def test_boundaries_of_lengths_are_accepted() -> None:
    assert evaluate_request(_with("lesions.0.measurements.FU1", 1000))["timepoints"][1][
        "sum_mm"] == 1005.0
    assert evaluate_request(_with("lesions.0.measurements.FU1", -0.0))["timepoints"][1][
        "sum_mm"] == 5.0
    assert evaluate_request(_with("lesions.0.measurements.FU1", 0.01))["timepoints"][1][
        "sum_mm"] == 5.01
    # A new lesion may be recorded 0 mm (resolved) after its first sighting.
    body = _with("timepoints", [*contract_example()["timepoints"],
                                {"id": "FU3", "date": "2026-06-22"}])
    body["lesions"][3]["measurements"] = {"FU2": 7, "FU3": "disappeared"}
    assert parse_evaluation_request(body).new_lesions[0].measurements["FU3"] == 0


def test_request_must_be_an_object() -> None:
    with pytest.raises(InvalidEvaluationInput, match="JSON object"):
        evaluate_request([contract_example()])


def test_domain_types_refuse_invalid_values_too() -> None:
    with pytest.raises(InvalidEvaluationInput, match='lesion "T1": measurements'):
        TargetLesion(id="T1", measurements={"BL": Decimal(-2)})
    with pytest.raises(InvalidEvaluationInput, match='timepoint "BL": date'):
        Timepoint("BL", datetime.datetime(2026, 1, 5, 10, 0))  # type: ignore[arg-type]
    with pytest.raises(InvalidEvaluationInput, match='lesion "T1": measurements'):
        TargetLesion(id="T1", measurements={"BL": Decimal("1000.5")})
    with pytest.raises(InvalidEvaluationInput, match='lesion "T1": measurements'):
        TargetLesion(id="T1", measurements={"BL": Decimal("NaN")})
    with pytest.raises(InvalidEvaluationInput, match='lesion "NT1": assessments'):
        EvaluationInput(criteria=Criteria.RECIST_1_1,
                        timepoints=[Timepoint("BL", datetime.date(2026, 1, 5))],
                        lesions=[NonTargetLesion(id="NT1", assessments={})])
    with pytest.raises(InvalidEvaluationInput, match="criteria"):
        EvaluationInput(criteria="RECIST1.1",  # type: ignore[arg-type]
                        timepoints=[Timepoint("BL", datetime.date(2026, 1, 5))],
                        lesions=[TargetLesion(id="T1", measurements={"BL": Decimal(20)})])


def test_iso_dates_round_trip() -> None:
    response = evaluate_request(contract_example())
    assert [row["date"] for row in response["timepoints"]] == [
        "2026-01-05", "2026-03-02", "2026-04-27"]
