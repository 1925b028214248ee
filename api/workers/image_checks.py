"""One acceptance rule for every way in: the upload's checks (imaging/dicomfile.py) run on
what arrives by C-STORE too, and copies sent again with other content are noticed.

Orthanc stores what a C-STORE brings before Nadir sees it, so a file the upload would
refuse cannot be refused here; it is **flagged** instead (``image_checks``, shown as
``images_flagged`` on the patient's studies and on the case), and stays in Orthanc and in
the index alike. Each indexed instance is checked once, in the process that follows the
change feed: an upload (Orthanc's ``Origin`` metadata ``RestApi``) was checked before it
was stored, so only its origin is read; anything else is read from Orthanc and checked.
A copy sent again under a stored SOP Instance UID is posted by Orthanc's Lua filter
(pacs/resent.py) and queued in ``resent_copies`` by the internal route (any process may
queue); the leader compares each queued copy with the stored instance here and removes it
from the queue. A copy of an instance not indexed yet waits in the queue until the instance
is checked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, sessionmaker

from api.db.image_checks import ImageCheck, ResentCopy
from api.db.models import Instance, Series, Study, utcnow
from api.workers.loop import BackgroundLoop
from imaging.dicomfile import InvalidDicomFile, inspect_part10
from pacs.errors import OrthancNotFound
from pacs.metadata import SeriesRecord
from pacs.orthanc import OrthancClient
from pacs.resent import ReceivedCopy, differing_tags

log = logging.getLogger(__name__)
#: Instances checked per database round.
BATCH = 50
#: Orthanc's ``Origin`` of an instance Nadir's upload stored (after its own checks).
UPLOADED = "RestApi"


class ImageChecker(BackgroundLoop):
    """Checks indexed instances in a thread of its own (only while ``is_leader``)."""

    thread_name = "nadir-image-checks"

    def __init__(self, sessions: sessionmaker[Any], orthanc: OrthancClient, *,
                 is_leader: Callable[[], bool], poll_s: float = 2.0,
                 receiving: Callable[[], bool] = lambda: False) -> None:
        super().__init__(poll_s)
        self._sessions = sessions
        self._orthanc = orthanc
        self._is_leader = is_leader
        self._receiving = receiving

    def __call__(self, record: SeriesRecord) -> None:
        """A series was indexed (a change-feed observer): check its instances soon."""
        self.wake()

    def close(self) -> None:
        self.stop()
        self._orthanc.close()

    def round(self) -> None:
        # Each check reads the whole file from Orthanc: while Orthanc is still receiving
        # series (ingest has series pending), that work would compete with it on this
        # machine and on Orthanc's index. The last series indexed wakes this loop again.
        while self._is_leader() and not self.stopping and (
                (0 if self._receiving() else self.check_due()) + self.compare_queued()):
            pass

    # -- the queue of copies sent again ------------------------------------------------------

    def queue_copy(self, instance_id: str, copy: ReceivedCopy) -> None:
        """Queue a copy Orthanc's Lua filter posted, and wake the leader's thread. Asks
        Orthanc nothing: Orthanc waits for the answer while holding its Lua lock."""
        with self._sessions.begin() as s:
            s.add(ResentCopy(orthanc_id=instance_id, tags=copy.tags,
                             remote_aet=copy.remote_aet, transfer_syntax=copy.transfer_syntax))
        self.wake()

    # -- the acceptance rule on arrivals ------------------------------------------------------

    def check_due(self) -> int:
        """Check up to :data:`BATCH` indexed instances not checked yet; how many."""
        with self._sessions() as s:
            due = s.execute(
                select(Instance.id, Instance.orthanc_id, Instance.sop_instance_uid,
                       Series.series_instance_uid, Study.study_instance_uid)
                .join(Series, Series.id == Instance.series_pk)
                .join(Study, Study.id == Series.study_pk)
                .outerjoin(ImageCheck, ImageCheck.instance_pk == Instance.id)
                .where(or_(ImageCheck.instance_pk.is_(None), ImageCheck.checked.is_(False)))
                .limit(BATCH)).all()
        verdicts = [(*item, *self._verdict(item[1])) for item in due]
        # One transaction per batch: on PostgreSQL each commit is a WAL flush.
        with self._sessions.begin() as s:
            for pk, orthanc_id, sop_uid, series_uid, study_uid, origin, reason in verdicts:
                row = _row(s, pk, orthanc_id, sop_uid, series_uid, study_uid)
                row.origin, row.refused_reason, row.checked = origin, reason, True
                row.checked_at = utcnow()
        for _, orthanc_id, _, _, _, origin, reason in verdicts:
            if reason is not None:
                # Orthanc's id only: UIDs and reasons stay out of the log.
                log.warning("instance %s came by %s and would be refused by upload: flagged",
                            orthanc_id, origin)
            # A copy may have come before the instance was indexed.
            self.compare_queued(orthanc_id)
        return len(due)

    def _verdict(self, orthanc_id: str) -> tuple[str | None, str | None]:
        """(Orthanc's origin of the instance, the reason the upload would refuse it)."""
        try:
            origin = self._orthanc.instance_metadata(orthanc_id, "Origin")
            if origin == UPLOADED:
                return origin, None
            data = self._orthanc.instance_file(orthanc_id)
        except OrthancNotFound:
            return None, None  # deleted meanwhile: the index forgets it next
        try:
            inspect_part10(data)
        except InvalidDicomFile as exc:
            return origin, exc.reason
        return origin, None

    def compare_queued(self, instance_id: str | None = None) -> int:
        """Compare up to :data:`BATCH` queued copies (of one instance, or of any) whose
        instance is indexed; how many left the queue. A copy with the same attributes stays
        quiet, another one is flagged with the attributes (PS3.3 C.12.1.1.1: one SOP
        Instance UID, one instance). A copy of an instance Orthanc no longer holds is
        dropped."""
        done = 0
        with self._sessions() as s:
            query = select(ResentCopy.id, ResentCopy.orthanc_id).order_by(ResentCopy.id)
            if instance_id is not None:
                query = query.where(ResentCopy.orthanc_id == instance_id)
            queued = s.execute(query.limit(BATCH)).all()
        stored: dict[str, dict[str, Any] | None] = {}
        for copy_id, orthanc_id in queued:
            indexed = self._indexed(orthanc_id)
            if indexed is None and self._orthanc_holds(orthanc_id):
                continue  # compared once the instance is indexed and checked
            if indexed is not None and orthanc_id not in stored:
                stored[orthanc_id] = self._stored_tags(orthanc_id)
            with self._sessions.begin() as s:
                row = s.get(ResentCopy, copy_id)
                if row is None:
                    continue
                tags = stored.get(orthanc_id)
                if indexed is not None and tags is not None:
                    self._flag(s, indexed, orthanc_id, tags, row)
                s.execute(delete(ResentCopy).where(ResentCopy.id == copy_id))
            done += 1
        return done

    def _indexed(self, orthanc_id: str) -> tuple[int, str, str | None, str | None] | None:
        with self._sessions() as s:
            row = s.execute(
                select(Instance.id, Instance.sop_instance_uid, Series.series_instance_uid,
                       Study.study_instance_uid)
                .join(Series, Series.id == Instance.series_pk)
                .join(Study, Study.id == Series.study_pk)
                .where(Instance.orthanc_id == orthanc_id)).first()
        return None if row is None else (row[0], row[1], row[2], row[3])

    def _orthanc_holds(self, orthanc_id: str) -> bool:
        return self._stored_tags(orthanc_id) is not None

    def _stored_tags(self, orthanc_id: str) -> dict[str, Any] | None:
        try:
            return self._orthanc.instance_tags(orthanc_id)
        except OrthancNotFound:
            return None

    @staticmethod
    def _flag(s: Session, indexed: tuple[int, str, str | None, str | None], orthanc_id: str,
              stored: dict[str, Any], copy: ResentCopy) -> None:
        differing = differing_tags(stored, copy.tags)
        if not differing:
            return
        row = _row(s, indexed[0], orthanc_id, *indexed[1:])
        row.resent_attributes = differing
        row.resent_at = utcnow()
        row.resent_by = copy.remote_aet
        # Orthanc's id only: UIDs and attributes stay out of the log.
        log.warning("instance %s was sent again with other attributes: flagged", orthanc_id)


def _row(s: Session, instance_pk: int, orthanc_id: str, sop_uid: str,
         series_uid: str | None, study_uid: str | None) -> ImageCheck:
    """The instance's row, made when missing (only the ingest leader writes them)."""
    row = s.get(ImageCheck, instance_pk)
    if row is None:
        row = ImageCheck(instance_pk=instance_pk, orthanc_id=orthanc_id,
                         sop_instance_uid=sop_uid, checked=False,
                         series_instance_uid=series_uid, study_instance_uid=study_uid)
        s.add(row)
    return row
