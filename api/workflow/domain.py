"""The case aggregate as plain domain types (cosmicpython's ``domain/model.py``).

A case, its lesions, their measurement versions (with the fragments of a split lesion),
the changes to a lesion, sign-offs, the dates a radiologist gave to undated studies,
the patient's tumour marker levels, and the adjudication of a case read twice (a second
reading is itself a case: ``Case.review_of``).
Kinds, criteria and statuses are the vocabulary's enums (:mod:`measurement.vocabulary`).
These classes know nothing of the database: ``api.db.models`` maps them onto its tables
(SQLAlchemy's imperative mapping), and the unit tests' in-memory store keeps them in dicts.

They are mutable, compared by identity (``eq=False``), like the rows they are stored as:
the workflow changes a lesion's label in place and the unit of work saves it. ``id`` is
set by the store when the entity is added.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from measurement.markers import MARKER_WINDOW_DAYS
from measurement.model import EvaluationOptions
from measurement.vocabulary import Criteria, LesionKind, LesionStatus

_ENGINE_DEFAULTS = EvaluationOptions()  # the engine's defaults are the case's defaults


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(kw_only=True, eq=False)
class MeasurementFragment:
    """One caliper of a split lesion, part of one measurement version (RECIST 1.1 s4.3.2);
    never updated."""

    id: int = field(init=False)
    measurement_id: int = field(init=False)
    position: int
    sop_instance_uid: str
    series_instance_uid: str
    frame: int | None = None
    endpoints: list[Any]
    length_mm: float


@dataclass(kw_only=True, eq=False)
class MeasurementVersion:
    """One recorded measurement; never updated. The highest version per timepoint is
    current."""

    id: int = field(init=False)
    lesion_id: int
    timepoint_uid: str
    version: int
    author: str
    at: dt.datetime = field(default_factory=utcnow)
    reason: str | None = None
    status: LesionStatus | None = None
    sop_instance_uid: str | None = None
    series_instance_uid: str | None = None
    frame: int | None = None
    endpoints: list[Any] | None = None
    length_mm: float | None = None
    source: str = "manual"
    #: Bidirectional measurement: the short axis as drawn, and both diameters (None when
    #: that axis was not drawn). ``length_mm`` stays the diameter that counts.
    short_axis_endpoints: list[Any] | None = None
    long_axis_mm: float | None = None
    short_axis_mm: float | None = None
    #: Where a non-target or new lesion read by status lies: [row, column] on the image.
    point: list[Any] | None = None
    #: RECIST 1.1 s4.3.2, lesions that coalesce: the lesion this one merged into at this
    #: timepoint (that one carries the merged diameter; this one counts 0 mm).
    coalesced_into: int | None = None
    #: RECIST 1.1 s4.3.2, lesions that split: the fragments' calipers, whose longest
    #: diameters add up to ``length_mm``. Each version keeps its own (an undo restores them).
    fragments: list[MeasurementFragment] = field(default_factory=list)


@dataclass(kw_only=True, eq=False)
class Lesion:
    id: int = field(init=False)
    case_id: int
    kind: LesionKind
    organ: str
    nodal: bool = False
    label: str
    first_timepoint: str | None = None
    equivocal: bool = False
    confirmed_at: str | None = None
    tracking_uid: str
    created_by: str
    created_at: dt.datetime = field(default_factory=utcnow)
    # Soft delete: a deleted lesion leaves the evaluation; its versions stay.
    deleted_at: dt.datetime | None = None
    deleted_by: str | None = None
    deletion_reason: str | None = None
    deletion_amendment_reason: str | None = None


@dataclass(kw_only=True, eq=False)
class LesionChange:
    """A change to a lesion itself (relabel, organ, kind, deletion): never updated.

    ``changes`` maps each changed field to ``[old, new]``; ``reason`` is the amendment
    reason (or the deletion's reason)."""

    id: int = field(init=False)
    lesion_id: int
    at: dt.datetime = field(default_factory=utcnow)
    author: str
    action: str
    changes: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


@dataclass(kw_only=True, eq=False)
class TimepointSignoff:
    id: int = field(init=False)
    case_id: int
    timepoint_uid: str
    signed_by: str
    signed_at: dt.datetime = field(default_factory=utcnow)


@dataclass(kw_only=True, eq=False)
class CaseStudyDate:
    """The date a radiologist gave, for one case, to a study whose DICOM has none.

    A new one per change (the newest counts), so the case keeps who set which date when.
    """

    id: int = field(init=False)
    case_id: int = field(init=False)
    study_uid: str
    date: dt.date
    reason: str | None = None
    set_by: str
    set_at: dt.datetime = field(default_factory=utcnow)


@dataclass(kw_only=True, eq=False)
class Case:
    """Lesion tracking for one patient under one set of response criteria."""

    id: int = field(init=False)
    patient_id: str
    criteria: Criteria
    baseline_study_uid: str
    # Trial parameters of the best-overall-response rules (RECIST 1.1 sections 4.4, 4.6).
    confirmation_required: bool = _ENGINE_DEFAULTS.confirmation_required
    min_sd_duration_days: int = _ENGINE_DEFAULTS.min_sd_duration_days
    min_confirmation_interval_days: int = _ENGINE_DEFAULTS.min_confirmation_interval_days
    min_icpd_confirmation_days: int = _ENGINE_DEFAULTS.min_icpd_confirmation_days
    # A tumour marker value counts for a timepoint when drawn within this many days of it.
    marker_window_days: int = MARKER_WINDOW_DAYS
    created_by: str
    created_at: dt.datetime = field(default_factory=utcnow)
    #: A second reading is a case of its own (its own lesions and measurements) that
    #: reviews another case: ``review_of`` is that case's id, ``reader`` the user who reads
    #: it, ``blinded`` whether the reader may not see the reviewed case's reading until the
    #: review is signed off at every timepoint. None / None / False for a primary case.
    review_of: int | None = None
    reader: str | None = None
    blinded: bool = False
    #: The review's timepoints onto the reviewed case's, one to one: review timepoint
    #: (Study Instance UID) -> reviewed case's timepoint. None when the review reads the
    #: very same studies (an internal double read), where the mapping is the identity; a
    #: review over copies of the studies (a de-identified share) stores it.
    timepoint_map: dict[str, str] | None = None
    lesions: list[Lesion] = field(default_factory=list, repr=False)
    signoffs: list[TimepointSignoff] = field(default_factory=list, repr=False)
    study_dates: list[CaseStudyDate] = field(default_factory=list, repr=False)
    #: Of a primary case read twice: the adjudicators' choices, oldest first.
    adjudications: list[Adjudication] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if self.review_of is None and (self.reader is not None or self.blinded
                                       or self.timepoint_map is not None):
            raise ValueError("reader, blinded and timepoint_map belong to a review: "
                             "review_of is None")
        if self.review_of is not None and not self.reader:
            raise ValueError(f"a review (review_of={self.review_of}) needs its reader")

    @property
    def is_review(self) -> bool:
        return self.review_of is not None

    def reviewed_timepoint(self, timepoint_uid: str) -> str:
        """The reviewed case's timepoint this review timepoint reads (itself for a review
        of the same studies, or for a primary case)."""
        if self.timepoint_map is None:
            return timepoint_uid
        return self.timepoint_map.get(timepoint_uid, timepoint_uid)

    @property
    def active_lesions(self) -> list[Lesion]:
        """The lesions that count: those not deleted."""
        return [les for les in self.lesions if les.deleted_at is None]

    def signoff(self, timepoint_uid: str) -> TimepointSignoff | None:
        """The timepoint's sign-off; None while it is not signed off."""
        return next((s for s in self.signoffs if s.timepoint_uid == timepoint_uid), None)


@dataclass(kw_only=True, eq=False)
class PatientMarker:
    """One tumour marker level of a patient (a lab value), as a radiologist recorded it
    (RECIST 1.1 s3.2.2)."""

    id: int = field(init=False)
    patient_id: str
    name: str
    unit: str
    upper_limit_normal: float
    value: float
    date: dt.date
    recorded_by: str
    recorded_at: dt.datetime = field(default_factory=utcnow)


@dataclass(kw_only=True, eq=False)
class Adjudication:
    """A third reader's choice, at one timepoint of a case read twice, of the reading whose
    overall response counts (blinded independent central review: two readers, and an
    adjudicator where they disagree). Never updated: a new one per decision, the newest
    per timepoint counts, so the case keeps who chose what, when and why."""

    id: int = field(init=False)
    case_id: int = field(init=False)
    timepoint_uid: str
    chosen_case_id: int
    reason: str
    adjudicated_by: str
    adjudicated_at: dt.datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError("an adjudication needs its reason")


# -- comparisons: two studies of a patient with their paired series ---------------------------

@dataclass(kw_only=True, eq=False)
class ComparisonPair:
    """A baseline series paired with a follow-up series: scored by the automatic pairing
    (``source`` "auto") or set by a radiologist ("manual", ``score`` None)."""

    id: int = field(init=False)
    comparison_id: int = field(init=False)
    baseline_series_uid: str
    followup_series_uid: str
    score: float | None = None
    reasons: list[Any] = field(default_factory=list)
    source: str
    set_by: str | None = None


@dataclass(kw_only=True, eq=False)
class Comparison:
    """A baseline and a follow-up study of a patient with their paired series.

    ``version`` goes up by one at every change of the pairs (optimistic locking: a
    concurrent change is refused); ``excluded`` lists [series UID, reason] of the series
    the automatic pairing left out."""

    id: int = field(init=False)
    patient_id: str
    baseline_study_uid: str
    followup_study_uid: str
    created_by: str
    created_at: dt.datetime = field(default_factory=utcnow)
    version: int = field(init=False)
    excluded: list[Any] = field(default_factory=list)
    pairs: list[ComparisonPair] = field(default_factory=list, repr=False)


# -- documents: what Nadir publishes, and SRs that arrive from viewers -------------------------

@dataclass(kw_only=True, eq=False)
class Publication:
    """A DICOM object Nadir wrote into the PACS for a case (SR per timepoint, or the PDF)."""

    id: int = field(init=False)
    case_id: int
    kind: str
    timepoint_uid: str
    sop_class_uid: str
    sop_instance_uid: str
    series_instance_uid: str
    study_instance_uid: str
    replaces_id: int | None = None
    published_by: str
    published_at: dt.datetime = field(default_factory=utcnow)
    sent_to_remote: bool = False


# The states of an outbox row: waiting for its next attempt, delivered, or given up.
OUTBOX_PENDING, OUTBOX_SENT, OUTBOX_FAILED = "pending", "sent", "failed"


@dataclass(kw_only=True, eq=False)
class OutboxItem:
    """One object to deliver to one DICOM destination (C-STORE), written in the same
    transaction as what caused the send; the sender (api/workers/outbox.py) keeps it."""

    id: int = field(init=False)
    case_id: int | None = None
    publication_id: int | None = None
    ae_title: str
    host: str
    port: int
    sop_class_uid: str
    sop_instance_uid: str
    #: The Part 10 file to send; dropped once the destination has acknowledged it.
    payload: bytes | None = None
    state: str = OUTBOX_PENDING
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: dt.datetime = field(default_factory=utcnow)
    created_at: dt.datetime = field(default_factory=utcnow)
    sent_at: dt.datetime | None = None

    @property
    def destination(self) -> str:
        return f"{self.ae_title}@{self.host}:{self.port}"


@dataclass(kw_only=True, eq=False)
class SrDraft:
    """Measurements of an SR that arrived in the PACS from a viewer, awaiting confirmation
    (``status`` pending, confirmed or rejected)."""

    id: int = field(init=False)
    case_id: int
    sop_instance_uid: str
    orthanc_id: str
    status: str = "pending"
    summary: dict[str, Any] = field(default_factory=dict)
    received_at: dt.datetime = field(default_factory=utcnow)
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
