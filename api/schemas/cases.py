"""A case: its creation, lesions, measurements, markers, history, sign-offs, audit and
its responses at whatever stage the reading is."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Strict, StrictBool, StrictFloat

from api.schemas.common import (
    DATE_SOURCE_HELP,
    CriteriaName,
    LesionKindName,
    PatientIdText,
    RequestModel,
    Text,
    UidText,
    WholeNumber,
    criteria_name,
    iso_date_text,
    iso_text,
    kind_name,
    whole_number,
)
from api.schemas.evaluate import CoalescedOut, SplitOut, TimepointResponseOut, WarningOut
from api.schemas.index import ImageFlagOut, StudyOut
from api.schemas.readings import TimepointFinalOut
from api.workflow.case_reader import CaseView
from api.workflow.case_response import CaseResponse
from api.workflow.cases import DEFAULT_OPTIONS
from api.workflow.domain import Lesion, MeasurementVersion, PatientMarker, TimepointSignoff
from api.workflow.ports import AuditEvent, ImageCheck, Study
from api.workflow.readings import FinalReading
from api.workflow.split_lesions import MAX_FRAGMENTS
from measurement.codec import result_to_json
from measurement.markers import MARKER_WINDOW_DAYS


class CaseCreate(RequestModel):
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


class MarkerIn(BaseModel):
    """A tumour marker level: ``{"name", "unit", "upper_limit_normal", "value", "date"}``."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: Annotated[Text, Field(min_length=1, max_length=64)]
    unit: Annotated[Text, Field(max_length=32)]
    upper_limit_normal: StrictFloat = Field(gt=0, le=1e9)
    value: StrictFloat = Field(ge=0, le=1e9)
    date: Annotated[dt.date, BeforeValidator(iso_date_text)]


class LesionCreate(RequestModel):
    kind: LesionKindName
    organ: Text = Field(min_length=1, max_length=128)
    nodal: StrictBool = False
    label: Text | None = Field(default=None, min_length=1, max_length=64)
    timepoint: UidText | None = None
    equivocal: StrictBool = False
    confirmed_at: UidText | None = None


class LesionPatch(RequestModel):
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


class LesionDelete(RequestModel):
    reason: ReasonText = Field(min_length=1, description="why the lesion is deleted")
    amendment_reason: ReasonText | None = Field(
        default=None, description="needed once a timepoint where the lesion has a reading "
        "is signed off")


#: An image point [row, column] in sub-pixel coordinates ((0, 0): the top-left corner).
ImagePoint = Annotated[list[float], Field(min_length=2, max_length=2)]


#: Two image points: a caliper.
ImageSegment = Annotated[list[ImagePoint], Field(min_length=2, max_length=2)]


#: An image frame, 1 for the first (a JSON number without fraction).
FrameNumber = Annotated[int, Field(ge=1, le=2**31 - 1), Strict(), BeforeValidator(whole_number)]


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
                     BeforeValidator(whole_number)] | None = None
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
                              BeforeValidator(whole_number)] | None = Field(
        default=None, description="the id of the target lesion of this case it merged into "
        "(RECIST 1.1 s4.3.2); that lesion carries the merged diameter")


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
        return cls(id=les.id, case_id=les.case_id, kind=kind_name(les.kind),
                   organ=les.organ, nodal=les.nodal, label=les.label,
                   timepoint=les.first_timepoint, equivocal=les.equivocal,
                   confirmed_at=les.confirmed_at, tracking_uid=les.tracking_uid,
                   deleted_at=iso_text(les.deleted_at), deleted_by=les.deleted_by,
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
    studies: list[StudyOut] | None = Field(default=None, description=(
        "with ?include=studies on GET /api/v1/cases/{case_id}: the patient's indexed "
        "studies with their series, as GET /api/v1/patients/{patient_id}/studies answers "
        "them (and audited as that read is); else null"))
    review_of: int | None = Field(default=None, description=(
        "the case this case reviews (a second reading); null for a primary case"))
    reader: str | None = Field(default=None, description="the user who reads this review")
    blinded: bool = Field(default=False, description=(
        "the reader may not see the reviewed case's reading until this review is signed "
        "off at every timepoint"))

    @classmethod
    def of(cls, view: CaseView, flagged: list[ImageCheck] | None = None) -> CaseOut:
        case = view.case
        signoffs = {s.timepoint_uid: s for s in case.signoffs}
        return cls(
            id=case.id, patient_id=case.patient_id,
            criteria=criteria_name(case.criteria),
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
                study_instance_uid=lo.study.study_instance_uid, date=iso_text(lo.study.study_date),
                date_source=lo.study.date_source, description=lo.study.description,
                reason=lo.reason) for lo in view.left_out],
            study_dates_set=[StudyDateSetOut(
                study_instance_uid=d.study_uid, date=d.date.isoformat(), reason=d.reason,
                set_by=d.set_by, set_at=iso_text(d.set_at) or "") for d in case.study_dates],
            images_flagged=ImageFlagOut.of_checks(flagged or []),
            review_of=case.review_of, reader=case.reader, blinded=case.blinded)


def _timepoint(st: Study, signoff: TimepointSignoff | None) -> TimepointOut:
    return TimepointOut(id=st.study_instance_uid, study_instance_uid=st.study_instance_uid,
                        date=iso_text(st.study_date), date_source=st.date_source,
                        description=st.description,
                        signed_off_by=signoff.signed_by if signoff else None,
                        signed_off_at=iso_text(signoff.signed_at) if signoff else None)


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
                   recorded_at=iso_text(m.recorded_at) or "")


class CaseSummary(BaseModel):
    id: int
    patient_id: str
    criteria: CriteriaName
    baseline_study_uid: str
    created_by: str
    created_at: str
    review_of: int | None = None
    reader: str | None = None
    blinded: bool = False


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
                   at=iso_text(m.at) or "", reason=m.reason, source=m.source,
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
        return cls(at=iso_text(e.at) or "", user=e.user_name, action=e.action,
                   resource=e.resource, patient_id=e.patient_id)


class AuditOut(BaseModel):
    events: list[AuditEventOut]


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
    final: TimepointFinalOut | None = Field(default=None, description=(
        "a case read twice (a review signed off at every timepoint): the overall response "
        "that counts here, as `final` of GET .../readings gives it; null otherwise. The "
        "fields above stay this case's own reading"))


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
    final_best_overall_response: str | None = Field(default=None, description=(
        "a case read twice: the best overall response over the responses that count "
        "(each timepoint's `final`), by the same rule (RECIST 1.1 s4.4.3, Table 3; "
        "iRECIST iBOR); null otherwise"))
    warnings: list[WarningOut]

    @classmethod
    def of(cls, resp: CaseResponse, final: FinalReading | None = None) -> CaseResponseOut:
        """``final``: the responses that count in a case read twice (None otherwise)."""
        rows: list[dict[str, Any]]
        if resp.result is not None:
            body = result_to_json(resp.result)
            rows, warnings = body["timepoints"], body["warnings"]
        else:
            rows = [{"id": s.timepoint_uid, "date": iso_text(s.study.study_date), "sum_mm": None}
                    for s in resp.states]
            warnings = []
        ids = {les.label: les.id for les in resp.case.active_lesions}
        for row, state in zip(rows, resp.states, strict=True):
            # The engine names lesions by label; the case's clients also get their ids.
            for split in row.get("split", ()):
                split["lesion_id"] = ids[split["id"]]
            for merged in row.get("coalesced", ()):
                merged.update(lesion_id=ids[merged["id"]], into_lesion_id=ids[merged["into"]])
            counts = None if final is None else final.at(state.timepoint_uid)
            row.update(complete=state.complete, signed_off=state.signed_off, missing=[
                {"lesion_id": m.lesion_id, "label": m.label, "kind": m.kind}
                for m in state.missing], final=None if counts is None
                else TimepointFinalOut.of(resp.case.id, counts))
        best = resp.best_overall_response
        final_best = None if final is None else final.best_overall_response
        return cls.model_validate({
            "criteria": criteria_name(resp.case.criteria), "complete": resp.complete,
            "next_step": resp.next_step, "timepoints": rows, "warnings": warnings,
            "best_overall_response": None if best is None else best.value,
            "final_best_overall_response": None if final_best is None else final_best.value})
