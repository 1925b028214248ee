"""The specialist report as JSON: the one serialisation of
``GET /api/v1/cases/{id}/report?format=json``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.report.model import ReportData
from api.report.notes import DISCLAIMER, report_notes
from api.schemas.cases import CaseResponseOut, CaseTimepointResponseOut
from api.schemas.common import CriteriaName, LesionKindName, kind_name
from api.schemas.evaluate import WarningOut
from api.workflow.case_response import CaseResponse
from api.workflow.readings import FinalReading
from imaging.render import png_data_uri


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
    long_axis_mm: float | None = Field(default=None, description="a bidirectional "
                                       "measurement's long axis (null when not drawn)")
    short_axis_mm: float | None = Field(default=None, description="a bidirectional "
                                        "measurement's short axis (null when not drawn)")


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


class ReportSecondReading(BaseModel):
    """One timepoint of a case read twice: both readings, agreement, what counts."""

    timepoint_id: str
    review_case_id: int
    primary_reader: str
    reader: str
    primary_response: str | None
    review_response: str | None
    agree: bool | None
    final_response: str | None
    final_source: str = Field(description="agreed | adjudicated | adjudication_pending")
    chosen_case_id: int | None
    adjudicated_by: str | None
    adjudication_reason: str | None


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
    final_best_overall_response: str | None = Field(default=None, description=(
        "as in GET .../response: a case read twice, the best overall response over the "
        "responses that count (each timepoint's `final`); null otherwise"))
    warnings: list[WarningOut]
    signoffs: list[ReportSignoff]
    series_compared: list[ReportSeriesPair]
    lesions: list[ReportLesion]
    markers: list[ReportMarker]
    notes: list[ReportNote]
    disclaimer: str
    second_reading: list[ReportSecondReading] | None = Field(default=None, description=(
        "a case read twice: per review and compared timepoint, both overall responses, "
        "whether they agree and the response that counts (absent otherwise)"))

    @classmethod
    def of(cls, data: ReportData, case_response: CaseResponse,
           final: FinalReading | None = None) -> ReportOut:
        """The report's JSON: the case's responses as ``GET .../response`` gives them (with
        ``final``, the responses that count in a case read twice), and what the HTML and
        PDF show beside them."""
        response = CaseResponseOut.of(case_response, final)
        return cls(
            case_id=int(data.case_id),
            patient=ReportPatient(
                patient_id=data.patient_id, patient_name=data.patient_name,
                birth_date=data.birth_date.isoformat() if data.birth_date else None,
                sex=data.sex),
            criteria=response.criteria, generated_at=data.generated_at.isoformat(),
            preliminary=data.preliminary, complete=response.complete,
            next_step=response.next_step, software_version=data.software_version,
            timepoints=response.timepoints,
            best_overall_response=response.best_overall_response,
            final_best_overall_response=response.final_best_overall_response,
            warnings=response.warnings,
            signoffs=[ReportSignoff(
                timepoint_id=t.id, date=t.date.isoformat(), description=t.description,
                signed_off_by=t.signed_off_by,
                signed_off_at=t.signed_off_at.isoformat() if t.signed_off_at else None)
                for t in data.timepoints],
            series_compared=[ReportSeriesPair(
                baseline=p.baseline_description, followup=p.followup_description,
                score=p.score, source=p.source) for p in data.pairs],
            lesions=[ReportLesion(
                label=les.label, kind=kind_name(les.kind), organ=les.organ, nodal=les.nodal,
                change_from_baseline_pct=les.change_from_baseline_pct,
                measurements=[ReportCell(
                    timepoint_id=c.timepoint_id, length_mm=c.value_mm, status=c.status,
                    fragments_mm=list(c.fragments_mm), coalesced_into=c.coalesced_into,
                    long_axis_mm=c.long_axis_mm, short_axis_mm=c.short_axis_mm)
                    for c in les.cells],
                key_images=[ReportKeyImage(
                    timepoint_id=im.timepoint_id, sop_instance_uid=im.sop_instance_uid,
                    length_mm=im.length_mm, window=im.window_name,
                    crop=png_data_uri(im.crop.png()) if im.crop else None,
                    thumbnail=png_data_uri(im.thumbnail.png()) if im.thumbnail else None,
                    error=im.error) for im in les.images])
                for les in data.lesions],
            markers=[ReportMarker(
                name=m.name, unit=m.unit, upper_limit_normal=m.upper_limit_normal,
                points=[ReportMarkerPoint(date=pt.date.isoformat(), value=pt.value,
                                          timepoint_id=pt.timepoint_id) for pt in m.points])
                for m in data.markers],
            notes=[ReportNote(kind=n.kind, title=n.title, text=n.text)
                   for n in report_notes(data)],
            disclaimer=DISCLAIMER,
            **({"second_reading": [ReportSecondReading(**vars(r)) for r in data.second_reading]}
               if data.second_reading else {}))

    def to_json(self) -> dict[str, Any]:
        """The body as sent: a baseline row keeps only the keys the engine gives it."""
        return self.model_dump(mode="json", exclude_unset=True)
