"""Errors of :mod:`imaging.sr`: DICOM documents (TID 1500 SR, Encapsulated PDF) in and out.

Every error carries the UIDs it is about, so that the API layer can name them in its
answer without parsing messages. Library errors (highdicom's ``ValueError`` and
``TypeError``, pydicom's ``InvalidDicomError``) are translated here and never leak.
"""

from __future__ import annotations

from imaging.errors import ImagingError


class DocumentError(ImagingError):
    """Root of every error raised by :mod:`imaging.sr`."""

    def __init__(
        self,
        message: str,
        *,
        sop_instance_uid: str | None = None,
        sop_class_uid: str | None = None,
    ) -> None:
        super().__init__(message)
        self.sop_instance_uid = sop_instance_uid
        self.sop_class_uid = sop_class_uid


class InvalidDocumentInput(DocumentError):
    """A report, measurement or header given to a writer cannot be used as given.

    ``field`` names the offending argument (``"measurements[2].polyline"``).
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class SRWriteError(DocumentError):
    """A Measurement Report could not be built from inputs that were each valid."""


class SRReadError(DocumentError):
    """An object is not a DICOM SR Measurement Report (PS3.16 TID 1500) at all."""


class PDFReadError(DocumentError):
    """An object is not an Encapsulated PDF (PS3.3 A.45.1) or holds no PDF document."""
