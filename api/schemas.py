"""The API's wire types: pydantic models at the edge, converted to and from domain types.

Every endpoint declares its response model here, so ``/openapi.json`` describes every
body a client can receive. Times are ISO 8601 strings, as the API has always sent them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StrictFloat,
    StrictInt,
)

from api.adapters.index_store import split_floats
from api.db.image_checks import ImageCheck
from api.db.models import (
    AuditEvent,
    Comparison,
    Lesion,
    MeasurementVersion,
    PatientMarker,
    Publication,
    Series,
    SrDraft,
    Study,
    TimepointSignoff,
)
from api.db.outbox import OutboxItem
from api.db.priors import PriorFetch
from api.workflow.case_response import CaseResponse
from api.workflow.cases import DEFAULT_OPTIONS, CaseView
from api.workflow.comparisons import ComparisonView
from api.workflow.registration import ComparisonRegistration, Proposal
from api.workflow.split_lesions import MAX_FRAGMENTS
from measurement.codec import result_to_json
from measurement.markers import MARKER_WINDOW_DAYS

LesionKindName = Literal["target", "non_target", "new"]
CriteriaName = Literal["RECIST1.1", "iRECIST"]


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and no DICOM identifier or name contains one.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _whole_number(value: object) -> object:
    # JSON has one number type, and JSON Schema's "integer" admits 778.0: take it as 778.
    # 778.5, "778" and true stay refused (strict integers).
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: A request integer: a JSON number without a fraction (778 or 778.0), never a string.
WholeNumber = Annotated[StrictInt, BeforeValidator(_whole_number)]
#: Request text: any string without NUL characters.
Text = Annotated[str, AfterValidator(_no_nul)]
#: A DICOM Patient ID as the index stores it (LO is 64 characters; the column holds 128).
PatientIdText = Annotated[Text, Field(min_length=1, max_length=128)]
#: A DICOM UID (PS3.5 9.1: at most 64 characters).
UidText = Annotated[Text, Field(min_length=1, max_length=64)]


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


# -- requests ----------------------------------------------------------------------------

class _Request(BaseModel):
    # A misspelt key ("is_nodal" for "nodal") would silently change the answer: refuse it.
    model_config = ConfigDict(extra="forbid")


class CaseCreate(_Request):
    patient_id: PatientIdText
    criteria: CriteriaName
    baseline_study_uid: UidText | None = None
    # Best-overall-response parameters, as for POST /api/v1/recist/evaluate.
    confirmation_required: StrictBool = DEFAULT_OPTIONS.confirmation_required
    min_sd_duration_days: WholeNumber = Field(default=DEFAULT_OPTIONS.min_sd_duration_days,
                                            ge=0, le=3650)
    min_confirmation_interval_days: WholeNumber = Field(
        default=DEFAULT_OPTIONS.min_confirmation_interval_days, ge=0, le=3650)
    min_icpd_confirmation_days: WholeNumber = Field(
        default=DEFAULT_OPTIONS.min_icpd_confirmation_days, ge=0, le=3650)
    marker_window_days: WholeNumber = Field(default=MARKER_WINDOW_DAYS, ge=0, le=365)
    allow_duplicate: StrictBool = Field(default=False, description="create it even when "
                                        "the patient has a case of this baseline and criteria "
                                        "(409 with existing_case_id otherwise)")


def _iso_date_text(value: object) -> object:
    # An ISO date string only: pydantic would also take a number of seconds since 1970.
    if not isinstance(value, str):
        raise ValueError("must be an ISO date string (YYYY-MM-DD)")
    return value


class MarkerIn(BaseModel):
    """A tumour marker level: ``{"name", "unit", "upper_limit_normal", "value", "date"}``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: Annotated[Text, Field(min_length=1, max_length=64)]
    unit: Annotated[Text, Field(max_length=32)]
    upper_limit_normal: StrictFloat = Field(gt=0, le=1e9)
    value: StrictFloat = Field(ge=0, le=1e9)
    date: Annotated[dt.date, BeforeValidator(_iso_date_text)]


class LesionCreate(_Request):
    kind: LesionKindName
    organ: Text = Field(min_length=1, max_length=128)
    nodal: StrictBool = False
    label: Text | None = Field(default=None, min_length=1, max_length=64)
    timepoint: UidText | None = None
    equivocal: StrictBool = False
    confirmed_at: UidText | None = None


class LesionPatch(_Request):
    organ: Text | None = Field(default=None, min_length=1, max_length=128)
    label: Text | None = Field(default=None, min_length=1, max_length=64)
    equivocal: StrictBool | None = None
    confirmed_at: UidText | None = None
    kind: Literal["target", "non_target"] | None = Field(
        default=None, description="only while the lesion has no reading")
    nodal: StrictBool | None = Field(default=None, description="only while the lesion has no "
                               "reading")
    amendment_reason: Annotated[Text, Field(max_length=2000)] | None = Field(
        default=None, description="needed when the lesion has a reading at a signed-off "
        "timepoint")


#: A reason as a client gives it (deletion, amendment, undo): at most 2000 characters.
ReasonText = Annotated[Text, Field(max_length=2000)]


class LesionDelete(_Request):
    reason: ReasonText = Field(min_length=1, description="why the lesion is deleted")
    amendment_reason: ReasonText | None = Field(
        default=None, description="needed once a timepoint where the lesion has a reading "
        "is signed off")


#: An image point [row, column] in sub-pixel coordinates ((0, 0): the top-left corner).
ImagePoint = Annotated[list[float], Field(min_length=2, max_length=2)]
#: Two image points: a caliper.
ImageSegment = Annotated[list[ImagePoint], Field(min_length=2, max_length=2)]
#: An image frame, 1 for the first (a JSON number without fraction).
FrameNumber = Annotated[int, Field(ge=1, le=2**31 - 1), Strict(), BeforeValidator(_whole_number)]


class FragmentIn(BaseModel):
    """One fragment of a split lesion: a caliper on an image of the timepoint."""

    model_config = ConfigDict(allow_inf_nan=False, strict=True, extra="forbid")

    sop_instance_uid: Text = Field(min_length=1, max_length=64)
    frame: FrameNumber | None = None
    endpoints: ImageSegment
    length_mm: Annotated[float, Field(ge=0)] | None = Field(
        default=None, description="the client's length: refused when it differs from the "
        "server's by more than 0.5 mm")


class MeasurementPut(BaseModel):
    """One of: a caliper (``sop_instance_uid``, ``endpoints``), a ``status``,
    ``fragments`` (a target lesion that split, RECIST 1.1 s4.3.2: its diameter is the sum
    of the fragments' longest diameters, computed by the server) or ``coalesced_into`` (the
    id of the lesion of this case it merged into: it counts 0 mm, not disappeared)."""

    model_config = ConfigDict(allow_inf_nan=False, strict=True, extra="forbid")

    sop_instance_uid: Text | None = Field(default=None, min_length=1, max_length=64)
    # The bounds before the validators: pydantic documents them as minimum/maximum only so.
    frame: Annotated[int, Field(ge=1, le=2**31 - 1), Strict(),
                     BeforeValidator(_whole_number)] | None = None
    #: Two image points, each [row, column]: what the schema says is all the caliper takes.
    endpoints: ImageSegment | None = Field(default=None, description=(
        "the caliper, or the long axis of a bidirectional measurement; for a node given "
        "no short_axis_endpoints, its short axis"))
    short_axis_endpoints: ImageSegment | None = Field(default=None, description=(
        "the short axis of a bidirectional measurement: within 10 degrees of perpendicular "
        "to endpoints and not longer; a node may be given it alone"))
    point: ImagePoint | None = Field(default=None, description=(
        "where a non-target or new lesion read by status lies, [row, column] on "
        "sop_instance_uid (and frame)"))
    length_mm: Annotated[float, Field(ge=0)] | None = None
    status: Text | None = Field(default=None, max_length=64)
    amendment_reason: Text | None = Field(default=None, max_length=2000)
    reason: Text | None = Field(default=None, max_length=2000, description="why this version "
                                "is written, e.g. \"undo\" (kept in the history)")
    fragments: list[FragmentIn] | None = Field(
        default=None, min_length=2, max_length=MAX_FRAGMENTS, description="a target lesion "
        "that split: one caliper per fragment (RECIST 1.1 s4.3.2)")
    coalesced_into: Annotated[int, Field(ge=1, le=2**31 - 1), Strict(),
                              BeforeValidator(_whole_number)] | None = Field(
        default=None, description="the id of the target lesion of this case it merged into "
        "(RECIST 1.1 s4.3.2); that lesion carries the merged diameter")


class ComparisonRequest(_Request):
    patient_id: PatientIdText
    baseline_study_uid: UidText | None = None
    followup_study_uid: UidText | None = None
    new: bool = Field(default=False, description=(
        "make a new comparison even when one of the same studies exists (otherwise that "
        "one is returned, 200, while it still covers every series of the two studies)"))


class PairIn(_Request):
    baseline_series_uid: UidText
    followup_series_uid: UidText


class PairsOverride(_Request):
    pairs: list[PairIn]


# -- index -------------------------------------------------------------------------------

class PatientOut(BaseModel):
    patient_id: str
    patient_name: str | None
    studies_count: int


class SeriesOut(BaseModel):
    series_instance_uid: str
    modality: str
    description: str | None
    series_number: int | None
    instances: int
    body_part: str | None
    protocol: str | None
    image_type: list[str]
    convolution_kernel: str | None
    slice_thickness_mm: float | None
    pixel_spacing_mm: list[float] | None
    orientation: list[float] | None
    frame_of_reference_uid: str | None
    contrast_agent: str | None
    sop_class_uid: str | None

    @classmethod
    def of(cls, s: Series) -> SeriesOut:
        return cls(
            series_instance_uid=s.series_instance_uid, modality=s.modality,
            description=s.description, series_number=s.series_number,
            instances=s.instance_count, body_part=s.body_part, protocol=s.protocol,
            image_type=s.image_type.split("\\") if s.image_type else [],
            convolution_kernel=s.convolution_kernel, slice_thickness_mm=s.slice_thickness_mm,
            pixel_spacing_mm=split_floats(s.pixel_spacing),
            orientation=split_floats(s.orientation),
            frame_of_reference_uid=s.frame_of_reference_uid, contrast_agent=s.contrast_agent,
            sop_class_uid=s.sop_class_uid)


#: What ``date_source`` says.
DATE_SOURCE_HELP = ("the attribute the date was read from: StudyDate, else the first of "
                    "SeriesDate, AcquisitionDate, ContentDate; 'set for this case' when a "
                    "radiologist dated a study whose DICOM has no date")


class StudyOut(BaseModel):
    study_instance_uid: str
    study_date: str | None
    date_source: str | None = Field(default=None, description=DATE_SOURCE_HELP)
    description: str | None
    accession_number: str | None
    series: list[SeriesOut]
    other_patient_ids: list[str] = Field(default=[], description=(
        "other PatientIDs the PACS also holds this Study Instance UID under; those copies "
        "are not indexed (the study stays with the patient it came with first)"))
    images_flagged: list[ImageFlagOut] = Field(default=[], description=(
        "images of the study that came by C-STORE and that the upload would refuse, or "
        "that were sent again with other content"))

    @classmethod
    def of(cls, st: Study, flagged: list[ImageCheck] | None = None) -> StudyOut:
        ordered = sorted(st.series, key=lambda s: (s.series_number is None,
                                                   s.series_number or 0, s.series_instance_uid))
        return cls(study_instance_uid=st.study_instance_uid, study_date=_iso(st.study_date),
                   date_source=st.date_source, description=st.description,
                   accession_number=st.accession_number,
                   series=[SeriesOut.of(s) for s in ordered],
                   other_patient_ids=[str(p) for p in st.other_patient_ids or []],
                   images_flagged=ImageFlagOut.of_checks(
                       [c for c in flagged or [] if c.study_instance_uid ==
                        st.study_instance_uid]))


class WorklistStudyOut(BaseModel):
    study_instance_uid: str
    study_date: str | None
    description: str | None
    accession_number: str | None


class WorklistPatientOut(BaseModel):
    patient_id: str
    patient_name: str | None
    studies: list[WorklistStudyOut]
    case_ids: list[int]


class LatestResponseOut(BaseModel):
    timepoint_id: str
    overall_response: str


class WorklistCaseOut(BaseModel):
    """One case and what it still needs; ``status`` says it in words."""

    id: int
    patient_id: str
    criteria: str
    baseline_study_uid: str
    latest_timepoint_id: str | None
    latest_timepoint_date: str | None
    latest_response: LatestResponseOut | None = Field(
        description="the newest complete timepoint's overall response; null until one is")
    new_followup: bool = Field(description="a follow-up joined the case and is not read yet")
    to_measure: int = Field(description="lesions without a reading at the latest timepoint")
    unsigned_timepoints: list[str]
    complete: bool
    next_step: str | None
    problem: str | None = Field(description="why the case has no response (data the "
                                            "engine refuses), else null")
    status: str


class WorklistOut(BaseModel):
    """The whole worklist in one answer: cases with work to do first."""

    patients: list[WorklistPatientOut]
    cases: list[WorklistCaseOut]


class UploadedInstance(BaseModel):
    sop_instance_uid: str
    series_instance_uid: str
    study_instance_uid: str


class UploadOut(BaseModel):
    instances: list[UploadedInstance]


class MeOut(BaseModel):
    name: str
    role: Literal["uploader", "radiologist", "specialist", "admin"]


class IngestHealth(BaseModel):
    leader: bool = Field(description="whether this process follows Orthanc's change feed")
    cursor: int
    indexed_series: int
    last_error: str | None


class HealthOut(BaseModel):
    status: Literal["ok"]
    orthanc: Literal["ok", "unreachable"]
    database: Literal["ok", "unreachable"]
    version: str
    ingest: IngestHealth


# -- cases -------------------------------------------------------------------------------

class TimepointOut(BaseModel):
    id: str
    study_instance_uid: str
    date: str | None
    date_source: str | None = Field(default=None, description=DATE_SOURCE_HELP)
    description: str | None
    signed_off_by: str | None
    signed_off_at: str | None


class LeftOutStudyOut(BaseModel):
    """A study of the patient that is not a timepoint of the case, and why."""

    study_instance_uid: str
    date: str | None
    date_source: str | None
    description: str | None
    reason: str


class ImageFlagOut(BaseModel):
    """An image that came by C-STORE and that the upload would have refused, or that was
    sent again with other content (Orthanc keeps the first version)."""

    sop_instance_uid: str
    series_instance_uid: str | None
    study_instance_uid: str | None
    kind: Literal["refused_by_upload_rule", "resent_with_other_content"]
    reason: str
    attributes: list[str] = Field(default=[], description="for a re-sent instance, the "
                                  "attributes the copy differed in")

    @classmethod
    def of_checks(cls, checks: list[ImageCheck]) -> list[ImageFlagOut]:
        flags: list[ImageFlagOut] = []
        for c in checks:
            if c.refused_reason is not None:
                flags.append(cls._of(c, "refused_by_upload_rule", (
                    f"came by {c.origin or 'C-STORE'} and would be refused by upload: "
                    f"{c.refused_reason}"), []))
            if c.resent_attributes:
                by = f" by {c.resent_by}" if c.resent_by else ""
                flags.append(cls._of(c, "resent_with_other_content", (
                    f"sent again{by} with other content ({', '.join(c.resent_attributes)} "
                    f"differ); the PACS keeps the first version"), list(c.resent_attributes)))
        return flags

    @classmethod
    def _of(cls, c: ImageCheck, kind: Literal["refused_by_upload_rule",
                                              "resent_with_other_content"],
            reason: str, attributes: list[str]) -> ImageFlagOut:
        return cls(sop_instance_uid=c.sop_instance_uid,
                   series_instance_uid=c.series_instance_uid,
                   study_instance_uid=c.study_instance_uid, kind=kind, reason=reason,
                   attributes=attributes)


class StudyDateSetOut(BaseModel):
    study_instance_uid: str
    date: str
    reason: str | None
    set_by: str
    set_at: str


class StudyDateSet(BaseModel):
    """The date of a study whose DICOM has none, for this case."""

    # A string parsed by StudyDateChange (its own messages); documented as a date.
    date: Text = Field(max_length=64, description="YYYY-MM-DD, not in the future",
                       json_schema_extra={"format": "date"})
    reason: Text | None = Field(default=None, max_length=1000)


class LesionOut(BaseModel):
    id: int
    case_id: int
    kind: LesionKindName
    organ: str
    nodal: bool
    label: str
    timepoint: str | None
    equivocal: bool
    confirmed_at: str | None
    tracking_uid: str
    deleted_at: str | None = Field(default=None, description="set once the lesion is deleted")
    deleted_by: str | None = None
    deletion_reason: str | None = None
    deletion_amendment_reason: str | None = None

    @classmethod
    def of(cls, les: Lesion) -> LesionOut:
        return cls(id=les.id, case_id=les.case_id, kind=les.kind,  # type: ignore[arg-type]
                   organ=les.organ, nodal=les.nodal, label=les.label,
                   timepoint=les.first_timepoint, equivocal=les.equivocal,
                   confirmed_at=les.confirmed_at, tracking_uid=les.tracking_uid,
                   deleted_at=_iso(les.deleted_at), deleted_by=les.deleted_by,
                   deletion_reason=les.deletion_reason,
                   deletion_amendment_reason=les.deletion_amendment_reason)


class CaseOut(BaseModel):
    id: int
    patient_id: str
    criteria: CriteriaName
    baseline_study_uid: str
    confirmation_required: bool
    min_sd_duration_days: int
    min_confirmation_interval_days: int
    min_icpd_confirmation_days: int
    marker_window_days: int
    timepoints: list[TimepointOut]
    lesions: list[LesionOut]
    images_missing: bool = Field(description="an image measured on, or every image of a "
                                 "timepoint, was deleted from the PACS; the measurements stay")
    missing_images: list[str] = Field(description="SOP Instance UIDs measured on that are "
                                      "gone")
    left_out: list[LeftOutStudyOut] = Field(default=[], description="the patient's studies "
                                            "that are not timepoints, each with the reason")
    study_dates_set: list[StudyDateSetOut] = Field(default=[], description="dates set by "
                                                   "hand for undated studies, oldest first")
    images_flagged: list[ImageFlagOut] = Field(default=[], description=(
        "images of the patient's studies that came by C-STORE and that the upload would "
        "refuse, or that were sent again with other content"))

    @classmethod
    def of(cls, view: CaseView, flagged: list[ImageCheck] | None = None) -> CaseOut:
        case = view.case
        signoffs = {s.timepoint_uid: s for s in case.signoffs}
        return cls(
            id=case.id, patient_id=case.patient_id,
            criteria=case.criteria,  # type: ignore[arg-type]
            baseline_study_uid=case.baseline_study_uid,
            confirmation_required=case.confirmation_required,
            min_sd_duration_days=case.min_sd_duration_days,
            min_confirmation_interval_days=case.min_confirmation_interval_days,
            min_icpd_confirmation_days=case.min_icpd_confirmation_days,
            marker_window_days=case.marker_window_days,
            timepoints=[_timepoint(st, signoffs.get(st.study_instance_uid))
                        for st in view.timepoints],
            lesions=[LesionOut.of(les) for les in case.active_lesions],
            images_missing=view.images_missing, missing_images=list(view.missing_images),
            left_out=[LeftOutStudyOut(
                study_instance_uid=lo.study.study_instance_uid, date=_iso(lo.study.study_date),
                date_source=lo.study.date_source, description=lo.study.description,
                reason=lo.reason) for lo in view.left_out],
            study_dates_set=[StudyDateSetOut(
                study_instance_uid=d.study_uid, date=d.date.isoformat(), reason=d.reason,
                set_by=d.set_by, set_at=_iso(d.set_at) or "") for d in case.study_dates],
            images_flagged=ImageFlagOut.of_checks(flagged or []))


def _timepoint(st: Study, signoff: TimepointSignoff | None) -> TimepointOut:
    return TimepointOut(id=st.study_instance_uid, study_instance_uid=st.study_instance_uid,
                        date=_iso(st.study_date), date_source=st.date_source,
                        description=st.description,
                        signed_off_by=signoff.signed_by if signoff else None,
                        signed_off_at=_iso(signoff.signed_at) if signoff else None)


class MarkerOut(BaseModel):
    id: int
    patient_id: str
    name: str
    unit: str
    upper_limit_normal: float
    value: float
    date: str
    recorded_by: str
    recorded_at: str

    @classmethod
    def of(cls, m: PatientMarker) -> MarkerOut:
        return cls(id=m.id, patient_id=m.patient_id, name=m.name, unit=m.unit,
                   upper_limit_normal=m.upper_limit_normal, value=m.value,
                   date=m.date.isoformat(), recorded_by=m.recorded_by,
                   recorded_at=_iso(m.recorded_at) or "")


class CaseSummary(BaseModel):
    id: int
    patient_id: str
    criteria: CriteriaName
    baseline_study_uid: str
    created_by: str
    created_at: str


class FragmentOut(BaseModel):
    sop_instance_uid: str
    series_instance_uid: str
    frame: int | None
    endpoints: list[list[float]]
    length_mm: float


class MeasurementOut(BaseModel):
    """A measurement version. A split lesion has ``fragments`` (its ``length_mm`` is their
    sum); a coalesced one ``coalesced_into`` (its ``length_mm`` is 0)."""

    lesion_id: int
    timepoint_id: str
    version: int
    status: str | None
    sop_instance_uid: str | None
    series_instance_uid: str | None
    frame: int | None
    endpoints: list[list[float]] | None
    length_mm: float | None = Field(description="the diameter that counts: the long axis, "
                                    "or the short axis of a node (RECIST 1.1 s.4.2)")
    author: str
    at: str
    reason: str | None
    source: str
    short_axis_endpoints: list[list[float]] | None = None
    long_axis_mm: float | None = Field(default=None, description="null when not drawn")
    short_axis_mm: float | None = Field(default=None, description="null when not drawn")
    point: list[float] | None = Field(default=None, description=(
        "where a non-target or new lesion read by status lies, [row, column]"))
    fragments: list[FragmentOut] = Field(default_factory=list, description="the calipers of "
                                         "a split lesion's fragments (empty otherwise)")
    coalesced_into: int | None = Field(default=None, description="the lesion it merged into")

    @classmethod
    def of(cls, m: MeasurementVersion, lesion: Lesion) -> MeasurementOut:
        return cls(lesion_id=lesion.id, timepoint_id=m.timepoint_uid, version=m.version,
                   status=m.status, sop_instance_uid=m.sop_instance_uid,
                   series_instance_uid=m.series_instance_uid, frame=m.frame,
                   endpoints=m.endpoints, length_mm=m.length_mm, author=m.author,
                   at=_iso(m.at) or "", reason=m.reason, source=m.source,
                   short_axis_endpoints=m.short_axis_endpoints, long_axis_mm=m.long_axis_mm,
                   short_axis_mm=m.short_axis_mm, point=m.point,
                   fragments=[FragmentOut(
                       sop_instance_uid=f.sop_instance_uid,
                       series_instance_uid=f.series_instance_uid, frame=f.frame,
                       endpoints=f.endpoints, length_mm=f.length_mm) for f in m.fragments],
                   coalesced_into=m.coalesced_into)


class CaseMeasurementsOut(BaseModel):
    """Every current measurement of a case (one per lesion and timepoint that has one)."""

    case_id: int
    measurements: list[MeasurementOut]


class VersionOut(BaseModel):
    version: int
    timepoint_id: str
    author: str
    at: str
    reason: str | None
    measurement: MeasurementOut


class LesionChangeOut(BaseModel):
    at: str
    author: str
    action: str = Field(description="update or delete")
    changes: dict[str, list[Any]] = Field(description="each changed field: [old, new]")
    reason: str | None


class HistoryOut(BaseModel):
    lesion_id: int
    versions: list[VersionOut]
    changes: list[LesionChangeOut] = Field(default_factory=list, description="changes to "
                                           "the lesion itself: relabel, kind, deletion")
    lesion: LesionOut | None = Field(default=None, description="the lesion, with who "
                                     "deleted it, when and why if it was deleted")


class SignOffOut(BaseModel):
    timepoint_id: str
    signed_off_by: str
    signed_off_at: str


class AuditEventOut(BaseModel):
    at: str
    user: str
    action: str
    resource: str
    patient_id: str | None

    @classmethod
    def of(cls, e: AuditEvent) -> AuditEventOut:
        return cls(at=_iso(e.at) or "", user=e.user_name, action=e.action,
                   resource=e.resource, patient_id=e.patient_id)


class AuditOut(BaseModel):
    events: list[AuditEventOut]


# -- responses of the engine ---------------------------------------------------------------

class WarningOut(BaseModel):
    code: str
    message: str


class SplitOut(BaseModel):
    id: str
    fragments_mm: list[float]
    sum_mm: float


class CoalescedOut(BaseModel):
    id: str
    into: str


class TimepointResponseOut(BaseModel):
    """One timepoint's row; at baseline only ``id``, ``date`` and ``sum_mm`` are sent."""

    model_config = ConfigDict(extra="allow")

    id: str
    date: str
    sum_mm: float | None
    nadir_mm: float | None = None
    change_from_baseline_pct: float | None = None
    change_from_nadir_pct: float | None = None
    change_from_nadir_mm: float | None = None
    target_response: str | None = None
    non_target_response: str | None = None
    new_lesions: bool | None = None
    overall_response: str | None = None
    mixed_response: bool | None = None
    split: Sequence[SplitOut] | None = Field(
        default=None, description="sent on every follow-up once a target split or "
        "coalesced at any timepoint: "
        "the targets recorded as fragments here (RECIST 1.1 s.4.3.2)")
    coalesced: Sequence[CoalescedOut] | None = Field(
        default=None, description="sent with split: the targets merged into another here")


class EvaluationOut(BaseModel):
    """RECIST 1.1 / iRECIST responses: a computed reading for an oncologist to interpret."""

    model_config = ConfigDict(extra="allow")

    criteria: CriteriaName
    timepoints: list[TimepointResponseOut]
    best_overall_response: str
    warnings: list[WarningOut]


class MissingLesionOut(BaseModel):
    lesion_id: int
    label: str
    kind: LesionKindName


class CaseSplitOut(SplitOut):
    """A case's target recorded as fragments here: ``id`` is its label."""

    lesion_id: int


class CaseCoalescedOut(CoalescedOut):
    """A case's target merged into another here: ``id`` and ``into`` are their labels."""

    lesion_id: int
    into_lesion_id: int


class CaseTimepointResponseOut(TimepointResponseOut):
    """A case's timepoint row; an incomplete one has every sum and response null."""

    split: list[CaseSplitOut] | None = Field(
        default=None, description="sent on every follow-up once a target split or "
        "coalesced at any timepoint: the targets recorded as fragments here (RECIST 1.1 "
        "s.4.3.2)")
    coalesced: list[CaseCoalescedOut] | None = Field(
        default=None, description="sent with split: the targets merged into another here")

    complete: bool = Field(description="every lesion that exists at this timepoint has a "
                           "reading there")
    missing: list[MissingLesionOut] = Field(description="the lesions without a reading here")
    signed_off: bool


class CaseResponseOut(BaseModel):
    """A case's responses at whatever stage its reading is: incomplete timepoints carry
    ``complete: false`` and no sums or response; ``next_step`` says what to do next."""

    model_config = ConfigDict(extra="allow")

    criteria: CriteriaName
    complete: bool
    next_step: str | None
    timepoints: list[CaseTimepointResponseOut]
    best_overall_response: str | None = Field(description="over the timepoints before the "
                                              "first incomplete one; null while the "
                                              "baseline is incomplete")
    warnings: list[WarningOut]

    @classmethod
    def of(cls, resp: CaseResponse) -> CaseResponseOut:
        rows: list[dict[str, Any]]
        if resp.result is not None:
            body = result_to_json(resp.result)
            rows, warnings = body["timepoints"], body["warnings"]
        else:
            rows = [{"id": s.timepoint_uid, "date": _iso(s.study.study_date), "sum_mm": None}
                    for s in resp.states]
            warnings = []
        ids = {les.label: les.id for les in resp.case.active_lesions}
        for row, state in zip(rows, resp.states, strict=True):
            # The engine names lesions by label; the case's clients also get their ids.
            for split in row.get("split", ()):
                split["lesion_id"] = ids[split["id"]]
            for merged in row.get("coalesced", ()):
                merged.update(lesion_id=ids[merged["id"]], into_lesion_id=ids[merged["into"]])
            row.update(complete=state.complete, signed_off=state.signed_off, missing=[
                {"lesion_id": m.lesion_id, "label": m.label, "kind": m.kind}
                for m in state.missing])
        best = resp.best_overall_response
        return cls.model_validate({
            "criteria": resp.case.criteria, "complete": resp.complete,
            "next_step": resp.next_step, "timepoints": rows, "warnings": warnings,
            "best_overall_response": None if best is None else best.value})


# -- comparisons ---------------------------------------------------------------------------

class PairOut(BaseModel):
    baseline_series_uid: str
    followup_series_uid: str
    score: float | None
    reasons: list[str]
    source: Literal["auto", "manual"]


class ExcludedOut(BaseModel):
    series_instance_uid: str
    reason: str


class ComparisonOut(BaseModel):
    id: int
    patient_id: str
    baseline_study_uid: str
    followup_study_uid: str
    version: int
    pairs: list[PairOut]
    unpaired_baseline: list[str]
    unpaired_followup: list[str]
    excluded: list[ExcludedOut]
    images_missing: bool = Field(description="a paired series, or every series of a study, "
                                 "was deleted from the PACS")

    @classmethod
    def of(cls, view: ComparisonView) -> ComparisonOut:
        c: Comparison = view.comparison
        paired_b = {p.baseline_series_uid for p in c.pairs}
        paired_f = {p.followup_series_uid for p in c.pairs}
        held_b = {s.series_instance_uid for s in view.baseline.series}
        held_f = {s.series_instance_uid for s in view.followup.series}
        return cls(
            id=c.id, patient_id=c.patient_id, baseline_study_uid=c.baseline_study_uid,
            followup_study_uid=c.followup_study_uid, version=c.version,
            pairs=[PairOut(baseline_series_uid=p.baseline_series_uid,
                           followup_series_uid=p.followup_series_uid, score=p.score,
                           reasons=list(p.reasons),
                           source=p.source)  # type: ignore[arg-type]
                   for p in c.pairs],
            unpaired_baseline=sorted(s.series_instance_uid for s in view.baseline.series
                                     if s.series_instance_uid not in paired_b),
            unpaired_followup=sorted(s.series_instance_uid for s in view.followup.series
                                     if s.series_instance_uid not in paired_f),
            excluded=[ExcludedOut(series_instance_uid=uid, reason=why)
                      for uid, why in c.excluded],
            images_missing=not held_b or not held_f or not paired_b <= held_b
            or not paired_f <= held_f)


# -- documents -----------------------------------------------------------------------------

class ImportedOut(BaseModel):
    lesion_id: int
    timepoint_id: str
    length_mm: float


class NotMappedOut(BaseModel):
    what: str
    why: str


class ImportOut(BaseModel):
    imported: list[ImportedOut]
    not_mapped: list[NotMappedOut]


class DraftOut(BaseModel):
    id: int
    sop_instance_uid: str
    status: Literal["pending", "confirmed", "rejected"]
    received_at: str
    summary: dict[str, Any]
    decided_by: str | None

    @classmethod
    def of(cls, d: SrDraft) -> DraftOut:
        return cls(id=d.id, sop_instance_uid=d.sop_instance_uid,
                   status=d.status,  # type: ignore[arg-type]
                   received_at=_iso(d.received_at) or "", summary=d.summary,
                   decided_by=d.decided_by)


class DraftsOut(BaseModel):
    drafts: list[DraftOut]


class DraftDecisionOut(ImportOut):
    draft: DraftOut


class PublishedObject(BaseModel):
    sop_instance_uid: str
    study_instance_uid: str
    kind: Literal["sr", "pdf"]
    replaces: str | None


class RemoteSend(BaseModel):
    """The hospital PACS: each object is queued in the outbox and sent in the background
    (``GET /api/v1/cases/{id}/publications`` shows how each send went)."""

    configured: bool
    destination: str | None = Field(default=None, description="AE title@host:port")
    queued: int = 0


class PublishOut(BaseModel):
    objects: list[PublishedObject]
    remote: RemoteSend


# -- the report as JSON ---------------------------------------------------------------------

class ReportPatient(BaseModel):
    patient_id: str
    patient_name: str
    birth_date: str | None
    sex: str | None


class ReportSignoff(BaseModel):
    timepoint_id: str
    date: str
    description: str
    signed_off_by: str | None
    signed_off_at: str | None


class ReportSeriesPair(BaseModel):
    baseline: str
    followup: str
    score: float | None
    source: str


class ReportCell(BaseModel):
    timepoint_id: str
    length_mm: float | None
    status: str | None
    fragments_mm: list[float] = Field(default_factory=list, description="a lesion split "
                                      "here: its fragments' longest diameters, summed in "
                                      "length_mm (RECIST 1.1 s4.3.2)")
    coalesced_into: str | None = Field(default=None, description="the label of the lesion "
                                       "it merged into here (it counts 0 mm)")


class ReportKeyImage(BaseModel):
    timepoint_id: str
    sop_instance_uid: str
    length_mm: float | None
    window: str
    crop: str | None = Field(description="PNG as a data: URI")
    thumbnail: str | None = Field(description="PNG as a data: URI")
    error: str | None


class ReportLesion(BaseModel):
    label: str
    kind: LesionKindName
    organ: str
    nodal: bool
    change_from_baseline_pct: float | None
    measurements: list[ReportCell]
    key_images: list[ReportKeyImage]


class ReportMarkerPoint(BaseModel):
    date: str
    value: float
    timepoint_id: str | None = Field(description="the timepoint this level was used for")


class ReportMarker(BaseModel):
    name: str
    unit: str
    upper_limit_normal: float
    points: list[ReportMarkerPoint]


class ReportNote(BaseModel):
    kind: str
    title: str
    text: str


class ReportOut(BaseModel):
    """The specialist report: a computed reading that supports, and never replaces, the
    interpretation of a qualified oncologist (``disclaimer``)."""

    model_config = ConfigDict(extra="allow")

    case_id: int
    patient: ReportPatient
    criteria: CriteriaName
    generated_at: str
    preliminary: bool = Field(description="a timepoint is not signed off yet")
    complete: bool
    next_step: str | None
    software_version: str
    timepoints: list[CaseTimepointResponseOut]
    best_overall_response: str | None
    warnings: list[WarningOut]
    signoffs: list[ReportSignoff]
    series_compared: list[ReportSeriesPair]
    lesions: list[ReportLesion]
    markers: list[ReportMarker]
    notes: list[ReportNote]
    disclaimer: str


# -- POST /api/v1/recist/evaluate: the request as documented ---------------------------------
# The engine's own codec (measurement.codec) parses the body, so that every 422 names the
# lesion, timepoint and field at fault; these models describe the same wire format in
# /openapi.json (unknown keys are refused: extra="forbid").

TargetReadingIn = Annotated[float, Field(ge=0, le=1000)] | Literal[
    "too_small", "not_evaluable", "disappeared"]
# iRECIST new-lesion non-targets (Seymour 2017, Table 2): new lesions only.
NewLesionStatusIn = Literal["present", "increased", "absent"]
NonTargetStatusName = Literal["present", "absent", "unequivocal_progression",
                              "unequivocal_further_increase", "not_evaluated"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FragmentsIn(_Strict):
    """A target that split (RECIST 1.1 s.4.3.2): its fragments' longest diameters, summed."""

    fragments: list[Annotated[float, Field(ge=0.01, le=1000)]] = Field(min_length=2)


class CoalescedIn(_Strict):
    """A target merged into another (RECIST 1.1 s.4.3.2): 0 mm here, not disappeared; the
    target named carries the merged lesion's diameter in mm at this timepoint."""

    coalesced_into: str = Field(min_length=1)


class EvaluateTimepoint(_Strict):
    id: str = Field(min_length=1)
    date: dt.date


class EvaluateLesion(_Strict):
    id: str = Field(min_length=1)
    kind: LesionKindName
    # null is read as the default here and below (the codec's lenient optional keys).
    organ: str | None = ""
    nodal: bool | None = False
    measurements: dict[str, TargetReadingIn | NewLesionStatusIn | FragmentsIn | CoalescedIn
                       ] | None = Field(
        default=None, description="target and new lesions: mm or a status, by timepoint id; "
        "present, increased and absent are for new lesions only (iRECIST new-lesion "
        "non-targets); fragments and coalesced_into for target lesions only")
    assessments: dict[str, NonTargetStatusName] | None = Field(
        default=None, description="non-target lesions: a status by timepoint id")
    timepoint: str | None = Field(default=None,
                                  description="new lesions: the timepoint of first sighting")
    equivocal: bool | None = False
    confirmed_at: str | None = None


class EvaluateMarker(_Strict):
    """A tumour marker's values by timepoint (RECIST 1.1 s.4.3.3)."""

    id: str = Field(min_length=1)
    unit: str = ""
    upper_limit_normal: float = Field(gt=0)
    values: dict[str, Annotated[float, Field(ge=0)]] | None = None


class EvaluateRequest(_Strict):
    criteria: CriteriaName
    timepoints: list[EvaluateTimepoint]
    lesions: list[EvaluateLesion]
    markers: list[EvaluateMarker] | None = []
    # The codec reads null as "the default" for these options.
    confirmation_required: bool | None = DEFAULT_OPTIONS.confirmation_required
    min_sd_duration_days: Annotated[int, Field(ge=0)] | None = \
        DEFAULT_OPTIONS.min_sd_duration_days
    min_confirmation_interval_days: Annotated[int, Field(ge=0)] | None = \
        DEFAULT_OPTIONS.min_confirmation_interval_days
    min_icpd_confirmation_days: Annotated[int, Field(ge=0)] | None = \
        DEFAULT_OPTIONS.min_icpd_confirmation_days


# -- publications and their sends (the outbox) -----------------------------------------------

class PublicationSendOut(BaseModel):
    """One object's delivery to one destination: ``pending`` until it is acknowledged
    (``sent``), or ``failed`` when refused or out of attempts (``last_error`` says why)."""

    destination: str = Field(description="AE title@host:port")
    state: Literal["pending", "sent", "failed"]
    attempts: int
    last_error: str | None
    next_attempt_at: str | None = Field(description="when a pending send is tried again")
    sent_at: str | None

    @classmethod
    def of(cls, item: OutboxItem) -> PublicationSendOut:
        return cls(destination=item.destination,
                   state=item.state,  # type: ignore[arg-type]
                   attempts=item.attempts, last_error=item.last_error,
                   next_attempt_at=_iso(item.next_attempt_at) if item.state == "pending"
                   else None, sent_at=_iso(item.sent_at))


class PublicationOut(BaseModel):
    sop_instance_uid: str
    study_instance_uid: str
    kind: Literal["sr", "pdf"]
    timepoint_id: str
    published_by: str
    published_at: str
    sends: list[PublicationSendOut]

    @classmethod
    def of(cls, p: Publication, sends: list[OutboxItem]) -> PublicationOut:
        return cls(sop_instance_uid=p.sop_instance_uid, study_instance_uid=p.study_instance_uid,
                   kind=p.kind,  # type: ignore[arg-type]
                   timepoint_id=p.timepoint_uid, published_by=p.published_by,
                   published_at=_iso(p.published_at) or "",
                   sends=[PublicationSendOut.of(item) for item in sends])


class PublicationsOut(BaseModel):
    publications: list[PublicationOut]


# -- registration (issue 9) ------------------------------------------------------------------

class RegistrationOut(BaseModel):
    """A comparison's registration. ``matrix`` (row-major 4 x 4) maps a baseline patient
    coordinate (mm, DICOM LPS, homogeneous) to the follow-up coordinate of the same
    anatomy; it, ``metric`` and ``elapsed_s`` are null while pending."""

    comparison_id: int
    status: Literal["pending", "done", "failed"]
    baseline_series_uid: str
    followup_series_uid: str
    matrix: list[list[float]] | None
    metric: float | None = Field(description="Mattes mutual information (negative; lower "
                                             "is better)")
    elapsed_s: float | None = Field(description="reading both series from the PACS and "
                                                "registering them")
    read_s: float | None
    reason: str | None
    method: str | None = Field(description="rigid, or rigid+affine where that helped")
    rotation_deg: float | None
    translation_mm: float | None = Field(description="how far the anatomy at the centre of "
                                                     "the baseline volume moved")

    @classmethod
    def of(cls, view: ComparisonRegistration) -> RegistrationOut:
        s = view.state
        return cls(comparison_id=view.comparison_id,
                   status=s.status,  # type: ignore[arg-type]
                   baseline_series_uid=s.pair.baseline_series_uid,
                   followup_series_uid=s.pair.followup_series_uid, matrix=s.matrix,
                   metric=s.metric, elapsed_s=s.elapsed_s, read_s=s.read_s, reason=s.reason,
                   method=s.details.get("method"), rotation_deg=s.details.get("rotation_deg"),
                   translation_mm=s.details.get("translation_mm"))


class ProposalOut(BaseModel):
    """Where a lesion, as last measured at ``from_timepoint_id``, should be at
    ``timepoint_id``: ``point`` is (row, column) on ``sop_instance_uid``, the image of the
    paired series nearest ``position_mm``. ``source`` is ``registration`` when the series'
    registration is done, else ``position`` (the same patient coordinate), and
    ``registration_status`` says why."""

    timepoint_id: str
    series_instance_uid: str
    sop_instance_uid: str
    point: list[float]
    position_mm: list[float]
    source: Literal["registration", "position"]
    from_timepoint_id: str
    from_series_instance_uid: str
    from_sop_instance_uid: str
    from_position_mm: list[float]
    slice_distance_mm: float = Field(description="from position_mm to the proposed image's "
                                                 "plane")
    inside_image: bool
    registration_status: Literal["pending", "done", "failed"]
    registration_reason: str | None
    frame: int | None = Field(None, description="the frame (1-based) of a multi-frame "
                                                "image the point lies on; null for a "
                                                "single-frame image")
    from_frame: int | None = Field(None, description="the measured frame of a multi-frame "
                                                     "image")

    @classmethod
    def of(cls, p: Proposal) -> ProposalOut:
        return cls(timepoint_id=p.timepoint_id, series_instance_uid=p.series_instance_uid,
                   sop_instance_uid=p.sop_instance_uid, point=list(p.point),
                   position_mm=list(p.position_mm),
                   source=p.source,  # type: ignore[arg-type]
                   from_timepoint_id=p.from_timepoint_id,
                   from_series_instance_uid=p.from_series_instance_uid,
                   from_sop_instance_uid=p.from_sop_instance_uid,
                   from_position_mm=list(p.from_position_mm),
                   slice_distance_mm=p.slice_distance_mm, inside_image=p.inside_image,
                   registration_status=p.registration.status,  # type: ignore[arg-type]
                   registration_reason=p.registration.reason,
                   frame=p.frame, from_frame=p.from_frame)


# -- priors from the hospital PACS -------------------------------------------------------

#: PS3.5 6.2: a Modality is a code string (upper-case letters, digits, space, underscore).
ModalityText = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Z0-9_ ]+$")]
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_text)]


class PriorFetchIn(_Request):
    """What to fetch: the patient's studies of a modality (optional), within dates (both
    inclusive, both optional)."""

    modality: ModalityText | None = None
    date_from: IsoDate | None = None
    date_to: IsoDate | None = None


class PriorStudyOut(BaseModel):
    study_instance_uid: str
    study_date: str | None
    modalities: list[str]
    description: str | None
    state: Literal["held", "to_retrieve", "retrieved", "failed"] = Field(description=(
        "held: Nadir had it; to_retrieve: still to move; retrieved: moved to Orthanc; "
        "failed: its move failed (the fetch is tried again)"))


class PriorProgressOut(BaseModel):
    found: int = Field(description="studies the hospital PACS answered with")
    held: int = Field(description="of those, already in Nadir")
    to_retrieve: int
    retrieved: int


class PriorFetchOut(BaseModel):
    id: int
    patient_id: str
    modality: str | None
    date_from: str | None
    date_to: str | None
    trigger: Literal["request", "automatic"]
    requested_by: str | None
    source: str = Field(description="the hospital PACS asked, AET@host:port")
    state: Literal["pending", "running", "done", "failed"]
    progress: PriorProgressOut
    studies: list[PriorStudyOut]
    attempts: int = Field(description="failed attempts so far")
    last_error: str | None = Field(description="why the last attempt failed (the PACS down, "
                                   "a refused move, ...); retried with the outbox's back-off")
    next_attempt_at: str | None
    created_at: str
    finished_at: str | None

    @classmethod
    def of(cls, row: PriorFetch) -> PriorFetchOut:
        studies = [PriorStudyOut(**st) for st in row.studies or []]
        count = {state: sum(st.state == state for st in studies)
                 for state in ("held", "to_retrieve", "retrieved", "failed")}
        waiting = row.state in ("pending", "running")
        return cls(id=row.id, patient_id=row.patient_id, modality=row.modality,
                   date_from=_iso(row.date_from), date_to=_iso(row.date_to),
                   trigger=row.trigger,  # type: ignore[arg-type]
                   requested_by=row.requested_by, source=row.source,
                   state=row.state,  # type: ignore[arg-type]
                   progress=PriorProgressOut(
                       found=len(studies), held=count["held"], retrieved=count["retrieved"],
                       to_retrieve=count["to_retrieve"] + count["failed"]),
                   studies=studies, attempts=row.attempts, last_error=row.last_error,
                   next_attempt_at=_iso(row.next_attempt_at) if waiting else None,
                   created_at=_iso(row.created_at) or "", finished_at=_iso(row.finished_at))
