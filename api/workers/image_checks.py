"""One acceptance rule for every way in: the upload's checks (imaging/dicomfile.py) run on
what arrives by C-STORE too, and copies sent again with other content are noticed.

Orthanc stores what a C-STORE brings before Nadir sees it, so a file the upload would
refuse cannot be refused here; it is **flagged** instead (``image_checks``, shown as
``images_flagged`` on the patient's studies and on the case), and stays in Orthanc and in
the index alike. Each indexed instance is checked once, in the process that follows the
change feed: an upload (Orthanc's ``Origin`` metadata ``RestApi``) was checked before it
was stored, so only its origin is read; anything else is read from Orthanc and checked.
A copy sent again under a stored SOP Instance UID is noted by Orthanc's Lua filter
(pacs/resent.py) and compared here when Orthanc logs the metadata change.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from api.db.image_checks import ImageCheck
from api.db.models import Instance, Series, Study, utcnow
from api.workers.loop import BackgroundLoop
from imaging.dicomfile import InvalidDicomFile, inspect_part10
from pacs.errors import OrthancNotFound
from pacs.metadata import SeriesRecord
from pacs.orthanc import OrthancClient
from pacs.resent import RESENT_METADATA, differing_tags, received_copy

log = logging.getLogger(__name__)
#: Instances checked per database round.
BATCH = 50
#: Orthanc's ``Origin`` of an instance Nadir's upload stored (after its own checks).
UPLOADED = "RestApi"


class ImageChecker(BackgroundLoop):
    """Checks indexed instances in a thread of its own (only while ``is_leader``)."""

    thread_name = "nadir-image-checks"

    def __init__(self, sessions: sessionmaker[Any], orthanc: OrthancClient, *,
                 is_leader: Callable[[], bool], poll_s: float = 2.0) -> None:
        super().__init__(poll_s)
        self._sessions = sessions
        self._orthanc = orthanc
        self._is_leader = is_leader

    def __call__(self, record: SeriesRecord) -> None:
        """A series was indexed (a change-feed observer): check its instances soon."""
        self.wake()

    def close(self) -> None:
        self.stop()
        self._orthanc.close()

    def round(self) -> None:
        while self._is_leader() and self.check_due() and not self.stopping:
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
        for pk, orthanc_id, sop_uid, series_uid, study_uid in due:
            origin, reason = self._verdict(orthanc_id)
            with self._sessions.begin() as s:
                row = _row(s, pk, orthanc_id, sop_uid, series_uid, study_uid)
                row.origin, row.refused_reason, row.checked = origin, reason, True
                row.checked_at = utcnow()
            if reason is not None:
                # Orthanc's id only: UIDs and reasons stay out of the log.
                log.warning("instance %s came by %s and would be refused by upload: flagged",
                            orthanc_id, origin)
            # A copy may have come before the instance was indexed.
            self.on_metadata(orthanc_id)
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

    # -- copies sent again (a metadata observer of the change feed) ----------------------------

    def on_metadata(self, instance_id: str) -> None:
        """Compare a copy noted by the Lua filter with the stored instance; a copy with the
        same attributes stays quiet, another one is flagged with the attributes. An
        instance not indexed yet is compared when it is checked (:meth:`check_due`)."""
        with self._sessions() as s:
            indexed = s.execute(
                select(Instance.id, Instance.sop_instance_uid, Series.series_instance_uid,
                       Study.study_instance_uid)
                .join(Series, Series.id == Instance.series_pk)
                .join(Study, Study.id == Series.study_pk)
                .where(Instance.orthanc_id == instance_id)).first()
        if indexed is None:
            return
        try:
            noted = self._orthanc.instance_metadata(instance_id, RESENT_METADATA)
            copy = received_copy(noted) if noted else None
            if copy is None:
                return
            stored = self._orthanc.instance_tags(instance_id)
        except OrthancNotFound:
            return
        differing = differing_tags(stored, copy.tags)
        if not differing:
            return
        with self._sessions.begin() as s:
            row = _row(s, indexed[0], instance_id, *indexed[1:])
            row.resent_attributes = differing
            row.resent_at = utcnow()
            row.resent_by = copy.remote_aet
        log.warning("instance %s was sent again with other attributes: flagged", instance_id)


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
