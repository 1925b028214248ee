"""Exception root of the pacs package: every httpx / pynetdicom failure becomes one of these."""

from __future__ import annotations


class PacsError(Exception):
    """Root of every error raised by :mod:`pacs`."""


class OrthancUnavailable(PacsError):
    """Orthanc could not be reached (connection refused, timeout)."""


class OrthancRequestError(PacsError):
    """Orthanc answered with an HTTP error status."""

    def __init__(self, message: str, *, status: int, orthanc_message: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.orthanc_message = orthanc_message


class OrthancNotFound(OrthancRequestError):
    """The resource asked for does not exist (HTTP 404)."""


class OrthancProcessError(PacsError):
    """The Orthanc executable could not be started or did not become ready."""


class OrthancPortInUse(OrthancProcessError):
    """Orthanc exited at start because another process listens on one of its ports."""

    def __init__(self, *, listener: str, port: int, log_file: str) -> None:
        cause = "is already in use by another process"
        if port < 1024:  # the same Orthanc error also means "privileged port, not root"
            cause += ", or privileged"
        super().__init__(
            f"Orthanc could not listen on its {listener} port {port}: the port {cause}; "
            f"choose another port or stop that process (see {log_file})"
        )
        self.listener = listener
        self.port = port


class DimseError(PacsError):
    """A DIMSE association or operation failed."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
