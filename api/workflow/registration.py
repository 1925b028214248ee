"""Registration per request: a comparison's registration, and where a lesion measured at
an earlier timepoint should be at a later one (the proposal).

The value types and the store's Protocol are in :mod:`api.workflow.ports`, the scheduler
that computes each pair once in :mod:`api.workflow.registration_jobs`, the computer
(Orthanc and SimpleITK) in :mod:`api.adapters.registration_computer`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from api.workflow.case_reader import CaseReader, patient_studies
from api.workflow.comparisons import ComparisonView, pair_studies
from api.workflow.domain import Comparison, ComparisonPair, MeasurementVersion
from api.workflow.errors import Conflict, NotFound
from api.workflow.ports import (
    DONE,
    CaseStore,
    Pacs,
    RegistrationPair,
    RegistrationState,
    RegistrationStore,
    Series,
    Study,
)
from api.workflow.registration_jobs import RegistrationJobs
from api.workflow.roles import READERS, Principal, check_role
from imaging import rigid
from imaging.errors import ImagingError
from imaging.geometry import ImagePlane, caliper_midpoint, nearest_slice, plane_name

#: How long a proposal waits for a registration that another thread or process computes.
PROPOSAL_WAIT_S = 60.0
#: Series at most this thick count as thin (preferred for registration).
THIN_SLICE_MM = 2.5


# -- which pair to register ------------------------------------------------------------------


def preferred_pair(pairs: Sequence[ComparisonPair], series: Iterable[Series]
                   ) -> RegistrationPair | None:
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
    return RegistrationPair(best.baseline_series_uid, best.followup_series_uid)


def _plane(s: Series) -> str | None:
    orientation = s.orientation
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

    def __init__(self, reader: CaseReader, pacs: Pacs, jobs: RegistrationJobs,
                 index: RegistrationStore) -> None:
        self.reader = reader
        self.store = reader.store
        self.pacs = pacs
        self.jobs = jobs
        self.index = index

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
        case = self.reader.open_case(who, READERS, case_id)
        lesion = self.reader.lesion(case, lesion_id)
        timepoints = self.reader.timepoints(case)
        target = self.reader.timepoint(case, timepoint_id)
        order = [st.study_instance_uid for st in timepoints]
        earlier = order[:order.index(timepoint_id)]
        measured = last_caliper(self.reader.current(case).values(), lesion.id, earlier)
        if measured is None:
            raise NotFound(f"lesion {lesion.id} has no caliper measurement before timepoint "
                           f"{timepoint_id!r}")
        source_study = timepoints[order.index(measured.timepoint_uid)]
        pair = self._pair_for(case.patient_id, source_study, target,
                              measured.series_instance_uid or "")
        self.reader.record(who, "read", case, f"/lesions/{lesion.id}/proposal/{timepoint_id}")
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
                  ) -> RegistrationPair:
        comparison = self.store.newest_comparison(patient_id, source.study_instance_uid,
                                                  target.study_instance_uid)
        if comparison is not None:
            pairs = [(p.baseline_series_uid, p.followup_series_uid) for p in comparison.pairs]
        else:
            pairs = [(p.baseline_series_uid, p.followup_series_uid)
                     for p in pair_studies(source, target).pairs]
        for b, f in pairs:
            if b == series_uid:
                return RegistrationPair(b, f)
        raise Conflict(f"the measured series {series_uid!r} has no paired series in timepoint "
                       f"{target.study_instance_uid!r}; pair it in a comparison first")

    def _plane(self, sop_instance_uid: str, frame: int | None) -> ImagePlane:
        """Where the image (the frame of a multi-frame one) lies in patient space."""
        located = self.store.locate_instance(sop_instance_uid)
        if located is None:
            raise Conflict(f"instance {sop_instance_uid!r} is no longer indexed")
        plane = self.pacs.image_plane(located.orthanc_id, frame or 1)
        if plane is None:
            raise Conflict(f"instance {sop_instance_uid!r} has no usable Image Plane "
                           "attributes (position, orientation, pixel spacing)")
        return plane


def queue_comparison(jobs: RegistrationJobs, view: ComparisonView) -> None:
    """Start the registration of a comparison's preferred pair in the background."""
    pair = preferred_pair(view.comparison.pairs, [*view.baseline.series, *view.followup.series])
    if pair is not None:
        jobs.submit(pair)


def comparison_pair(store: CaseStore, c: Comparison) -> RegistrationPair:
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
