"""Purging the de-identified copies of ended shares (issue 21).

A share's copy lives in the PACS as a patient of its own. Once the share has expired, or
was revoked, more than a grace period ago (``NADIR_SHARE_PURGE_AFTER_DAYS``; 0 purges at
expiry) the copy is deleted and the share records ``purged_at``. The review case and its
reading stay: they are the second opinion, and they are in Nadir's database, not in the
copy.

A share is purged in two steps, the deletion in the PACS and then, in one unit of work,
``purged_at`` with its audit. A process that stops between the two leaves the share
unpurged; the next round deletes again (a copy gone already is fine) and records it. So a
round may be repeated, by this process after a restart or by the next leader, with one
mark and one audit per share.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from api.workflow.ports import CaseStore, ShareCopies, ShareStore
from api.workflow.roles import Principal, Role

#: Who the audit names for a purge: the background worker, not a person.
PURGER = Principal(user_id=0, name="nadir-share-purge", role=Role.ADMIN)


@dataclass(frozen=True)
class PurgeAfter:
    """The grace period after a share ends before its copy is purged."""

    days: int

    def __post_init__(self) -> None:
        if not isinstance(self.days, int) or self.days < 0:
            raise ValueError(f"days: a whole number of days, 0 or more, got {self.days!r}")

    def cutoff(self, now: dt.datetime) -> dt.datetime:
        """Shares that ended at or before this are due."""
        return now - dt.timedelta(days=self.days)


def purge_ended_shares(shares: ShareStore, store: CaseStore, copies: ShareCopies,
                       after: PurgeAfter, now: dt.datetime) -> list[int]:
    """Purge the copy of every share that ended more than ``after`` before ``now``; the
    ids of the shares purged, oldest first."""
    purged = []
    for share in shares.unpurged_ended(after.cutoff(now)):
        if share.copy_patient is not None:
            copies.remove(share.copy_patient)
        share.purged_at = now
        store.audit(PURGER, "purge_share_copy", f"cases/{share.case_id}/shares/{share.id}",
                    share.patient_id)
        store.commit()
        purged.append(share.id)
    return purged
