"""The SQLAlchemy side of registrations: the ``series_registrations`` rows and index reads.

Every method opens its own short session: the jobs run in background threads and in
requests, and a registration takes seconds during which no transaction stays open.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from api.db.models import Instance, Series, SeriesRegistration
from api.workflow.ports import (
    PENDING,
    IndexedSeries,
    IndexedSlice,
    Outcome,
    RegistrationPair,
    RegistrationState,
    StoredClaim,
)
from api.workflow.registration_jobs import may_claim


class SqlRegistrationStore:
    def __init__(self, sessions: sessionmaker[Any]) -> None:
        self._sessions = sessions

    @staticmethod
    def _where(pair: RegistrationPair) -> Any:
        return (SeriesRegistration.baseline_series_uid == pair.baseline_series_uid,
                SeriesRegistration.followup_series_uid == pair.followup_series_uid)

    def get(self, pair: RegistrationPair) -> RegistrationState | None:
        with self._sessions() as s:
            row = s.scalar(select(SeriesRegistration).where(*self._where(pair)))
            return None if row is None else _state(pair, row)

    def claim(self, pair: RegistrationPair, claimant: str, now: dt.datetime,
              counts: tuple[int | None, int | None]) -> int | None:
        with self._sessions() as s:
            row = s.scalar(select(SeriesRegistration).where(*self._where(pair)))
            if row is None:
                s.add(SeriesRegistration(
                    baseline_series_uid=pair.baseline_series_uid,
                    followup_series_uid=pair.followup_series_uid, status=PENDING, attempt=1,
                    claimed_by=claimant, started_at=now, details={}))
                try:
                    s.commit()
                except IntegrityError:  # another process inserted the pair first
                    s.rollback()
                    return None
                return 1
            if not may_claim(_claim(row), now, counts):
                return None
            seen = row.attempt
            # Compare-and-set: of two claimers that read the same attempt, one updates.
            result: Any = s.execute(
                update(SeriesRegistration)
                .where(SeriesRegistration.id == row.id, SeriesRegistration.attempt == seen)
                .values(status=PENDING, attempt=seen + 1, claimed_by=claimant,
                        started_at=now, finished_at=None, reason=None, retryable=False))
            s.commit()
            return seen + 1 if result.rowcount == 1 else None

    def finish(self, pair: RegistrationPair, attempt: int, outcome: Outcome,
               now: dt.datetime) -> None:
        with self._sessions.begin() as s:
            s.execute(
                update(SeriesRegistration)
                .where(*self._where(pair), SeriesRegistration.attempt == attempt)
                .values(status=outcome.status, finished_at=now, matrix=outcome.matrix,
                        metric=outcome.metric, elapsed_s=outcome.elapsed_s,
                        read_s=outcome.read_s, reason=outcome.reason,
                        retryable=outcome.retryable, baseline_instances=outcome.counts[0],
                        followup_instances=outcome.counts[1], details=outcome.details))

    def instance_counts(self, pair: RegistrationPair) -> tuple[int | None, int | None]:
        uids = [pair.baseline_series_uid, pair.followup_series_uid]
        with self._sessions() as s:
            rows = s.execute(select(Series.series_instance_uid, Series.instance_count)
                             .where(Series.series_instance_uid.in_(uids))).all()
        counts = {uid: count for uid, count in rows}
        return counts.get(pair.baseline_series_uid), counts.get(pair.followup_series_uid)

    def series_slices(self, series_uid: str) -> IndexedSeries | None:
        with self._sessions() as s:
            series = s.scalar(select(Series).where(Series.series_instance_uid == series_uid))
            if series is None:
                return None
            rows = s.execute(select(Instance.sop_instance_uid, Instance.orthanc_id,
                                    Instance.position_mm, Instance.frames)
                             .where(Instance.series_pk == series.id)).all()
            orientation = series.orientation
            return IndexedSeries(
                series_instance_uid=series_uid, modality=series.modality,
                orientation=tuple(orientation) if orientation and len(orientation) == 6
                else None,
                slices=tuple(one for sop, oid, z, frames in rows
                             for one in _slices(sop, oid, z, frames)))


def _slices(sop: str, orthanc_id: str, position_mm: float | None,
            frames: list[Any] | None) -> list[IndexedSlice]:
    """The images of one indexed instance: itself, or each frame of a multi-frame one."""
    if frames:
        return [IndexedSlice(sop, orthanc_id, float(f["position_mm"]), int(f["frame"]))
                for f in frames if f.get("position_mm") is not None]
    return [IndexedSlice(sop, orthanc_id, float(position_mm))] if position_mm is not None \
        else []


def _claim(row: SeriesRegistration) -> StoredClaim:
    return StoredClaim(status=row.status, attempt=row.attempt, started_at=row.started_at,
                       finished_at=row.finished_at, retryable=row.retryable,
                       counts=(row.baseline_instances, row.followup_instances))


def _state(pair: RegistrationPair, row: SeriesRegistration) -> RegistrationState:
    return RegistrationState(
        pair=pair, status=row.status, matrix=row.matrix, metric=row.metric,
        elapsed_s=row.elapsed_s, read_s=row.read_s, reason=row.reason,
        details=dict(row.details or {}), started_at=row.started_at,
        finished_at=row.finished_at, claim=_claim(row))
