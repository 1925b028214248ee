"""Reading Measurement Reports made by other systems, built here independently with highdicom.

The shapes follow what the viewers write (read from their sources, not copied):

* OHIF v3 / dcmjs: TID 1501 groups whose NUM ("Length", SCT 410668003 or the legacy SRT
  G-D7FE) carries its own SCOORD (INFERRED FROM) with the source IMAGE (SELECTED FROM);
  Tracking Identifier "Cornerstone3DTools@^0.1.0:<tool>"; ellipses as "Area" on an ELLIPSE;
  bidirectional tools as "Long Axis" + "Short Axis"; uncalibrated images in "px" (UCUM 1).
* 3D Slicer / dcmqi and highdicom: TID 1410 planar groups whose "Image Region" is the
  caliper, with "Long axis" in mm; TID 1411 volumetric groups with a volume.
"""

from __future__ import annotations

from typing import Any

import highdicom as hd
import numpy as np
import pytest
from highdicom.sr import (
    CoordinatesForMeasurement,
    FindingSite,
    ImageRegion,
    ImageRegion3D,
    Measurement,
    MeasurementReport,
    MeasurementsAndQualitativeEvaluations,
    ObservationContext,
    PlanarROIMeasurementsAndQualitativeEvaluations,
    QualitativeEvaluation,
    SourceImageForRegion,
    TrackingIdentifier,
    VolumetricROIMeasurementsAndQualitativeEvaluations,
)
from pydicom import Dataset
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from imaging.sr import (
    ImportedMeasurement,
    ImportedReport,
    LengthConcept,
    NotMapped,
    read_measurement_report,
)
from tests.unit.test_sr_factories import ct_study, reread

MM = Code("mm", "UCUM", "mm")
CM = Code("cm", "UCUM", "cm")
MM2 = Code("mm2", "UCUM", "mm2")
PX = Code("1", "UCUM", "px")
LENGTH = Code("410668003", "SCT", "Length")
LEGACY_LENGTH = Code("G-D7FE", "SRT", "Length")
LONG_AXIS = Code("103339001", "SCT", "Long axis")
SHORT_AXIS = Code("103340004", "SCT", "Short axis")
AREA = Code("42798000", "SCT", "Area")
VOLUME = Code("118565006", "SCT", "Volume")
LUNG = Code("39607008", "SCT", "Lung")
LIVER = Code("10200004", "SCT", "Liver")
CORNERSTONE = "Cornerstone3DTools@^0.1.0"


def _ref(image: Dataset) -> SourceImageForRegion:
    return SourceImageForRegion(referenced_sop_class_uid=image.SOPClassUID,
                                referenced_sop_instance_uid=image.SOPInstanceUID)


def _line(points_cr: list[tuple[float, float]], image: Dataset,
          graphic_type: str = "POLYLINE") -> CoordinatesForMeasurement:
    return CoordinatesForMeasurement(graphic_type=graphic_type,
                                     graphic_data=np.array(points_cr, dtype=float),
                                     source_image=_ref(image))


def _dcmjs_group(tool: str, *measurements: Measurement, uid: str | None = None,
                 site: Code | None = None) -> MeasurementsAndQualitativeEvaluations:
    return MeasurementsAndQualitativeEvaluations(
        tracking_identifier=TrackingIdentifier(uid=uid or generate_uid(),
                                               identifier=f"{CORNERSTONE}:{tool}"),
        measurements=list(measurements),
        finding_sites=[FindingSite(anatomic_location=site)] if site else None,
    )


def _report(groups: list[Any], images: list[Dataset], *, three_d: bool = False) -> Dataset:
    content = MeasurementReport(
        observation_context=ObservationContext(),
        procedure_reported=Code("25045-6", "LN", "CT unspecified body region"),
        imaging_measurements=groups,
    )
    cls = hd.sr.Comprehensive3DSR if three_d else hd.sr.ComprehensiveSR
    sr = cls(evidence=images, content=content, series_instance_uid=generate_uid(),
             series_number=99, sop_instance_uid=generate_uid(), instance_number=1,
             manufacturer="Other viewer")
    return reread(sr)


def _by_id(report: ImportedReport) -> dict[str | None, ImportedMeasurement]:
    return {m.tracking_id: m for m in report.measurements}


def _reasons(report: ImportedReport) -> dict[str, str]:
    return {n.what: n.why for n in report.not_mapped}


@pytest.fixture(scope="module")
def images() -> list[Dataset]:
    return ct_study(3)


@pytest.fixture(scope="module")
def ohif_report(images: list[Dataset]) -> tuple[Dataset, str]:
    length_uid = generate_uid()
    groups = [
        _dcmjs_group("Length", Measurement(
            name=LENGTH, value=42.13, unit=MM,
            referenced_coordinates=[_line([(120.5, 80.25), (150.0, 110.75)], images[1])]),
            uid=length_uid, site=LUNG),
        _dcmjs_group("EllipticalROI", Measurement(
            name=AREA, value=310.2, unit=MM2,
            referenced_coordinates=[_line([(10, 20), (30, 20), (20, 10), (20, 30)], images[0],
                                          "ELLIPSE")])),
        _dcmjs_group("LengthCm", Measurement(
            name=LENGTH, value=3.21, unit=CM,
            referenced_coordinates=[_line([(5.0, 5.0), (25.0, 30.0)], images[2])])),
        _dcmjs_group("LengthPx", Measurement(
            name=LENGTH, value=55.0, unit=PX,
            referenced_coordinates=[_line([(1.0, 1.0), (40.0, 40.0)], images[2])])),
        _dcmjs_group("LegacyLength", Measurement(
            name=LEGACY_LENGTH, value=18.0, unit=MM,
            referenced_coordinates=[_line([(60.0, 60.0), (60.0, 78.0)], images[0])])),
        _dcmjs_group("Bidirectional",
                     Measurement(name=LONG_AXIS, value=30.0, unit=MM, referenced_coordinates=[
                         _line([(70.0, 70.0), (100.0, 70.0)], images[1])]),
                     Measurement(name=SHORT_AXIS, value=12.0, unit=MM)),
    ]
    return _report(groups, images), length_uid


def test_ohif_length_is_imported_with_its_tracking_and_source(
    ohif_report: tuple[Dataset, str], images: list[Dataset],
) -> None:
    ds, length_uid = ohif_report
    m = _by_id(read_measurement_report(ds))[f"{CORNERSTONE}:Length"]
    assert (m.tracking_uid, m.concept, m.length_mm) == (length_uid, LengthConcept.LENGTH, 42.13)
    assert m.source is not None
    assert m.source.sop_instance_uid == images[1].SOPInstanceUID
    assert m.source.study_instance_uid == images[1].StudyInstanceUID
    assert m.source.series_instance_uid == images[1].SeriesInstanceUID
    assert m.source.frame is None
    assert m.polyline_rc == ((80.25, 120.5), (110.75, 150.0))
    assert (m.finding_site, m.finding_site_code) == ("lung", LUNG)
    assert m.lesion_kind is None and m.status is None


def test_centimetres_are_converted_to_millimetres(ohif_report: tuple[Dataset, str]) -> None:
    m = _by_id(read_measurement_report(ohif_report[0]))[f"{CORNERSTONE}:LengthCm"]
    assert m.length_mm == 32.1


def test_legacy_snomed_rt_length_is_understood(ohif_report: tuple[Dataset, str]) -> None:
    m = _by_id(read_measurement_report(ohif_report[0]))[f"{CORNERSTONE}:LegacyLength"]
    assert (m.concept, m.length_mm) == (LengthConcept.LENGTH, 18.0)


def test_unmappable_ohif_content_is_listed_not_dropped(
    ohif_report: tuple[Dataset, str],
) -> None:
    report = read_measurement_report(ohif_report[0])
    reasons = _reasons(report)
    assert "only linear measurements" in reasons[f"{CORNERSTONE}:EllipticalROI: Area = 310.2 mm2"]
    assert "pixels" in reasons[f"{CORNERSTONE}:LengthPx: Length = 55.0 1"]
    assert "no caliper coordinates" in reasons[f"{CORNERSTONE}:Bidirectional: Short axis = 12.0 mm"]
    bidirectional = _by_id(report)[f"{CORNERSTONE}:Bidirectional"]
    assert (bidirectional.concept, bidirectional.length_mm) == (LengthConcept.LONG_AXIS, 30.0)
    assert bidirectional.nodal is False
    # Every NUM of the report is either imported or named with a reason.
    assert len(report.measurements) + len(report.not_mapped) == 7


def test_a_length_without_source_image_is_not_mapped(images: list[Dataset]) -> None:
    group = _dcmjs_group("Length", Measurement(
        name=LENGTH, value=20.0, unit=MM,
        referenced_coordinates=[_line([(1.0, 2.0), (3.0, 4.0)], images[0])]))
    ds = _report([group], images)
    scoord = ds.ContentSequence[-1].ContentSequence[0].ContentSequence[-1].ContentSequence[0]
    assert scoord.ValueType == "SCOORD"
    del scoord.ContentSequence  # the SELECTED FROM image reference
    report = read_measurement_report(ds)
    assert report.measurements == ()
    assert report.not_mapped == (NotMapped(f"{CORNERSTONE}:Length: Length = 20.0 mm",
                                           "it has no source image reference, so the image "
                                           "and timepoint it was measured on are unknown"),)


def test_3d_coordinates_are_not_mapped(images: list[Dataset]) -> None:
    group = PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=TrackingIdentifier(uid=generate_uid(), identifier="L3D"),
        referenced_region=ImageRegion3D(graphic_type="POLYLINE", graphic_data=np.array(
            [[0.0, 0.0, -5.0], [10.0, 10.0, -5.0]]), frame_of_reference_uid=generate_uid()),
        measurements=[Measurement(name=LENGTH, value=14.1, unit=MM)],
    )
    report = read_measurement_report(_report([group], images, three_d=True))
    assert report.measurements == ()
    assert "SCOORD3D" in _reasons(report)["L3D: Length = 14.1 mm"]


def test_slicer_style_planar_and_volumetric_groups(images: list[Dataset]) -> None:
    lesion_uid = generate_uid()
    planar = PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=TrackingIdentifier(uid=lesion_uid, identifier="Liver lesion 1"),
        referenced_region=ImageRegion(graphic_type="POLYLINE", graphic_data=np.array(
            [[30.0, 40.0], [60.0, 80.0]]), source_image=_ref(images[2])),
        finding_sites=[FindingSite(anatomic_location=LIVER)],
        measurements=[Measurement(name=LONG_AXIS, value=25.5, unit=MM)],
        qualitative_evaluations=[QualitativeEvaluation(
            name=Code("M-02550", "SRT", "Diagnosis"), value=Code("C-7", "99X", "Metastasis"))],
    )
    volumetric = VolumetricROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=TrackingIdentifier(uid=generate_uid(), identifier="Liver"),
        referenced_regions=[
            ImageRegion(graphic_type="POLYLINE", graphic_data=np.array(
                [[1.0, 1.0], [5.0, 1.0], [5.0, 5.0], [1.0, 1.0]]), source_image=_ref(image))
            for image in images[:2]],
        measurements=[Measurement(name=VOLUME, value=1520.0, unit=Code("ml", "UCUM", "ml"))],
    )
    report = read_measurement_report(_report([planar, volumetric], images))
    assert len(report.measurements) == 1
    m = report.measurements[0]
    assert (m.tracking_uid, m.tracking_id, m.concept, m.length_mm) == (
        lesion_uid, "Liver lesion 1", LengthConcept.LONG_AXIS, 25.5)
    assert m.polyline_rc == ((40.0, 30.0), (80.0, 60.0))
    assert m.finding_site == "liver"
    reasons = _reasons(report)
    assert "only linear measurements" in reasons["Liver: Volume = 1520.0 ml"]
    assert "lesion statuses only" in reasons["Liver lesion 1: Diagnosis: Metastasis"]


def test_a_group_without_measurements_is_named(images: list[Dataset]) -> None:
    arrow = PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=TrackingIdentifier(uid=generate_uid(),
                                               identifier=f"{CORNERSTONE}:ArrowAnnotate"),
        referenced_region=ImageRegion(graphic_type="POINT", graphic_data=np.array([[3.0, 4.0]]),
                                      source_image=_ref(images[0])),
    )
    report = read_measurement_report(_report([arrow], images))
    assert report.not_mapped == (NotMapped(f"{CORNERSTONE}:ArrowAnnotate",
                                           "the group has no measurement"),)
