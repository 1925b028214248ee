"""Comparisons: a baseline and a follow-up study of a patient, with their paired series."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from api.workflow.case_reader import patient_studies
from api.workflow.domain import Comparison, ComparisonPair, utcnow
from api.workflow.errors import InvalidInput, NotFound, StaleVersion
from api.workflow.ports import CaseStore, Series, Study
from api.workflow.roles import CASE_MANAGERS, READERS, Principal, check_role
from imaging.metadata import describe_series
from imaging.model import SeriesDescriptor
from imaging.pairing import Pairing, pair_series


@dataclass(frozen=True)
class ComparisonView:
    comparison: Comparison
    baseline: Study
    followup: Study
    #: False when an existing comparison of the same studies was returned.
    created: bool = True

    @property
    def etag(self) -> str:
        return comparison_etag(self.comparison)


def _still_covers(c: Comparison, pairing: Pairing) -> bool:
    """Whether ``c`` still speaks of every series a fresh automatic pairing would (a series
    indexed since then makes a new comparison), or a radiologist set its pairs."""
    if any(p.source != "auto" for p in c.pairs):
        return True
    known = {uid for p in c.pairs for uid in (p.baseline_series_uid, p.followup_series_uid)}
    known |= {str(e[0]) for e in c.excluded or []}
    fresh = {uid for p in pairing.pairs for uid in (p.baseline_series_uid,
                                                    p.followup_series_uid)}
    fresh |= {uid for uid, _ in pairing.excluded}
    return fresh <= known


def comparison_etag(c: Comparison) -> str:
    return f'"comparison-{c.id}-v{c.version}"'


class ComparisonService:
    """Create comparisons with automatic pairing; radiologists override the pairs.

    ``on_changed`` is told of each created comparison and of each new pairing, after the
    commit (the registration of the pairs starts there).
    """

    def __init__(self, store: CaseStore, *,
                 on_changed: Callable[[ComparisonView], None] | None = None) -> None:
        self.store = store
        self._on_changed = on_changed

    def _changed(self, view: ComparisonView) -> None:
        if self._on_changed is not None:
            self._on_changed(view)

    def create(self, who: Principal, patient_id: str, baseline_uid: str | None,
               followup_uid: str | None, *, new: bool = False) -> ComparisonView:
        """The comparison of two studies: the existing one when it still covers every series
        the pairing would consider (or a radiologist chose its pairs), unless ``new``."""
        check_role(who, READERS)
        studies = patient_studies(self.store, patient_id)
        if len(studies) < 2 and not (baseline_uid and followup_uid):
            raise InvalidInput(f"patient {patient_id!r} has {len(studies)} indexed "
                               "study; a comparison needs a baseline and a follow-up")
        baseline = _pick_study(studies, baseline_uid, "baseline", studies[0] if studies else None)
        followup = _pick_study(studies, followup_uid, "followup",
                               studies[-1] if studies else None)
        if baseline.id == followup.id:
            raise InvalidInput("baseline_study_uid and followup_study_uid are the same study")
        pairing = pair_studies(baseline, followup)
        existing = None if new else self.store.newest_comparison(
            patient_id, baseline.study_instance_uid, followup.study_instance_uid)
        if existing is not None and _still_covers(existing, pairing):
            self.store.audit(who, "read", f"comparisons/{existing.id}", patient_id)
            self.store.commit()
            return ComparisonView(existing, baseline, followup, created=False)
        c = Comparison(patient_id=patient_id, baseline_study_uid=baseline.study_instance_uid,
                       followup_study_uid=followup.study_instance_uid, created_by=who.name,
                       created_at=utcnow(), excluded=[list(e) for e in pairing.excluded])
        c.pairs = [
            ComparisonPair(baseline_series_uid=p.baseline_series_uid,
                           followup_series_uid=p.followup_series_uid, score=round(p.score, 4),
                           reasons=list(p.reasons), source="auto")
            for p in pairing.pairs
        ]
        self.store.add(c)
        self.store.audit(who, "create", f"comparisons/{c.id}", patient_id)
        self.store.commit()
        view = ComparisonView(c, baseline, followup)
        self._changed(view)
        return view

    def _load(self, comparison_id: int) -> ComparisonView:
        c = self.store.comparison(comparison_id)
        if c is None:
            raise NotFound(f"unknown comparison {comparison_id}")
        studies = {st.study_instance_uid: st for st in patient_studies(self.store, c.patient_id)}
        return ComparisonView(c, studies[c.baseline_study_uid], studies[c.followup_study_uid])

    def read(self, who: Principal, comparison_id: int) -> ComparisonView:
        check_role(who, READERS)
        view = self._load(comparison_id)
        self.store.audit(who, "read", f"comparisons/{view.comparison.id}",
                         view.comparison.patient_id)
        self.store.commit()
        return view

    def override_pairs(self, who: Principal, comparison_id: int,
                       pairs: Sequence[tuple[str, str]], if_match: str | None
                       ) -> ComparisonView:
        """Replace the pairing by a radiologist's; each series in one pair at most."""
        check_role(who, CASE_MANAGERS)
        view = self._load(comparison_id)
        c = view.comparison
        if if_match is not None and if_match.strip() not in (view.etag, "*"):
            raise StaleVersion(f"comparison {c.id} changed since it was read "
                               f"(If-Match {if_match}, now {view.etag})")
        b_uids = {s.series_instance_uid for s in view.baseline.series}
        f_uids = {s.series_instance_uid for s in view.followup.series}
        seen_b: set[str] = set()
        seen_f: set[str] = set()
        for i, (b, f) in enumerate(pairs):
            if b not in b_uids:
                raise InvalidInput(f"pairs[{i}].baseline_series_uid {b!r} is not a series of "
                                   "the baseline study")
            if f not in f_uids:
                raise InvalidInput(f"pairs[{i}].followup_series_uid {f!r} is not a series of "
                                   "the follow-up study")
            if b in seen_b or f in seen_f:
                raise InvalidInput(f"pairs[{i}]: a series may appear in one pair only")
            seen_b.add(b)
            seen_f.add(f)
        self.store.replace_pairs(c, [
            ComparisonPair(baseline_series_uid=b, followup_series_uid=f, score=None,
                           reasons=[f"set by {who.role.value}"], source="manual",
                           set_by=who.name)
            for b, f in pairs])
        self.store.audit(who, "override_pairs", f"comparisons/{c.id}", c.patient_id)
        try:
            self.store.commit()
        except StaleVersion:
            raise StaleVersion(f"comparison {comparison_id} was changed at the same time; "
                               "read it again and retry") from None
        self._changed(view)
        return view


def _pick_study(studies: list[Study], uid: str | None, role: str,
                default: Study | None) -> Study:
    if uid is None and default is not None:
        return default
    for st in studies:
        if st.study_instance_uid == uid:
            return st
    raise InvalidInput(f"{role}_study_uid {uid!r} is not an indexed study of this patient")


# -- automatic pairing of two indexed studies ----------------------------------------------

def series_descriptor(s: Series, study_uid: str) -> SeriesDescriptor:
    """The pairing scorer's view of an indexed series row (:func:`describe_series`)."""
    return describe_series(
        series_instance_uid=s.series_instance_uid,
        study_instance_uid=study_uid,
        modality=s.modality,
        instance_count=s.instance_count,
        # The row keeps the two ends of the slice positions that ingest measured.
        slice_positions_mm=(s.z_min_mm, s.z_max_mm)
        if s.z_min_mm is not None and s.z_max_mm is not None else (),
        sop_class_uid=s.sop_class_uid,
        body_part=s.body_part,
        description=s.description,
        protocol=s.protocol,
        series_number=s.series_number,
        image_type=s.image_type or (),
        convolution_kernel=s.convolution_kernel,
        slice_thickness_mm=s.slice_thickness_mm,
        pixel_spacing_mm=s.pixel_spacing_mm,
        orientation=s.orientation,
        frame_of_reference_uid=s.frame_of_reference_uid,
        contrast_agent=s.contrast_agent,
    )


def pair_studies(baseline: Study, followup: Study) -> Pairing:
    """The automatic pairing of two indexed studies' series (imaging.pairing)."""
    return pair_series(
        [series_descriptor(s, baseline.study_instance_uid) for s in baseline.series],
        [series_descriptor(s, followup.study_instance_uid) for s in followup.series],
    )
