"""Builders of ``POST /api/v1/recist/evaluate`` request bodies for the engine tests.

Lesion readings are given positionally, one per timepoint (baseline first): ``None``
leaves the timepoint out of the lesion's mapping (= not evaluated there). Timepoint ids
are ``BL``, ``FU1``, ``FU2``...; dates are ``days`` after 2026-01-05 (default: every
8 weeks, so that the 42-day SD minimum is met from FU1 on).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from measurement.codec import evaluate_request

BASELINE_DATE = datetime.date(2026, 1, 5)
EVERY_8_WEEKS = 56

Reading = float | int | str | None


def tp_id(index: int) -> str:
    return "BL" if index == 0 else f"FU{index}"


def target(lesion_id: str, *sizes: Reading, organ: str = "lung",
           nodal: bool = False) -> dict[str, Any]:
    return {"id": lesion_id, "kind": "target", "organ": organ, "nodal": nodal,
            "measurements": {tp_id(i): s for i, s in enumerate(sizes) if s is not None}}


def non_target(lesion_id: str, *statuses: str | None, organ: str = "liver",
               nodal: bool = False) -> dict[str, Any]:
    return {"id": lesion_id, "kind": "non_target", "organ": organ, "nodal": nodal,
            "assessments": {tp_id(i): s for i, s in enumerate(statuses) if s is not None}}


def new(lesion_id: str, at: int, *, equivocal: bool = False, confirmed_at: int | None = None,
        sizes: dict[int, Reading] | None = None, organ: str = "bone",
        nodal: bool = False) -> dict[str, Any]:
    lesion: dict[str, Any] = {"id": lesion_id, "kind": "new", "organ": organ, "nodal": nodal,
                              "timepoint": tp_id(at), "equivocal": equivocal}
    if confirmed_at is not None:
        lesion["confirmed_at"] = tp_id(confirmed_at)
    if sizes:
        lesion["measurements"] = {tp_id(i): s for i, s in sizes.items()}
    return lesion


def marker(marker_id: str, *levels: float | None, upper_limit_normal: float = 5.0,
           unit: str = "ng/mL") -> dict[str, Any]:
    """A tumour marker with one level per timepoint (baseline first); ``None``: not measured."""
    return {"id": marker_id, "unit": unit, "upper_limit_normal": upper_limit_normal,
            "values": {tp_id(i): level for i, level in enumerate(levels) if level is not None}}


def request(lesions: Sequence[dict[str, Any]], *, timepoints: int | None = None,
            days: Sequence[int] | None = None, criteria: str = "RECIST1.1",
            **options: Any) -> dict[str, Any]:
    if days is None:
        markers = options.get("markers")
        count = timepoints if timepoints is not None else _timepoints_needed(
            [*lesions, *(markers if isinstance(markers, list) else [])])
        days = [EVERY_8_WEEKS * i for i in range(count)]
    body: dict[str, Any] = {
        "criteria": criteria,
        "timepoints": [{"id": tp_id(i), "date": (BASELINE_DATE + datetime.timedelta(d))
                        .isoformat()} for i, d in enumerate(days)],
        "lesions": list(lesions),
    }
    body.update(options)
    return body


def _timepoints_needed(items: Sequence[dict[str, Any]]) -> int:
    """Timepoints that lesions (and markers: ``values``) refer to."""
    longest = 1
    for lesion in items:
        for key in ("measurements", "assessments", "values"):
            for timepoint in lesion.get(key, {}):
                longest = max(longest, 1 if timepoint == "BL" else int(timepoint[2:]) + 1)
        if "timepoint" in lesion:
            longest = max(longest, int(lesion["timepoint"][2:]) + 1)
    return longest


def run(lesions: Sequence[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    return evaluate_request(request(lesions, **kwargs))


def irecist(lesions: Sequence[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    return run(lesions, criteria="iRECIST", **kwargs)


def warning_codes(response: dict[str, Any]) -> list[str]:
    return [w["code"] for w in response["warnings"]]


def column(response: dict[str, Any], key: str) -> list[Any]:
    """One field across the follow-up rows (baseline excluded)."""
    return [row[key] for row in response["timepoints"][1:]]
