"""Registration of paired series, and where a measured lesion should be at a later scan.

Two parts:

* :class:`RegistrationJobs`, one per process: computes the registration of a
  (baseline series, follow-up series) pair once and keeps it in the database. A pair is
  claimed before it is computed: a row with status ``pending`` (the database's unique key
  and a compare-and-set on ``attempt`` keep two processes apart) plus a process-local
  lock and event (which keep two threads apart). A comparison's pair is queued for a
  background thread when the comparison is created; any other pair is computed on first
  need, in the thread that needs it, so a request waits for the registration itself and
  never for a queue. A request that needs a pair another thread or process is computing
  waits for that one instead of computing it again.
* :class:`RegistrationService`, per request: the registration of a comparison, and the
  proposal of where a lesion measured at an earlier timepoint lies at a later one.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from api.db.models import Comparison, ComparisonPair, Series, Study
from api.workflow.cases import CaseService, patient_studies
from api.workflow.comparisons import ComparisonView, pair_studies, split_floats
from api.workflow.domain import MeasurementVersion
from api.workflow.errors import Conflict, NotFound
from api.workflow.ports import CaseStore, Pacs
from api.workflow.roles import READERS, Principal, check_role
from imaging import rigid
from imaging.errors import ImagingError
from imaging.geometry import ImagePlane, caliper_midpoint, nearest_slice, plane_name
from imaging.registration import RegistrationSettings, register
from pacs.errors import OrthancUnavailable, PacsError
from pacs.metadata import image_plane
from pacs.orthanc import OrthancClient
from pacs.voxels import SliceRef, read_volume

log = logging.getLogger(__name__)

PENDING, DONE, FAILED = "pending", "done", "failed"
#: A claim older than this belongs to a process that died: the pair may be claimed again.
STALE_CLAIM_S = 300.0
#: A failure that may pass (the PACS was unreachable) is tried again after this.
RETRY_AFTER_S = 60.0
#: How long a proposal waits for a registration that another thread or process computes.
PROPOSAL_WAIT_S = 60.0
#: Series at most this thick count as thin (preferred for registration).
THIN_SLICE_MM = 2.5
_POLL_S = 0.2


@dataclass(frozen=True, order=True)
class SeriesPair:
    baseline_series_uid: str
    followup_series_uid: str


@dataclass(frozen=True)
class Outcome:
    """What one computation found (written into the pair's row)."""

    status: str  # DONE or FAILED
    matrix: list[list[float]] | None = None
    metric: float | None = None
    elapsed_s: float | None = None
    read_s: float | None = None
    reason: str | None = None
    retryable: bool = False
    counts: tuple[int | None, int | None] = (None, None)
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RegistrationState:
    """A pair's registration as stored (or pending, before any row exists)."""

    pair: SeriesPair
    status: str
    matrix: list[list[float]] | None = None
    metric: float | None = None
    elapsed_s: float | None = None
    read_s: float | None = None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    claim: StoredClaim | None = None  # what decides a new claim; None before any row


@dataclass(frozen=True)
class StoredClaim:
    """The fields of a stored row that decide whether it may be claimed again."""

    status: str
    attempt: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    retryable: bool
    counts: tuple[int | None, int | None]


class RegistrationStore(Protocol):
    """Where registrations are kept, and the index reads they need."""

    def get(self, pair: SeriesPair) -> RegistrationState | None: ...
    def claim(self, pair: SeriesPair, claimant: str, now: dt.datetime,
              counts: tuple[int | None, int | None]) -> int | None:
        """Mark the pair pending for ``claimant``; the claim's attempt number, or None
        when the pair is computed, or being computed, elsewhere (:func:`may_claim`)."""
    def finish(self, pair: SeriesPair, attempt: int, outcome: Outcome,
               now: dt.datetime) -> None:
        """Store the outcome unless a later claim superseded ``attempt``."""
    def instance_counts(self, pair: SeriesPair) -> tuple[int | None, int | None]: ...
    def series_slices(self, series_uid: str) -> IndexedSeries | None: ...


@dataclass(frozen=True)
class IndexedSlice:
    """One image of a series: an instance, or one frame (1-based) of a multi-frame one."""

    sop_instance_uid: str
    orthanc_id: str
    position_mm: float
    frame: int | None = None


@dataclass(frozen=True)
class IndexedSeries:
    series_instance_uid: str
    modality: str
    orientation: tuple[float, ...] | None
    slices: tuple[IndexedSlice, ...]


def aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes for timezone columns: they were written in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def may_claim(row: StoredClaim | None, now: dt.datetime,
              counts: tuple[int | None, int | None]) -> bool:
    """Whether a stored registration may be (re)computed now.

    Yes when there is none; when a claim was abandoned (pending longer than
    :data:`STALE_CLAIM_S`); when a failure may pass and :data:`RETRY_AFTER_S` went by; and
    when a series gained or lost instances since (the result was computed on other data).
    """
    if row is None:
        return True
    age = (now - aware(row.started_at)).total_seconds()
    if row.status == PENDING:
        return age > STALE_CLAIM_S
    if row.status == FAILED and row.retryable:
        finished = aware(row.finished_at or row.started_at)
        if (now - finished).total_seconds() > RETRY_AFTER_S:
            return True
    return all(c is not None for c in counts) and row.counts != counts


def default_claimant() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class RegistrationJobs:
    """Computes each pair's registration once, in the background or on first need."""

    def __init__(self, store: RegistrationStore, compute: Callable[[SeriesPair], Outcome], *,
                 claimant: str | None = None,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        self._store = store
        self._compute = compute
        self._claimant = claimant or default_claimant()
        self._clock = clock
        self._lock = threading.Lock()
        self._running: dict[SeriesPair, threading.Event] = {}
        self._attempts: dict[SeriesPair, int] = {}
        self._queue: queue.Queue[SeriesPair] = queue.Queue()
        self._worker: threading.Thread | None = None
        self.computed = 0  # how many registrations this process computed (tests, logs)

    # -- the three ways in ----------------------------------------------------------------

    def submit(self, pair: SeriesPair) -> None:
        """Compute the pair in the background thread (nothing happens if it is known)."""
        with self._lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="nadir-registration",
                                                daemon=True)
                self._worker.start()
        self._queue.put(pair)

    def state(self, pair: SeriesPair) -> RegistrationState:
        """The pair's registration now, never waiting; one to be (re)computed is queued."""
        stored = self._store.get(pair)
        with self._lock:
            running = pair in self._running
        if running:
            return stored if stored is not None and stored.status == PENDING \
                else RegistrationState(pair, PENDING)
        if stored is None or may_claim(stored.claim, self._clock(),
                                       self._store.instance_counts(pair)):
            self.submit(pair)
            return RegistrationState(pair, PENDING)
        return stored

    def obtain(self, pair: SeriesPair, wait_s: float) -> RegistrationState:
        """The pair's registration, computed here and now if nobody has: the caller waits
        for the registration itself, or up to ``wait_s`` for one computed elsewhere."""
        event, owned = self._try_claim(pair)
        if owned and event is not None:
            self._run(pair, event)
        elif event is not None:
            event.wait(timeout=wait_s)
        else:
            deadline = time.monotonic() + wait_s
            while True:
                stored = self._store.get(pair)
                if stored is not None and stored.status != PENDING:
                    break
                if time.monotonic() >= deadline:
                    break
                time.sleep(_POLL_S)
        return self._store.get(pair) or RegistrationState(pair, PENDING)

    # -- claims -----------------------------------------------------------------------------

    def _try_claim(self, pair: SeriesPair) -> tuple[threading.Event | None, bool]:
        """(event to wait on, whether this thread owns the computation)."""
        with self._lock:
            event = self._running.get(pair)
            if event is not None:
                return event, False
            attempt = self._store.claim(pair, self._claimant, self._clock(),
                                        self._store.instance_counts(pair))
            if attempt is None:
                return None, False
            event = threading.Event()
            self._running[pair] = event
            self._attempts[pair] = attempt
            return event, True

    def _run(self, pair: SeriesPair, event: threading.Event) -> None:
        attempt = self._attempts[pair]
        try:
            outcome = self._compute(pair)
        except Exception as exc:  # a bug must not leave the pair pending for ever
            log.error("registration failed unexpectedly (%s)", type(exc).__name__)
            outcome = Outcome(FAILED, reason=f"internal error ({type(exc).__name__})",
                              retryable=True)
        try:
            self._store.finish(pair, attempt, outcome, self._clock())
        finally:
            with self._lock:
                self.computed += 1
                self._running.pop(pair, None)
                self._attempts.pop(pair, None)
            event.set()

    def _work(self) -> None:
        while True:
            pair = self._queue.get()
            try:
                event, owned = self._try_claim(pair)
                if owned and event is not None:
                    self._run(pair, event)
            except Exception as exc:  # the background thread must survive a database hiccup
                log.error("background registration failed (%s)", type(exc).__name__)
            finally:
                self._queue.task_done()

    def join(self) -> None:
        """Wait until the queued pairs are done (tests and benchmarks)."""
        self._queue.join()


# -- computing one pair ----------------------------------------------------------------------


class RegistrationComputer:
    """Reads both series from Orthanc and registers them (the jobs' ``compute``)."""

    def __init__(self, store: RegistrationStore, orthanc: OrthancClient,
                 settings: RegistrationSettings | None = None) -> None:
        self._store = store
        self._orthanc = orthanc
        self._settings = settings or RegistrationSettings()

    def __call__(self, pair: SeriesPair) -> Outcome:
        started = time.perf_counter()
        baseline = self._store.series_slices(pair.baseline_series_uid)
        followup = self._store.series_slices(pair.followup_series_uid)
        counts = self._store.instance_counts(pair)
        if baseline is None or followup is None:
            return Outcome(FAILED, reason="a series of the pair is not indexed", retryable=True,
                           counts=counts)
        try:
            volumes = [read_volume(self._orthanc,
                                   [SliceRef(s.orthanc_id, s.position_mm, s.frame)
                                    for s in one.slices],
                                   modality=one.modality) for one in (baseline, followup)]
            read_s = time.perf_counter() - started
            result = register(volumes[0], volumes[1], self._settings)
        except OrthancUnavailable:
            return Outcome(FAILED, reason="the PACS (Orthanc) was unreachable", retryable=True,
                           counts=counts, elapsed_s=time.perf_counter() - started)
        except (PacsError, ImagingError) as exc:
            return Outcome(FAILED, reason=str(exc), counts=counts,
                           elapsed_s=time.perf_counter() - started)
        p = result.plausibility
        details = {"method": result.method, "rotation_deg": _round(p.rotation_deg, 3),
                   "translation_mm": _round(p.translation_mm, 2),
                   "overlap": _round(result.overlap, 3), "iterations": result.iterations,
                   "register_s": _round(result.elapsed_s, 3),
                   "voxel_mm": [list(v.spacing) for v in volumes]}
        return Outcome(DONE if p.plausible else FAILED, matrix=rigid.as_rows(result.matrix),
                       metric=round(result.metric, 4),
                       elapsed_s=round(time.perf_counter() - started, 3),
                       read_s=round(read_s, 3), reason=p.reason, counts=counts,
                       details=details)


def _round(value: float, digits: int) -> float | None:
    return round(value, digits) if value == value else None  # NaN -> None


# -- which pair to register ------------------------------------------------------------------


def preferred_pair(pairs: Sequence[ComparisonPair], series: Iterable[Series]
                   ) -> SeriesPair | None:
    """The pair a comparison is registered on: thin axial CT first, then the best score.

    A radiologist's pair (no score) counts as certain. Pairs of other modalities or
    planes come after every axial CT pair.
    """
    by_uid = {s.series_instance_uid: s for s in series}

    def rank(p: ComparisonPair) -> tuple[int, int, float, float]:
        b, f = by_uid.get(p.baseline_series_uid), by_uid.get(p.followup_series_uid)
        axial_ct = int(b is not None and f is not None and b.modality == "CT"
                       and f.modality == "CT" and _plane(b) == "axial" and _plane(f) == "axial")
        thickness = max((s.slice_thickness_mm or 99.0) if s else 99.0 for s in (b, f))
        thin = int(axial_ct and thickness <= THIN_SLICE_MM)
        score = 1.0 if p.score is None else p.score
        return (-axial_ct, -thin, -score, thickness)

    if not pairs:
        return None
    best = min(pairs, key=rank)
    return SeriesPair(best.baseline_series_uid, best.followup_series_uid)


def _plane(s: Series) -> str | None:
    orientation = split_floats(s.orientation)
    if not orientation or len(orientation) != 6:
        return None
    try:
        return plane_name(orientation)
    except ImagingError:
        return None


# -- per request -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ComparisonRegistration:
    comparison_id: int
    state: RegistrationState


@dataclass(frozen=True)
class Proposal:
    """Where the lesion should be on the target timepoint's paired series."""

    timepoint_id: str
    series_instance_uid: str
    sop_instance_uid: str
    point: tuple[float, float]
    position_mm: tuple[float, float, float]
    source: str  # "registration" or "position"
    from_timepoint_id: str
    from_series_instance_uid: str
    from_sop_instance_uid: str
    from_position_mm: tuple[float, float, float]
    slice_distance_mm: float
    inside_image: bool
    registration: RegistrationState
    frame: int | None = None  # of a multi-frame image (1-based)
    from_frame: int | None = None


class RegistrationService:
    """Use cases of registration for one unit of work (a request)."""

    def __init__(self, store: CaseStore, pacs: Pacs, jobs: RegistrationJobs,
                 index: RegistrationStore) -> None:
        self.store = store
        self.pacs = pacs
        self.jobs = jobs
        self.index = index
        self.cases = CaseService(store, pacs)

    def comparison_registration(self, who: Principal, comparison_id: int,
                                wait_s: float = 0.0) -> ComparisonRegistration:
        """The registration of the comparison's preferred pair (queued when unknown)."""
        check_role(who, READERS)
        c = self.store.comparison(comparison_id)
        if c is None:
            raise NotFound(f"unknown comparison {comparison_id}")
        pair = comparison_pair(self.store, c)
        self.store.audit(who, "read", f"comparisons/{c.id}/registration", c.patient_id)
        self.store.commit()
        state = self.jobs.obtain(pair, wait_s) if wait_s > 0 else self.jobs.state(pair)
        return ComparisonRegistration(c.id, state)

    def proposal(self, who: Principal, case_id: int, lesion_id: int, timepoint_id: str
                 ) -> Proposal:
        """Where the lesion, as last measured before ``timepoint_id``, lies there."""
        check_role(who, READERS)
        case = self.cases.case(case_id)
        lesion = self.cases.lesion(case, lesion_id)
        timepoints = self.cases.timepoints(case)
        target = self.cases.timepoint(case, timepoint_id)
        order = [st.study_instance_uid for st in timepoints]
        earlier = order[:order.index(timepoint_id)]
        measured = last_caliper(self.cases.current(case).values(), lesion.id, earlier)
        if measured is None:
            raise NotFound(f"lesion {lesion.id} has no caliper measurement before timepoint "
                           f"{timepoint_id!r}")
        source_study = timepoints[order.index(measured.timepoint_uid)]
        pair = self._pair_for(case.patient_id, source_study, target,
                              measured.series_instance_uid or "")
        self.store.audit(who, "read", f"cases/{case.id}/lesions/{lesion.id}/proposal/"
                         f"{timepoint_id}", case.patient_id)
        self.store.commit()
        state = self.jobs.obtain(pair, PROPOSAL_WAIT_S)
        start = self._plane(measured.sop_instance_uid or "", measured.frame)
        from_point = start.to_patient(*_where(measured))
        if state.status == DONE and state.matrix is not None:
            position, source = rigid.apply(rigid.as_matrix(state.matrix), from_point), \
                "registration"
        else:
            position, source = from_point, "position"
        target_series = self.index.series_slices(pair.followup_series_uid)
        if target_series is None or not target_series.slices or \
                target_series.orientation is None:
            raise Conflict(f"series {pair.followup_series_uid!r} has no indexed slices")
        chosen, _ = nearest_slice([(s, s.position_mm) for s in target_series.slices],
                                  target_series.orientation, position)
        plane = self._plane(chosen.sop_instance_uid, chosen.frame)
        row, column, off_plane = plane.to_image(position)
        return Proposal(
            timepoint_id=timepoint_id, series_instance_uid=pair.followup_series_uid,
            sop_instance_uid=chosen.sop_instance_uid, point=(round(row, 2), round(column, 2)),
            position_mm=_rounded(position), source=source,
            from_timepoint_id=measured.timepoint_uid,
            from_series_instance_uid=measured.series_instance_uid or "",
            from_sop_instance_uid=measured.sop_instance_uid or "",
            from_position_mm=_rounded(from_point),
            slice_distance_mm=round(off_plane, 2),
            inside_image=plane.contains(row, column), registration=state,
            frame=chosen.frame, from_frame=measured.frame)

    def _pair_for(self, patient_id: str, source: Study, target: Study, series_uid: str
                  ) -> SeriesPair:
        comparison = self.store.newest_comparison(patient_id, source.study_instance_uid,
                                                  target.study_instance_uid)
        if comparison is not None:
            pairs = [(p.baseline_series_uid, p.followup_series_uid) for p in comparison.pairs]
        else:
            pairs = [(p.baseline_series_uid, p.followup_series_uid)
                     for p in pair_studies(source, target).pairs]
        for b, f in pairs:
            if b == series_uid:
                return SeriesPair(b, f)
        raise Conflict(f"the measured series {series_uid!r} has no paired series in timepoint "
                       f"{target.study_instance_uid!r}; pair it in a comparison first")

    def _plane(self, sop_instance_uid: str, frame: int | None) -> ImagePlane:
        """Where the image (the frame of a multi-frame one) lies in patient space."""
        located = self.store.locate_instance(sop_instance_uid)
        if located is None:
            raise Conflict(f"instance {sop_instance_uid!r} is no longer indexed")
        plane = image_plane(self.pacs.instance_tags(located.orthanc_id), frame or 1)
        if plane is None:
            raise Conflict(f"instance {sop_instance_uid!r} has no usable Image Plane "
                           "attributes (position, orientation, pixel spacing)")
        return plane


def queue_comparison(jobs: RegistrationJobs, view: ComparisonView) -> None:
    """Start the registration of a comparison's preferred pair in the background."""
    pair = preferred_pair(view.comparison.pairs, [*view.baseline.series, *view.followup.series])
    if pair is not None:
        jobs.submit(pair)


def comparison_pair(store: CaseStore, c: Comparison) -> SeriesPair:
    studies = {st.study_instance_uid: st for st in patient_studies(store, c.patient_id)}
    series = [s for uid in (c.baseline_study_uid, c.followup_study_uid) if uid in studies
              for s in studies[uid].series]
    pair = preferred_pair(c.pairs, series)
    if pair is None:
        raise Conflict(f"comparison {c.id} has no paired series to register")
    return pair


def last_caliper(current: Iterable[MeasurementVersion], lesion_id: int,
                 timepoints: Sequence[str]) -> MeasurementVersion | None:
    """The lesion's caliper measurement, or point (a non-target or new lesion clicked on
    the image), at the latest of ``timepoints`` that has one."""
    rank = {tp: i for i, tp in enumerate(timepoints)}
    calipers = [m for m in current if m.lesion_id == lesion_id and m.timepoint_uid in rank
                and m.sop_instance_uid and m.series_instance_uid
                and ((m.endpoints and len(m.endpoints) == 2)
                     or (m.point and len(m.point) == 2))]
    return max(calipers, key=lambda m: rank[m.timepoint_uid], default=None)


def _where(m: MeasurementVersion) -> tuple[float, float]:
    """The image point a proposal starts from: the caliper's middle, or the lesion's point."""
    if m.endpoints and len(m.endpoints) == 2:
        return caliper_midpoint(m.endpoints[0], m.endpoints[1])
    assert m.point is not None  # last_caliper keeps only a caliper or a point
    return float(m.point[0]), float(m.point[1])


def _rounded(p: Sequence[float]) -> tuple[float, float, float]:
    return (round(float(p[0]), 2), round(float(p[1]), 2), round(float(p[2]), 2))
