"""Errors of the specialist report's presentation layer.

:class:`ReportError` is the root; :class:`InvalidReportData` says which field of which
report type was refused and why, so the API layer can answer without parsing the message.
"""

from __future__ import annotations


class ReportError(Exception):
    """Root of every error raised by :mod:`api.report`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidReportData(ReportError):
    """A report type was built with a value it cannot show (``owner.field`` names it)."""

    def __init__(self, owner: str, field: str, message: str) -> None:
        super().__init__(f"{owner}.{field} {message}")
        self.owner = owner
        self.field = field
