"""Errors of the application layer: what went wrong, in the domain's words.

Nothing here knows HTTP. ``api/errors.py`` alone maps each kind to a status code: a
missing thing is :class:`NotFound`, a request that contradicts the stored state is
:class:`Conflict`, a write based on an old read is :class:`StaleVersion`, input that
cannot be right is :class:`InvalidInput`, a role without the right is
:class:`NotAllowed`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class WorkflowError(Exception):
    """Root of the application layer's errors; ``message`` says what was wrong."""

    def __init__(self, message: str, *, extra: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = dict(extra or {})


class NotAuthenticated(WorkflowError):
    """No credentials, or credentials that name nobody."""


class NotAllowed(WorkflowError):
    """The caller's role may not do this."""


class Blinded(NotAllowed):
    """The reader of a blinded review asks for the reading it reviews (issue 21)."""


class NotFound(WorkflowError):
    """A resource named by the request does not exist (or is not visible here)."""


class CaseNotFound(NotFound):
    def __init__(self, case_id: int) -> None:
        super().__init__(f"unknown case {case_id}")
        self.case_id = case_id


class LesionNotFound(NotFound):
    def __init__(self, lesion_id: int, case_id: int) -> None:
        super().__init__(f"unknown lesion {lesion_id} in case {case_id}")
        self.lesion_id = lesion_id


class TimepointNotFound(NotFound):
    def __init__(self, timepoint_id: str, case_id: int) -> None:
        super().__init__(f"unknown timepoint {timepoint_id!r} in case {case_id}")
        self.timepoint_id = timepoint_id


class PatientNotFound(NotFound):
    def __init__(self, patient_id: str) -> None:
        super().__init__(f"unknown patient_id {patient_id!r}")
        self.patient_id = patient_id


class Conflict(WorkflowError):
    """The request contradicts what is stored (and changes nothing)."""


class GoneFromPacs(Conflict):
    """Images the index lists are no longer in the PACS: deleted there after Nadir indexed
    them. The index forgets them at its next sweep (``pacs.feed``); until then a use case
    that must read them refuses, and changes nothing."""


class TimepointSignedOff(Conflict):
    def __init__(self, timepoint_id: str) -> None:
        super().__init__(f"timepoint {timepoint_id!r} is signed off: a change needs an "
                         "amendment_reason")
        self.timepoint_id = timepoint_id


class DuplicateCase(Conflict):
    """The patient has a case of this baseline and criteria already (``existing_case_id``)."""

    def __init__(self, existing_case_id: int) -> None:
        super().__init__(f"this patient has case {existing_case_id} with the same baseline "
                         "and criteria; open it, or create another with allow_duplicate",
                         extra={"existing_case_id": existing_case_id})
        self.existing_case_id = existing_case_id


class CopyOfAShare(Conflict):
    """The patient is a share's de-identified copy (issue 21): it is read in the share's
    review case only, and its images leave the PACS when the share ends."""

    def __init__(self, patient_id: str, review_case_id: int) -> None:
        super().__init__(f"patient {patient_id!r} is a share's de-identified copy: it is "
                         f"read in review case {review_case_id} only, and its images are "
                         "removed when the share ends; open a case on the original patient")
        self.review_case_id = review_case_id


class IncompleteTimepoint(Conflict):
    """A timepoint cannot be signed off while a lesion that exists there has no reading.

    Nor while the case has no lesion at all: ``missing`` is then empty.

    ``missing`` holds ``(lesion_id, label, kind)`` of each such lesion; the body of the
    answer carries them as ``missing: [{lesion_id, label, kind}]``.
    """

    def __init__(self, timepoint_id: str, missing: Sequence[tuple[int, str, str]]) -> None:
        labels = ", ".join(label for _, label, _ in missing)
        # A case with no lesion has nothing missing and nothing read: signed off, it would
        # look like a complete reading of a patient without disease.
        why = (f"no reading yet of {labels} (measure each, or record a status such as "
               "not_evaluable)" if missing else
               "the case has no lesion yet (add the target and non-target lesions first)")
        super().__init__(
            f"timepoint {timepoint_id!r} cannot be signed off: {why}",
            extra={"timepoint_id": timepoint_id, "missing": [
                {"lesion_id": lid, "label": label, "kind": kind}
                for lid, label, kind in missing]})
        self.timepoint_id = timepoint_id
        self.missing = tuple(missing)


class NotEvaluable(Conflict):
    """The case's measurements do not allow a response yet (e.g. no baseline)."""


class StaleVersion(WorkflowError):
    """The write was based on a version that is no longer current; nothing was changed."""


class InvalidInput(WorkflowError):
    """Input that cannot be right, whatever the stored state."""


class InvalidMeasurement(InvalidInput):
    """A caliper or status that cannot be recorded on this lesion and image."""


class MalformedPayload(WorkflowError):
    """A body that cannot be read at all (not DICOM, not a zip, ...)."""


class RefusedByArchive(MalformedPayload):
    """The image archive refused a file as unreadable (``reason``, its own words, may be
    None); the upload use case names the file."""

    def __init__(self, reason: str | None) -> None:
        super().__init__(f"refused by the PACS ({reason or 'bad file'})")
        self.reason = reason


class PayloadTooLarge(WorkflowError):
    """A body beyond a size limit."""


class UnsupportedMediaType(WorkflowError):
    """A Content-Type this endpoint does not take."""


class NotAcceptable(WorkflowError):
    """No representation matches the request's Accept header."""
