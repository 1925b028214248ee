"""How a size or a change is written for people: one decimal, halves away from zero.

The workstation, the HTML and PDF reports, their charts and the key images all write the
same number the same way, so a sum read on screen is the sum read in the report. The rule
works on the number's shortest decimal form (Python's ``repr``, JavaScript's ``String``;
both give the same digits for one double), not on its binary expansion: 38.25 is written
38.3 and 0.15 is written 0.2, as a reader rounding by hand would write them. Python's own
``f"{x:.1f}"`` rounds the binary value half to even (38.25 gives 38.2, 0.15 gives 0.1) and
JavaScript's ``toFixed`` rounds it half up (38.3, 0.1): neither matches the other, which
is why both sides use this rule (``web/src/figures.ts`` is its twin). Pure: no I/O.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Context, Decimal

_TENTH = Decimal("0.1")
#: Enough digits for any float (at most 309 before the point) and one after it.
_WIDE = Context(prec=400)


def tenths(value: float | Decimal) -> str:
    """``value`` with one decimal, halves away from zero: ``38.25`` gives ``"38.3"``,
    ``-0.04`` gives ``"0.0"`` (no negative zero)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"cannot write {value!r} as a figure")
    exact = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    rounded = exact.quantize(_TENTH, rounding=ROUND_HALF_UP, context=_WIDE)
    return f"{rounded.copy_abs() if rounded.is_zero() else rounded:f}"


def signed_tenths(value: float | Decimal) -> str:
    """``value`` with one decimal and its sign: ``"+2.5"``, ``"-2.5"``, ``"0.0"``."""
    text = tenths(value)
    return text if text.startswith("-") or text == "0.0" else f"+{text}"
