"""Exception root of the imaging package."""

from __future__ import annotations


class ImagingError(Exception):
    """Root of every error raised by :mod:`imaging`."""


class InvalidSeriesError(ImagingError):
    """A series descriptor or dataset cannot be used as given."""

    def __init__(self, message: str, *, series_instance_uid: str | None = None) -> None:
        super().__init__(message)
        self.series_instance_uid = series_instance_uid


class PairingError(ImagingError):
    """Series cannot be paired as asked (duplicate UIDs, a threshold out of range)."""
