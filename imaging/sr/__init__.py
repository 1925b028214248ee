"""DICOM documents of a case: TID 1500 Measurement Reports out and in, Encapsulated PDF.

Pure functions over frozen dataclasses (no database, no HTTP, no clock):

* :func:`build_measurement_report` - a timepoint's lesions as a Comprehensive SR
  following PS3.16 TID 1500 (writer, highdicom);
* :func:`read_measurement_report` - linear measurements out of TID 1500 reports made by
  other systems (OHIF/dcmjs, 3D Slicer/dcmqi, highdicom) and by Nadir, with what could
  not be mapped;
* :func:`build_encapsulated_pdf` / :func:`read_encapsulated_pdf` - the specialist report
  as an Encapsulated PDF (PS3.3 A.45.1).
"""

from imaging.sr.errors import (
    DocumentError,
    InvalidDocumentInput,
    PDFReadError,
    SRReadError,
    SRWriteError,
)
from imaging.sr.model import (
    Criteria,
    DocumentReference,
    Fragment,
    LesionKind,
    LesionStatus,
    LinearMeasurement,
    PatientInfo,
    Point,
    SignOff,
    SourceImage,
    StudyInfo,
    TimepointReport,
    TimepointResponse,
    row_col_from_scoord,
    scoord_from_row_col,
)
from imaging.sr.pdf import SourceInstance, build_encapsulated_pdf, read_encapsulated_pdf
from imaging.sr.reader import (
    ImageReference,
    ImportedFragment,
    ImportedMeasurement,
    ImportedReport,
    LengthConcept,
    NotMapped,
    read_measurement_report,
)
from imaging.sr.writer import build_measurement_report

__all__ = [
    "Criteria",
    "DocumentError",
    "DocumentReference",
    "Fragment",
    "ImageReference",
    "ImportedFragment",
    "ImportedMeasurement",
    "ImportedReport",
    "InvalidDocumentInput",
    "LengthConcept",
    "LesionKind",
    "LesionStatus",
    "LinearMeasurement",
    "NotMapped",
    "PDFReadError",
    "PatientInfo",
    "Point",
    "SRReadError",
    "SRWriteError",
    "SignOff",
    "SourceImage",
    "SourceInstance",
    "StudyInfo",
    "TimepointReport",
    "TimepointResponse",
    "build_encapsulated_pdf",
    "build_measurement_report",
    "read_encapsulated_pdf",
    "read_measurement_report",
    "row_col_from_scoord",
    "scoord_from_row_col",
]
