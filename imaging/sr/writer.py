"""A timepoint's lesions as a DICOM Measurement Report (PS3.16 TID 1500), built with highdicom.

Shape of the document (a Comprehensive SR, PS3.3 A.35.3):

* root CONTAINER "Imaging Measurement Report" (DCM 126000, CID 7021), TID 1500, with one
  person observer context per measurer (TID 1001/1002/1003) and the procedure reported
  (CID 100);
* "Imaging Measurements" (DCM 126010) holds one measurement group per lesion:
  TID 1410 Planar ROI Measurements when the lesion has a caliper (its two-point
  POLYLINE is the group's Image Region, SCOORD on the source image), otherwise TID 1501
  (a status such as "disappeared", with the image it was looked for on, if any). Each
  group carries the lesion's Tracking Identifier and Tracking Unique Identifier (the
  same at every timepoint), the finding site, the timepoint (TID 1502), the RECIST 1.1
  measurement method, the length as "Long Axis" or, for lymph nodes, "Short Axis"
  (RECIST 1.1 s.3.1.1) in UCUM mm (TID 1419/300), and the lesion's category and status
  as qualitative evaluations;
* a lesion that split (RECIST 1.1 s4.3.2) is a TID 1501 group with one length per
  fragment, each with its own SCOORD (INFERRED FROM) on its source image, and the status
  "Split into fragments"; one that coalesced is a TID 1501 group with the status
  "Coalesced into another lesion" and, as a UIDREF, the Tracking Unique Identifier of the
  lesion it merged into (that lesion's group carries the merged diameter);
* "Qualitative Evaluations" (UMLS C0034375, TID 1500) holds the responses.

See :mod:`imaging.sr.codes` for every code and where it was checked. highdicom stamps
creation times with the wall clock; they are overwritten with the report's own datetime
so that the same input gives the same object.

Status (PS3.3 C.17.2 SR Document General): a report of a timepoint that is not signed off
is PARTIAL, UNVERIFIED and PRELIMINARY; a signed-off one is COMPLETE, VERIFIED and FINAL,
with the person who signed it off as Verifying Observer and the sign-off time as
Verification DateTime.
"""

from __future__ import annotations

from collections.abc import Sequence

import highdicom as hd
import numpy as np
from highdicom.coding_schemes import CodingSchemeIdentificationItem
from highdicom.sr import (
    CodeContentItem,
    ComprehensiveSR,
    ContainerContentItem,
    CoordinatesForMeasurement,
    FindingSite,
    ImageRegion,
    Measurement,
    MeasurementReport,
    MeasurementsAndQualitativeEvaluations,
    ObservationContext,
    ObserverContext,
    PersonObserverIdentifyingAttributes,
    PlanarROIMeasurementsAndQualitativeEvaluations,
    QualitativeEvaluation,
    RelationshipTypeValues,
    SourceImageForMeasurementGroup,
    SourceImageForRegion,
    TimePointContext,
    TrackingIdentifier,
    UIDRefContentItem,
)
from pydicom import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.sr.codedict import codes as dcm_codes
from pydicom.sr.coding import Code
from pydicom.uid import CTImageStorage, EnhancedCTImageStorage

from imaging.sr import codes
from imaging.sr._header import (
    SPECIFIC_CHARACTER_SET,
    apply_patient_and_study,
    da,
    dt,
    hierarchical_reference,
    timezone_offset,
    tm,
)
from imaging.sr.errors import SRWriteError
from imaging.sr.model import (
    Criteria,
    LinearMeasurement,
    Point,
    SourceImage,
    TimepointReport,
    TimepointResponse,
    check_text,
    check_uid,
)

SERIES_DESCRIPTION = "Nadir RECIST measurements"

_MR_CLASSES = frozenset({"1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.5.1.4.1.1.4.1"})
_PET_CLASSES = frozenset({"1.2.840.10008.5.1.4.1.1.128", "1.2.840.10008.5.1.4.1.1.130"})

AnyGroup = PlanarROIMeasurementsAndQualitativeEvaluations | MeasurementsAndQualitativeEvaluations


def build_measurement_report(
    report: TimepointReport,
    evidence: Sequence[Dataset] | None = None,
    *,
    sop_instance_uid: str,
    series_instance_uid: str,
    manufacturer: str = "Nadir",
    software_version: str | None = None,
    series_description: str = SERIES_DESCRIPTION,
) -> Dataset:
    """The TID 1500 Measurement Report of one timepoint, as a Comprehensive SR dataset.

    The SR goes into the timepoint's study (same Study Instance UID) as a new series.
    ``evidence`` is optional: highdicom needs the referenced images as datasets only for
    their header UIDs (Current Requested Procedure Evidence Sequence, PS3.3 C.17.2), so
    header-only stand-ins are made from each :class:`SourceImage`. Datasets given as
    ``evidence`` (headers are enough) are checked against the report - same patient,
    and the same class, series and study for each referenced image - and other images
    among them are recorded as evidence too. When ``report.replaces`` is set, the
    earlier report is listed in Predecessor Documents Sequence (PS3.3 C.17.2.1).

    Raises :class:`~imaging.sr.errors.SRWriteError` when the inputs are inconsistent or
    highdicom refuses them.
    """
    if not isinstance(report, TimepointReport):
        raise SRWriteError(f"report must be a TimepointReport, got {type(report).__name__}")
    _check_new_uids(report, sop_instance_uid, series_instance_uid)
    check_text("manufacturer", manufacturer, max_len=64, required=True)
    stand_ins = _evidence_stand_ins(report, evidence)
    try:
        content = _content(report)
        sr = ComprehensiveSR(
            evidence=stand_ins,
            content=content,
            series_instance_uid=series_instance_uid,
            series_number=report.series_number,
            sop_instance_uid=sop_instance_uid,
            instance_number=report.instance_number,
            manufacturer=manufacturer,
            # Before sign-off the radiologist may still change the measurements.
            is_complete=report.sign_off is not None,
            is_final=report.sign_off is not None,
            is_verified=report.sign_off is not None,
            institution_name=report.institution_name,
            verifying_observer_name=_signer(report),
            verifying_organization=_signing_organization(report),
            series_description=series_description,
            software_versions=software_version,
            content_date=report.content_datetime.date(),
            content_time=report.content_datetime.time(),
            series_date=report.content_datetime.date(),
            series_time=report.content_datetime.time(),
            coding_schemes=[_nadir_coding_scheme()],
            specific_character_set=SPECIFIC_CHARACTER_SET,
        )
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise SRWriteError(f"highdicom could not build the Measurement Report: {exc}",
                           sop_instance_uid=sop_instance_uid) from exc
    _pin_times_and_references(sr, report)
    return sr


def _check_new_uids(report: TimepointReport, sop_uid: str, series_uid: str) -> None:
    check_uid("sop_instance_uid", sop_uid)
    check_uid("series_instance_uid", series_uid)
    taken = {report.study.study_instance_uid}
    for m in report.measurements:
        for source in m.sources:
            taken |= {source.sop_instance_uid, source.series_instance_uid}
    if report.replaces is not None:
        taken |= {report.replaces.sop_instance_uid, report.replaces.series_instance_uid}
    for name, uid in (("sop_instance_uid", sop_uid), ("series_instance_uid", series_uid)):
        if uid in taken:
            raise SRWriteError(f"{name} {uid} is already used by the study, a source image "
                               "or the replaced report: a new report needs new UIDs",
                               sop_instance_uid=sop_uid)
    if sop_uid == series_uid:
        raise SRWriteError("sop_instance_uid and series_instance_uid must differ",
                           sop_instance_uid=sop_uid)


def _stand_in(report: TimepointReport, source: SourceImage) -> Dataset:
    """A header-only dataset of a source image: all highdicom reads from evidence."""
    ds = Dataset()
    apply_patient_and_study(ds, report.patient, report.study)
    ds.SOPClassUID = source.sop_class_uid
    ds.SOPInstanceUID = source.sop_instance_uid
    ds.SeriesInstanceUID = source.series_instance_uid
    ds.SpecificCharacterSet = SPECIFIC_CHARACTER_SET
    return ds


def _evidence_stand_ins(
    report: TimepointReport, evidence: Sequence[Dataset] | None
) -> list[Dataset]:
    """Stand-ins first (highdicom copies patient and study from ``evidence[0]``)."""
    sources = {source.sop_instance_uid: source for m in report.measurements
               for source in m.sources}
    stand_ins = [_stand_in(report, s) for s in sources.values()]
    extra: list[Dataset] = []
    for i, ds in enumerate(evidence or ()):
        _check_evidence(report, sources, i, ds)
        if ds.SOPInstanceUID not in sources:
            extra.append(_stand_in(report, SourceImage(
                sop_class_uid=ds.SOPClassUID, sop_instance_uid=ds.SOPInstanceUID,
                study_instance_uid=ds.StudyInstanceUID,
                series_instance_uid=ds.SeriesInstanceUID)))
            extra[-1].StudyInstanceUID = ds.StudyInstanceUID
    # highdicom takes the SR's study from evidence[0]: an image of the timepoint's study.
    study_uid = report.study.study_instance_uid
    extra.sort(key=lambda ds: ds.StudyInstanceUID != study_uid)
    evidence_first = (stand_ins + extra)[:1]
    if not evidence_first or evidence_first[0].StudyInstanceUID != study_uid:
        raise SRWriteError("no measurement references an image of the timepoint's study and "
                           "no evidence of that study was given: a Measurement Report needs "
                           "at least one image of its study as evidence")
    return stand_ins + extra


def _check_evidence(
    report: TimepointReport, sources: dict[str, SourceImage], i: int, ds: Dataset
) -> None:
    for keyword in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID",
                    "SeriesInstanceUID", "PatientID"):
        if not ds.get(keyword):
            raise SRWriteError(f"evidence[{i}] has no {keyword}")
    uid = str(ds.SOPInstanceUID)
    if str(ds.PatientID) != report.patient.patient_id:
        raise SRWriteError(f"evidence[{i}] ({uid}) belongs to patient {ds.PatientID!r}, "
                           f"not {report.patient.patient_id!r}")
    source = sources.get(uid)
    if source is None:
        return
    pairs = (("SOPClassUID", source.sop_class_uid),
             ("SeriesInstanceUID", source.series_instance_uid),
             ("StudyInstanceUID", source.study_instance_uid))
    for keyword, expected in pairs:
        if str(ds.get(keyword)) != expected:
            raise SRWriteError(f"evidence[{i}] ({uid}) has {keyword} {ds.get(keyword)}, but "
                               f"the measurement's source image says {expected}")


def _content(report: TimepointReport) -> MeasurementReport:
    content = MeasurementReport(
        observation_context=_observation_context(report),
        procedure_reported=_procedures(report),
        imaging_measurements=[_with_first_seen(_group(report, m), m)
                              for m in report.measurements],
        title=codes.IMAGING_MEASUREMENT_REPORT,
    )
    if report.response is not None:
        content[0].ContentSequence.append(_responses(report.response))
    return content


def _observation_context(report: TimepointReport) -> ObservationContext:
    """TID 1001 at the root: one person Observer Context (TID 1002) per measurer, in order.

    TID 1001 row 1 includes TID 1002 1-n times; highdicom's ObservationContext takes one
    person, so the others follow it as further "Observer Type = Person" items, each with
    its TID 1003 "Person Observer Name". TID 1500 includes TID 1001 after the language
    (row 2) and before "Procedure Reported" (row 4), which is where these items land.
    """
    first, *others = (_person_observer(name, report.institution_name)
                      for name in report.observer_names)
    context = ObservationContext(observer_person_context=first)
    for observer in others:
        context.extend(observer)
    return context


def _person_observer(name: str, organization: str | None) -> ObserverContext:
    return ObserverContext(
        observer_type=dcm_codes.DCM.Person,
        observer_identifying_attributes=PersonObserverIdentifyingAttributes(
            name=name, organization_name=organization),
    )


def _procedures(report: TimepointReport) -> list[Code]:
    """CID 100 procedure codes for the modalities of the measured images."""
    found: list[Code] = []
    for source in (source for m in report.measurements for source in m.sources):
        cls = source.sop_class_uid
        if cls in (CTImageStorage, EnhancedCTImageStorage):
            code = codes.CT_PROCEDURE
        elif cls in _MR_CLASSES:
            code = codes.MR_PROCEDURE
        elif cls in _PET_CLASSES:
            code = codes.PET_PROCEDURE
        else:
            code = codes.IMAGING_PROCEDURE
        if code not in found:
            found.append(code)
    return found or [codes.IMAGING_PROCEDURE]


def _group(report: TimepointReport, m: LinearMeasurement) -> AnyGroup:
    tracking = TrackingIdentifier(uid=m.tracking_uid, identifier=m.tracking_id)
    time_point = TimePointContext(time_point=report.timepoint_id)
    shape = (hd.sr.GraphicTypeValues.POLYLINE, m.polyline) if m.polyline is not None else (
        hd.sr.GraphicTypeValues.POINT, None if m.point is None else (m.point,))
    if m.short_axis is not None and m.source is not None:
        # Bidirectional: TID 1501 whose two TID 300 rows each carry their own polyline
        # (INFERRED FROM SCOORD), as OHIF's bidirectional tool writes it; TID 1410 has
        # one Image Region for the whole group and no coordinates per measurement.
        return MeasurementsAndQualitativeEvaluations(
            tracking_identifier=tracking, time_point_context=time_point,
            finding_type=codes.LESION, method=codes.RECIST_1_1,
            finding_sites=_finding_sites(m), measurements=_axes(m, m.source, m.short_axis),
            qualitative_evaluations=_lesion_evaluations(m))
    if shape[1] is not None and m.source is not None:
        # A caliper is a two-point POLYLINE; a lesion read by status, clicked on the image
        # (a non-target or new lesion), is a POINT (PS3.3 C.18.6.1.2).
        region = ImageRegion(graphic_type=shape[0], graphic_data=np.array(shape[1], dtype=float),
                             source_image=_region_source(m.source))
        return PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=tracking, referenced_region=region,
            time_point_context=time_point, finding_type=codes.LESION,
            method=codes.RECIST_1_1,  # CID 6147; iRECIST measures lesions as RECIST 1.1 does
            finding_sites=_finding_sites(m), measurements=_length(m),
            qualitative_evaluations=_lesion_evaluations(m),
        )
    if m.fragments or m.coalesced_into is not None:
        return _split_or_merged_group(m, tracking, time_point)
    source_images = None
    if m.source is not None:
        source_images = [SourceImageForMeasurementGroup(
            referenced_sop_class_uid=m.source.sop_class_uid,
            referenced_sop_instance_uid=m.source.sop_instance_uid,
            referenced_frame_numbers=_frames(m.source),
        )]
    return MeasurementsAndQualitativeEvaluations(
        tracking_identifier=tracking, time_point_context=time_point,
        finding_type=codes.LESION, method=codes.RECIST_1_1,
        finding_sites=_finding_sites(m), measurements=_length(m),
        qualitative_evaluations=_lesion_evaluations(m), source_images=source_images,
    )


def _with_first_seen(group: AnyGroup, m: LinearMeasurement) -> AnyGroup:
    """A new lesion's first sighting (RECIST 1.1 s4.3.5) as a UIDREF in its group."""
    if m.first_seen is not None:
        group[0].ContentSequence.append(UIDRefContentItem(
            name=codes.FIRST_SEEN, value=m.first_seen,
            relationship_type=RelationshipTypeValues.CONTAINS))
    return group


def _split_or_merged_group(m: LinearMeasurement, tracking: TrackingIdentifier,
                           time_point: TimePointContext) -> AnyGroup:
    """RECIST 1.1 s4.3.2: the fragments' lengths, each on its caliper (TID 300 INFERRED
    FROM a SCOORD), or the lesion this one coalesced into."""
    lengths = [Measurement(
        name=codes.LONG_AXIS, value=f.length_mm, unit=codes.MILLIMETRE,
        referenced_coordinates=[CoordinatesForMeasurement(
            graphic_type=hd.sr.GraphicTypeValues.POLYLINE,
            graphic_data=np.array(f.polyline, dtype=float),
            source_image=_region_source(f.source))])
        for f in m.fragments]
    state = codes.SPLIT if m.fragments else codes.COALESCED
    group = MeasurementsAndQualitativeEvaluations(
        tracking_identifier=tracking, time_point_context=time_point,
        finding_type=codes.LESION, method=codes.RECIST_1_1,
        finding_sites=_finding_sites(m), measurements=lengths or None,
        qualitative_evaluations=[*_lesion_evaluations(m), QualitativeEvaluation(
            name=codes.LESION_STATUS, value=state)])
    if m.coalesced_into is not None:
        group[0].ContentSequence.append(UIDRefContentItem(
            name=codes.COALESCED_INTO, value=m.coalesced_into,
            relationship_type=RelationshipTypeValues.CONTAINS))
    return group


def _region_source(source: SourceImage) -> SourceImageForRegion:
    return SourceImageForRegion(
        referenced_sop_class_uid=source.sop_class_uid,
        referenced_sop_instance_uid=source.sop_instance_uid,
        referenced_frame_numbers=_frames(source))


def _frames(source: SourceImage) -> list[int] | None:
    return None if source.frame is None else [source.frame]


def _finding_sites(m: LinearMeasurement) -> list[FindingSite] | None:
    if m.finding_site is None:
        return None
    return [FindingSite(anatomic_location=codes.finding_site_code(m.finding_site))]


def _length(m: LinearMeasurement) -> list[Measurement] | None:
    if m.length_mm is None:
        return None
    # RECIST 1.1 s.3.1.1: lymph nodes are measured in their short axis, others long axis.
    concept = codes.SHORT_AXIS if m.nodal else codes.LONG_AXIS
    return [Measurement(name=concept, value=m.length_mm, unit=codes.MILLIMETRE)]


def _axes(m: LinearMeasurement, source: SourceImage, short_axis: tuple[Point, ...]
          ) -> list[Measurement]:
    """Long axis and short axis (SCT 103339001, 103340004; RECIST 1.1 s.3.1.1), each with
    its line on the source image."""
    assert m.polyline is not None and m.long_axis_mm is not None \
        and m.short_axis_mm is not None  # LinearMeasurement checked them
    rows = ((codes.LONG_AXIS, m.long_axis_mm, m.polyline),
            (codes.SHORT_AXIS, m.short_axis_mm, short_axis))
    return [Measurement(name=name, value=value, unit=codes.MILLIMETRE, referenced_coordinates=[
        CoordinatesForMeasurement(graphic_type=hd.sr.GraphicTypeValues.POLYLINE,
                                  graphic_data=np.array(line, dtype=float),
                                  source_image=_region_source(source))])
            for name, value, line in rows]


def _lesion_evaluations(m: LinearMeasurement) -> list[QualitativeEvaluation]:
    evaluations = [QualitativeEvaluation(
        name=codes.BASELINE_CATEGORY, value=codes.LESION_KIND_CODES[m.lesion_kind.value])]
    if m.status is not None:
        evaluations.append(QualitativeEvaluation(
            name=codes.LESION_STATUS, value=codes.LESION_STATUS_CODES[m.status.value]))
    return evaluations


def _responses(response: TimepointResponse) -> ContainerContentItem:
    """TID 1500 "Qualitative Evaluations": method, then the category and overall responses."""
    contains = RelationshipTypeValues.CONTAINS
    method = codes.RECIST_1_1 if response.criteria is Criteria.RECIST_1_1 else codes.IRECIST
    items = [CodeContentItem(name=codes.RESPONSE_EVALUATION_METHOD, value=method,
                             relationship_type=contains)]
    values: list[tuple[Code, Code]] = []
    if response.target is not None:
        values.append((codes.CURRENT_RESPONSE, codes.TARGET_RESPONSE_CODES[response.target]))
    if response.non_target is not None:
        values.append((codes.CURRENT_RESPONSE,
                       codes.NON_TARGET_RESPONSE_CODES[response.non_target]))
    values.append((codes.CURRENT_RESPONSE, codes.OVERALL_RESPONSE_CODES[response.overall]))
    if response.best_overall is not None:
        values.append((codes.BEST_OVERALL_RESPONSE,
                       codes.OVERALL_RESPONSE_CODES[response.best_overall]))
    items += [CodeContentItem(name=n, value=v, relationship_type=contains) for n, v in values]
    container = ContainerContentItem(name=codes.QUALITATIVE_EVALUATIONS,
                                     relationship_type=contains)
    container.ContentSequence = hd.sr.ContentSequence(items)
    return container


def _signer(report: TimepointReport) -> str | None:
    return None if report.sign_off is None else report.sign_off.observer_name


def _signing_organization(report: TimepointReport) -> str | None:
    return None if report.sign_off is None else report.sign_off.organization


def _nadir_coding_scheme() -> CodingSchemeIdentificationItem:
    return CodingSchemeIdentificationItem(
        designator=codes.NADIR_SCHEME,
        name=codes.NADIR_SCHEME_NAME,
        responsible_organization="Nadir",
    )


def _pin_times_and_references(sr: Dataset, report: TimepointReport) -> None:
    """Replace highdicom's wall-clock stamps and add what highdicom does not write."""
    when = report.content_datetime
    sr.InstanceCreationDate = sr.ContentDate = sr.SeriesDate = da(when.date())
    sr.InstanceCreationTime = sr.ContentTime = sr.SeriesTime = tm(when)
    offset = timezone_offset(when)
    if offset is not None:
        sr.TimezoneOffsetFromUTC = offset
    for item in sr.get("ContributingEquipmentSequence", []):
        if "ContributionDateTime" in item:  # highdicom names itself, stamped "now"
            item.ContributionDateTime = dt(when)
    if report.sign_off is not None:
        sr.VerifyingObserverSequence[0].VerificationDateTime = dt(report.sign_off.signed_at)
    if report.replaces is not None:
        sr.PredecessorDocumentsSequence = DicomSequence(
            [hierarchical_reference(report.replaces)])
