"""A share of a case for a second opinion (issue 21), as plain domain types.

A share is a de-identified copy of the case's timepoint studies (a patient of its own in
the same Orthanc, named by the share's pseudonym), a review case over that copy, and a
token for one outside reader (role ``reviewer``) that expires. ``api.db.models`` maps
:class:`Share` onto its table; nothing here knows the database or Orthanc.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from api.workflow.domain import utcnow
from api.workflow.errors import InvalidInput

#: How long a share may be open: a day to three months.
MIN_EXPIRY_DAYS = 1
MAX_EXPIRY_DAYS = 90
MAX_NOTE_CHARS = 2000


@dataclass(frozen=True)
class NewShare:
    """What a radiologist asks for; refused (InvalidInput naming the field) if invalid."""

    expires_in_days: int = 14
    blinded: bool = True
    include_measurements: bool = False
    note: str = ""

    def __post_init__(self) -> None:
        if not MIN_EXPIRY_DAYS <= self.expires_in_days <= MAX_EXPIRY_DAYS:
            raise InvalidInput(f"expires_in_days must be within {MIN_EXPIRY_DAYS}-"
                               f"{MAX_EXPIRY_DAYS}, got {self.expires_in_days}")
        if len(self.note) > MAX_NOTE_CHARS:
            raise InvalidInput(f"note must be at most {MAX_NOTE_CHARS} characters, got "
                               f"{len(self.note)}")
        if self.include_measurements and self.blinded:
            raise InvalidInput("include_measurements needs a share that is not blinded: a "
                               "blinded reviewer may not see the primary reading")


@dataclass(frozen=True)
class CopiedSeriesLeftOut:
    """A series of the original the copy does not have, and why (shown to the sharer)."""

    study_uid: str
    series_uid: str
    series_number: int | None
    modality: str
    reason: str


@dataclass(frozen=True)
class DeidentifiedCopy:
    """What the PACS made: the copy's Orthanc patient (None if nothing could be copied),
    each study's new UID (original -> copy), the series left out, the date offset, and
    ``uid_of``, the copy's UID of any original UID (None if the copy has none)."""

    orthanc_patient: str | None
    studies: dict[str, str]
    left_out: tuple[CopiedSeriesLeftOut, ...]
    offset_days: int
    uid_of: Callable[[str], str | None]


@dataclass(kw_only=True, eq=False)
class Share:
    id: int = field(init=False)
    case_id: int
    review_case_id: int
    #: The original patient (audits of the share's use go there) and the copy's.
    patient_id: str
    pseudonym: str
    #: The share's user (role reviewer), who holds its token.
    user_id: int
    reviewer: str
    copy_patient: str | None
    offset_days: int
    blinded: bool
    include_measurements: bool
    note: str = ""
    #: [{"source": study uid, "copy": study uid}], timepoint order.
    studies: list[Any] = field(default_factory=list)
    #: [{"study_uid", "series_uid", "series_number", "modality", "reason"}].
    left_out: list[Any] = field(default_factory=list)
    created_by: str
    created_at: dt.datetime = field(default_factory=utcnow)
    expires_at: dt.datetime
    revoked_at: dt.datetime | None = None
    revoked_by: str | None = None
    #: When the de-identified copy was purged from the PACS (api.workflow.share_purge).
    purged_at: dt.datetime | None = None

    def state(self, now: dt.datetime) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"

    def ended_at(self) -> dt.datetime:
        """When the share stopped: its revocation, or its expiry if that came first."""
        ends = [self.expires_at]
        if self.revoked_at is not None:
            ends.append(self.revoked_at)
        return min(ends)
