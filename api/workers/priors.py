"""Run the prior fetches (api/db/priors.py) in a background thread, and start the
automatic ones (``NADIR_FETCH_PRIORS``) as studies are indexed.

Like the outbox (api/workers/outbox.py), the rows are the truth and every process may run a
fetcher: a row is claimed before it runs (an UPDATE that moves its next attempt a lease
ahead and succeeds for one claimer only). A failure (the PACS down, a refused move) keeps
the row pending with its reason and waits as the outbox waits (``RetryPolicy``: base x
2^(n-1) s, at most max; ``failed`` after the last attempt). Studies moved before a failure
are not moved again: each attempt asks the PACS again and skips what Orthanc holds.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from api.adapters.prior_store import SqlPriorStore
from api.db.models import utcnow
from api.db.priors import (
    DONE,
    FAILED,
    HELD,
    MOVE_FAILED,
    PENDING,
    RETRIEVED,
    RUNNING,
    TO_RETRIEVE,
    PriorFetch,
)
from api.workers.loop import BackgroundLoop
from api.workers.outbox import RetryPolicy
from api.workflow.priors import HospitalPacs, automatic_fetch
from pacs.errors import OrthancNotFound, PacsError
from pacs.metadata import SeriesRecord
from pacs.orthanc import OrthancClient
from pacs.query_retrieve import PriorQuery, StudyAnswer, find_studies, move_study

log = logging.getLogger(__name__)
#: How long a claimed fetch is left to its runner before another process may take it.
LEASE_S = 900.0
MAX_ERROR_CHARS = 2000


class PriorFetcher(BackgroundLoop):
    """Runs due fetches; :meth:`wake` after adding one."""

    thread_name = "nadir-priors"

    def __init__(self, sessions: sessionmaker[Any], orthanc: OrthancClient,
                 hospital: HospitalPacs | None, *, target_aet: str, policy: RetryPolicy,
                 poll_s: float = 1.0, automatic: bool = False) -> None:
        super().__init__(poll_s)
        self._sessions = sessions
        self._orthanc = orthanc
        self.hospital = hospital
        self._target_aet = target_aet
        self.policy = policy
        self._automatic = automatic

    def start(self) -> None:
        if self.hospital is not None:  # else nothing can be fetched: no thread
            super().start()

    def close(self) -> None:
        self.stop()
        self._orthanc.close()

    def round(self) -> None:
        while self.run_due() and not self.stopping:
            pass

    def pause(self) -> float:
        """Until the next fetch is due, at most the poll interval."""
        with self._sessions() as s:
            due: dt.datetime | None = s.scalar(
                select(PriorFetch.next_attempt_at).where(PriorFetch.state.in_((PENDING,
                                                                               RUNNING)))
                .order_by(PriorFetch.next_attempt_at).limit(1))
        if due is None:
            return self._poll_s
        return min(self._poll_s, max(0.0, (due - utcnow()).total_seconds()))

    # -- the automatic start (a series observer of the change feed) -----------------------

    def __call__(self, record: SeriesRecord) -> None:
        if not self._automatic or self.hospital is None:
            return
        with self._sessions() as s:
            started = automatic_fetch(SqlPriorStore(s), self.hospital, record.patient.patient_id,
                                      record.study.study_instance_uid, record.series.modality)
        if started is not None:
            self.wake()

    # -- one fetch -----------------------------------------------------------------------

    def run_due(self, now: dt.datetime | None = None) -> bool:
        """Claim one due fetch and run it; False when none is due."""
        claimed = self._claim(now or utcnow())
        if claimed is None:
            return False
        self._run_fetch(claimed)
        return True

    def _claim(self, now: dt.datetime) -> int | None:
        lease_end = now + dt.timedelta(seconds=LEASE_S)
        with self._sessions() as s:
            candidates = list(s.scalars(select(PriorFetch.id).where(
                PriorFetch.state.in_((PENDING, RUNNING)), PriorFetch.next_attempt_at <= now)
                .order_by(PriorFetch.next_attempt_at, PriorFetch.id).limit(5)))
        for fetch_id in candidates:
            with self._sessions.begin() as s:
                taken = s.execute(update(PriorFetch).where(
                    PriorFetch.id == fetch_id, PriorFetch.state.in_((PENDING, RUNNING)),
                    PriorFetch.next_attempt_at <= now).values(
                    state=RUNNING, next_attempt_at=lease_end))
                if getattr(taken, "rowcount", 0) == 1:
                    return int(fetch_id)
        return None

    def _run_fetch(self, fetch_id: int) -> None:
        with self._sessions() as s:
            row = s.get(PriorFetch, fetch_id)
            if row is None or self.hospital is None:
                return
            query = PriorQuery(row.patient_id, row.modality, row.date_from, row.date_to)
        hospital = self.hospital
        try:
            self._orthanc.put_remote_pacs(hospital.orthanc_name, aet=hospital.ae_title,
                                          host=hospital.host, port=hospital.port)
            answers = find_studies(self._orthanc, hospital.orthanc_name, query)
            self._save(fetch_id, studies=[self._entry(a) for a in answers])
            for answer in answers:
                if self._holds(answer.study_instance_uid):
                    continue
                try:
                    move_study(self._orthanc, hospital.orthanc_name, answer.study_instance_uid,
                               target_aet=self._target_aet)
                except PacsError:
                    self._mark(fetch_id, answer.study_instance_uid, MOVE_FAILED)
                    raise
                self._mark(fetch_id, answer.study_instance_uid, RETRIEVED)
        except PacsError as exc:
            self._failed(fetch_id, f"{hospital}: {exc}")
            log.warning("prior fetch %d: %s", fetch_id, type(exc).__name__)
            return
        self._save(fetch_id, state=DONE, last_error=None, finished_at=utcnow())

    def _entry(self, answer: StudyAnswer) -> dict[str, Any]:
        return {"study_instance_uid": answer.study_instance_uid,
                "study_date": answer.study_date.isoformat() if answer.study_date else None,
                "modalities": list(answer.modalities), "description": answer.description,
                "state": HELD if self._holds(answer.study_instance_uid) else TO_RETRIEVE}

    def _holds(self, study_uid: str) -> bool:
        """Whether Orthanc holds the study already (the index may not have it yet)."""
        try:
            return any(hit.get("Type") == "Study" for hit in self._orthanc.lookup(study_uid))
        except OrthancNotFound:
            return False

    def _mark(self, fetch_id: int, study_uid: str, state: str) -> None:
        with self._sessions.begin() as s:
            row = s.get(PriorFetch, fetch_id)
            if row is not None:
                row.studies = [{**st, "state": state}
                               if st["study_instance_uid"] == study_uid else st
                               for st in row.studies or []]

    def _save(self, fetch_id: int, **values: Any) -> None:
        with self._sessions.begin() as s:
            row = s.get(PriorFetch, fetch_id)
            if row is not None:
                for name, value in values.items():
                    setattr(row, name, value)

    def _failed(self, fetch_id: int, error: str) -> None:
        now = utcnow()
        with self._sessions.begin() as s:
            row = s.get(PriorFetch, fetch_id)
            if row is None:
                return
            row.attempts += 1
            row.last_error = error[:MAX_ERROR_CHARS]
            if row.attempts >= self.policy.max_attempts:
                row.state, row.finished_at = FAILED, now
            else:
                row.state = PENDING
                row.next_attempt_at = now + dt.timedelta(
                    seconds=self.policy.delay_s(row.attempts))
