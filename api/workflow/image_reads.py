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

from api.workflow.errors import Blinded, NotAllowed, NotFound
from api.workflow.ports import CaseStore
from api.workflow.reviews import BLINDED, hidden_images
from api.workflow.roles import READERS, Principal, Role, check_role

AUDIT_WINDOW_S = 3600.0
#: How long a reader found with no unfinished blinded review is not asked again: frame
#: reads then cost no query. A review asked for within that time blinds its reader a
#: moment later (they learn of it later still, from their worklist).
BLIND_RECHECK_S = 2.0


class ImageReads:
    def __init__(self, units: Callable[[], AbstractContextManager[CaseStore]], *,
                 window_s: float = AUDIT_WINDOW_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``units`` opens a unit of work (a store on a new session) per use."""
        self._units = units
        self._window_s = window_s
        self._clock = clock
        self._seen: dict[tuple[str, str], float] = {}
        #: Readers found with nothing hidden from them, until when (see _check_blind).
        self._not_blind: dict[str, float] = {}
        self._lock = threading.Lock()

    def admit(self, who: Principal, study_uid: str | None, query_patient: str | None,
              series_uid: str | None = None, *, search: bool = False) -> None:
        """Allow the read (readers only); refuse a study the index does not know, and a
        blinded second reader the reading they review; audit."""
        check_role(who, READERS)
        if study_uid is not None and who.role is Role.RADIOLOGIST:
            self._check_blind(who, study_uid, series_uid, search)
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

    def _check_blind(self, who: Principal, study_uid: str, series_uid: str | None,
                     search: bool) -> None:
        """A blinded reviewer fetches no published SR or PDF of the reading they review:
        not its series, nor the whole study that holds it (a search only lists them)."""
        now = self._clock()
        with self._lock:
            clear_until = self._not_blind.get(who.name)
        if clear_until is not None and now < clear_until:
            return
        with self._units() as store:
            series, studies = hidden_images(store, who.name)
        if not series:
            with self._lock:  # a reader with nothing hidden is asked again in a moment
                if len(self._not_blind) > 10_000:
                    self._not_blind.clear()
                self._not_blind[who.name] = now + BLIND_RECHECK_S
            return
        if (series_uid is not None and series_uid in series) or \
                (series_uid is None and not search and study_uid in studies):
            raise Blinded(f"{BLINDED}: {who.name} reads a blinded review of the case these "
                          "published results belong to; they stay hidden until that review "
                          "is signed off at every timepoint")

    def refuse(self, who: Principal, target: str) -> None:
        """Audit a request the proxy refused, with its target (cut to 512 characters)."""
        self._audit(who, "refused_images", target[:512], None)

    def _audit(self, who: Principal, action: str, resource: str, patient: str | None) -> None:
        with self._units() as store:
            store.audit(who, action, resource, patient)
            store.commit()
