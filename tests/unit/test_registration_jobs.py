"""Registration jobs on an in-memory store: once per pair, retries, which pair, which caliper."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest

from api.workflow.domain import ComparisonPair, MeasurementVersion
from api.workflow.ports import (
    DONE,
    FAILED,
    PENDING,
    IndexedSeries,
    Outcome,
    RegistrationPair,
    RegistrationState,
    StoredClaim,
)
from api.workflow.registration import last_caliper, preferred_pair
from api.workflow.registration_jobs import RETRY_AFTER_S, STALE_CLAIM_S, RegistrationJobs, may_claim
from tests.unit.workflow_fakes import FakeSeries

PAIR = RegistrationPair("1.2.1", "1.2.2")
T0 = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
IDENTITY = [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0],
            [0.0, 0.0, 0.0, 1.0]]


class FakeStore:
    """The RegistrationStore protocol over a dict; one lock stands for the database."""

    def __init__(self) -> None:
        self.rows: dict[RegistrationPair, dict[str, Any]] = {}
        self.counts: tuple[int | None, int | None] = (10, 10)
        self._lock = threading.Lock()

    def get(self, pair: RegistrationPair) -> RegistrationState | None:
        with self._lock:
            row = self.rows.get(pair)
            if row is None:
                return None
            return RegistrationState(pair, row["status"], matrix=row.get("matrix"),
                                     reason=row.get("reason"), claim=self._claim(row))

    @staticmethod
    def _claim(row: dict[str, Any]) -> StoredClaim:
        return StoredClaim(row["status"], row["attempt"], row["started_at"],
                           row.get("finished_at"), row.get("retryable", False),
                           row.get("counts", (None, None)))

    def claim(self, pair: RegistrationPair, claimant: str, now: dt.datetime,
              counts: tuple[int | None, int | None]) -> int | None:
        with self._lock:
            row = self.rows.get(pair)
            if not may_claim(None if row is None else self._claim(row), now, counts):
                return None
            attempt = 1 if row is None else row["attempt"] + 1
            self.rows[pair] = {"status": PENDING, "attempt": attempt, "started_at": now,
                               "claimed_by": claimant}
            return attempt

    def finish(self, pair: RegistrationPair, attempt: int, outcome: Outcome,
               now: dt.datetime) -> None:
        with self._lock:
            row = self.rows[pair]
            if row["attempt"] == attempt:
                row.update(status=outcome.status, matrix=outcome.matrix, reason=outcome.reason,
                           retryable=outcome.retryable, counts=outcome.counts,
                           finished_at=now)

    def instance_counts(self, pair: RegistrationPair) -> tuple[int | None, int | None]:
        return self.counts

    def series_slices(self, series_uid: str) -> IndexedSeries | None:
        return None


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


def done(pair: RegistrationPair) -> Outcome:
    return Outcome(DONE, matrix=IDENTITY, metric=-1.0, counts=(10, 10))


def test_many_threads_and_the_background_compute_a_pair_once() -> None:
    store = FakeStore()
    running = []
    calls = []

    def slow(pair: RegistrationPair) -> Outcome:
        running.append(pair)
        calls.append(pair)
        assert len(running) == 1  # never two at once
        time.sleep(0.2)
        running.pop()
        return done(pair)

    jobs = RegistrationJobs(store, slow)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(jobs.obtain(PAIR, 120).status))
               for _ in range(12)]
    for t in threads:
        t.start()
    jobs.submit(PAIR)
    for t in threads:
        t.join()
    jobs.join()
    assert calls == [PAIR] and results == [DONE] * 12 and jobs.computed == 1
    assert jobs.state(PAIR).matrix == IDENTITY


def test_state_never_waits_and_queues_an_unknown_pair() -> None:
    store = FakeStore()
    release = threading.Event()

    def gated(pair: RegistrationPair) -> Outcome:
        release.wait()
        return done(pair)

    jobs = RegistrationJobs(store, gated)
    try:
        assert jobs.state(PAIR).status == PENDING  # queued, answered at once
        while PAIR not in store.rows:  # the background thread claims it
            time.sleep(0.01)
        assert jobs.state(PAIR).status == PENDING
        # Computed elsewhere: a request waits for it at most as long as it is told to. The
        # computation is held until the end, so an answer is proof that it did not wait for
        # it (no clock is read: a time limit would assume a quiet machine).
        assert jobs.obtain(PAIR, wait_s=0.1).status == PENDING
    finally:
        release.set()
    jobs.join()
    assert jobs.state(PAIR).status == DONE and jobs.computed == 1


def test_a_crashing_computation_fails_the_pair_instead_of_leaving_it_pending() -> None:
    def broken(pair: RegistrationPair) -> Outcome:
        raise ValueError("bug")

    jobs = RegistrationJobs(FakeStore(), broken)
    state = jobs.obtain(PAIR, wait_s=1)
    assert state.status == FAILED and state.reason == "internal error (ValueError)"


def test_retries_stale_claims_and_changed_series() -> None:
    store, clock = FakeStore(), Clock()
    outcomes = [Outcome(FAILED, reason="the PACS (Orthanc) was unreachable", retryable=True,
                        counts=(10, 10)),
                Outcome(FAILED, reason="rotation 20.0 degrees exceeds 15", counts=(10, 10))]
    jobs = RegistrationJobs(store, lambda pair: outcomes.pop(0) if outcomes else done(pair),
                            clock=clock)
    assert jobs.obtain(PAIR, 1).reason == "the PACS (Orthanc) was unreachable"
    assert jobs.obtain(PAIR, 1).status == FAILED and len(outcomes) == 1  # not yet retried
    clock.now += dt.timedelta(seconds=RETRY_AFTER_S + 1)
    implausible = jobs.obtain(PAIR, 1)
    assert implausible.reason == "rotation 20.0 degrees exceeds 15"
    clock.now += dt.timedelta(days=1)
    assert jobs.obtain(PAIR, 1).reason == implausible.reason  # implausible stays failed
    store.counts = (10, 12)  # the follow-up series grew: computed again
    assert jobs.obtain(PAIR, 1).status == DONE and jobs.computed == 3


def test_may_claim() -> None:
    pending = StoredClaim(PENDING, 1, T0, None, False, (None, None))
    assert may_claim(None, T0, (1, 1))
    assert not may_claim(pending, T0 + dt.timedelta(seconds=STALE_CLAIM_S - 1), (1, 1))
    assert may_claim(pending, T0 + dt.timedelta(seconds=STALE_CLAIM_S + 1), (1, 1))
    done = StoredClaim(DONE, 1, T0, T0, False, (1, 1))
    assert not may_claim(done, T0, (1, 1)) and may_claim(done, T0, (1, 2))
    assert not may_claim(done, T0, (1, None))  # a series missing from the index


def _series(uid: str, thickness: float, modality: str = "CT",
            orientation: tuple[float, ...] = (1, 0, 0, 0, 1, 0)) -> FakeSeries:
    return FakeSeries(id=0, series_instance_uid=uid, modality=modality,
                      slice_thickness_mm=thickness, orientation=list(orientation),
                      instance_count=100, orthanc_id=uid)


def _pair(b: str, f: str, score: float | None) -> ComparisonPair:
    return ComparisonPair(baseline_series_uid=b, followup_series_uid=f, score=score,
                          reasons=[], source="auto" if score is not None else "manual")


def test_preferred_pair_is_thin_axial_ct_then_the_best_score() -> None:
    series = [_series("b-thin", 1.25), _series("f-thin", 1.25), _series("b-5", 5.0),
              _series("f-5", 5.0), _series("b-cor", 3.0, orientation=(1, 0, 0, 0, 0, -1)),
              _series("f-cor", 3.0, orientation=(1, 0, 0, 0, 0, -1)),
              _series("b-mr", 1.0, "MR"), _series("f-mr", 1.0, "MR")]
    pairs = [_pair("b-5", "f-5", 0.99), _pair("b-thin", "f-thin", 0.8),
             _pair("b-cor", "f-cor", 1.0), _pair("b-mr", "f-mr", 1.0)]
    assert preferred_pair(pairs, series) == RegistrationPair("b-thin", "f-thin")
    assert preferred_pair(pairs[:1] + pairs[2:], series) == RegistrationPair("b-5", "f-5")
    assert preferred_pair(pairs[2:], series) in (RegistrationPair("b-cor", "f-cor"),
                                                 RegistrationPair("b-mr", "f-mr"))
    manual = [_pair("b-5", "f-5", 0.7), _pair("b-thin", "f-5", None)]
    assert preferred_pair(manual, series) == RegistrationPair("b-thin", "f-5")
    assert preferred_pair([], series) is None


def _m(timepoint: str, version: int, **values: Any) -> MeasurementVersion:
    return MeasurementVersion(lesion_id=1, timepoint_uid=timepoint, version=version,
                              author="r", **values)


@pytest.mark.parametrize("earlier, expected", [
    (["tp1", "tp2"], "tp2"), (["tp1"], "tp1"), ([], None)])
def test_last_caliper_is_the_latest_earlier_one_with_endpoints(
    earlier: list[str], expected: str | None
) -> None:
    caliper = {"sop_instance_uid": "1.9", "series_instance_uid": "1.8",
               "endpoints": [[1.0, 2.0], [3.0, 4.0]], "length_mm": 3.0}
    current = [_m("tp1", 1, **caliper), _m("tp2", 2, **caliper),
               _m("tp3", 3, **caliper), _m("tp2b", 4, status="disappeared", length_mm=0.0)]
    found = last_caliper(current, 1, [*earlier, "tp2b"])
    assert (found.timepoint_uid if found else None) == expected
    assert last_caliper(current, 2, ["tp1"]) is None


def test_a_lesion_point_is_proposed_like_a_caliper() -> None:
    """A non-target or new lesion clicked on the image (issue 19) is found at other
    timepoints from its point, as a caliper is from its middle."""
    point = {"sop_instance_uid": "1.9", "series_instance_uid": "1.8", "status": "present",
             "point": [5.0, 6.0]}
    current = [_m("tp1", 1, **point), _m("tp2", 2, status="present")]
    found = last_caliper(current, 1, ["tp1", "tp2"])
    assert found is not None and found.timepoint_uid == "tp1" and found.point == [5.0, 6.0]
