"""TID 1500 Measurement Reports written by Nadir: content, round trip, dciodvfy, validation."""

from __future__ import annotations

import datetime
import shutil
import subprocess
from io import BytesIO
from pathlib import Path
from typing import Any

import highdicom as hd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydicom import Dataset
from pydicom.uid import ComprehensiveSRStorage, generate_uid

from imaging.errors import ImagingError
from imaging.sr import (
    Criteria,
    DocumentReference,
    InvalidDocumentInput,
    LengthConcept,
    LesionKind,
    LesionStatus,
    LinearMeasurement,
    SourceImage,
    SRReadError,
    SRWriteError,
    TimepointReport,
    TimepointResponse,
    build_measurement_report,
    read_measurement_report,
    row_col_from_scoord,
    scoord_from_row_col,
)
from imaging.sr.codes import finding_site_code, organ_key
from tests.unit.test_sr_factories import (
    PATIENT,
    caliper,
    ct_study,
    dciodvfy,
    follow_up_response,
    reread,
    source_of,
    timepoint_report,
    to_bytes,
)

BASELINE = datetime.date(2026, 1, 5)
FOLLOW_UP = datetime.date(2026, 3, 2)
LIVER_UID, NODE_UID, LUNG_UID, NT_UID = (generate_uid() for _ in range(4))


def baseline_lesions(images: list[Dataset]) -> list[LinearMeasurement]:
    return [
        caliper(LIVER_UID, "T1", images[1], [(40.5, 60.25), (72.0, 95.5)], 47.3,
                finding_site="liver"),
        caliper(NODE_UID, "T2", images[2], [(10.0, 10.0), (10.0, 30.0)], 16.0,
                finding_site="Lymph node", nodal=True),
        caliper(LUNG_UID, "T3", images[3], [(5.0, 5.0), (15.0, 5.0)], 11.2,
                finding_site="right upper lobe"),
        LinearMeasurement(tracking_uid=NT_UID, tracking_id="NT1", length_mm=None,
                          source=source_of(images[0]), polyline=None,
                          lesion_kind=LesionKind.NON_TARGET, status=LesionStatus.PRESENT,
                          finding_site="pleura"),
    ]


def follow_up_lesions(images: list[Dataset]) -> list[LinearMeasurement]:
    return [
        caliper(LIVER_UID, "T1", images[0], [(41.0, 61.0), (60.0, 80.0)], 29.1,
                finding_site="liver"),
        caliper(NODE_UID, "T2", images[1], [(11.0, 10.0), (11.0, 19.0)], 9.0,
                finding_site="Lymph node", nodal=True),
        LinearMeasurement(tracking_uid=LUNG_UID, tracking_id="T3", length_mm=0.0, source=None,
                          polyline=None, status=LesionStatus.DISAPPEARED,
                          finding_site="right upper lobe"),
        LinearMeasurement(tracking_uid=NT_UID, tracking_id="NT1", length_mm=None, source=None,
                          polyline=None, lesion_kind=LesionKind.NON_TARGET,
                          status=LesionStatus.PRESENT, finding_site="pleura"),
    ]


def write(report: TimepointReport, **kwargs: Any) -> Dataset:
    return build_measurement_report(report, sop_instance_uid=generate_uid(),
                                    series_instance_uid=generate_uid(), **kwargs)


@pytest.fixture(scope="module")
def two_timepoints() -> tuple[TimepointReport, TimepointReport]:
    bl_images, fu_images = ct_study(4), ct_study(4, study_date="20260302")
    bl = timepoint_report(bl_images, baseline_lesions(bl_images), timepoint_id="BL",
                          date=BASELINE)
    fu = timepoint_report(fu_images, follow_up_lesions(fu_images), timepoint_id="FU1",
                          date=FOLLOW_UP, response=follow_up_response())
    return bl, fu


# --- writing ------------------------------------------------------------------------------

def test_report_goes_into_the_timepoint_study_as_a_new_sr_series(
    two_timepoints: tuple[TimepointReport, TimepointReport],
) -> None:
    _, fu = two_timepoints
    series_uid = generate_uid()
    ds = build_measurement_report(fu, sop_instance_uid=generate_uid(),
                                  series_instance_uid=series_uid)
    assert ds.StudyInstanceUID == fu.study.study_instance_uid
    assert ds.SeriesInstanceUID == series_uid
    assert (ds.SOPClassUID, ds.Modality, ds.SeriesNumber) == (ComprehensiveSRStorage, "SR", 901)
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    assert (ds.PatientID, str(ds.PatientName)) == (PATIENT.patient_id, PATIENT.name)
    assert (ds.CompletionFlag, ds.VerificationFlag, ds.PreliminaryFlag) == (
        "COMPLETE", "VERIFIED", "FINAL")
    evidence = ds.CurrentRequestedProcedureEvidenceSequence[0]
    assert evidence.StudyInstanceUID == fu.study.study_instance_uid


def test_tracking_uids_are_identical_across_timepoints(
    two_timepoints: tuple[TimepointReport, TimepointReport],
) -> None:
    bl, fu = (read_measurement_report(reread(write(r))) for r in two_timepoints)
    tracked = {(m.tracking_uid, m.tracking_id) for m in bl.measurements}
    assert tracked == {(m.tracking_uid, m.tracking_id) for m in fu.measurements}
    assert tracked == {(LIVER_UID, "T1"), (NODE_UID, "T2"), (LUNG_UID, "T3"), (NT_UID, "NT1")}
    assert bl.study_instance_uid != fu.study_instance_uid


def test_round_trip_reproduces_every_measurement(
    two_timepoints: tuple[TimepointReport, TimepointReport],
) -> None:
    for report in two_timepoints:
        imported = read_measurement_report(reread(write(report)))
        by_uid = {m.tracking_uid: m for m in imported.measurements}
        assert len(by_uid) == len(report.measurements)
        for original in report.measurements:
            back = by_uid[original.tracking_uid]
            assert back.tracking_id == original.tracking_id
            assert back.length_mm == original.length_mm
            assert back.polyline_rc == original.polyline_rc
            assert back.lesion_kind is original.lesion_kind
            assert back.status is original.status
            assert (organ_key(back.finding_site or ""), back.finding_site is None) == (
                organ_key(original.finding_site or ""), original.finding_site is None)
            if original.source is None:
                assert back.source is None
            else:
                assert back.source is not None
                assert back.source.sop_instance_uid == original.source.sop_instance_uid
                assert back.source.sop_class_uid == original.source.sop_class_uid
                assert back.source.frame == original.source.frame
                assert back.source.series_instance_uid == original.source.series_instance_uid
                assert back.source.study_instance_uid == original.source.study_instance_uid
            if original.length_mm is not None:
                assert back.nodal is original.nodal
        assert imported.response == report.response
        assert imported.observer_names == report.observer_names


def test_lengths_are_long_axis_and_short_axis_for_nodes_in_mm(
    two_timepoints: tuple[TimepointReport, TimepointReport],
) -> None:
    imported = read_measurement_report(write(two_timepoints[0]))
    concepts = {m.tracking_id: m.concept for m in imported.measurements}
    assert concepts == {"T1": LengthConcept.LONG_AXIS, "T2": LengthConcept.SHORT_AXIS,
                        "T3": LengthConcept.LONG_AXIS, "NT1": None}


def test_finding_sites_use_snomed_codes_and_local_codes_for_other_organs() -> None:
    assert (finding_site_code("Liver").value, finding_site_code("Liver").scheme_designator) == (
        "10200004", "SCT")
    assert finding_site_code("lymph nodes").value == "59441001"
    assert finding_site_code("Peritoneum").value == "15425007"
    local = finding_site_code("right upper lobe")
    assert local.scheme_designator == "99NADIR" and local.meaning == "right upper lobe"
    assert local == finding_site_code("Right  Upper Lobe")
    assert local.value != finding_site_code("right lower lobe").value
    assert len(local.value) <= 16


def test_response_is_written_as_qualitative_evaluations(
    two_timepoints: tuple[TimepointReport, TimepointReport],
) -> None:
    ds = write(two_timepoints[1])
    container = [i for i in ds.ContentSequence
                 if i.ConceptNameCodeSequence[0].CodeValue == "C0034375"]
    assert len(container) == 1
    values = {(i.ConceptNameCodeSequence[0].CodeValue, i.ConceptCodeSequence[0].CodeValue)
              for i in container[0].ContentSequence}
    assert values == {("112021", "126081"), ("112048", "112042"), ("112048", "112046"),
                      ("112048", "RESP_PR")}
    assert ds.CodingSchemeIdentificationSequence[0].CodingSchemeDesignator == "99NADIR"


def test_irecist_response_round_trips() -> None:
    images = ct_study(2)
    response = TimepointResponse(criteria=Criteria.IRECIST, overall="iUPD", target="PD",
                                 non_target="NA", best_overall="iPR")
    report = timepoint_report(images, [caliper(generate_uid(), "T1", images[0],
                                               [(1, 1), (5, 4)], 3.5)],
                              timepoint_id="FU2", date=FOLLOW_UP, response=response)
    assert read_measurement_report(write(report)).response == response


def test_amended_report_references_the_report_it_replaces(
    two_timepoints: tuple[TimepointReport, TimepointReport],
) -> None:
    first = write(two_timepoints[1])
    earlier = DocumentReference(sop_class_uid=first.SOPClassUID,
                                sop_instance_uid=first.SOPInstanceUID,
                                study_instance_uid=first.StudyInstanceUID,
                                series_instance_uid=first.SeriesInstanceUID)
    amended = TimepointReport(**{**vars(two_timepoints[1]), "replaces": earlier,
                                 "instance_number": 2})
    second = write(amended)
    predecessor = second.PredecessorDocumentsSequence[0]
    assert predecessor.StudyInstanceUID == first.StudyInstanceUID
    series = predecessor.ReferencedSeriesSequence[0]
    assert series.SeriesInstanceUID == first.SeriesInstanceUID
    assert series.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == first.SOPInstanceUID
    assert read_measurement_report(second).replaces == (first.SOPInstanceUID,)


def test_same_input_gives_the_same_bytes(
    two_timepoints: tuple[TimepointReport, TimepointReport],
) -> None:
    sop_uid, series_uid = generate_uid(), generate_uid()
    first = to_bytes(build_measurement_report(two_timepoints[1], sop_instance_uid=sop_uid,
                                              series_instance_uid=series_uid))
    again = to_bytes(build_measurement_report(two_timepoints[1], sop_instance_uid=sop_uid,
                                              series_instance_uid=series_uid))
    assert again == first


def test_dates_come_from_the_report_not_a_clock(
    two_timepoints: tuple[TimepointReport, TimepointReport],
) -> None:
    ds = write(two_timepoints[1])
    assert (ds.ContentDate, ds.ContentTime) == ("20260302", "164512.25")
    assert (ds.InstanceCreationDate, ds.InstanceCreationTime) == ("20260302", "164512.25")
    assert ds.VerifyingObserverSequence[0].VerificationDateTime == "20260302164012.25"
    for item in ds.get("ContributingEquipmentSequence", []):
        assert item.ContributionDateTime == "20260302164512.25"


def test_frames_of_multiframe_sources_are_referenced() -> None:
    images = ct_study(1)
    enhanced = SourceImage(sop_class_uid="1.2.840.10008.5.1.4.1.1.2.1",
                           sop_instance_uid=generate_uid(),
                           study_instance_uid=images[0].StudyInstanceUID,
                           series_instance_uid=generate_uid(), frame=37)
    lesion = LinearMeasurement(tracking_uid=generate_uid(), tracking_id="T1", length_mm=12.5,
                               source=enhanced, polyline=((3.0, 4.0), (10.0, 12.0)))
    report = timepoint_report(images, [lesion], timepoint_id="BL", date=BASELINE)
    back = read_measurement_report(reread(write(report))).measurements[0]
    assert back.source is not None and back.source.frame == 37


# --- provenance: observers, completion and verification (PS3.16 TID 1001, PS3.3 C.17.2) -----

MEASURERS = ("Leroy^Anne", "Martin^Paul", "Petit^Jean")
DSRDUMP = shutil.which("dsrdump")
_OBSERVER_TYPE, _PERSON, _PERSON_OBSERVER_NAME = "121005", "121006", "121008"
_PROCEDURE_REPORTED = "121058"


def _concept(item: Dataset) -> str:
    return str(item.ConceptNameCodeSequence[0].CodeValue)


def _measured_by(measurers: tuple[str, ...], signed_by: str | None,
                 **extra: Any) -> TimepointReport:
    images = ct_study(2, study_date="20260302")
    lesions = [caliper(generate_uid(), "T1", images[0], [(1, 1), (5, 4)], 3.5),
               caliper(generate_uid(), "T2", images[1], [(2, 2), (2, 12)], 7.0)]
    return timepoint_report(images, lesions, timepoint_id="FU1", date=FOLLOW_UP,
                            observer_names=measurers, signed_by=signed_by, **extra)


def _person_observer_names(ds: Dataset) -> list[str]:
    """Person Observer Names of the root's observation context, each checked to follow
    its own "Observer Type = Person" item (TID 1002 row 1, then TID 1003 row 1)."""
    items = list(ds.ContentSequence)
    names = []
    for i, item in enumerate(items):
        if _concept(item) != _PERSON_OBSERVER_NAME:
            continue
        observer_type = items[i - 1]
        assert (_concept(observer_type), observer_type.ConceptCodeSequence[0].CodeValue) == (
            _OBSERVER_TYPE, _PERSON)
        assert item.RelationshipType == observer_type.RelationshipType == "HAS OBS CONTEXT"
        assert item.ValueType == "PNAME"
        names.append(str(item.PersonName))
    return names


def test_several_measurers_are_several_person_observer_contexts_in_order() -> None:
    ds = reread(write(_measured_by(MEASURERS, "Martin^Paul", institution_name="Hopital Nord")))
    assert _person_observer_names(ds) == list(MEASURERS)
    concepts = [_concept(item) for item in ds.ContentSequence]
    # TID 1500: language (row 2), TID 1001 observers (row 3), then procedure reported (row 4).
    last_observer_item = max(i for i, c in enumerate(concepts)
                             if c in (_OBSERVER_TYPE, _PERSON_OBSERVER_NAME, "121009"))
    assert concepts[0] == "121049"
    assert concepts[1] == _OBSERVER_TYPE
    assert concepts.index(_PROCEDURE_REPORTED) == last_observer_item + 1
    organizations = [str(item.TextValue) for item in ds.ContentSequence
                     if _concept(item) == "121009"]  # Person Observer's Organization Name
    assert organizations == ["Hopital Nord"] * 3


def test_every_observer_is_read_back_in_order() -> None:
    for measurers in (("Martin^Paul",), MEASURERS, tuple(reversed(MEASURERS))):
        ds = reread(write(_measured_by(measurers, None)))
        assert read_measurement_report(ds).observer_names == measurers
        sr = hd.sr.srread(BytesIO(to_bytes(ds)))  # a third-party reader sees them too
        assert isinstance(sr.content, hd.sr.MeasurementReport)
        contexts = sr.content.get_observer_contexts(observer_type=hd.sr.CodedConcept(
            value=_PERSON, scheme_designator="DCM", meaning="Person"))
        assert tuple(str(c.observer_identifying_attributes.name) for c in contexts) == measurers


def test_a_report_before_sign_off_is_partial_unverified_and_preliminary() -> None:
    ds = reread(write(_measured_by(MEASURERS[:2], None)))
    assert (ds.CompletionFlag, ds.VerificationFlag, ds.PreliminaryFlag) == (
        "PARTIAL", "UNVERIFIED", "PRELIMINARY")
    assert "VerifyingObserverSequence" not in ds
    assert _person_observer_names(ds) == list(MEASURERS[:2])


@pytest.mark.parametrize("signer", ["Martin^Paul", "Chef^Marc"])
def test_a_signed_off_report_is_complete_and_verified_by_the_signer(signer: str) -> None:
    ds = reread(write(_measured_by(MEASURERS[:2], signer)))
    assert (ds.CompletionFlag, ds.VerificationFlag, ds.PreliminaryFlag) == (
        "COMPLETE", "VERIFIED", "FINAL")
    (verifier,) = ds.VerifyingObserverSequence
    assert str(verifier.VerifyingObserverName) == signer
    assert verifier.VerifyingOrganization == "Hopital Nord"
    assert verifier.VerificationDateTime == "20260302164012.25"  # the sign-off, not "now"
    # The observers are who measured; a signer who did not measure only verifies.
    assert _person_observer_names(ds) == list(MEASURERS[:2])


@pytest.mark.parametrize("signer", [None, "Martin^Paul"])
def test_dciodvfy_accepts_several_observers_signed_or_not(
    signer: str | None, tmp_path: Path,
) -> None:
    lines = dciodvfy(write(_measured_by(MEASURERS, signer, institution_name="Hopital Nord")),
                     tmp_path)
    assert [line for line in lines if line.startswith("Error")] == [], "\n".join(lines)
    others = [line for line in lines if line.startswith("Warning") and "99NADIR" not in line]
    assert others == [], "\n".join(lines)


@pytest.mark.skipif(DSRDUMP is None, reason="dsrdump (Debian package dcmtk) not installed")
def test_dcmtk_reads_every_observer_from_the_content_tree(tmp_path: Path) -> None:
    """dciodvfy checks the SR modules, not the content tree; DCMTK's reader checks the tree
    against the Comprehensive SR IOD's relationship constraints."""
    path = tmp_path / "sr.dcm"
    write(_measured_by(MEASURERS, "Martin^Paul")).save_as(path, enforce_file_format=True)
    assert DSRDUMP is not None
    run = subprocess.run([DSRDUMP, "-v", str(path)], capture_output=True, text=True,
                         timeout=60, check=False)
    assert run.returncode == 0 and "E: " not in run.stderr, run.stderr
    named = [line.split("=", 1)[1].removesuffix(">").strip('"')
             for line in run.stdout.splitlines() if 'PNAME:(,,"Person Observer Name")' in line]
    assert named == list(MEASURERS)
    assert "Verifying Observers : 2026-03-02 16:40:12, Martin^Paul, Hopital Nord" in run.stdout


# --- evidence -------------------------------------------------------------------------------

def test_header_only_evidence_is_accepted_and_checked(
    two_timepoints: tuple[TimepointReport, TimepointReport],
) -> None:
    bl_images = ct_study(4)
    report = timepoint_report(bl_images, baseline_lesions(bl_images), timepoint_id="BL",
                              date=BASELINE)
    headers = []
    for image in bl_images:
        header = Dataset()
        for keyword in ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID",
                        "SeriesInstanceUID", "PatientID"):
            setattr(header, keyword, getattr(image, keyword))
        headers.append(header)
    ds = write(report, evidence=headers)
    listed = {sop.ReferencedSOPInstanceUID
              for series in ds.CurrentRequestedProcedureEvidenceSequence[0]
              .ReferencedSeriesSequence for sop in series.ReferencedSOPSequence}
    assert listed == {image.SOPInstanceUID for image in bl_images}


def test_evidence_of_another_patient_is_refused() -> None:
    images = ct_study(2)
    report = timepoint_report(images, [caliper(generate_uid(), "T1", images[0],
                                               [(1, 1), (5, 4)], 3.5)],
                              timepoint_id="BL", date=BASELINE)
    stranger = ct_study(1, patient_id="SOMEONE-ELSE")
    with pytest.raises(SRWriteError, match="SOMEONE-ELSE"):
        write(report, evidence=stranger)


def test_evidence_that_contradicts_a_source_image_is_refused() -> None:
    images = ct_study(2)
    report = timepoint_report(images, [caliper(generate_uid(), "T1", images[0],
                                               [(1, 1), (5, 4)], 3.5)],
                              timepoint_id="BL", date=BASELINE)
    wrong = ct_study(1)[0]
    wrong.SOPInstanceUID = images[0].SOPInstanceUID
    with pytest.raises(SRWriteError, match="SeriesInstanceUID"):
        write(report, evidence=[wrong])


def test_new_uids_must_not_reuse_existing_ones(
    two_timepoints: tuple[TimepointReport, TimepointReport],
) -> None:
    fu = two_timepoints[1]
    with pytest.raises(SRWriteError, match="already used"):
        build_measurement_report(fu, sop_instance_uid=fu.study.study_instance_uid,
                                 series_instance_uid=generate_uid())
    with pytest.raises(InvalidDocumentInput, match="sop_instance_uid"):
        build_measurement_report(fu, sop_instance_uid="not-a-uid",
                                 series_instance_uid=generate_uid())


# --- dciodvfy -------------------------------------------------------------------------------

def test_dciodvfy_reports_no_errors_on_the_sr(
    two_timepoints: tuple[TimepointReport, TimepointReport], tmp_path: Path,
) -> None:
    for report in two_timepoints:
        lines = dciodvfy(write(report), tmp_path)
        errors = [line for line in lines if line.startswith("Error")]
        assert errors == [], "\n".join(lines)
        # The only remarks left are about Nadir's local coding scheme (PS3.16 8.2).
        others = [line for line in lines if line.startswith("Warning")
                  and "99NADIR" not in line]
        assert others == [], "\n".join(lines)


# --- reading errors -------------------------------------------------------------------------

def test_a_ct_image_is_not_a_measurement_report() -> None:
    image = ct_study(1)[0]
    with pytest.raises(SRReadError, match="not a structured report") as caught:
        read_measurement_report(image)
    assert isinstance(caught.value, ImagingError)
    assert caught.value.sop_instance_uid == image.SOPInstanceUID


def test_an_sr_with_another_template_is_not_a_measurement_report(
    two_timepoints: tuple[TimepointReport, TimepointReport],
) -> None:
    ds = reread(write(two_timepoints[0]))
    ds.ContentTemplateSequence[0].TemplateIdentifier = "2000"
    ds.ConceptNameCodeSequence[0].CodeValue = "11528-7"
    ds.ConceptNameCodeSequence[0].CodingSchemeDesignator = "LN"
    ds.ConceptNameCodeSequence[0].CodeMeaning = "Radiology Report"
    ds.ContentSequence = [i for i in ds.ContentSequence
                          if i.ConceptNameCodeSequence[0].CodeValue != "126010"]
    with pytest.raises(SRReadError, match="'Radiology Report' document"):
        read_measurement_report(ds)


def test_not_a_dataset_at_all() -> None:
    with pytest.raises(SRReadError, match="expected a DICOM dataset"):
        read_measurement_report(b"DICM")  # type: ignore[arg-type]


# --- model validation -----------------------------------------------------------------------

def _good(**changes: Any) -> dict[str, Any]:
    images = ct_study(1)
    base: dict[str, Any] = {
        "tracking_uid": generate_uid(), "tracking_id": "T1", "length_mm": 10.0,
        "source": source_of(images[0]), "polyline": ((1.0, 2.0), (8.0, 9.0)),
    }
    base.update(changes)
    return base


@pytest.mark.parametrize(("changes", "field"), [
    ({"tracking_uid": "1.2.abc"}, "tracking_uid"),
    ({"tracking_id": ""}, "tracking_id"),
    ({"length_mm": -1.0}, "length_mm"),
    ({"length_mm": float("nan")}, "length_mm"),
    ({"length_mm": True}, "length_mm"),
    ({"polyline": ((1.0, 2.0),)}, "polyline"),
    ({"polyline": ((1.0, 2.0), (1.0, 2.0))}, "polyline"),
    ({"polyline": ((-1.0, 2.0), (3.0, 4.0))}, "polyline"),
    ({"polyline": ((1.0, 2.0), (3.0, 4.0), (5.0, 6.0))}, "polyline"),
    ({"source": None}, "polyline"),
    ({"length_mm": None}, "needs length_mm"),
    ({"status": LesionStatus.PRESENT}, "status"),
    ({"status": LesionStatus.NOT_EVALUABLE}, "length_mm"),
    ({"status": LesionStatus.DISAPPEARED}, "length_mm"),
    ({"lesion_kind": "target"}, "lesion_kind"),
    ({"finding_site": "a\\b"}, "finding_site"),
])
def test_invalid_measurements_are_refused_with_the_field_named(
    changes: dict[str, Any], field: str,
) -> None:
    with pytest.raises(InvalidDocumentInput, match=field):
        LinearMeasurement(**_good(**changes))


@pytest.mark.parametrize(("changes", "field"), [
    ({"measurements": ()}, "measurements"),
    ({"observer_names": ()}, "observer_names"),
    ({"observer_names": "Martin^Paul"}, "observer_names"),
    ({"observer_names": ("Martin^Paul", "")}, r"observer_names\[1\]"),
    ({"observer_names": ("A^B^C^D^E^F",)}, r"observer_names\[0\]"),
    ({"observer_names": ("Martin^Paul", "Doe\\John")}, r"observer_names\[1\]"),
    ({"observer_names": ("Martin^Paul", "Martin^Paul")}, r"observer_names\[1\].*twice"),
    ({"series_number": 0}, "series_number"),
    ({"content_datetime": datetime.date(2026, 1, 1)}, "content_datetime"),
    ({"timepoint_id": ""}, "timepoint_id"),
])
def test_invalid_reports_are_refused_with_the_field_named(
    two_timepoints: tuple[TimepointReport, TimepointReport], changes: dict[str, Any],
    field: str,
) -> None:
    with pytest.raises(InvalidDocumentInput, match=field):
        TimepointReport(**{**vars(two_timepoints[0]), **changes})


def test_a_measurement_on_another_study_is_refused(
    two_timepoints: tuple[TimepointReport, TimepointReport],
) -> None:
    elsewhere = caliper(generate_uid(), "T9", ct_study(1)[0], [(1, 1), (2, 2)], 1.4)
    fields = {**vars(two_timepoints[0]),
              "measurements": (*two_timepoints[0].measurements, elsewhere)}
    with pytest.raises(InvalidDocumentInput, match="not to the timepoint's study"):
        TimepointReport(**fields)


def test_a_lesion_cannot_appear_twice(
    two_timepoints: tuple[TimepointReport, TimepointReport],
) -> None:
    twice = (*two_timepoints[0].measurements, two_timepoints[0].measurements[0])
    with pytest.raises(InvalidDocumentInput, match="appears twice"):
        TimepointReport(**{**vars(two_timepoints[0]), "measurements": twice})


@pytest.mark.parametrize(("criteria", "overall", "target"), [
    (Criteria.RECIST_1_1, "iUPD", None),
    (Criteria.IRECIST, "PR", None),
    (Criteria.RECIST_1_1, "PR", "iPR"),
])
def test_response_codes_must_fit_the_criteria(
    criteria: Criteria, overall: str, target: str | None,
) -> None:
    with pytest.raises(InvalidDocumentInput, match="response"):
        TimepointResponse(criteria=criteria, overall=overall, target=target)


# --- coordinates ----------------------------------------------------------------------------

coordinate = st.floats(min_value=0, max_value=4096, allow_nan=False)


@given(st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=5))
def test_row_col_and_scoord_orders_convert_back_and_forth(
    points: list[tuple[float, float]],
) -> None:
    scoord = scoord_from_row_col(points)
    assert all(s == (p[1], p[0]) for s, p in zip(scoord, points, strict=True))
    assert row_col_from_scoord(scoord) == tuple(points)


def test_scoord_graphic_data_is_column_then_row() -> None:
    images = ct_study(1)
    lesion = caliper(generate_uid(), "T1", images[0], [(10.0, 200.0), (30.0, 220.0)], 20.0)
    report = timepoint_report(images, [lesion], timepoint_id="BL", date=BASELINE)
    ds = write(report)
    group = ds.ContentSequence[-1].ContentSequence[0]
    region = [i for i in group.ContentSequence if i.ValueType == "SCOORD"][0]
    assert (region.GraphicType, [float(v) for v in region.GraphicData]) == (
        "POLYLINE", [200.0, 10.0, 220.0, 30.0])


def test_status_only_report_needs_an_image_of_its_study_as_evidence() -> None:
    images = ct_study(1)
    absent = LinearMeasurement(tracking_uid=generate_uid(), tracking_id="NT1", length_mm=None,
                               source=None, polyline=None, lesion_kind=LesionKind.NON_TARGET,
                               status=LesionStatus.ABSENT)
    report = timepoint_report(images, [absent], timepoint_id="FU1", date=FOLLOW_UP)
    with pytest.raises(SRWriteError, match="evidence"):
        write(report)
    with pytest.raises(SRWriteError, match="evidence"):
        write(report, evidence=ct_study(1))  # same patient, but another study
    ds = write(report, evidence=images)
    assert ds.StudyInstanceUID == images[0].StudyInstanceUID
    back = read_measurement_report(ds).measurements[0]
    assert (back.tracking_id, back.status, back.source) == ("NT1", LesionStatus.ABSENT, None)


def test_highdicom_parses_the_report_as_tid_1500(
    two_timepoints: tuple[TimepointReport, TimepointReport],
) -> None:
    """A third-party TID 1500 reader (highdicom's) finds the lesions by tracking UID."""
    sr = hd.sr.srread(BytesIO(to_bytes(write(two_timepoints[0]))))
    content = sr.content
    assert isinstance(content, hd.sr.MeasurementReport)
    planar = content.get_planar_roi_measurement_groups()
    assert {str(g.tracking_uid) for g in planar} == {LIVER_UID, NODE_UID, LUNG_UID}
    liver = content.get_planar_roi_measurement_groups(tracking_uid=LIVER_UID)[0]
    assert liver.get_measurements()[0].value == 47.3
    assert liver.roi is not None and liver.roi.GraphicType == "POLYLINE"
