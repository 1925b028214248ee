"""Who may do what: the roles of Nadir's users and the principal of a request."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from api.workflow.errors import NotAllowed


class Role(enum.StrEnum):
    UPLOADER = "uploader"
    RADIOLOGIST = "radiologist"
    SPECIALIST = "specialist"
    ADMIN = "admin"
    #: An outside reader bound to one share (issue 21): the share's token reads that
    #: share's de-identified images and reads and measures its review case, nothing else
    #: (``api.share_access``).
    REVIEWER = "reviewer"


@dataclass(frozen=True)
class ShareScope:
    """What a share token reaches: its share, the review case over the share's copy, and
    the copy's patient; ``patient_id`` and ``case_id`` are the original's (audits go
    there)."""

    share_id: int
    case_id: int
    review_case_id: int
    patient_id: str
    copy_patient_id: str


@dataclass(frozen=True)
class Principal:
    """The authenticated user a request acts for; ``share`` is set for a share token."""

    user_id: int
    name: str
    role: Role
    share: ShareScope | None = None


#: Roles that read patient data: cases, reports, images.
READERS = (Role.RADIOLOGIST, Role.SPECIALIST, Role.ADMIN)
#: Roles that record measurements and sign them off.
MEASURERS = (Role.RADIOLOGIST,)
#: Roles that read and measure one case only: their share's review (api.share_access).
SHARE_READERS = (Role.REVIEWER,)
#: Roles that create cases and comparisons' manual pairings, and publish.
CASE_MANAGERS = (Role.RADIOLOGIST, Role.ADMIN)


def check_role(who: Principal, allowed: tuple[Role, ...]) -> None:
    """Refuse a principal whose role is not among ``allowed`` (the message names them)."""
    if who.role not in allowed:
        names = ", ".join(sorted(r.value for r in allowed))
        raise NotAllowed(f"role '{who.role.value}' may not do this; needs one of: {names}")
