"""Tumour markers followed alongside the lesions (RECIST 1.1 sections 3.2.2, 4.3.3).

A frozen dataclass that validates itself, like the lesion types of
:mod:`measurement.model`; which timepoints its values refer to is checked by
:class:`~measurement.model.EvaluationInput`. Also the one home of the rules that pick,
from the levels recorded for a patient, the level each scan is judged with and the upper
limit it is judged by (used by the case service and the report alike).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Protocol, TypeAlias, TypeVar

from measurement.errors import invalid, marker_subject, quote, shown


@dataclass(frozen=True, kw_only=True)
class Marker:
    """A serum tumour marker followed alongside the lesions (RECIST 1.1 sections 3.2.2, 4.3.3).

    ``values`` maps a timepoint id to the level measured for it, in ``unit``; a timepoint
    missing from the mapping had no measurement. RECIST 1.1 section 3.2.2: markers alone
    never assess response, but one above its upper limit of normal at baseline must
    normalise for a complete response; section 4.3.3 makes that part of the non-target
    category. Nadir contract: a marker not measured at baseline is not known to be
    elevated and is ignored; one not measured at a follow-up is not normalised there.
    """

    id: str
    upper_limit_normal: Decimal
    values: Mapping[str, Decimal]
    unit: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise invalid("marker", "id", f"must be a non-empty string, got {quote(self.id)}")
        subject = marker_subject(self.id)
        if not isinstance(self.unit, str):
            raise invalid(subject, "unit", f"must be a string, got {quote(self.unit)}")
        limit = _amount(self.upper_limit_normal)
        if limit is None or limit <= 0:
            raise invalid(subject, "upper_limit_normal", "must be a finite number > 0, got "
                          f"{shown(self.upper_limit_normal)}")
        object.__setattr__(self, "upper_limit_normal", limit)
        if not isinstance(self.values, Mapping):
            raise invalid(subject, "values", f"must map timepoint ids to levels, got "
                          f"{self.values!r}")
        checked: dict[str, Decimal] = {}
        for timepoint_id, raw in self.values.items():
            where = f"values[{quote(timepoint_id)}]"
            if not isinstance(timepoint_id, str):
                raise invalid(subject, where, "timepoint id must be a string")
            level = _amount(raw)
            if level is None or level < 0:
                raise invalid(subject, where, f"must be a finite number >= 0, got {shown(raw)}",
                              timepoint_id=timepoint_id)
            checked[timepoint_id] = level
        object.__setattr__(self, "values", MappingProxyType(checked))

    def above_normal(self, timepoint_id: str) -> bool | None:
        """Whether the level at ``timepoint_id`` is above the upper limit of normal.

        ``None`` when it was not measured there. At the limit is within normal.
        """
        level = self.values.get(timepoint_id)
        return None if level is None else level > self.upper_limit_normal


def _amount(value: object) -> Decimal | None:
    """An exact number from a Decimal, int or float (never a bool), else ``None``.

    Finite, and within what a JSON double can carry back out (an integer of 400 digits
    would otherwise come back as Infinity in the result).
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = repr(value)
    result = Decimal(value)
    return result if result.is_finite() and math.isfinite(float(result)) else None


# Nadir default: a marker drawn within two weeks of a scan belongs to that timepoint
# (RECIST 1.1 gives no window; the case sets its own, 0-365 days).
MARKER_WINDOW_DAYS = 14

MarkerKey: TypeAlias = tuple[str, str]  # (name, unit): the same name in another unit is
# another series


class MarkerLevel(Protocol):
    """One recorded level of a serum marker, as plain values (a stored row fits)."""

    @property
    def id(self) -> int: ...  # recording order: on a tie the latest recorded wins
    @property
    def name(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def value(self) -> float: ...
    @property
    def upper_limit_normal(self) -> float: ...
    @property
    def date(self) -> datetime.date: ...


_L = TypeVar("_L", bound=MarkerLevel)


def levels_at_timepoints(levels: Sequence[_L], scans: Sequence[tuple[str, datetime.date]],
                         window_days: int) -> dict[MarkerKey, dict[str, _L]]:
    """Each marker's level at each scan (timepoint id, date): the one drawn nearest the
    scan's date within ``window_days``; on a tie the one drawn before the scan, then the
    latest recorded (Nadir contract; RECIST 1.1 section 3.2.2 sets no window)."""
    groups: dict[MarkerKey, list[_L]] = {}
    for level in levels:
        groups.setdefault((level.name, level.unit), []).append(level)
    chosen_by_marker: dict[MarkerKey, dict[str, _L]] = {}
    for key, series in sorted(groups.items()):
        chosen: dict[str, _L] = {}
        for timepoint_id, scan in scans:
            near = [v for v in series if abs((v.date - scan).days) <= window_days]
            if near:
                chosen[timepoint_id] = min(
                    near, key=lambda v: (abs((v.date - scan).days), v.date > scan, -v.id))
        chosen_by_marker[key] = chosen
    return chosen_by_marker


def judging_limit(chosen: Mapping[str, MarkerLevel], baseline_id: str) -> float:
    """The upper limit of normal a series is judged by: that of the baseline level (RECIST
    1.1 section 4.3.3 asks whether a marker elevated at baseline is back within normal
    limits), else that of the latest level used. ``chosen`` is not empty."""
    first = chosen.get(baseline_id) or list(chosen.values())[-1]
    return first.upper_limit_normal


def engine_markers(levels: Sequence[MarkerLevel], scans: Sequence[tuple[str, datetime.date]],
                   window_days: int) -> list[Marker]:
    """The engine's markers: each series' level at each scan (see
    :func:`levels_at_timepoints`), judged by :func:`judging_limit`. ``scans`` are in date
    order, the baseline first."""
    markers = []
    for (name, unit), chosen in levels_at_timepoints(levels, scans, window_days).items():
        if not chosen:
            continue
        markers.append(Marker(
            id=name, unit=unit,
            upper_limit_normal=_decimal(judging_limit(chosen, scans[0][0])),
            values={tp: _decimal(v.value) for tp, v in chosen.items()}))
    return markers


def _decimal(value: float) -> Decimal:
    # repr() is the shortest text that reads back as the same float: 5.0 stays 5.0.
    return Decimal(repr(value))
