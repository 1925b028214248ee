"""Second readings (issue 21): a review is a case of its own that reads another case again.

A review has its own lesions, measurements and sign-offs, so its reader chooses targets
independently, as in a blinded independent central review (two readers, an adjudicator
where they disagree). It copies the reviewed case's patient, criteria and trial parameters.

**Timepoints, one to one.** An internal review (``timepoint_map`` None) is created over the
very same studies, with the same baseline: a case's timepoints are the patient's studies
from the baseline on (:func:`api.workflow.timeline.case_timepoints`), so the review's
timepoints are the reviewed case's, same Study Instance UIDs, same order, and the mapping is
the identity. The dates a radiologist gave to undated studies are the reviewed case's too
(:func:`dating_case`): a review cannot re-date a study, or its timepoints would drift. A
review over copies of the studies (a de-identified share) has other UIDs and stores the
mapping, review timepoint -> reviewed timepoint (``Case.timepoint_map``).

**Blinding.** While a blinded review is not signed off at every one of its timepoints, its
reader may not see the reviewed case's reading, nor any other review of it
(:func:`blinding_reason`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from api.workflow.domain import Case, utcnow
from api.workflow.errors import InvalidInput
from api.workflow.ports import CaseStore
from api.workflow.roles import Principal, Role
from api.workflow.timeline import case_timepoints, with_case_dates

#: What a refusal for blinding says first (the workstation shows the whole message).
BLINDED = "blinded review"


def new_review(primary: Case, *, reader: str, blinded: bool, created_by: str,
               patient_id: str | None = None, baseline_study_uid: str | None = None,
               timepoint_map: Mapping[str, str] | None = None) -> Case:
    """A review case of ``primary`` (not stored yet): same patient, baseline, criteria and
    best-overall-response parameters, unless it reads copies of the studies (then
    ``patient_id``, ``baseline_study_uid`` and ``timepoint_map`` name the copies)."""
    if primary.review_of is not None:
        raise InvalidInput(f"case {primary.id} is itself a review of case "
                           f"{primary.review_of}: review the primary case")
    copies = (patient_id, baseline_study_uid, timepoint_map)
    if any(v is not None for v in copies) and any(v is None for v in copies):
        raise InvalidInput("a review over copies of the studies needs patient_id, "
                           "baseline_study_uid and timepoint_map together")
    return Case(
        patient_id=patient_id or primary.patient_id, criteria=primary.criteria,
        baseline_study_uid=baseline_study_uid or primary.baseline_study_uid,
        confirmation_required=primary.confirmation_required,
        min_sd_duration_days=primary.min_sd_duration_days,
        min_confirmation_interval_days=primary.min_confirmation_interval_days,
        min_icpd_confirmation_days=primary.min_icpd_confirmation_days,
        marker_window_days=primary.marker_window_days,
        created_by=created_by, created_at=utcnow(), lesions=[], signoffs=[],
        review_of=primary.id, reader=reader, blinded=blinded,
        timepoint_map=None if timepoint_map is None else dict(timepoint_map))


def copy_review(patient_cases: Iterable[Case]) -> Case | None:
    """The review case over copies among a patient's cases: then the patient is a share's
    de-identified copy, read in that case only (no other case is opened on it)."""
    return next((c for c in patient_cases if c.timepoint_map is not None), None)


def dating_case(store: CaseStore, case: Case) -> Case:
    """The case whose hand-set study dates date this case's studies: the reviewed case for
    a review of the same studies (their timepoints stay one to one), else the case."""
    if case.review_of is None or case.timepoint_map is not None:
        return case
    return store.case(case.review_of) or case


def primary_readers(store: CaseStore, primary: Case) -> set[str]:
    """Who read the primary case: its creator, every author of a measurement of its
    lesions and whoever signed a timepoint off. None of them may review it."""
    names = {primary.created_by, *(s.signed_by for s in primary.signoffs),
             *(les.created_by for les in primary.lesions)}
    names.update(m.author for m in store.measurements(les.id for les in primary.lesions))
    return names


def check_reader(store: CaseStore, primary: Case, reader: str) -> None:
    """The reader of a new review: an existing radiologist who did not read the primary
    case and has no review of it yet (InvalidInput naming what is wrong)."""
    role = store.user_role(reader)
    if role is None:
        raise InvalidInput(f"reader: no user named {reader!r}")
    if role != Role.RADIOLOGIST.value:
        raise InvalidInput(f"reader: {reader!r} is a {role}, not a radiologist")
    if reader in primary_readers(store, primary):
        raise InvalidInput(f"reader: {reader!r} read case {primary.id} (created it, measured "
                           "or signed it off): a second reading needs another radiologist")
    if any(r.reader == reader for r in store.reviews_of(primary.id)):
        raise InvalidInput(f"reader: {reader!r} already reads a review of case {primary.id}")


def fully_signed_off(case: Case, timepoint_uids: list[str]) -> bool:
    """Every timepoint of the case is signed off (and there is at least one)."""
    signed = {s.timepoint_uid for s in case.signoffs}
    return bool(timepoint_uids) and all(uid in signed for uid in timepoint_uids)


def blinding_reason(store: CaseStore, who: Principal, case: Case,
                    timepoints_of: Callable[[Case], list[str]]) -> str | None:
    """Why ``who`` may not see this case's reading, or None.

    The reader of a blinded review sees neither the reviewed case nor its other reviews
    until their own review is signed off at every timepoint; their own review they see.
    """
    if who.role is not Role.RADIOLOGIST:
        return None
    primary_id = case.review_of if case.review_of is not None else case.id
    for review in store.reviews_of(primary_id):
        if review.reader != who.name or not review.blinded or review.id == case.id:
            continue
        if not fully_signed_off(review, timepoints_of(review)):
            return (f"{BLINDED}: {who.name} reads case {review.id}, a blinded review of case "
                    f"{primary_id}; its reading stays hidden until case {review.id} is "
                    "signed off at every timepoint")
    return None



def hidden_images(store: CaseStore, reader: str) -> tuple[set[str], set[str]]:
    """What ``reader`` may not fetch through the image proxy while blinded: the series and
    studies of the objects (SR, PDF) published for the cases their unfinished blinded
    reviews review, and for those cases' other reviews."""
    series: set[str] = set()
    studies: set[str] = set()
    for review in store.reviews_read_by(reader):
        if not review.blinded or review.review_of is None:
            continue
        if fully_signed_off(review, _timepoint_uids(store, review)):
            continue
        for case in (store.case(review.review_of), *store.reviews_of(review.review_of)):
            if case is None or case.id == review.id:
                continue
            for pub in store.publications(case.id):
                series.add(pub.series_instance_uid)
                studies.add(pub.study_instance_uid)
    return series, studies


def _timepoint_uids(store: CaseStore, case: Case) -> list[str]:
    """The case's timepoints as the case service sees them (api.workflow.cases.view)."""
    studies = with_case_dates(store.studies_of(case.patient_id) or [],
                              dating_case(store, case).study_dates)
    return [st.study_instance_uid for st in case_timepoints(studies, case.baseline_study_uid)]
