"""The share purger: the leader deletes the de-identified copies of ended shares
(:mod:`api.workflow.share_purge` holds the rule) once per ``poll_s``, and on :meth:`wake`.

Only the process that follows Orthanc's change feed purges (``is_leader``), so two
processes of a deployment do not delete at once; a round repeated after a restart or a
change of leader is harmless (see the rule's module).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import sessionmaker

from api.adapters.share_store import SqlShareStore
from api.adapters.sql_store import SqlCaseStore
from api.workers.loop import BackgroundLoop
from api.workflow.domain import utcnow
from api.workflow.ports import ShareCopies
from api.workflow.share_purge import PurgeAfter, purge_ended_shares

log = logging.getLogger(__name__)
#: How often the leader looks for ended shares (a share's expiry is in days).
POLL_S = 600.0


class SharePurger(BackgroundLoop):
    thread_name = "nadir-share-purge"

    def __init__(self, sessions: sessionmaker[Any], copies: ShareCopies, after: PurgeAfter,
                 *, is_leader: Callable[[], bool], poll_s: float = POLL_S,
                 now: Callable[[], dt.datetime] = utcnow) -> None:
        super().__init__(poll_s)
        self._sessions = sessions
        self._copies = copies
        self._after = after
        self._is_leader = is_leader
        self._now = now

    def round(self) -> None:
        self.purge()

    def purge(self) -> list[int]:
        """One round: the ids of the shares purged (none unless this process leads)."""
        if not self._is_leader():
            return []
        with self._sessions() as session:
            purged = purge_ended_shares(SqlShareStore(session), SqlCaseStore(session),
                                        self._copies, self._after, self._now())
        if purged:
            log.info("purged the copies of %d ended shares", len(purged))
        return purged
