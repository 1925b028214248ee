"""SQLAlchemy 2 tables of the service. Changes go through Alembic migrations in api/migrations."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from measurement.markers import MARKER_WINDOW_DAYS
from measurement.model import EvaluationOptions

_ENGINE_DEFAULTS = EvaluationOptions()  # the engine's defaults are the case's defaults


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")


class ApiToken(Base):
    """A bearer token, kept only as its SHA-256 digest."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
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
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


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
    indexed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Other PatientIDs Orthanc also holds this Study Instance UID under (not indexed).
    other_patient_ids: Mapped[list[Any] | None] = mapped_column(JSON)
    patient: Mapped[Patient] = relationship(back_populates="studies")
    series: Mapped[list[Series]] = relationship(back_populates="study")


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
    image_type: Mapped[str | None] = mapped_column(String(256))
    convolution_kernel: Mapped[str | None] = mapped_column(String(64))
    slice_thickness_mm: Mapped[float | None] = mapped_column(Float)
    pixel_spacing: Mapped[str | None] = mapped_column(String(64))
    orientation: Mapped[str | None] = mapped_column(String(256))
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


class Comparison(Base):
    __tablename__ = "comparisons"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(128), index=True)
    baseline_study_uid: Mapped[str] = mapped_column(String(64))
    followup_study_uid: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    excluded: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Optimistic locking: every UPDATE checks the version it read (a lost update raises).
    __mapper_args__ = {"version_id_col": version}
    pairs: Mapped[list[ComparisonPair]] = relationship(
        back_populates="comparison", cascade="all, delete-orphan", order_by="ComparisonPair.id"
    )


class ComparisonPair(Base):
    __tablename__ = "comparison_pairs"
    __table_args__ = (
        UniqueConstraint("comparison_id", "baseline_series_uid"),
        UniqueConstraint("comparison_id", "followup_series_uid"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    comparison_id: Mapped[int] = mapped_column(ForeignKey("comparisons.id", ondelete="CASCADE"))
    baseline_series_uid: Mapped[str] = mapped_column(String(64))
    followup_series_uid: Mapped[str] = mapped_column(String(64))
    score: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(16))
    set_by: Mapped[str | None] = mapped_column(String(128))
    comparison: Mapped[Comparison] = relationship(back_populates="pairs")


class AuditEvent(Base):
    """Who read or changed which patient data, when. Never deleted by the service."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_name: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(Text)
    patient_id: Mapped[str | None] = mapped_column(String(128), index=True)


class Case(Base):
    """Lesion tracking for one patient under one set of response criteria."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(128), index=True)
    criteria: Mapped[str] = mapped_column(String(16))
    baseline_study_uid: Mapped[str] = mapped_column(String(64))
    # Trial parameters of the best-overall-response rules (RECIST 1.1 sections 4.4, 4.6).
    confirmation_required: Mapped[bool] = mapped_column(Boolean, default=False,
                                                        server_default=false())
    min_sd_duration_days: Mapped[int] = mapped_column(
        Integer, default=_ENGINE_DEFAULTS.min_sd_duration_days,
        server_default=str(_ENGINE_DEFAULTS.min_sd_duration_days))
    min_confirmation_interval_days: Mapped[int] = mapped_column(
        Integer, default=_ENGINE_DEFAULTS.min_confirmation_interval_days,
        server_default=str(_ENGINE_DEFAULTS.min_confirmation_interval_days))
    min_icpd_confirmation_days: Mapped[int] = mapped_column(
        Integer, default=_ENGINE_DEFAULTS.min_icpd_confirmation_days,
        server_default=str(_ENGINE_DEFAULTS.min_icpd_confirmation_days))
    # A tumour marker value counts for a timepoint when drawn within this many days of it.
    marker_window_days: Mapped[int] = mapped_column(
        Integer, default=MARKER_WINDOW_DAYS, server_default=str(MARKER_WINDOW_DAYS))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    lesions: Mapped[list[Lesion]] = relationship(
        back_populates="case", order_by="Lesion.id", cascade="all, delete-orphan"
    )
    signoffs: Mapped[list[TimepointSignoff]] = relationship(
        back_populates="case", cascade="all, delete-orphan"
    )
    study_dates: Mapped[list[CaseStudyDate]] = relationship(
        order_by="CaseStudyDate.id", cascade="all, delete-orphan"
    )

    @property
    def active_lesions(self) -> list[Lesion]:
        """The lesions that count: those not deleted."""
        return [les for les in self.lesions if les.deleted_at is None]


class Lesion(Base):
    __tablename__ = "lesions"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    organ: Mapped[str] = mapped_column(String(128))
    nodal: Mapped[bool] = mapped_column(Boolean, default=False)
    label: Mapped[str] = mapped_column(String(64))
    first_timepoint: Mapped[str | None] = mapped_column(String(64))
    equivocal: Mapped[bool] = mapped_column(Boolean, default=False)
    confirmed_at: Mapped[str | None] = mapped_column(String(64))
    tracking_uid: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Soft delete: a deleted lesion leaves the evaluation; its versions stay.
    deleted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_by: Mapped[str | None] = mapped_column(String(128))
    deletion_reason: Mapped[str | None] = mapped_column(Text)
    deletion_amendment_reason: Mapped[str | None] = mapped_column(Text)
    case: Mapped[Case] = relationship(back_populates="lesions")


class LesionChange(Base):
    """A change to a lesion itself (relabel, organ, kind, deletion): never updated.

    ``changes`` maps each changed field to ``[old, new]``; ``reason`` is the amendment
    reason (or the deletion's reason)."""

    __tablename__ = "lesion_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    lesion_id: Mapped[int] = mapped_column(ForeignKey("lesions.id", ondelete="CASCADE"),
                                           index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    author: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str | None] = mapped_column(Text)


class MeasurementVersion(Base):
    """One recorded measurement; never updated. The highest version per timepoint is current."""

    __tablename__ = "measurement_versions"
    __table_args__ = (UniqueConstraint("lesion_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    lesion_id: Mapped[int] = mapped_column(ForeignKey("lesions.id", ondelete="CASCADE"),
                                           index=True)
    timepoint_uid: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(128))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(32))
    sop_instance_uid: Mapped[str | None] = mapped_column(String(64))
    series_instance_uid: Mapped[str | None] = mapped_column(String(64))
    frame: Mapped[int | None] = mapped_column(Integer)
    endpoints: Mapped[list[Any] | None] = mapped_column(JSON)
    length_mm: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(32), default="manual")
    #: Bidirectional measurement: the short axis as drawn, and both diameters (null when
    #: that axis was not drawn). ``length_mm`` stays the diameter that counts.
    short_axis_endpoints: Mapped[list[Any] | None] = mapped_column(JSON)
    long_axis_mm: Mapped[float | None] = mapped_column(Float)
    short_axis_mm: Mapped[float | None] = mapped_column(Float)
    #: Where a non-target or new lesion read by status lies: [row, column] on the image.
    point: Mapped[list[Any] | None] = mapped_column(JSON)
    # RECIST 1.1 s4.3.2, lesions that coalesce: the lesion this one merged into at this
    # timepoint (that one carries the merged diameter; this one counts 0 mm).
    coalesced_into: Mapped[int | None] = mapped_column(
        ForeignKey("lesions.id", name="fk_measurement_versions_coalesced_into_lesions"))
    # RECIST 1.1 s4.3.2, lesions that split: the calipers of the fragments, whose longest
    # diameters add up to ``length_mm``. Each version keeps its own (an undo restores them).
    fragments: Mapped[list[MeasurementFragment]] = relationship(
        order_by="MeasurementFragment.position", cascade="all, delete-orphan",
        lazy="selectin")


class MeasurementFragment(Base):
    """One caliper of a split lesion, part of one measurement version; never updated."""

    __tablename__ = "measurement_fragments"
    __table_args__ = (UniqueConstraint("measurement_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    measurement_id: Mapped[int] = mapped_column(
        ForeignKey("measurement_versions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    sop_instance_uid: Mapped[str] = mapped_column(String(64))
    series_instance_uid: Mapped[str] = mapped_column(String(64))
    frame: Mapped[int | None] = mapped_column(Integer)
    endpoints: Mapped[list[Any]] = mapped_column(JSON)
    length_mm: Mapped[float] = mapped_column(Float)


class TimepointSignoff(Base):
    __tablename__ = "timepoint_signoffs"
    __table_args__ = (UniqueConstraint("case_id", "timepoint_uid"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    timepoint_uid: Mapped[str] = mapped_column(String(64))
    signed_by: Mapped[str] = mapped_column(String(128))
    signed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    case: Mapped[Case] = relationship(back_populates="signoffs")


class CaseStudyDate(Base):
    """The date a radiologist gave, for one case, to a study whose DICOM has none.

    A new row per change (the newest counts), so the case keeps who set which date when.
    """

    __tablename__ = "case_study_dates"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         index=True)
    study_uid: Mapped[str] = mapped_column(String(64))
    date: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(128))
    set_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Publication(Base):
    """A DICOM object Nadir wrote into the PACS for a case (SR per timepoint, or the PDF)."""

    __tablename__ = "publications"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    timepoint_uid: Mapped[str] = mapped_column(String(64))
    sop_class_uid: Mapped[str] = mapped_column(String(64))
    sop_instance_uid: Mapped[str] = mapped_column(String(64), unique=True)
    series_instance_uid: Mapped[str] = mapped_column(String(64))
    study_instance_uid: Mapped[str] = mapped_column(String(64))
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("publications.id"))
    published_by: Mapped[str] = mapped_column(String(128))
    published_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_to_remote: Mapped[bool] = mapped_column(Boolean, default=False)


class SrDraft(Base):
    """Measurements of an SR that arrived in the PACS from a viewer, awaiting confirmation."""

    __tablename__ = "sr_drafts"
    __table_args__ = (UniqueConstraint("case_id", "sop_instance_uid"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    sop_instance_uid: Mapped[str] = mapped_column(String(64))
    orthanc_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class PatientMarker(Base):
    """One tumour marker level of a patient (a lab value), as a radiologist recorded it."""

    __tablename__ = "patient_markers"
    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(32))
    upper_limit_normal: Mapped[float] = mapped_column(Float)
    value: Mapped[float] = mapped_column(Float)
    date: Mapped[dt.date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


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
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
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
