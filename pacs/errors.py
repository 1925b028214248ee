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


class BindShimUnavailable(OrthancProcessError):
    """The library that keeps Orthanc's listeners on loopback could not be built or found."""


class DimseError(PacsError):
    """A DIMSE association or operation failed.

    ``stored`` lists the SOP Instance UIDs the peer acknowledged before the failure (a caller
    can resume after them); ``sop_instance_uid`` names the instance that was not stored.
    ``retryable`` says whether the same send may succeed later without anyone changing it.
    """

    retryable: bool = False

    def __init__(self, message: str, *, status: int | None = None,
                 sop_instance_uid: str | None = None, stored: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.sop_instance_uid = sop_instance_uid
        self.stored = stored


class AssociationRejected(DimseError):
    """The peer answered the association request with A-ASSOCIATE-RJ (PS3.8 7.1.1.9).

    Retryable: a peer that does not know our AE title yet may be configured later, and a
    transient rejection says so itself."""

    retryable = True

    def __init__(self, message: str, *, calling_aet_unknown: bool,
                 stored: tuple[str, ...] = ()) -> None:
        super().__init__(message, stored=stored)
        #: The peer said it does not know our AE title (registration is what is missing).
        self.calling_aet_unknown = calling_aet_unknown


class PeerUnreachable(DimseError):
    """No TCP connection to the peer, or no answer to the association request."""

    retryable = True


class NoResponse(DimseError):
    """The peer acknowledged an instance on none of the attempts (no or invalid response,
    or the association dropped), each on a fresh association."""

    retryable = True


class StoreRefused(DimseError):
    """The peer answered C-STORE with a failure status (PS3.4 B.2.3): not stored.

    Only "out of resources" (0xA7xx) may pass by itself; any other refusal needs the object
    or the peer to change."""

    def __init__(self, message: str, *, status: int, sop_instance_uid: str,
                 stored: tuple[str, ...] = ()) -> None:
        super().__init__(message, status=status, sop_instance_uid=sop_instance_uid,
                         stored=stored)
        self.retryable = 0xA700 <= status <= 0xA7FF
