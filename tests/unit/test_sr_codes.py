"""Every standard code Nadir writes is the one PS3.16 defines (as pydicom ships it)."""

from __future__ import annotations

import pytest
from pydicom.sr.codedict import codes as dicom
from pydicom.sr.coding import Code

from imaging.sr import codes

STANDARD = [
    (codes.IMAGING_MEASUREMENT_REPORT, dicom.DCM.ImagingMeasurementReport),
    (codes.IMAGING_MEASUREMENTS, dicom.DCM.ImagingMeasurements),
    (codes.MEASUREMENT_GROUP, dicom.DCM.MeasurementGroup),
    (codes.TRACKING_IDENTIFIER, dicom.DCM.TrackingIdentifier),
    (codes.TRACKING_UID, dicom.DCM.TrackingUniqueIdentifier),
    (codes.IMAGE_REGION, dicom.DCM.ImageRegion),
    (codes.FINDING, dicom.DCM.Finding),
    (codes.FINDING_SITE, dicom.SCT.FindingSite),
    (codes.LESION, dicom.SCT.Lesion),
    (codes.SOURCE_OF_MEASUREMENT, dicom.DCM.SourceOfMeasurement),
    (codes.LONG_AXIS, dicom.SCT.LongAxis),
    (codes.SHORT_AXIS, dicom.SCT.ShortAxis),
    (codes.LENGTH, dicom.SCT.Length),
    (codes.DIAMETER, dicom.SCT.Diameter),
    (codes.MILLIMETRE, dicom.UCUM.Millimeter),
    (codes.CT_PROCEDURE, dicom.LN.CTUnspecifiedBodyRegion),
    (codes.MR_PROCEDURE, dicom.LN.MRIUnspecifiedBodyRegion),
    (codes.PET_PROCEDURE, dicom.LN.PETUnspecifiedBodyRegion),
    (codes.IMAGING_PROCEDURE, dicom.SCT.ImagingProcedure),
    (codes.RESPONSE_EVALUATION_METHOD, dicom.DCM.ResponseEvaluationMethod),
    (codes.CURRENT_RESPONSE, dicom.DCM.CurrentResponse),
    (codes.BEST_OVERALL_RESPONSE, dicom.DCM.BestOverallResponse),
    (codes.MEASUREMENT_METHOD, dicom.SCT.MeasurementMethod),
    (codes.RECIST_1_1, dicom.DCM.RECIST1Point1),
    (codes.BASELINE_CATEGORY, dicom.DCM.BaselineCategory),
    (codes.TARGET_RESPONSE_CODES["CR"], dicom.DCM.TargetLesionCompleteResponse),
    (codes.TARGET_RESPONSE_CODES["PR"], dicom.DCM.TargetLesionPartialResponse),
    (codes.TARGET_RESPONSE_CODES["PD"], dicom.DCM.TargetLesionProgressiveDisease),
    (codes.TARGET_RESPONSE_CODES["SD"], dicom.DCM.TargetLesionStableDisease),
    (codes.NON_TARGET_RESPONSE_CODES["CR"], dicom.DCM.NonTargetLesionCompleteResponse),
    (codes.NON_TARGET_RESPONSE_CODES["NON_CR_NON_PD"],
     dicom.DCM.NonTargetLesionIncompleteResponseOrStableDisease),
    (codes.NON_TARGET_RESPONSE_CODES["PD"], dicom.DCM.NonTargetLesionProgressiveDisease),
    (codes.LESION_KIND_CODES["target"], dicom.DCM.TargetLesionAtBaseline),
    (codes.LESION_KIND_CODES["non_target"], dicom.DCM.NonTargetLesionAtBaseline),
    (codes.ORGAN_CODES["lung"], dicom.SCT.Lung),
    (codes.ORGAN_CODES["liver"], dicom.SCT.Liver),
    (codes.ORGAN_CODES["lymph node"], dicom.SCT.LymphNode),
    (codes.ORGAN_CODES["bone"], dicom.SCT.Bone),
    (codes.ORGAN_CODES["brain"], dicom.SCT.Brain),
    (codes.ORGAN_CODES["adrenal gland"], dicom.SCT.AdrenalGland),
    (codes.ORGAN_CODES["kidney"], dicom.SCT.Kidney),
    (codes.ORGAN_CODES["pleura"], dicom.SCT.Pleura),
    (codes.ORGAN_CODES["pancreas"], dicom.SCT.Pancreas),
    (codes.ORGAN_CODES["spleen"], dicom.SCT.Spleen),
    (codes.ORGAN_CODES["skin"], dicom.SCT.Skin),
    (codes.ORGAN_CODES["peritoneum"], dicom.SCT.PeritoneumSerousMembraneStructure),
]


@pytest.mark.parametrize(("ours", "standard"), STANDARD, ids=lambda c: c.meaning)
def test_standard_codes_match_the_dicom_dictionary(ours: Code, standard: Code) -> None:
    assert (ours.value, ours.scheme_designator) == (standard.value, standard.scheme_designator)


def test_local_codes_fit_short_strings_and_are_unique() -> None:
    local = [c for table in (codes.TARGET_RESPONSE_CODES, codes.NON_TARGET_RESPONSE_CODES,
                             codes.OVERALL_RESPONSE_CODES, codes.LESION_KIND_CODES,
                             codes.LESION_STATUS_CODES) for c in table.values()
             if c.scheme_designator == codes.NADIR_SCHEME]
    local += [codes.IRECIST, codes.LESION_STATUS]
    assert all(len(c.value) <= 16 and len(c.meaning) <= 64 for c in local)
    assert len({c.value for c in local}) == len(local)


def test_legacy_snomed_rt_codes_compare_equal_to_their_snomed_ct_successors() -> None:
    assert Code("G-D7FE", "SRT", "Length") == codes.LENGTH
    assert Code("G-A185", "SRT", "Long Axis") == codes.LONG_AXIS
    assert Code("G-C0E3", "SRT", "Finding Site") == codes.FINDING_SITE
