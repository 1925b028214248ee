"""SQLAlchemy 2 tables of the service. Changes go through Alembic migrations in api/migrations."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.orm.attributes import set_committed_value

# The case aggregate's domain types, mapped below; imported from here by the adapters.
from api.workflow.domain import (  # noqa: I001
    Adjudication as Adjudication,
)
from api.workflow.domain import (
    Case as Case,
)
from api.workflow.domain import (
    CaseStudyDate as CaseStudyDate,
)
from api.workflow.domain import (
    Comparison as Comparison,
)
from api.workflow.domain import (
    ComparisonPair as ComparisonPair,
)
from api.workflow.domain import (
    Lesion as Lesion,
)
from api.workflow.domain import (
    LesionChange as LesionChange,
)
from api.workflow.domain import (
    MeasurementFragment as MeasurementFragment,
)
from api.workflow.domain import (
    MeasurementVersion as MeasurementVersion,
)
from api.workflow.domain import (
    PatientMarker as PatientMarker,
)
from api.workflow.domain import (
    Publication as Publication,
)
from api.workflow.domain import (
    SrDraft as SrDraft,
)
from api.workflow.domain import (
    TimepointSignoff as TimepointSignoff,
)
from api.workflow.domain import (
    utcnow as utcnow,
)
from api.workflow.share_types import Share as Share
from measurement.markers import MARKER_WINDOW_DAYS
from measurement.model import EvaluationOptions
from measurement.vocabulary import Criteria, LesionKind, LesionStatus

_ENGINE_DEFAULTS = EvaluationOptions()  # the engine's defaults are the case's defaults


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A moment, stored in UTC and read back aware on every backend: SQLite keeps no time
    zone, so what it gives back is read as UTC, the zone everything Nadir stores is in; a
    naive value written is taken as UTC too. PostgreSQL's answers, in the session's zone, are
    turned to UTC: the API then writes every time the same way on both."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return _utc(value) if dialect.name != "sqlite" else _utc(value).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        return None if value is None else _utc(value)


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")


class ApiToken(Base):
    """A bearer token, kept only as its SHA-256 digest."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    #: A share's token (role reviewer) stops working then; None: until revoked.
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    user: Mapped[User] = relationship(back_populates="tokens")


class FeedState(Base):
    """Key/value state of the change-feed follower (the cursor)."""

    __tablename__ = "feed_state"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class PendingSeries(Base):
    """Series announced by Orthanc (NewSeries) that are not indexed yet."""

    __tablename__ = "pending_series"
    orthanc_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Patient(Base):
    __tablename__ = "patients"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(128), unique=True)
    patient_name: Mapped[str | None] = mapped_column(String(256))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(16))
    studies: Mapped[list[Study]] = relationship(back_populates="patient")


class Study(Base):
    __tablename__ = "studies"
    id: Mapped[int] = mapped_column(primary_key=True)
    study_instance_uid: Mapped[str] = mapped_column(String(64), unique=True)
    patient_pk: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    orthanc_id: Mapped[str] = mapped_column(String(64))
    study_date: Mapped[dt.date | None] = mapped_column(Date)
    # The attribute study_date was read from: StudyDate, or when that is empty the first
    # of SeriesDate, AcquisitionDate, ContentDate (de-identified data often blanks
    # StudyDate); None when the DICOM carries no date at all.
    date_source: Mapped[str | None] = mapped_column(String(32))
    study_time: Mapped[str | None] = mapped_column(String(32))
    accession_number: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(256))
    indexed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # Other PatientIDs Orthanc also holds this Study Instance UID under (not indexed).
    other_patient_ids: Mapped[list[Any] | None] = mapped_column(JSON)
    patient: Mapped[Patient] = relationship(back_populates="studies")
    series: Mapped[list[Series]] = relationship(back_populates="study")

    def show_date(self, date: dt.date | None, source: str | None) -> None:
        """The date a case sees (api.workflow.timeline.with_case_dates), put on the loaded
        row as if read from the database: never written back, the index keeps the DICOM's
        own (absent) date."""
        set_committed_value(self, "study_date", date)
        set_committed_value(self, "date_source", source)


class Series(Base):
    __tablename__ = "series"
    id: Mapped[int] = mapped_column(primary_key=True)
    series_instance_uid: Mapped[str] = mapped_column(String(64), unique=True)
    study_pk: Mapped[int] = mapped_column(ForeignKey("studies.id"), index=True)
    orthanc_id: Mapped[str] = mapped_column(String(64))
    modality: Mapped[str] = mapped_column(String(16))
    sop_class_uid: Mapped[str | None] = mapped_column(String(64))
    body_part: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(256))
    protocol: Mapped[str | None] = mapped_column(String(256))
    series_number: Mapped[int | None] = mapped_column(Integer)
    # The multi-valued attributes as JSON lists (ImageType's values, Pixel Spacing in mm as
    # [row, column], Image Orientation (Patient)'s six direction cosines).
    image_type: Mapped[list[str] | None] = mapped_column(JSON)
    convolution_kernel: Mapped[str | None] = mapped_column(String(64))
    slice_thickness_mm: Mapped[float | None] = mapped_column(Float)
    pixel_spacing_mm: Mapped[list[float] | None] = mapped_column(JSON)
    orientation: Mapped[list[float] | None] = mapped_column(JSON)
    frame_of_reference_uid: Mapped[str | None] = mapped_column(String(64))
    contrast_agent: Mapped[str | None] = mapped_column(String(128))
    instance_count: Mapped[int] = mapped_column(Integer)
    z_min_mm: Mapped[float | None] = mapped_column(Float)
    z_max_mm: Mapped[float | None] = mapped_column(Float)
    study: Mapped[Study] = relationship(back_populates="series")


class Instance(Base):
    __tablename__ = "instances"
    id: Mapped[int] = mapped_column(primary_key=True)
    sop_instance_uid: Mapped[str] = mapped_column(String(64), unique=True)
    series_pk: Mapped[int] = mapped_column(ForeignKey("series.id"), index=True)
    orthanc_id: Mapped[str] = mapped_column(String(64))
    instance_number: Mapped[int | None] = mapped_column(Integer)
    position_mm: Mapped[float | None] = mapped_column(Float)
    #: The instance's DICOM JSON without bulk data, as Orthanc's DICOMweb plugin wrote it
    #: (pacs/dicomjson.py); null until filled after ingest (api/workers/series_metadata.py).
    #: Deferred: only the metadata answer reads it.
    dicom_json: Mapped[str | None] = mapped_column(Text, deferred=True)
    # A multi-frame image's frames, each ``{"frame": n, "position_mm": z along the slice
    # normal, "image_position": [x, y, z]}`` (from its Plane Position functional groups,
    # PS3.3 C.7.6.16.2.3); None for a single-frame image.
    frames: Mapped[list[Any] | None] = mapped_column(JSON)


class AuditEvent(Base):
    """Who read or changed which patient data, when. Never deleted by the service."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    user_name: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(Text)
    patient_id: Mapped[str | None] = mapped_column(String(128), index=True)


# -- the case aggregate: plain domain types (api/workflow/domain.py) mapped onto tables ------
# SQLAlchemy's imperative mapping (cosmicpython's adapters/orm.py): the workflow's classes
# know nothing of these tables, and the unit tests' in-memory store needs no database class.

class _Vocabulary(TypeDecorator[str]):
    """A word of the vocabulary (a ``StrEnum``) stored as its text: the domain reads the
    enum back, and a word outside the vocabulary is refused on the way in."""

    impl = String
    cache_ok = True

    def __init__(self, vocabulary: type[StrEnum], length: int) -> None:
        super().__init__(length)
        self.vocabulary = vocabulary

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.vocabulary(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else self.vocabulary(value)


cases_table = Table(
    "cases", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("patient_id", String(128), nullable=False, index=True),
    Column("criteria", _Vocabulary(Criteria, 16), nullable=False),
    Column("baseline_study_uid", String(64), nullable=False),
    # Trial parameters of the best-overall-response rules (RECIST 1.1 sections 4.4, 4.6).
    Column("confirmation_required", Boolean, nullable=False, default=False,
           server_default=false()),
    Column("min_sd_duration_days", Integer, nullable=False,
           default=_ENGINE_DEFAULTS.min_sd_duration_days,
           server_default=str(_ENGINE_DEFAULTS.min_sd_duration_days)),
    Column("min_confirmation_interval_days", Integer, nullable=False,
           default=_ENGINE_DEFAULTS.min_confirmation_interval_days,
           server_default=str(_ENGINE_DEFAULTS.min_confirmation_interval_days)),
    Column("min_icpd_confirmation_days", Integer, nullable=False,
           default=_ENGINE_DEFAULTS.min_icpd_confirmation_days,
           server_default=str(_ENGINE_DEFAULTS.min_icpd_confirmation_days)),
    Column("marker_window_days", Integer, nullable=False, default=MARKER_WINDOW_DAYS,
           server_default=str(MARKER_WINDOW_DAYS)),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False, default=utcnow),
    # A second reading (issue 21): the case it reviews, its reader, blinded or not, and
    # its timepoints onto the reviewed case's when it reads copies of the studies.
    Column("review_of", Integer, ForeignKey("cases.id", name="fk_cases_review_of_cases"),
           index=True),
    Column("reader", String(128)),
    Column("blinded", Boolean, nullable=False, default=False, server_default=false()),
    Column("timepoint_map", JSON),
)

lesions_table = Table(
    "lesions", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("kind", _Vocabulary(LesionKind, 16), nullable=False),
    Column("organ", String(128), nullable=False),
    Column("nodal", Boolean, nullable=False, default=False),
    Column("label", String(64), nullable=False),
    Column("first_timepoint", String(64)),
    Column("equivocal", Boolean, nullable=False, default=False),
    Column("confirmed_at", String(64)),
    Column("tracking_uid", String(64), nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False, default=utcnow),
    Column("deleted_at", UtcDateTime()),
    Column("deleted_by", String(128)),
    Column("deletion_reason", Text),
    Column("deletion_amendment_reason", Text),
)

lesion_changes_table = Table(
    "lesion_changes", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("lesion_id", Integer, ForeignKey("lesions.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("at", UtcDateTime(), nullable=False, default=utcnow),
    Column("author", String(128), nullable=False),
    Column("action", String(16), nullable=False),
    Column("changes", JSON, nullable=False, default=dict),
    Column("reason", Text),
)

measurement_versions_table = Table(
    "measurement_versions", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("lesion_id", Integer, ForeignKey("lesions.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("timepoint_uid", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("author", String(128), nullable=False),
    Column("at", UtcDateTime(), nullable=False, default=utcnow),
    Column("reason", Text),
    Column("status", _Vocabulary(LesionStatus, 32)),
    Column("sop_instance_uid", String(64)),
    Column("series_instance_uid", String(64)),
    Column("frame", Integer),
    Column("endpoints", JSON),
    Column("length_mm", Float),
    Column("source", String(32), nullable=False, default="manual"),
    Column("short_axis_endpoints", JSON),
    Column("long_axis_mm", Float),
    Column("short_axis_mm", Float),
    Column("point", JSON),
    Column("coalesced_into", Integer, ForeignKey(
        "lesions.id", name="fk_measurement_versions_coalesced_into_lesions")),
    UniqueConstraint("lesion_id", "version"),
)

measurement_fragments_table = Table(
    "measurement_fragments", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("measurement_id", Integer,
           ForeignKey("measurement_versions.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("position", Integer, nullable=False),
    Column("sop_instance_uid", String(64), nullable=False),
    Column("series_instance_uid", String(64), nullable=False),
    Column("frame", Integer),
    Column("endpoints", JSON, nullable=False),
    Column("length_mm", Float, nullable=False),
    UniqueConstraint("measurement_id", "position"),
)

timepoint_signoffs_table = Table(
    "timepoint_signoffs", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False),
    Column("timepoint_uid", String(64), nullable=False),
    Column("signed_by", String(128), nullable=False),
    Column("signed_at", UtcDateTime(), nullable=False, default=utcnow),
    UniqueConstraint("case_id", "timepoint_uid"),
)

case_study_dates_table = Table(
    "case_study_dates", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("study_uid", String(64), nullable=False),
    Column("date", Date, nullable=False),
    Column("reason", Text),
    Column("set_by", String(128), nullable=False),
    Column("set_at", UtcDateTime(), nullable=False, default=utcnow),
)

adjudications_table = Table(
    "adjudications", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("timepoint_uid", String(64), nullable=False),
    Column("chosen_case_id", Integer, ForeignKey(
        "cases.id", name="fk_adjudications_chosen_case_id_cases"), nullable=False),
    Column("reason", Text, nullable=False),
    Column("adjudicated_by", String(128), nullable=False),
    Column("adjudicated_at", UtcDateTime(), nullable=False, default=utcnow),
)

comparisons_table = Table(
    "comparisons", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("patient_id", String(128), nullable=False, index=True),
    Column("baseline_study_uid", String(64), nullable=False),
    Column("followup_study_uid", String(64), nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False, default=utcnow),
    Column("version", Integer, nullable=False, default=1),
    Column("excluded", JSON, nullable=False, default=list),
)

comparison_pairs_table = Table(
    "comparison_pairs", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("comparison_id", Integer, ForeignKey("comparisons.id", ondelete="CASCADE"),
           nullable=False),
    Column("baseline_series_uid", String(64), nullable=False),
    Column("followup_series_uid", String(64), nullable=False),
    Column("score", Float),
    Column("reasons", JSON, nullable=False, default=list),
    Column("source", String(16), nullable=False),
    Column("set_by", String(128)),
    UniqueConstraint("comparison_id", "baseline_series_uid"),
    UniqueConstraint("comparison_id", "followup_series_uid"),
)

publications_table = Table(
    "publications", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("kind", String(8), nullable=False),
    Column("timepoint_uid", String(64), nullable=False),
    Column("sop_class_uid", String(64), nullable=False),
    Column("sop_instance_uid", String(64), nullable=False, unique=True),
    Column("series_instance_uid", String(64), nullable=False),
    Column("study_instance_uid", String(64), nullable=False),
    Column("replaces_id", Integer, ForeignKey("publications.id")),
    Column("published_by", String(128), nullable=False),
    Column("published_at", UtcDateTime(), nullable=False, default=utcnow),
    Column("sent_to_remote", Boolean, nullable=False, default=False),
)

sr_drafts_table = Table(
    "sr_drafts", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("sop_instance_uid", String(64), nullable=False),
    Column("orthanc_id", String(64), nullable=False),
    Column("status", String(16), nullable=False, default="pending"),
    Column("summary", JSON, nullable=False, default=dict),
    Column("received_at", UtcDateTime(), nullable=False, default=utcnow),
    Column("decided_by", String(128)),
    Column("decided_at", UtcDateTime()),
    UniqueConstraint("case_id", "sop_instance_uid"),
)

_map = Base.registry.map_imperatively
_map(Lesion, lesions_table)
_map(LesionChange, lesion_changes_table)
_map(MeasurementFragment, measurement_fragments_table)
_map(MeasurementVersion, measurement_versions_table, properties={
    "fragments": relationship(MeasurementFragment, order_by=measurement_fragments_table.c.position,
                              cascade="all, delete-orphan", lazy="selectin")})
_map(TimepointSignoff, timepoint_signoffs_table)
_map(CaseStudyDate, case_study_dates_table)
_map(Adjudication, adjudications_table)
_map(Case, cases_table, properties={
    "lesions": relationship(Lesion, order_by=lesions_table.c.id, cascade="all, delete-orphan"),
    "signoffs": relationship(TimepointSignoff, cascade="all, delete-orphan"),
    "study_dates": relationship(CaseStudyDate, order_by=case_study_dates_table.c.id,
                                cascade="all, delete-orphan"),
    "adjudications": relationship(
        Adjudication, order_by=adjudications_table.c.id, cascade="all, delete-orphan",
        foreign_keys=[adjudications_table.c.case_id])})
_map(ComparisonPair, comparison_pairs_table)
_map(Comparison, comparisons_table, properties={
    "pairs": relationship(ComparisonPair, order_by=comparison_pairs_table.c.id,
                          cascade="all, delete-orphan")},
    # Optimistic locking: every UPDATE checks the version it read (a lost update raises).
    version_id_col=comparisons_table.c.version)
_map(Publication, publications_table)
_map(SrDraft, sr_drafts_table)


patient_markers_table = Table(
    "patient_markers", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("patient_id", String(128), nullable=False, index=True),
    Column("name", String(64), nullable=False),
    Column("unit", String(32), nullable=False),
    Column("upper_limit_normal", Float, nullable=False),
    Column("value", Float, nullable=False),
    Column("date", Date, nullable=False),
    Column("recorded_by", String(128), nullable=False),
    Column("recorded_at", UtcDateTime(), nullable=False, default=utcnow),
)
Base.registry.map_imperatively(PatientMarker, patient_markers_table)


class SeriesRegistration(Base):
    """The registration of a baseline series onto a follow-up series, computed once.

    ``status`` is pending (claimed by ``claimed_by`` since ``started_at``), done or failed.
    ``attempt`` goes up by one at every claim: a claim is an UPDATE that checks the attempt
    it read, so two processes never compute the same pair at once. ``matrix`` (4 x 4,
    row-major) maps a baseline patient point (mm, LPS) to the follow-up patient point.
    """

    __tablename__ = "series_registrations"
    __table_args__ = (UniqueConstraint("baseline_series_uid", "followup_series_uid"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    baseline_series_uid: Mapped[str] = mapped_column(String(64))
    followup_series_uid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    started_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    # Instance counts the result was computed from: a series that grew is registered again.
    baseline_instances: Mapped[int | None] = mapped_column(Integer)
    followup_instances: Mapped[int | None] = mapped_column(Integer)
    matrix: Mapped[list[Any] | None] = mapped_column(JSON)
    metric: Mapped[float | None] = mapped_column(Float)
    elapsed_s: Mapped[float | None] = mapped_column(Float)
    read_s: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(Text)
    # A failure that may pass (PACS unreachable) is tried again; an implausible result is not.
    retryable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# -- shares for a second opinion (issue 21): api/workflow/share_types.py ----------------------
shares_table = Table(
    "shares", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("review_case_id", Integer, ForeignKey("cases.id", name="fk_shares_review_case"),
           nullable=False),
    Column("patient_id", String(128), nullable=False),
    Column("pseudonym", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, unique=True),
    Column("reviewer", String(128), nullable=False),
    Column("copy_patient", String(64)),
    Column("offset_days", Integer, nullable=False),
    Column("blinded", Boolean, nullable=False),
    Column("include_measurements", Boolean, nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("studies", JSON, nullable=False, default=list),
    Column("left_out", JSON, nullable=False, default=list),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False, default=utcnow),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime()),
    Column("revoked_by", String(128)),
    Column("purged_at", UtcDateTime()),
)
Base.registry.map_imperatively(Share, shares_table)
