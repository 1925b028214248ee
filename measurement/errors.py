"""Exception root of the measurement package.

Every error the RECIST engine raises is a :class:`MeasurementError`. It carries the
structured location of the problem (lesion id, timepoint id, field) so that the API
layer can report it without parsing the message, and a message that already names
them for a human reader.
"""

from __future__ import annotations

import json
from decimal import Decimal


class MeasurementError(Exception):
    """Root of every error raised by :mod:`measurement`."""

    def __init__(
        self,
        message: str,
        *,
        lesion_id: str | None = None,
        timepoint_id: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.lesion_id = lesion_id
        self.timepoint_id = timepoint_id
        self.field = field


class InvalidEvaluationInput(MeasurementError):
    """The timepoints and lesions handed to the engine are structurally invalid.

    Nothing is computed from such input; the API answers 422 with :attr:`message`.
    """


def quote(value: object) -> str:
    """Render ``value`` the way it appeared in the JSON request (``"T1"``, ``true``, ``null``)."""
    try:
        return json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        return repr(value)


def shown(value: object) -> str:
    """A value as the request showed it: ``-1``, ``NaN``, ``Infinity``, ``true``."""
    if isinstance(value, Decimal):
        return str(value)
    return quote(value)


def invalid(
    subject: str,
    field: str,
    problem: str,
    *,
    lesion_id: str | None = None,
    timepoint_id: str | None = None,
) -> InvalidEvaluationInput:
    """Build the one error shape of this package: ``<subject>: <field>: <problem>``.

    ``subject`` is e.g. ``lesion "T1"``, ``timepoint "FU1"`` or ``request``; ``field``
    may carry a key (``measurements["FU1"]``), the structured :attr:`field` keeps only
    the name (``measurements``).
    """
    return InvalidEvaluationInput(
        f"{subject}: {field}: {problem}",
        lesion_id=lesion_id,
        timepoint_id=timepoint_id,
        field=field.split("[", 1)[0],
    )


def lesion_subject(lesion_id: str) -> str:
    """``lesion "T1"``: how messages name a lesion."""
    return f"lesion {quote(lesion_id)}"


def timepoint_subject(timepoint_id: str) -> str:
    """``timepoint "FU1"``: how messages name a timepoint."""
    return f"timepoint {quote(timepoint_id)}"


def marker_subject(marker_id: str) -> str:
    """``marker "CEA"``: how messages name a tumour marker."""
    return f"marker {quote(marker_id)}"
