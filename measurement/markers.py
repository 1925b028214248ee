"""Tumour markers followed alongside the lesions (RECIST 1.1 sections 3.2.2, 4.3.3).

A frozen dataclass that validates itself, like the lesion types of
:mod:`measurement.model`; which timepoints its values refer to is checked by
:class:`~measurement.model.EvaluationInput`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

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
