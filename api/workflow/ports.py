"""What the case service needs from the world, as Protocols.

``CaseStore`` is the unit of work over the database (``api.adapters.sql_store`` is the
SQLAlchemy implementation; the unit tests use an in-memory fake). ``Pacs`` is the image
archive (the Orthanc client, plus the hospital PACS that reports are sent to). The
stored entities are the domain types of ``api.workflow.domain`` (mapped onto the tables by
``api.db.models``); what the workflow only reads of the index and the logs is described
here by Protocols that the stored rows satisfy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from api.workflow.domain import (
    Case,
    Comparison,
    ComparisonPair,
    Lesion,
    LesionChange,
    MeasurementVersion,
    OutboxItem,
    PatientMarker,
    Publication,
    SrDraft,
    TimepointSignoff,
)
from api.workflow.roles import Principal
from api.workflow.share_types import DeidentifiedCopy, Share
from imaging.geometry import ImagePlane, PixelGeometry

Entity = (Case | Lesion | MeasurementVersion | TimepointSignoff | Publication | Comparison
          | PatientMarker | OutboxItem | LesionChange)


# -- the index of what the PACS holds, as the workflow reads it ------------------------------
# Read-only views (the index is written by ingest, api/workers/ingest.py): the SQL store
# hands out its rows (api.db.models), the unit tests' fakes small dataclasses.

class Series(Protocol):
    """An indexed series: what the pairing scorer and the registration read of it."""

    @property
    def id(self) -> int: ...
    @property
    def series_instance_uid(self) -> str: ...
    @property
    def orthanc_id(self) -> str: ...
    @property
    def modality(self) -> str: ...
    @property
    def sop_class_uid(self) -> str | None: ...
    @property
    def body_part(self) -> str | None: ...
    @property
    def description(self) -> str | None: ...
    @property
    def protocol(self) -> str | None: ...
    @property
    def series_number(self) -> int | None: ...
    @property
    def image_type(self) -> Sequence[str] | None: ...
    @property
    def convolution_kernel(self) -> str | None: ...
    @property
    def slice_thickness_mm(self) -> float | None: ...
    @property
    def pixel_spacing_mm(self) -> Sequence[float] | None:
        """Pixel Spacing: [row, column] in mm."""
    @property
    def orientation(self) -> Sequence[float] | None:
        """Image Orientation (Patient): six direction cosines."""
    @property
    def frame_of_reference_uid(self) -> str | None: ...
    @property
    def contrast_agent(self) -> str | None: ...
    @property
    def instance_count(self) -> int: ...
    @property
    def z_min_mm(self) -> float | None: ...
    @property
    def z_max_mm(self) -> float | None: ...


class Study(Protocol):
    """An indexed study with its series (a timepoint of a case when dated)."""

    @property
    def id(self) -> int: ...
    @property
    def study_instance_uid(self) -> str: ...
    @property
    def orthanc_id(self) -> str: ...
    @property
    def study_date(self) -> dt.date | None: ...
    @property
    def date_source(self) -> str | None:
        """The attribute ``study_date`` was read from (or that a radiologist set it)."""
    @property
    def study_time(self) -> str | None: ...
    @property
    def accession_number(self) -> str | None: ...
    @property
    def description(self) -> str | None: ...
    @property
    def other_patient_ids(self) -> list[Any] | None: ...
    @property
    def series(self) -> Sequence[Series]: ...

    def show_date(self, date: dt.date | None, source: str | None) -> None:
        """Show this date, and where it came from, for the rest of the unit of work; the
        index keeps the DICOM's own (never written back)."""


class Patient(Protocol):
    """An indexed patient with their studies."""

    @property
    def patient_id(self) -> str: ...
    @property
    def patient_name(self) -> str | None: ...
    @property
    def birth_date(self) -> dt.date | None: ...
    @property
    def sex(self) -> str | None: ...
    @property
    def studies(self) -> Sequence[Study]: ...


class AuditEvent(Protocol):
    """Who read or changed which patient data, when (written through ``CaseStore.audit``)."""

    @property
    def at(self) -> dt.datetime: ...
    @property
    def user_name(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def resource(self) -> str: ...
    @property
    def patient_id(self) -> str | None: ...


class ImageCheck(Protocol):
    """What ingest found about an instance that came other than by Nadir's upload
    (api/workers/image_checks.py): flagged when ``refused_reason`` or
    ``resent_attributes`` is set."""

    @property
    def sop_instance_uid(self) -> str: ...
    @property
    def series_instance_uid(self) -> str | None: ...
    @property
    def study_instance_uid(self) -> str | None: ...
    @property
    def origin(self) -> str | None: ...
    @property
    def refused_reason(self) -> str | None: ...
    @property
    def resent_attributes(self) -> list[str] | None: ...
    @property
    def resent_by(self) -> str | None: ...


class DicomDestination(Protocol):
    """A DICOM application entity objects are sent to (C-STORE); its ``str`` names it."""

    @property
    def called_aet(self) -> str: ...
    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...


@dataclass(frozen=True)
class LocatedInstance:
    """An indexed instance with the UIDs an SR reference needs."""

    sop_instance_uid: str
    sop_class_uid: str
    series_instance_uid: str
    study_instance_uid: str
    orthanc_id: str


class CaseStore(Protocol):
    """One unit of work: reads see its own writes; ``commit`` makes them durable."""

    # The index of what the PACS holds (read only here).
    def patient(self, patient_id: str) -> Patient | None: ...
    def studies_of(self, patient_id: str) -> list[Study] | None:
        """The patient's studies with their series, oldest first (undated last); None
        when the patient is unknown."""
    def locate_instance(self, sop_instance_uid: str) -> LocatedInstance | None: ...
    def locate_instances(self, sop_instance_uids: Iterable[str]
                         ) -> dict[str, LocatedInstance]:
        """Those of the instances the index holds, by SOP Instance UID (one query)."""
    def patient_of_study(self, study_uid: str) -> str | None:
        """The Patient ID of an indexed study; None when the index does not hold it."""

    # Cases and what hangs on them.
    def add(self, entity: Entity) -> None:
        """Store a new entity; its ``id`` is set on return. A write that collides with a
        concurrent one (same lesion version, same sign-off) raises StaleVersion."""
    def case(self, case_id: int) -> Case | None: ...
    def cases(self, patient_id: str | None, limit: int) -> list[Case]: ...
    def case_ids_of(self, patient_id: str) -> list[int]: ...
    def reviews_of(self, case_id: int) -> list[Case]:
        """The cases that review this case (second readings), oldest first."""
    def reviews_signed_off_somewhere(self) -> list[Case]:
        """Every review case with at least one timepoint signed off, oldest first (those
        that may be signed off at every timepoint), with their sign-offs."""
    def reviews_read_by(self, reader: str) -> list[Case]:
        """The review cases this user reads, oldest first."""
    def user_role(self, name: str) -> str | None:
        """The role of the user of that name; None when there is no such user."""
    def lesion(self, lesion_id: int) -> Lesion | None: ...
    def measurements(self, lesion_ids: Iterable[int]) -> list[MeasurementVersion]:
        """Every version of the lesions' measurements, oldest version first."""
    def newest_measurements(self, lesion_ids: Iterable[int]) -> list[MeasurementVersion]:
        """The newest version of each (lesion, timepoint) measurement of the lesions, oldest
        version first: what :meth:`measurements` gives, less the versions replaced since
        (a case's current reading loads no history)."""
    def latest_version(self, lesion_id: int) -> int: ...
    def lesion_changes(self, lesion_id: int) -> list[LesionChange]:
        """The changes to the lesion itself (relabel, deletion...), oldest first."""
    def latest_publication(self, case_id: int, kind: str, timepoint_uid: str
                           ) -> Publication | None: ...
    def publications(self, case_id: int) -> list[Publication]:
        """The case's published objects, oldest first."""
    def sends(self, case_id: int) -> list[OutboxItem]:
        """The outbox rows of the case's objects, oldest first."""
    def indexed_instances(self, sop_instance_uids: Iterable[str]) -> set[str]:
        """Those of the SOP Instance UIDs the index holds (the others were deleted)."""
    def comparison(self, comparison_id: int) -> Comparison | None: ...
    def newest_comparison(self, patient_id: str, baseline_uid: str, followup_uid: str
                          ) -> Comparison | None: ...
    def replace_pairs(self, comparison: Comparison, pairs: Sequence[ComparisonPair]) -> None:
        """Replace the comparison's pairs; the comparison's version goes up by one."""
    def drafts(self, case_id: int) -> list[SrDraft]: ...
    def markers_of(self, patient_id: str) -> list[PatientMarker]:
        """The patient's tumour marker values, by date (then by id)."""
    def draft(self, draft_id: int) -> SrDraft | None: ...

    def audit(self, who: Principal, action: str, resource: str,
              patient_id: str | None) -> None:
        """Record an access to patient data in this unit of work."""
    def commit(self) -> None:
        """Make the unit's writes durable; StaleVersion if a concurrent write won."""
    def rollback(self) -> None: ...


class Pacs(Protocol):
    """The image archive the cases' images live in (Orthanc), and the hospital PACS."""

    #: Where published objects are also sent (C-STORE, through the outbox), if anywhere.
    @property
    def hospital(self) -> DicomDestination | None: ...

    def pixel_geometry(self, orthanc_id: str, frame: int) -> PixelGeometry:
        """Matrix, frame count and pixel spacing of one frame (1-based) of an instance; a
        multi-frame image's frame takes them from its functional groups."""
    def image_plane(self, orthanc_id: str, frame: int) -> ImagePlane | None:
        """Where one frame (1-based) of an instance lies in patient space; None when its
        position, orientation or spacing is missing or unusable."""
    def instance_file(self, orthanc_id: str) -> bytes: ...
    def store(self, dicom_file: bytes) -> Any: ...
    def outbox_changed(self) -> None:
        """New outbox rows are committed: send them now rather than at the next poll."""


@dataclass(frozen=True)
class WorklistRows:
    """What the worklist is judged from, read in a fixed number of queries: every patient
    with their studies (loaded), every case with its lesions, sign-offs and dates, the
    measurements of lesions not deleted (oldest version first) and every marker value."""

    patients: Sequence[Patient]
    cases: Sequence[Case]
    measurements: Iterable[MeasurementVersion]
    markers: Iterable[PatientMarker]


class ViewStore(CaseStore, Protocol):
    """The read-only views (``api.workflow.views``): lists that need no domain rule."""

    def patient_counts(self) -> list[tuple[str, str | None, int]]:
        """(patient_id, name, number of studies) of every indexed patient, by patient id."""
    def audit_events(self, patient_id: str | None, user: str | None, limit: int
                     ) -> list[AuditEvent]:
        """The audit trail, oldest first, optionally of one patient or one user."""
    def worklist_rows(self) -> WorklistRows: ...
    def images_flagged(self, study_uids: Sequence[str]) -> list[ImageCheck]:
        """The flagged images of these studies, by study, series and instance."""


# -- registration of paired series ------------------------------------------------------------
# The states of a stored registration.
PENDING, DONE, FAILED = "pending", "done", "failed"


@dataclass(frozen=True, order=True)
class RegistrationPair:
    """The two series a registration maps: a baseline series onto a follow-up series (not
    to be confused with :class:`imaging.pairing.SeriesPair`, a scored pairing)."""

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

    pair: RegistrationPair
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

    def get(self, pair: RegistrationPair) -> RegistrationState | None: ...
    def claim(self, pair: RegistrationPair, claimant: str, now: dt.datetime,
              counts: tuple[int | None, int | None]) -> int | None:
        """Mark the pair pending for ``claimant``; the claim's attempt number, or None
        when the pair is computed, or being computed, elsewhere (:func:`may_claim`)."""
    def finish(self, pair: RegistrationPair, attempt: int, outcome: Outcome,
               now: dt.datetime) -> None:
        """Store the outcome unless a later claim superseded ``attempt``."""
    def instance_counts(self, pair: RegistrationPair) -> tuple[int | None, int | None]: ...
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


# -- priors from the hospital PACS -------------------------------------------------------------

class PriorFetch(Protocol):
    """A fetch of a patient's earlier studies from the hospital PACS: the job that the
    background fetcher (api/workers/priors.py) runs, with its state and progress."""

    @property
    def id(self) -> int: ...
    @property
    def patient_id(self) -> str: ...
    @property
    def modality(self) -> str | None: ...
    @property
    def date_from(self) -> dt.date | None: ...
    @property
    def date_to(self) -> dt.date | None: ...
    @property
    def trigger(self) -> str: ...
    @property
    def requested_by(self) -> str | None: ...
    @property
    def source(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def attempts(self) -> int: ...
    @property
    def last_error(self) -> str | None: ...
    @property
    def studies(self) -> list[dict[str, Any]] | None: ...
    @property
    def next_attempt_at(self) -> dt.datetime: ...
    @property
    def created_at(self) -> dt.datetime: ...
    @property
    def finished_at(self) -> dt.datetime | None: ...


@dataclass(frozen=True)
class PriorRequest:
    """What to look for in the hospital PACS: a patient's studies, of one modality, within
    dates (inclusive)."""

    patient_id: str
    modality: str | None
    date_from: dt.date | None
    date_to: dt.date | None


class PriorStore(Protocol):
    """One unit of work over the prior fetches (``api.adapters.prior_store``)."""

    def patient_known(self, patient_id: str) -> bool: ...
    def query_problem(self, wanted: PriorRequest) -> str | None:
        """Why the hospital PACS cannot be asked this (the C-FIND keys' DICOM rules)."""
    def queue(self, wanted: PriorRequest, trigger: str, requested_by: str | None,
              source: str) -> PriorFetch:
        """A new pending fetch; its ``id`` is set on return."""
    def fetch(self, fetch_id: int) -> PriorFetch | None: ...
    def fetches_of(self, patient_id: str) -> list[PriorFetch]:
        """The patient's fetches, oldest first."""
    def automatic_fetch_started(self, patient_id: str, modality: str) -> bool:
        """Whether an automatic fetch of this patient and modality exists (a failed one
        does not count)."""
    def study_date_of(self, patient_id: str, study_uid: str) -> tuple[dt.date | None] | None:
        """(date,) of the patient's indexed study; None when the index does not hold it
        for this patient."""
    def other_dates_of_modality(self, study_uid: str, modality: str) -> list[dt.date | None]:
        """The dates of the other indexed studies of the same patient that have a series of
        this modality (None for an undated one)."""
    def audit(self, who: Principal, action: str, resource: str,
              patient_id: str | None) -> None: ...
    def commit(self) -> None: ...


# -- uploads over HTTP -------------------------------------------------------------------------

class UploadedFile(Protocol):
    """One file of an upload (``api.upload`` spools and unpacks the body)."""

    @property
    def name(self) -> str: ...
    @property
    def read(self) -> Callable[[], bytes]:
        """Its bytes, read from disk when asked."""


@dataclass(frozen=True)
class StoredUpload:
    """Where the archive keeps an uploaded instance: ``new`` when this upload stored it,
    ``already_stored`` when it held that SOP Instance UID before (it keeps the first
    version); neither when it did not keep the file (filtered out)."""

    archive_id: str
    new: bool
    already_stored: bool = False


class UploadArchive(Protocol):
    """The image archive (Orthanc) as an upload sees it. Its own errors (unreachable,
    failing) pass through unchanged; a file it refuses as unreadable raises
    :class:`~api.workflow.errors.RefusedByArchive`."""

    def store(self, dicom_file: bytes) -> StoredUpload: ...
    def stored_file(self, archive_id: str) -> bytes: ...
    def remove(self, archive_id: str) -> None:
        """Delete an instance this upload stored (a failure is logged, not raised: the
        upload's own error is the one to answer)."""


# -- shares for a second opinion (issue 21) ---------------------------------------------------

class ShareCopies(Protocol):
    """The PACS side of a share: a de-identified copy of studies, and its removal."""

    def copy(self, study_orthanc_ids: Sequence[str], pseudonym: str) -> DeidentifiedCopy:
        """Copy the studies de-identified under ``pseudonym`` (a new random date offset)."""
    def remove(self, orthanc_patient: str) -> None:
        """Delete a copy; a copy gone already is fine."""
    def package(self, orthanc_patient: str) -> Iterator[bytes]:
        """The copy as DICOM media: a zip of its instances and a DICOMDIR, in chunks
        (made before the first chunk is returned, so errors come before any byte)."""


class ShareStore(Protocol):
    """Shares and their reviewers' tokens, in the case store's unit of work."""

    def add_share(self, share: Share) -> None: ...
    def share(self, share_id: int) -> Share | None: ...
    def shares(self, case_id: int | None) -> list[Share]:
        """Shares, newest first, optionally of one case."""
    def add_reviewer(self, name: str, expires_at: dt.datetime) -> tuple[int, str]:
        """A new user of role reviewer with one token that expires: (user id, token)."""
    def revoke_tokens(self, user_id: int) -> None: ...
    def unpurged_ended(self, before: dt.datetime) -> list[Share]:
        """Shares not purged yet that expired or were revoked at or before ``before``,
        oldest first."""
