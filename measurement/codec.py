"""Conversion between the JSON of ``POST /api/v1/recist/evaluate`` and the domain types.

Pure functions over already-parsed JSON (``dict`` / ``list`` / ``str`` / numbers), no web
framework. Parsing is strict (Nadir contract): every structural problem raises
:class:`~measurement.errors.InvalidEvaluationInput` naming the lesion, marker or
timepoint id and the field, e.g. ``lesion "T1": measurements["FU1"]: must be a number of
mm, "too_small", "not_evaluable" or "disappeared", got true``. An unknown key anywhere
is refused (``is_nodal`` for ``nodal`` would otherwise pass silently). The JSON types are
checked here; the values (ranges, baseline rules, cross-references) by the domain types
themselves, whose errors already name where. A target or new-lesion reading
``"disappeared"`` is 0 mm, as in the case API. A new lesion may also be recorded
``"present"``, ``"increased"`` or ``"absent"`` (an iRECIST new-lesion non-target,
:class:`~measurement.model.NewLesionStatus`).

The response is rendered with exactly the contract's keys: the baseline row carries
``id``, ``date`` and ``sum_mm`` only; sizes and percentages are JSON numbers, ``null``
where the contract says so. When the request has ``markers``, every row (baseline
included) also carries ``markers``: ``[{"id", "unit", "value", "upper_limit_normal"}]``,
``value`` ``null`` where the marker was not measured. When a target split or coalesced
at any timepoint (RECIST 1.1 section 4.3.2), every follow-up row also carries ``split``:
``[{"id", "fragments_mm", "sum_mm"}]`` and ``coalesced``: ``[{"id", "into"}]``.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, TypeGuard, TypeVar

from measurement.errors import (
    InvalidEvaluationInput,
    invalid,
    lesion_subject,
    marker_subject,
    quote,
    timepoint_subject,
)
from measurement.markers import Marker
from measurement.model import (
    CoalescedInto,
    Criteria,
    EvaluationInput,
    EvaluationOptions,
    Fragments,
    Lesion,
    NewLesion,
    NewLesionReading,
    NewLesionStatus,
    NonTargetLesion,
    NonTargetStatus,
    TargetLesion,
    TargetReading,
    TargetStatus,
    Timepoint,
)
from measurement.recist import evaluate
from measurement.result import EvaluationResult, MarkerValue, TimepointResult

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DISAPPEARED = "disappeared"  # the case API's status for a lesion no longer seen: 0 mm
_TARGET_READING_CHOICES = ('a number of mm, "too_small", "not_evaluable", "disappeared", '
                           '{"fragments": [mm, ...]} or {"coalesced_into": "<target id>"}')
_NEW_READING_CHOICES = ('a number of mm, "too_small", "not_evaluable", "disappeared", '
                        '"present", "increased" or "absent"')
_KINDS = ("target", "non_target", "new")
_T = TypeVar("_T", str, bool)
_CRITERIA = {criteria.value: criteria for criteria in Criteria}
_TARGET_STATUSES = {status.value: status for status in TargetStatus}
_NON_TARGET_STATUSES = {status.value: status for status in NonTargetStatus}
_NEW_LESION_STATUSES = {status.value: status for status in NewLesionStatus}
_ZERO_MM = Decimal(0)
_DAY_OPTIONS = ("min_sd_duration_days", "min_confirmation_interval_days",
                "min_icpd_confirmation_days")
# The keys each object of the request may carry (Nadir contract).
_REQUEST_KEYS = frozenset({"criteria", "timepoints", "lesions", "markers",
                           "confirmation_required", *_DAY_OPTIONS})
_TIMEPOINT_KEYS = frozenset({"id", "date"})
_LESION_KEYS = {
    "target": frozenset({"id", "kind", "organ", "nodal", "measurements"}),
    "non_target": frozenset({"id", "kind", "organ", "nodal", "assessments"}),
    "new": frozenset({"id", "kind", "organ", "nodal", "timepoint", "equivocal",
                      "confirmed_at", "measurements"}),
}
_MARKER_KEYS = frozenset({"id", "unit", "upper_limit_normal", "values"})


def evaluate_request(payload: object) -> dict[str, Any]:
    """Parse, evaluate and render one evaluate request (the whole endpoint, minus HTTP)."""
    return result_to_json(evaluate(parse_evaluation_request(payload)))


def parse_evaluation_request(payload: object) -> EvaluationInput:
    """Domain input from the request body of ``POST /api/v1/recist/evaluate``."""
    if not isinstance(payload, Mapping):
        raise invalid("request", "body", f"must be a JSON object, got {_kind_of(payload)}")
    _known_keys("request", payload, _REQUEST_KEYS)
    return EvaluationInput(
        criteria=_criteria(payload.get("criteria")),
        timepoints=_timepoints(payload.get("timepoints")),
        lesions=_lesions(payload.get("lesions")),
        options=_options(payload),
        markers=_markers(payload.get("markers")),
    )


def _known_keys(subject: str, item: Mapping[str, object], allowed: frozenset[str], *,
                lesion_id: str | None = None, timepoint_id: str | None = None) -> None:
    for key in item:
        if key not in allowed:
            raise invalid(subject, str(key), "unknown key; expected one of "
                          + ", ".join(quote(name) for name in sorted(allowed)),
                          lesion_id=lesion_id, timepoint_id=timepoint_id)


def _criteria(value: object) -> Criteria:
    if isinstance(value, str) and value in _CRITERIA:
        return _CRITERIA[value]
    raise invalid("request", "criteria",
                  f'must be "RECIST1.1" or "iRECIST", got {quote(value)}')


def _options(payload: Mapping[str, object]) -> EvaluationOptions:
    defaults = EvaluationOptions()
    confirmation = payload.get("confirmation_required")
    if confirmation is None:
        confirmation = defaults.confirmation_required
    if not isinstance(confirmation, bool):
        raise invalid("request", "confirmation_required",
                      f"must be true or false, got {quote(confirmation)}")
    days = {name: _days(payload, name, getattr(defaults, name)) for name in _DAY_OPTIONS}
    return EvaluationOptions(confirmation_required=confirmation, **days)


def _days(payload: Mapping[str, object], name: str, default: int) -> int:
    value = payload.get(name)
    if value is None:
        return default
    # A JSON number that is a whole number (42 or 42.0) is accepted; anything else not.
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise invalid("request", name, f"must be an integer >= 0, got {quote(value)}")
    return value


def _timepoints(value: object) -> list[Timepoint]:
    if not isinstance(value, list):
        raise invalid("request", "timepoints", f"must be a list, got {_kind_of(value)}")
    return [_timepoint(position, item) for position, item in enumerate(value)]


def _timepoint(position: int, item: object) -> Timepoint:
    if not isinstance(item, Mapping):
        raise invalid(f"timepoints[{position}]", "timepoint",
                      f"must be an object, got {_kind_of(item)}")
    timepoint_id = item.get("id")
    if not isinstance(timepoint_id, str) or not timepoint_id:
        raise invalid(f"timepoints[{position}]", "id",
                      f"must be a non-empty string, got {quote(timepoint_id)}")
    _known_keys(timepoint_subject(timepoint_id), item, _TIMEPOINT_KEYS,
                timepoint_id=timepoint_id)
    return Timepoint(timepoint_id, _date(timepoint_id, item.get("date")))


def _date(timepoint_id: str, value: object) -> datetime.date:
    problem = f"must be an ISO date YYYY-MM-DD, got {quote(value)}"
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise invalid(timepoint_subject(timepoint_id), "date", problem,
                      timepoint_id=timepoint_id)
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise invalid(timepoint_subject(timepoint_id), "date", problem,
                      timepoint_id=timepoint_id) from None


def _lesions(value: object) -> list[Lesion]:
    if not isinstance(value, list):
        raise invalid("request", "lesions", f"must be a list, got {_kind_of(value)}")
    return [_lesion(position, item) for position, item in enumerate(value)]


def _lesion(position: int, item: object) -> Lesion:
    if not isinstance(item, Mapping):
        raise invalid(f"lesions[{position}]", "lesion", f"must be an object, got "
                      f"{_kind_of(item)}")
    lesion_id = item.get("id")
    if not isinstance(lesion_id, str) or not lesion_id:
        raise invalid(f"lesions[{position}]", "id",
                      f"must be a non-empty string, got {quote(lesion_id)}")
    kind = item.get("kind")
    if isinstance(kind, str) and kind in _LESION_KEYS:
        _known_keys(lesion_subject(lesion_id), item, _LESION_KEYS[kind], lesion_id=lesion_id)
    organ = _optional(lesion_id, item, "organ", str, "")
    nodal = _optional(lesion_id, item, "nodal", bool, False)
    if kind == "target":
        return TargetLesion(id=lesion_id, organ=organ, nodal=nodal,
                            measurements=_readings(lesion_id, item.get("measurements")))
    if kind == "non_target":
        return NonTargetLesion(id=lesion_id, organ=organ, nodal=nodal,
                               assessments=_assessments(lesion_id, item.get("assessments")))
    if kind == "new":
        return _new_lesion(lesion_id, item, organ, nodal)
    raise invalid(lesion_subject(lesion_id), "kind",
                  f"must be one of {', '.join(map(quote, _KINDS))}, got {quote(kind)}",
                  lesion_id=lesion_id)


def _new_lesion(lesion_id: str, item: Mapping[str, object], organ: str,
                nodal: bool) -> NewLesion:
    first_seen = item.get("timepoint")
    if not isinstance(first_seen, str) or not first_seen:
        raise invalid(lesion_subject(lesion_id), "timepoint",
                      f"must be the id of the timepoint of first sighting, got "
                      f"{quote(first_seen)}", lesion_id=lesion_id)
    confirmed_at = item.get("confirmed_at")
    if confirmed_at is not None and (not isinstance(confirmed_at, str) or not confirmed_at):
        raise invalid(lesion_subject(lesion_id), "confirmed_at",
                      f"must be a timepoint id, got {quote(confirmed_at)}",
                      lesion_id=lesion_id)
    return NewLesion(
        id=lesion_id, organ=organ, nodal=nodal, timepoint_id=first_seen,
        equivocal=_optional(lesion_id, item, "equivocal", bool, False),
        confirmed_at=confirmed_at,
        measurements=_new_readings(lesion_id, item.get("measurements")),
    )


def _optional(lesion_id: str, item: Mapping[str, object], name: str,
              expected: type[_T], default: _T) -> _T:
    value = item.get(name)
    if value is None:
        return default
    if not isinstance(value, expected):
        article = "true or false" if expected is bool else "a string"
        raise invalid(lesion_subject(lesion_id), name,
                      f"must be {article}, got {quote(value)}", lesion_id=lesion_id)
    return value


def _readings(lesion_id: str, value: object) -> dict[str, TargetReading]:
    entries = _mapping(lesion_id, "measurements", value)
    readings: dict[str, TargetReading] = {}
    for timepoint_id, raw in entries.items():
        if isinstance(raw, Mapping):
            readings[timepoint_id] = _split_or_merged(lesion_id, timepoint_id, raw)
        else:
            readings[timepoint_id] = _reading(lesion_id, timepoint_id, raw,
                                              _TARGET_READING_CHOICES)
    return readings


def _split_or_merged(lesion_id: str, timepoint_id: str,
                     raw: Mapping[str, object]) -> Fragments | CoalescedInto:
    """RECIST 1.1 section 4.3.2: ``{"fragments": [mm, mm, ...]}`` for a target that
    split, ``{"coalesced_into": "<target id>"}`` for one merged into another."""
    subject, where = lesion_subject(lesion_id), f"measurements[{quote(timepoint_id)}]"
    keys = sorted(str(key) for key in raw)
    if keys not in (["fragments"], ["coalesced_into"]):
        raise invalid(subject, where, 'an object must hold exactly one key, "fragments" or '
                      f'"coalesced_into", got {", ".join(map(quote, keys)) or "none"}',
                      lesion_id=lesion_id, timepoint_id=timepoint_id)
    value = raw[keys[0]]
    if keys == ["coalesced_into"]:
        if not isinstance(value, str) or not value:
            raise invalid(subject, f"{where}.coalesced_into",
                          f"must be the id of a target lesion, got {quote(value)}",
                          lesion_id=lesion_id, timepoint_id=timepoint_id)
        return CoalescedInto(value)
    if not isinstance(value, list) or not all(_is_number(size) for size in value):
        raise invalid(subject, f"{where}.fragments",
                      f"must be a list of numbers of mm, got {_kind_of(value)}",
                      lesion_id=lesion_id, timepoint_id=timepoint_id)
    try:
        return Fragments(tuple(_exact(size) for size in value))
    except InvalidEvaluationInput as exc:
        raise invalid(subject, where, exc.message, lesion_id=lesion_id,
                      timepoint_id=timepoint_id) from None


def _new_readings(lesion_id: str, value: object) -> dict[str, NewLesionReading]:
    readings: dict[str, NewLesionReading] = {}
    for timepoint_id, raw in _mapping(lesion_id, "measurements", value).items():
        if isinstance(raw, str) and raw in _NEW_LESION_STATUSES:
            readings[timepoint_id] = _NEW_LESION_STATUSES[raw]
        else:
            readings[timepoint_id] = _reading(lesion_id, timepoint_id, raw,
                                              _NEW_READING_CHOICES)
    return readings


def _reading(lesion_id: str, timepoint_id: str, raw: object,
             choices: str) -> Decimal | TargetStatus:
    """The JSON type of a reading; its value is checked by the lesion itself."""
    if isinstance(raw, str):
        if raw in _TARGET_STATUSES:
            return _TARGET_STATUSES[raw]
        if raw == _DISAPPEARED:
            return _ZERO_MM
    elif _is_number(raw):
        return _exact(raw)
    raise invalid(lesion_subject(lesion_id), f"measurements[{quote(timepoint_id)}]",
                  f"must be {choices}, got {quote(raw)}",
                  lesion_id=lesion_id, timepoint_id=timepoint_id)


def _assessments(lesion_id: str, value: object) -> dict[str, NonTargetStatus]:
    statuses: dict[str, NonTargetStatus] = {}
    for timepoint_id, raw in _mapping(lesion_id, "assessments", value).items():
        status = _NON_TARGET_STATUSES.get(raw) if isinstance(raw, str) else None
        if status is None:
            raise invalid(lesion_subject(lesion_id), f"assessments[{quote(timepoint_id)}]",
                          "must be one of " + ", ".join(quote(s.value) for s in NonTargetStatus)
                          + f", got {quote(raw)}",
                          lesion_id=lesion_id, timepoint_id=timepoint_id)
        statuses[timepoint_id] = status
    return statuses


def _mapping(lesion_id: str, name: str, value: object) -> Mapping[str, object]:
    # Absent means "no readings": for a target that is then reported as a missing
    # baseline measurement by EvaluationInput.
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise invalid(lesion_subject(lesion_id), name,
                      f"must be an object keyed by timepoint id, got {_kind_of(value)}",
                      lesion_id=lesion_id)
    return value


def _kind_of(value: object) -> str:
    if isinstance(value, str | int | float | bool) or value is None:
        return quote(value)
    return "an array" if isinstance(value, list) else type(value).__name__


def _markers(value: object) -> list[Marker]:
    """RECIST 1.1 section 3.2.2: tumour markers, optional (absent or null: none)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid("request", "markers", f"must be a list, got {_kind_of(value)}")
    return [_marker(position, item) for position, item in enumerate(value)]


def _marker(position: int, item: object) -> Marker:
    if not isinstance(item, Mapping):
        raise invalid(f"markers[{position}]", "marker", f"must be an object, got "
                      f"{_kind_of(item)}")
    marker_id = item.get("id")
    if not isinstance(marker_id, str) or not marker_id.strip():
        raise invalid(f"markers[{position}]", "id",
                      f"must be a non-empty string, got {quote(marker_id)}")
    subject = marker_subject(marker_id)
    _known_keys(subject, item, _MARKER_KEYS)
    unit = item.get("unit", "")
    if not isinstance(unit, str):
        raise invalid(subject, "unit", f"must be a string, got {quote(unit)}")
    limit = item.get("upper_limit_normal")
    if not _is_number(limit):
        raise invalid(subject, "upper_limit_normal", f"must be a number, got {quote(limit)}")
    raw_values = item.get("values")
    if raw_values is None:
        raw_values = {}
    if not isinstance(raw_values, Mapping):
        raise invalid(subject, "values", f"must be an object keyed by timepoint id, got "
                      f"{_kind_of(raw_values)}")
    values: dict[str, Decimal] = {}
    for timepoint_id, level in raw_values.items():
        if not _is_number(level):
            raise invalid(subject, f"values[{quote(timepoint_id)}]",
                          f"must be a number, got {quote(level)}", timepoint_id=timepoint_id)
        values[timepoint_id] = _exact(level)
    return Marker(id=marker_id, unit=unit, upper_limit_normal=_exact(limit), values=values)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _exact(value: int | float) -> Decimal:
    """A JSON number as an exact Decimal; the domain type checks its range.

    Floats go through their shortest repr (32.1 stays Decimal("32.1")); NaN and the
    infinities become Decimal NaN / Infinity, which the domain types refuse by name.
    """
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def result_to_json(result: EvaluationResult) -> dict[str, Any]:
    """The contract's response body for an :class:`EvaluationResult`."""
    # RECIST 1.1 section 4.3.2: once any target split or coalesced, every follow-up row
    # says which did there (empty lists elsewhere), so clients read one shape.
    changes = any(row.split_lesions or row.coalesced_lesions for row in result.timepoints)
    return {
        "criteria": result.criteria.value,
        "timepoints": [_row(row, changes) for row in result.timepoints],
        "best_overall_response": result.best_overall_response.value,
        "warnings": [{"code": w.code.value, "message": w.message} for w in result.warnings],
    }


def _row(row: TimepointResult, changes: bool) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": row.timepoint.id,
        "date": row.timepoint.date.isoformat(),
        "sum_mm": _number(row.sum_mm),
    }
    if row.markers:
        base["markers"] = [_marker_json(value) for value in row.markers]
    if row.is_baseline:
        return base
    base.update({
        "nadir_mm": _number(row.nadir_mm),
        "change_from_baseline_pct": _number(row.change_from_baseline_pct),
        "change_from_nadir_pct": _number(row.change_from_nadir_pct),
        "change_from_nadir_mm": _number(row.change_from_nadir_mm),
        "target_response": _code(row.target_response),
        "non_target_response": _code(row.non_target_response),
        "new_lesions": row.new_lesions,
        "overall_response": _code(row.overall_response),
        "mixed_response": row.mixed_response,
    })
    if changes:
        base["split"] = [{"id": s.lesion_id, "fragments_mm": [float(f) for f in s.fragments_mm],
                          "sum_mm": float(s.total_mm)} for s in row.split_lesions]
        base["coalesced"] = [{"id": c.lesion_id, "into": c.into}
                             for c in row.coalesced_lesions]
    return base


def _marker_json(value: MarkerValue) -> dict[str, Any]:
    return {"id": value.marker_id, "unit": value.unit, "value": _number(value.value),
            "upper_limit_normal": float(value.upper_limit_normal)}


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _code(value: object) -> str | None:
    return None if value is None else str(value)
