"""Coded concepts Nadir writes into and recognises in DICOM documents.

Every standard code below was checked against the DICOM content-mapping resource as
shipped in pydicom 3.0 (``pydicom.sr.codedict.codes``, generated from PS3.16), which
also names the context group (CID) each code belongs to. Where PS3.16 has no concept for
a RECIST notion (the overall response, iRECIST categories, a lesion's status at a
timepoint), Nadir uses its own coding scheme ``99NADIR``; PS3.16 section 8.2 reserves
designators starting with "99" for such local schemes, and every object that uses it
identifies it in the Coding Scheme Identification Sequence (PS3.3 C.12.1).

Reading is lenient: legacy SNOMED RT codes (``SRT``, e.g. ``G-D7FE`` "Length", written by
older dcmjs/OHIF versions) compare equal to their SNOMED CT successors through
:class:`pydicom.sr.coding.Code`'s equality, which maps SRT to SCT.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from types import MappingProxyType

from pydicom.sr.coding import Code

from measurement.vocabulary import organ_key

NADIR_SCHEME = "99NADIR"
NADIR_SCHEME_NAME = "Nadir local codes"


def nadir(value: str, meaning: str) -> Code:
    """A code of Nadir's local scheme (code values are SH: at most 16 characters)."""
    if len(value) > 16:
        raise ValueError(f"local code value {value!r} is longer than 16 characters")
    return Code(value, NADIR_SCHEME, meaning)


# --- Document structure (PS3.16 TID 1500, TID 1501, TID 1410) -------------------------
IMAGING_MEASUREMENT_REPORT = Code("126000", "DCM", "Imaging Measurement Report")  # CID 7021
IMAGING_MEASUREMENTS = Code("126010", "DCM", "Imaging Measurements")
MEASUREMENT_GROUP = Code("125007", "DCM", "Measurement Group")
QUALITATIVE_EVALUATIONS = Code("C0034375", "UMLS", "Qualitative Evaluations")  # TID 1500
TRACKING_IDENTIFIER = Code("112039", "DCM", "Tracking Identifier")
TRACKING_UID = Code("112040", "DCM", "Tracking Unique Identifier")
IMAGE_REGION = Code("111030", "DCM", "Image Region")
FINDING = Code("121071", "DCM", "Finding")
FINDING_SITE = Code("363698007", "SCT", "Finding Site")
LESION = Code("52988006", "SCT", "Lesion")
SOURCE_OF_MEASUREMENT = Code("121112", "DCM", "Source of Measurement")

# Titles of CID 7021 "Measurement Report Document Titles" that mark a TID 1500 root.
MEASUREMENT_REPORT_TITLES = (
    IMAGING_MEASUREMENT_REPORT,
    Code("126001", "DCM", "Oncology Measurement Report"),
    Code("126002", "DCM", "Dynamic Contrast MR Measurement Report"),
    Code("126003", "DCM", "PET Measurement Report"),
)

# --- Linear measurements (CID 7470 "Linear Measurements", CID 7469) --------------------
LONG_AXIS = Code("103339001", "SCT", "Long axis")  # RECIST 1.1 s.3.1.1: non-nodal lesions
SHORT_AXIS = Code("103340004", "SCT", "Short axis")  # RECIST 1.1 s.3.1.1: lymph nodes
LENGTH = Code("410668003", "SCT", "Length")  # OHIF/dcmjs "Length" tool
DIAMETER = Code("81827009", "SCT", "Diameter")

# UCUM units of length and their factor to millimetres (PS3.16 CID 7460 uses UCUM).
MILLIMETRE = Code("mm", "UCUM", "mm")
LENGTH_UNITS_TO_MM = MappingProxyType({"mm": "1", "cm": "10", "m": "1000", "um": "0.001"})

# --- Procedure reported (CID 100 "Quantitative Diagnostic Imaging Procedures") ----------
CT_PROCEDURE = Code("25045-6", "LN", "CT unspecified body region")
MR_PROCEDURE = Code("25056-3", "LN", "MRI unspecified body region")
PET_PROCEDURE = Code("44136-0", "LN", "PET unspecified body region")
IMAGING_PROCEDURE = Code("363679005", "SCT", "Imaging procedure")

# --- Response (DCM codes of the RECIST response vocabulary, PS3.16 Annex D) -------------
RESPONSE_EVALUATION_METHOD = Code("112021", "DCM", "Response Evaluation Method")
CURRENT_RESPONSE = Code("112048", "DCM", "Current Response")
BEST_OVERALL_RESPONSE = Code("112049", "DCM", "Best Overall Response")
MEASUREMENT_METHOD = Code("370129005", "SCT", "Measurement Method")
RECIST_1_1 = Code("126081", "DCM", "RECIST 1.1")  # CID 6147 "Response Criteria"
IRECIST = nadir("IRECIST", "iRECIST")  # not in CID 6147

# CID 6144 "RECIST Defined Lesion Response"; NE and NA have no standard code.
TARGET_RESPONSE_CODES = MappingProxyType({
    "CR": Code("112041", "DCM", "Target Lesion Complete Response"),
    "PR": Code("112042", "DCM", "Target Lesion Partial Response"),
    "PD": Code("112043", "DCM", "Target Lesion Progressive Disease"),
    "SD": Code("112044", "DCM", "Target Lesion Stable Disease"),
    "NE": nadir("TGT_NE", "Target lesions not evaluable"),
    "NA": nadir("TGT_NA", "No target lesions"),
})
# RECIST 1.1 renamed "incomplete response / stable disease" to "non-CR/non-PD".
NON_TARGET_RESPONSE_CODES = MappingProxyType({
    "CR": Code("112045", "DCM", "Non-Target Lesion Complete Response"),
    "NON_CR_NON_PD": Code(
        "112046", "DCM", "Non-Target Lesion Incomplete Response or Stable Disease"
    ),
    "PD": Code("112047", "DCM", "Non-Target Lesion Progressive Disease"),
    "NE": nadir("NTGT_NE", "Non-target lesions not evaluable"),
    "NA": nadir("NTGT_NA", "No non-target lesions"),
})
# PS3.16 has no coded overall (time-point) response: local codes throughout.
OVERALL_RESPONSE_CODES = MappingProxyType({
    "CR": nadir("RESP_CR", "Overall response: complete response (CR)"),
    "PR": nadir("RESP_PR", "Overall response: partial response (PR)"),
    "SD": nadir("RESP_SD", "Overall response: stable disease (SD)"),
    "PD": nadir("RESP_PD", "Overall response: progressive disease (PD)"),
    "NE": nadir("RESP_NE", "Overall response: not evaluable (NE)"),
    "NON_CR_NON_PD": nadir("RESP_NONCR_NONPD", "Overall response: non-CR/non-PD"),
    "iCR": nadir("RESP_ICR", "Overall response: immune complete response (iCR)"),
    "iPR": nadir("RESP_IPR", "Overall response: immune partial response (iPR)"),
    "iSD": nadir("RESP_ISD", "Overall response: immune stable disease (iSD)"),
    "iUPD": nadir("RESP_IUPD", "Overall response: immune unconfirmed progression (iUPD)"),
    "iCPD": nadir("RESP_ICPD", "Overall response: immune confirmed progression (iCPD)"),
})

# --- Lesion category and status ---------------------------------------------------------
BASELINE_CATEGORY = Code("112016", "DCM", "Baseline Category")  # values from CID 6145
LESION_KIND_CODES = MappingProxyType({
    "target": Code("112074", "DCM", "Target Lesion at Baseline"),
    "non_target": Code("112075", "DCM", "Non-Target Lesion at Baseline"),
    "new": nadir("NEW_LESION", "New lesion (absent at baseline)"),  # not in CID 6145
})
# RECIST 1.1 s4.3.5: a new lesion counts from the scan it was first seen on. TID 1502's
# Time Point Context names the report's own timepoint; PS3.16 has no concept for the
# first sighting, so a new lesion's group carries it as a UIDREF to that study.
FIRST_SEEN = nadir("FIRST_SEEN", "First seen in study")
LESION_STATUS = nadir("LESION_STATUS", "Lesion status at this timepoint")
LESION_STATUS_CODES = MappingProxyType({
    "too_small": nadir("TOO_SMALL", "Too small to measure"),
    "not_evaluable": nadir("NOT_EVALUABLE", "Not evaluable"),
    "disappeared": nadir("DISAPPEARED", "Disappeared"),
    "present": nadir("PRESENT", "Present"),
    "absent": nadir("ABSENT", "Absent"),
    "unequivocal_progression": nadir("UNEQ_PROGRESSION", "Unequivocal progression"),
    # iRECIST (Seymour 2017, Table 2): the further increase that confirms an iUPD.
    "unequivocal_further_increase": nadir("UNEQ_FURTHER_INC",
                                          "Unequivocal further increase"),
    "not_evaluated": nadir("NOT_EVALUATED", "Not evaluated"),
    # iRECIST (Seymour 2017, Table 2): a new-lesion non-target that grew; any increase of
    # one confirms an unconfirmed progression (iUPD).
    "increased": nadir("INCREASED", "Increased"),
})

# RECIST 1.1 s4.3.2, lesions that split or coalesce on treatment: written as the lesion's
# status (PS3.16 has no concept for either). A split lesion's group holds one length per
# fragment, each with its own SCOORD; a coalesced one names, by its Tracking Unique
# Identifier, the lesion it merged into (that one carries the merged diameter).
SPLIT = nadir("SPLIT", "Split into fragments")
COALESCED = nadir("COALESCED", "Coalesced into another lesion")
COALESCED_INTO = nadir("COALESCED_INTO", "Coalesced into lesion")

# --- Finding sites (SNOMED CT body structures, CID 7151 / CID 4) -------------------------
ORGAN_CODES = MappingProxyType({
    "lung": Code("39607008", "SCT", "Lung"),
    "liver": Code("10200004", "SCT", "Liver"),
    "lymph node": Code("59441001", "SCT", "Lymph Node"),
    "bone": Code("272673000", "SCT", "Bone"),
    "brain": Code("12738006", "SCT", "Brain"),
    "adrenal gland": Code("23451007", "SCT", "Adrenal gland"),
    "kidney": Code("64033007", "SCT", "Kidney"),
    "pleura": Code("3120008", "SCT", "Pleura"),
    "pancreas": Code("15776009", "SCT", "Pancreas"),
    "spleen": Code("78961009", "SCT", "Spleen"),
    "skin": Code("39937001", "SCT", "Skin"),
    "peritoneum": Code("15425007", "SCT", "Peritoneum"),
})
def finding_site_code(organ: str) -> Code:
    """The SNOMED CT code of a known organ, else a stable local code carrying the text.

    Unknown organs keep their words as the code meaning; the code value is derived from
    the text (a slug plus a hash) so that the same words always give the same code and
    different words never share one.
    """
    known = ORGAN_CODES.get(organ_key(organ))
    if known is not None:
        return known
    text = " ".join(organ.split())
    slug = re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_")[:8] or "ORGAN"
    digest = hashlib.sha256(organ_key(organ).encode()).hexdigest()[:7].upper()
    return nadir(f"{slug}_{digest}", text[:64])


def organ_name(code: Code) -> str | None:
    """Nadir's organ name for a standard finding-site code, if it is one of ours."""
    for name, known in ORGAN_CODES.items():
        if known == code:
            return name
    return None


def find_code(code: Code, table: Iterable[tuple[str, Code]]) -> str | None:
    """The key whose code equals ``code`` (SRT/SCT-aware), or ``None``."""
    for key, known in table:
        if known == code:
            return key
    return None
