"""One acceptance rule for every way in: the upload's checks (imaging/dicomfile.py) run on
what arrives by C-STORE too, and copies sent again with other content are noticed.

Orthanc stores what a C-STORE brings before Nadir sees it, so a file the upload would
refuse cannot be refused here; it is **flagged** instead (``image_checks``, shown as
``images_flagged`` on the patient's studies and on the case), and stays in Orthanc and in
the index alike. Each indexed instance is checked once, in the process that follows the
change feed: an upload (Orthanc's ``Origin`` metadata ``RestApi``) was checked before it
was stored, so only its origin is read; anything else is read from Orthanc and checked.
A copy sent again by C-STORE under a SOP Instance UID Orthanc holds is spooled by
Orthanc's Python plugin to a folder (pacs/resent_spool.py); the leader compares each
spooled copy with the stored file, by the upload's rule (imaging/dicomfile.py: the same
pixels in another transfer syntax are the same content), and removes it from the spool. A
copy of an instance not indexed yet waits in the spool until the instance is indexed; one
of an instance Orthanc no longer holds is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from api.db.image_checks import ImageCheck
from api.db.models import Instance, Series, Study, utcnow
from api.workers.loop import BackgroundLoop
from imaging.dicomfile import InvalidDicomFile, differing_attributes, inspect_part10
from pacs.errors import OrthancNotFound
from pacs.metadata import SeriesRecord
from pacs.orthanc import OrthancClient
from pacs.resent_spool import (
    CopyHeader,
    SpoolError,
    read_copy,
    read_header,
    remove_stale_partials,
    spooled,
)

log = logging.getLogger(__name__)
#: Instances checked per database round.
BATCH = 50
#: Orthanc's ``Origin`` of an instance Nadir's upload stored (after its own checks).
UPLOADED = "RestApi"
#: A partial copy older than this was left by an Orthanc that stopped while writing it.
STALE_PARTIAL_S = 3600.0


class ImageChecker(BackgroundLoop):
    """Checks indexed instances in a thread of its own (only while ``is_leader``)."""

    thread_name = "nadir-image-checks"

    def __init__(self, sessions: sessionmaker[Any], orthanc: OrthancClient, *,
                 is_leader: Callable[[], bool], poll_s: float = 2.0,
                 receiving: Callable[[], bool] = lambda: False,
                 spool: Path | None = None) -> None:
        super().__init__(poll_s)
        self._sessions = sessions
        self._orthanc = orthanc
        self._is_leader = is_leader
        self._receiving = receiving
        #: Where Orthanc's Python plugin spools copies sent again; None: not watched.
        #: (Settings copied with `model_copy`, as `nadir start` does, may hold a str.)
        self._spool = None if spool is None else Path(spool)

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
                (0 if self._receiving() else self.check_due()) + self.compare_spooled()):
            pass

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

    def compare_spooled(self) -> int:
        """Compare up to :data:`BATCH` spooled copies whose instance is indexed with the
        stored file; how many left the spool. The same content (or the same pixels in
        another transfer syntax) stays quiet, other content is flagged with the attributes
        that differ (PS3.3 C.12.1.1.1: one SOP Instance UID, one instance). A copy of an
        instance Orthanc no longer holds, or a file the plugin did not write, is dropped.
        Removed only after its verdict is committed: a stop in between compares it again,
        to the same verdict."""
        if self._spool is None:
            return 0
        remove_stale_partials(self._spool, older_than_s=STALE_PARTIAL_S)
        done = 0
        stored: dict[str, bytes | None] = {}
        # Copies waiting for their instance are skipped, not counted: look at a few more.
        for path in spooled(self._spool)[:BATCH * 4]:
            if done >= BATCH or self.stopping:
                break
            try:
                header = read_header(path)
            except (SpoolError, OSError) as exc:
                log.warning("a spooled copy was dropped: %s", exc)
                path.unlink(missing_ok=True)
                done += 1
                continue
            indexed = self._indexed(header.instance)
            if indexed is None:
                if self._orthanc_holds(header.instance):
                    continue  # compared once the instance is indexed
            else:
                if header.instance not in stored:
                    stored[header.instance] = self._stored_file(header.instance)
                first = stored[header.instance]
                if first is not None:
                    _, copy = read_copy(path)
                    with self._sessions.begin() as s:
                        self._flag(s, indexed, header, differing_attributes(first, copy))
            path.unlink(missing_ok=True)
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
        try:
            self._orthanc.instance(orthanc_id)
        except OrthancNotFound:
            return False
        return True

    def _stored_file(self, orthanc_id: str) -> bytes | None:
        try:
            return self._orthanc.instance_file(orthanc_id)
        except OrthancNotFound:
            return None

    @staticmethod
    def _flag(s: Session, indexed: tuple[int, str, str | None, str | None],
              header: CopyHeader, differing: list[str]) -> None:
        if not differing:
            return
        row = _row(s, indexed[0], header.instance, *indexed[1:])
        row.resent_attributes = differing
        row.resent_at = utcnow()
        row.resent_by = header.remote_aet
        # Orthanc's id only: UIDs and attributes stay out of the log.
        log.warning("instance %s was sent again with other content: flagged", header.instance)


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
