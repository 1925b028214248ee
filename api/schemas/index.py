"""The DICOM index as the API shows it: patients, studies, series, the worklist and
uploads."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import DATE_SOURCE_HELP, iso_text
from api.workflow.ports import ImageCheck, Series, Study


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
            image_type=list(s.image_type or ()),
            convolution_kernel=s.convolution_kernel, slice_thickness_mm=s.slice_thickness_mm,
            pixel_spacing_mm=list(s.pixel_spacing_mm) if s.pixel_spacing_mm else None,
            orientation=list(s.orientation) if s.orientation else None,
            frame_of_reference_uid=s.frame_of_reference_uid, contrast_agent=s.contrast_agent,
            sop_class_uid=s.sop_class_uid)


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
        return cls(study_instance_uid=st.study_instance_uid, study_date=iso_text(st.study_date),
                   date_source=st.date_source, description=st.description,
                   accession_number=st.accession_number,
                   series=[SeriesOut.of(s) for s in ordered],
                   other_patient_ids=[str(p) for p in st.other_patient_ids or []],
                   images_flagged=ImageFlagOut.of_checks(
                       [c for c in flagged or [] if c.study_instance_uid ==
                        st.study_instance_uid]))


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
    copy_read_in: int | None = Field(default=None, description=(
        "when the patient is a share's de-identified copy: the review case it is read in "
        "(no other case may be opened on it); else null"))


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
