"""Benchmark of the RECIST engine: 10 timepoints x 15 lesions of mixed kinds.

Run with ``.venv/bin/pytest bench/ --benchmark-only``; the target is a mean under 1 ms
for :func:`measurement.recist.evaluate`. Not part of the test suite (``tests/`` only),
and no timing is asserted here.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from measurement.codec import evaluate_request, parse_evaluation_request
from measurement.markers import Marker
from measurement.model import (
    Criteria,
    EvaluationInput,
    Lesion,
    NewLesion,
    NonTargetLesion,
    NonTargetStatus,
    TargetLesion,
    TargetReading,
    TargetStatus,
    Timepoint,
)
from measurement.recist import evaluate

TIMEPOINTS = 10


def _timepoints() -> list[Timepoint]:
    start = datetime.date(2026, 1, 5)
    return [Timepoint("BL" if i == 0 else f"FU{i}", start + datetime.timedelta(days=42 * i))
            for i in range(TIMEPOINTS)]


def _case(criteria: Criteria) -> EvaluationInput:
    """8 targets (2 nodal, one too_small and one missing reading), 4 non-targets, 3 new,
    and a tumour marker elevated at baseline."""
    timepoints = _timepoints()
    ids = [tp.id for tp in timepoints]
    lesions: list[Lesion] = []
    for n in range(8):
        readings: dict[str, TargetReading] = {
            tp: Decimal(40 + 3 * n) - Decimal("2.5") * i + (Decimal(4) * i if i > 6 else 0)
            for i, tp in enumerate(ids)}
        if n == 3:
            readings["FU5"] = TargetStatus.TOO_SMALL
        if n == 5:
            del readings["FU4"]
        lesions.append(TargetLesion(id=f"T{n}", organ=f"organ{n % 4}", nodal=n >= 6,
                                    measurements=readings))
    statuses = [NonTargetStatus.PRESENT, NonTargetStatus.ABSENT]
    for n in range(4):
        # Present at baseline (RECIST 1.1 section 4.2), then alternating.
        lesions.append(NonTargetLesion(
            id=f"NT{n}", organ="liver",
            assessments={tp: statuses[(i + n) % 2 if i else 0] for i, tp in enumerate(ids)}))
    lesions.append(NewLesion(id="NEW0", timepoint_id="FU7",
                             measurements={"FU7": Decimal(8), "FU8": Decimal(11)}))
    lesions.append(NewLesion(id="NEW1", timepoint_id="FU8", equivocal=True, confirmed_at="FU9"))
    lesions.append(NewLesion(id="NEW2", timepoint_id="FU9", equivocal=True))
    cea = Marker(id="CEA", unit="ng/mL", upper_limit_normal=Decimal(5),
                 values={tp: Decimal(12) - i for i, tp in enumerate(ids) if i != 4})
    return EvaluationInput(criteria=criteria, timepoints=timepoints, lesions=lesions,
                           markers=[cea])


def _as_json(inp: EvaluationInput) -> dict[str, Any]:
    lesions: list[dict[str, Any]] = []
    for les in inp.lesions:
        if isinstance(les, TargetLesion):
            lesions.append({"id": les.id, "kind": "target", "organ": les.organ,
                            "nodal": les.nodal, "measurements": {
                                tp: v if isinstance(v, TargetStatus) else float(v)
                                for tp, v in les.measurements.items()}})
        elif isinstance(les, NonTargetLesion):
            lesions.append({"id": les.id, "kind": "non_target", "organ": les.organ,
                            "assessments": {tp: s.value for tp, s in les.assessments.items()}})
        else:
            lesions.append({"id": les.id, "kind": "new", "timepoint": les.timepoint_id,
                            "equivocal": les.equivocal, "confirmed_at": les.confirmed_at,
                            "measurements": {tp: float(v) if isinstance(v, Decimal) else v
                                             for tp, v in les.measurements.items()}})
    markers = [{"id": m.id, "unit": m.unit, "upper_limit_normal": float(m.upper_limit_normal),
                "values": {tp: float(v) for tp, v in m.values.items()}} for m in inp.markers]
    return {"criteria": inp.criteria.value, "lesions": lesions, "markers": markers,
            "timepoints": [{"id": tp.id, "date": tp.date.isoformat()} for tp in inp.timepoints]}


def test_engine_recist_10_timepoints_15_lesions(benchmark: Any) -> None:
    inp = _case(Criteria.RECIST_1_1)
    result = benchmark(evaluate, inp)
    assert len(result.timepoints) == TIMEPOINTS


def test_engine_irecist_10_timepoints_15_lesions(benchmark: Any) -> None:
    inp = _case(Criteria.IRECIST)
    result = benchmark(evaluate, inp)
    assert len(result.timepoints) == TIMEPOINTS


def test_parse_evaluate_render_10_timepoints_15_lesions(benchmark: Any) -> None:
    body = _as_json(_case(Criteria.RECIST_1_1))
    parse_evaluation_request(body)  # valid before timing
    response = benchmark(evaluate_request, body)
    assert len(response["timepoints"]) == TIMEPOINTS
