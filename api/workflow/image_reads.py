"""Who looked at which study's images: audited once per study and user per hour.

A viewer fetches hundreds of frames for one study; one audit event per frame would bury
the audit log. The first read of a study by a user is audited, then again after an hour.
The memory of recent reads is per process: with several workers a study may be audited
once per worker and hour.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

from api.workflow.errors import NotAllowed, NotFound
from api.workflow.ports import CaseStore
from api.workflow.roles import READERS, Principal, check_role

AUDIT_WINDOW_S = 3600.0


class ImageReads:
    def __init__(self, units: Callable[[], AbstractContextManager[CaseStore]], *,
                 window_s: float = AUDIT_WINDOW_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``units`` opens a unit of work (a store on a new session) per use."""
        self._units = units
        self._window_s = window_s
        self._clock = clock
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def admit(self, who: Principal, study_uid: str | None, query_patient: str | None) -> None:
        """Allow the read (readers only); refuse a study the index does not know; audit."""
        check_role(who, READERS)
        if who.share is not None and study_uid is None:
            raise NotAllowed("a share token reads its share's studies by their UIDs: a "
                             "search across studies is not served")
        if study_uid is None:
            # A search across studies (QIDO-RS): each one is audited.
            self._audit(who, "search_images", "dicom-web/studies", query_patient)
            return
        key = (who.name, study_uid)
        with self._lock:
            last = self._seen.get(key)
        if last is not None and self._clock() - last < self._window_s:
            # Seen (and so known to the index) within the window: a frame read costs no
            # database round trip. Deletions reach the index only after Orthanc's.
            return
        with self._units() as store:
            patient = store.patient_of_study(study_uid)
        if patient is None or (who.share is not None
                               and patient != who.share.copy_patient_id):
            # A share token sees its share's copy only: any other study is unknown to it.
            raise NotFound(f"unknown study {study_uid!r}")
        now = self._clock()
        with self._lock:  # check and reserve at once: parallel frame reads audit once
            last = self._seen.get(key)
            if last is not None and now - last < self._window_s:
                return
            if len(self._seen) > 100_000:
                self._seen.clear()
            self._seen[key] = now
        if who.share is not None:
            # Audited on the original patient, naming the original case and the share.
            self._audit(who, "share_read_images", f"cases/{who.share.case_id}/shares/"
                        f"{who.share.share_id}: studies/{study_uid}", who.share.patient_id)
            return
        self._audit(who, "read_images", f"studies/{study_uid}", patient)

    def refuse(self, who: Principal, target: str) -> None:
        """Audit a request the proxy refused, with its target (cut to 512 characters)."""
        self._audit(who, "refused_images", target[:512], None)

    def _audit(self, who: Principal, action: str, resource: str, patient: str | None) -> None:
        with self._units() as store:
            store.audit(who, action, resource, patient)
            store.commit()
