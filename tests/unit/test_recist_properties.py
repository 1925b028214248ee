"""Invariants of the RECIST engine over generated valid requests (hypothesis)."""

from __future__ import annotations

import copy
import datetime
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from measurement.codec import evaluate_request
from measurement.errors import InvalidEvaluationInput
from tests.unit.recist_factories import tp_id

RECIST_CODES = {"CR", "PR", "SD", "PD", "NE", "NON_CR_NON_PD"}
IRECIST_CODES = {"iCR", "iPR", "iSD", "iUPD", "iCPD", "NON_CR_NON_PD", "NE"}
CATEGORY_CODES = RECIST_CODES | {"NA"}
I_FORM = {"CR": "iCR", "PR": "iPR", "SD": "iSD", "NON_CR_NON_PD": "NON_CR_NON_PD",
          "NE": "NE"}
RANK = {code: rank for rank, code in enumerate(
    ["NE", "PD", "NON_CR_NON_PD", "SD", "PR", "CR"])}
FOLLOW_UP_KEYS = {
    "id", "date", "sum_mm", "nadir_mm", "change_from_baseline_pct", "change_from_nadir_pct",
    "change_from_nadir_mm", "target_response", "non_target_response", "new_lesions",
    "overall_response", "mixed_response",
}

sizes = st.integers(0, 800).map(lambda tenths: tenths / 10)
# RECIST 1.1 sections 3.1.1, 4.2: a target is measured (> 0 mm) at baseline.
baseline_sizes = st.integers(1, 800).map(lambda tenths: tenths / 10)
organs = st.sampled_from(["lung", " Liver", "liver ", "bone", "adrenal"])
NT_STATUSES = ["present", "absent", "unequivocal_progression", "unequivocal_further_increase",
               "not_evaluated", None]


@st.composite
def targets(draw: st.DrawFn, lesion_id: str, count: int) -> dict[str, Any]:
    readings: dict[str, Any] = {"BL": draw(baseline_sizes)}
    for index in range(1, count):
        reading = draw(st.one_of(sizes, sizes, st.sampled_from(
            ["too_small", "not_evaluable", None])))
        if reading is not None:
            readings[tp_id(index)] = reading
    return {"id": lesion_id, "kind": "target", "organ": draw(organs),
            "nodal": draw(st.booleans()), "measurements": readings}


@st.composite
def non_targets(draw: st.DrawFn, lesion_id: str, count: int) -> dict[str, Any]:
    # RECIST 1.1 section 4.2: every non-target lesion is recorded present at baseline.
    statuses = {"BL": "present"} | {tp_id(i): s for i in range(1, count)
                                    if (s := draw(st.sampled_from(NT_STATUSES))) is not None}
    return {"id": lesion_id, "kind": "non_target", "organ": draw(organs), "nodal": False,
            "assessments": statuses}


@st.composite
def new_lesions(draw: st.DrawFn, lesion_id: str, count: int) -> dict[str, Any]:
    first = draw(st.integers(1, count - 1))
    lesion: dict[str, Any] = {"id": lesion_id, "kind": "new", "organ": draw(organs),
                              "timepoint": tp_id(first), "equivocal": draw(st.booleans())}
    if draw(st.booleans()):
        lesion["confirmed_at"] = tp_id(draw(st.integers(first, count - 1)))
    if draw(st.booleans()):
        lesion["measurements"] = {tp_id(i): draw(st.integers(1, 300).map(lambda t: t / 10))
                                  for i in range(first, count)}
    return lesion


@st.composite
def requests(draw: st.DrawFn, criteria: str | None = None) -> dict[str, Any]:
    count = draw(st.integers(1, 6))
    gaps = draw(st.lists(st.integers(1, 120), min_size=count - 1, max_size=count - 1))
    day, dates = 0, [datetime.date(2026, 1, 5)]
    for gap in gaps:
        day += gap
        dates.append(datetime.date(2026, 1, 5) + datetime.timedelta(day))
    lesions = [draw(targets(f"T{i}", count)) for i in range(draw(st.integers(0, 4)))]
    lesions += [draw(non_targets(f"NT{i}", count)) for i in range(draw(st.integers(0, 3)))]
    if count > 1:
        lesions += [draw(new_lesions(f"NEW{i}", count)) for i in range(draw(st.integers(0, 2)))]
    if not lesions:
        lesions.append(draw(targets("T0", count)))
    body = {
        "criteria": criteria or draw(st.sampled_from(["RECIST1.1", "iRECIST"])),
        "confirmation_required": draw(st.booleans()),
        "min_sd_duration_days": draw(st.integers(0, 100)),
        "min_confirmation_interval_days": draw(st.integers(0, 60)),
        "min_icpd_confirmation_days": draw(st.integers(0, 60)),
        "timepoints": [{"id": tp_id(i), "date": d.isoformat()} for i, d in enumerate(dates)],
        "lesions": lesions,
    }
    if draw(st.booleans()):
        body["markers"] = [draw(markers(f"M{i}", count)) for i in range(draw(st.integers(0, 2)))]
    return body


@st.composite
def markers(draw: st.DrawFn, marker_id: str, count: int) -> dict[str, Any]:
    values = {tp_id(i): v for i in range(count)
              if (v := draw(st.one_of(st.none(), st.integers(0, 200).map(lambda t: t / 10))))
              is not None}
    return {"id": marker_id, "unit": "U/mL", "upper_limit_normal": 5.0, "values": values}


@given(requests(), st.randoms(use_true_random=False))
def test_order_of_lesions_and_of_timepoint_keys_changes_nothing(
    body: dict[str, Any], rnd: Any
) -> None:
    shuffled = copy.deepcopy(body)
    rnd.shuffle(shuffled["lesions"])
    for lesion in shuffled["lesions"]:
        for key in ("measurements", "assessments"):
            if key in lesion:
                items = list(lesion[key].items())
                rnd.shuffle(items)
                lesion[key] = dict(items)
    assert evaluate_request(shuffled) == evaluate_request(body)


@given(requests())
def test_results_are_deterministic_and_plain_json(body: dict[str, Any]) -> None:
    first = evaluate_request(copy.deepcopy(body))
    assert evaluate_request(copy.deepcopy(body)) == first
    assert json.loads(json.dumps(first, allow_nan=False)) == first


@given(requests())
def test_response_shape_and_codes(body: dict[str, Any]) -> None:
    response = evaluate_request(body)
    codes = IRECIST_CODES if body["criteria"] == "iRECIST" else RECIST_CODES
    baseline, *follow_ups = response["timepoints"]
    assert [row["id"] for row in response["timepoints"]] == [
        tp["id"] for tp in body["timepoints"]]
    extra = {"markers"} if body.get("markers") else set()
    assert set(baseline) == {"id", "date", "sum_mm"} | extra
    for row in follow_ups:
        assert set(row) == FOLLOW_UP_KEYS | extra
        assert row["overall_response"] in codes
        assert row["target_response"] in CATEGORY_CODES
        assert row["non_target_response"] in CATEGORY_CODES
    assert response["best_overall_response"] in codes
    assert all(set(w) == {"code", "message"} for w in response["warnings"])


@given(requests(), st.data())
def test_an_unequivocal_new_lesion_always_makes_progression(
    body: dict[str, Any], data: st.DataObject
) -> None:
    count = len(body["timepoints"])
    if count < 2:
        return
    first = data.draw(st.integers(1, count - 1))
    body["lesions"].append({"id": "NEWX", "kind": "new", "organ": "brain",
                            "timepoint": tp_id(first), "equivocal": False})
    response = evaluate_request(body)
    progression = {"iUPD", "iCPD"} if body["criteria"] == "iRECIST" else {"PD"}
    for row in response["timepoints"][first:]:
        assert row["new_lesions"] is True
        assert row["overall_response"] in progression


@st.composite
def shrinking_targets(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(2, 7))
    lesions = []
    for index in range(draw(st.integers(1, 5))):
        series = sorted(draw(st.lists(sizes, min_size=count - 1, max_size=count - 1))
                    + [draw(baseline_sizes)], reverse=True)
        lesions.append({"id": f"T{index}", "kind": "target", "organ": draw(organs),
                        "nodal": draw(st.booleans()),
                        "measurements": {tp_id(i): s for i, s in enumerate(series)}})
    return {"criteria": draw(st.sampled_from(["RECIST1.1", "iRECIST"])),
            "timepoints": [{"id": tp_id(i), "date": (datetime.date(2026, 1, 5)
                            + datetime.timedelta(56 * i)).isoformat()} for i in range(count)],
            "lesions": lesions}


@given(shrinking_targets())
def test_shrinking_every_target_never_yields_target_progression(body: dict[str, Any]) -> None:
    response = evaluate_request(body)
    for row in response["timepoints"][1:]:
        assert row["target_response"] != "PD"
        assert row["overall_response"] not in {"PD", "iUPD", "iCPD"}


@given(requests())
def test_sums_and_nadir_are_consistent(body: dict[str, Any]) -> None:
    response = evaluate_request(body)
    baseline, *follow_ups = response["timepoints"]
    targets_ = [les for les in body["lesions"] if les["kind"] == "target"]
    if not targets_:
        assert baseline["sum_mm"] is None
        return
    expected = sum(t["measurements"]["BL"] for t in targets_)
    assert baseline["sum_mm"] == pytest.approx(expected, abs=1e-9)
    nadirs = [row["nadir_mm"] for row in follow_ups]
    assert all(n <= baseline["sum_mm"] + 1e-9 for n in nadirs)
    assert all(later <= earlier for earlier, later in zip(nadirs, nadirs[1:], strict=False))


@given(requests())
def test_category_verdicts_agree_with_reported_changes(body: dict[str, Any]) -> None:
    # Decisions use exact values; the reported figures are rounded to 0.1 %, so only
    # the consequences that survive rounding are checked.
    for row in evaluate_request(body)["timepoints"][1:]:
        pct = row["change_from_baseline_pct"]
        if row["target_response"] == "PR":
            assert pct is not None and pct <= -30.0
        if row["target_response"] == "SD":
            assert pct is None or pct >= -30.0
            assert row["change_from_nadir_mm"] < 5 or (
                row["change_from_nadir_pct"] is not None and row["change_from_nadir_pct"] <= 20)
        if row["target_response"] == "NE":
            assert row["change_from_nadir_mm"] is None


@given(requests())
def test_confirmation_and_longer_sd_duration_never_improve_best_response(
    body: dict[str, Any]
) -> None:
    relaxed = dict(body, confirmation_required=False, min_sd_duration_days=0)
    strict = dict(body, confirmation_required=True, min_sd_duration_days=90)
    best_relaxed = evaluate_request(relaxed)["best_overall_response"]
    best_strict = evaluate_request(strict)["best_overall_response"]
    if body["criteria"] == "RECIST1.1":
        assert RANK[best_strict] <= RANK[best_relaxed]
        overall = {row["overall_response"] for row in evaluate_request(relaxed)["timepoints"][1:]}
        assert best_relaxed in overall | {"NE"}


@given(requests(criteria="iRECIST"))
def test_icpd_is_final_and_always_follows_iupd(body: dict[str, Any]) -> None:
    overall = [row["overall_response"] for row in evaluate_request(body)["timepoints"][1:]]
    if "iCPD" in overall:
        first = overall.index("iCPD")
        assert first > 0 and overall[first - 1] == "iUPD"
        assert set(overall[first:]) == {"iCPD"}


@given(requests(criteria="RECIST1.1"))
def test_irecist_matches_recist_until_the_first_progression(body: dict[str, Any]) -> None:
    recist = evaluate_request(body)["timepoints"][1:]
    irecist = evaluate_request(dict(body, criteria="iRECIST"))["timepoints"][1:]
    for r_row, i_row in zip(recist, irecist, strict=True):
        for key in ("sum_mm", "nadir_mm", "change_from_baseline_pct"):
            assert r_row[key] == i_row[key]
    # The categories depend on the previous overall response (reappearance after an
    # overall CR is PD), which may differ between the criteria after a progression.
    for r_row, i_row in zip(recist, irecist, strict=True):
        for key in ("target_response", "non_target_response"):
            assert r_row[key] == i_row[key]
        if r_row["overall_response"] == "PD":
            break
    for r_row, i_row in zip(recist, irecist, strict=True):
        if r_row["overall_response"] == "PD":
            assert i_row["overall_response"] == "iUPD"
            break
        assert i_row["overall_response"] == I_FORM[r_row["overall_response"]]


@settings(max_examples=50)
@given(requests(), st.data())
def test_a_boolean_size_is_always_refused_naming_the_lesion(
    body: dict[str, Any], data: st.DataObject
) -> None:
    measured = [les for les in body["lesions"] if les.get("measurements")]
    if not measured:
        return
    lesion = data.draw(st.sampled_from(measured))
    key = data.draw(st.sampled_from(sorted(lesion["measurements"])))
    lesion["measurements"][key] = data.draw(st.booleans())
    with pytest.raises(InvalidEvaluationInput) as caught:
        evaluate_request(body)
    assert f'lesion "{lesion["id"]}": measurements["{key}"]' in caught.value.message


@given(requests(criteria="iRECIST"))
def test_icpd_is_never_earlier_than_the_confirmation_interval(body: dict[str, Any]) -> None:
    # iRECIST: confirmation 4-8 weeks after iUPD (min_icpd_confirmation_days); a later
    # confirming scan is flagged LATE_CONFIRMATION (> 56 days).
    response = evaluate_request(body)
    rows = response["timepoints"][1:]
    overall = [row["overall_response"] for row in rows]
    late = "LATE_CONFIRMATION" in [w["code"] for w in response["warnings"]]
    if "iCPD" not in overall:
        assert not late
        return
    confirmed = overall.index("iCPD")
    start = confirmed
    while start > 0 and overall[start - 1] == "iUPD":
        start -= 1
    gap = (datetime.date.fromisoformat(rows[confirmed]["date"])
           - datetime.date.fromisoformat(rows[start]["date"])).days
    assert gap >= body["min_icpd_confirmation_days"]
    assert late == (gap > 56)


@given(requests())
def test_disease_without_target_lesions_never_has_sd_or_pr(body: dict[str, Any]) -> None:
    # RECIST 1.1 Table 2 (and its footnote); iRECIST Table 3 note.
    body["lesions"] = [les for les in body["lesions"] if les["kind"] != "target"]
    if not body["lesions"]:
        return
    response = evaluate_request(body)
    codes = {row["overall_response"] for row in response["timepoints"][1:]}
    codes.add(response["best_overall_response"])
    assert not codes & {"SD", "iSD", "PR", "iPR"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=5)
    | st.sampled_from(["too_small", "not_evaluable", "disappeared", "present", "absent",
                       "unequivocal_further_increase", "increased", "BL", "FU1", "T1", "N1",
                       "2026-01-05"]),
    # Issue 16: the reading objects of split and coalesced targets, well and badly formed.
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["id", "BL", "FU1", "kind", "values", "x", "fragments",
                         "coalesced_into"]), inner, max_size=3),
    max_leaves=6)


@settings(max_examples=200)
@given(requests(), st.data())
def test_any_value_anywhere_is_evaluated_or_refused_never_crashes(
    body: dict[str, Any], data: st.DataObject
) -> None:
    # Issue 7: the API answers 422 naming where, never 500. Replace one node of the
    # request (at any depth) by an arbitrary JSON value.
    node: Any = body
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            return
        key = data.draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, dict | list) and child and data.draw(st.booleans()):
            node = child
            continue
        node[key] = data.draw(json_values)
        break
    try:
        response = evaluate_request(body)
    except InvalidEvaluationInput as error:
        assert error.message
        return
    json.dumps(response, allow_nan=False)


@given(requests(), st.data())
def test_a_split_reading_answers_as_the_sum_of_its_fragments(
        body: dict[str, Any], data: st.DataObject) -> None:
    # Issue 16, RECIST 1.1 s.4.3.2: "the longest diameters of the fragmented portions
    # should be added together". Any non-nodal follow-up reading of n tenths (n >= 2),
    # recorded instead as two fragments adding up to it, gives the same response.
    spots = [(les, tp) for les in body["lesions"] if les["kind"] == "target"
             and not les["nodal"] for tp, value in les["measurements"].items()
             if tp != "BL" and isinstance(value, float) and value >= 0.2]
    if not spots:
        return
    lesion, tp = data.draw(st.sampled_from(spots))
    whole = evaluate_request(copy.deepcopy(body))
    tenths = round(lesion["measurements"][tp] * 10)
    part = data.draw(st.integers(1, tenths - 1))
    lesion["measurements"][tp] = {"fragments": [part / 10, (tenths - part) / 10]}
    split = evaluate_request(body)
    for row in split["timepoints"][1:]:
        assert {"split", "coalesced"} <= set(row)
        del row["split"], row["coalesced"]
    assert split == whole
