"""The specialist report as an Encapsulated PDF object (PS3.3 A.45.1), and back.

highdicom has no Encapsulated Document IOD, so the object is built here with pydicom,
module by module: Patient (C.7.1.1), General Study (C.7.2.1), Encapsulated Document
Series (C.24.1, Modality DOC), General Equipment (C.7.5.1), SC Equipment (C.8.6.1),
Encapsulated Document (C.24.2) and SOP Common (C.12.1). The report shows patient data, so
Burned In Annotation is YES. A PDF that supersedes an earlier one lists it in
Predecessor Documents Sequence (C.24.2), and the instances the report was made from
(key images, the timepoints' SRs) can be listed in Source Instance Sequence (C.24.2, type
1C: required when the document is derived from DICOM instances).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.sr.coding import Code
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    EncapsulatedPDFStorage,
    ExplicitVRLittleEndian,
)

from imaging.sr._header import (
    SPECIFIC_CHARACTER_SET,
    apply_patient_and_study,
    da,
    hierarchical_reference,
    timezone_offset,
    tm,
)
from imaging.sr.errors import InvalidDocumentInput, PDFReadError
from imaging.sr.model import (
    DocumentReference,
    PatientInfo,
    StudyInfo,
    check_positive_int,
    check_text,
    check_uid,
)

PDF_MIME_TYPE = "application/pdf"
PDF_MAGIC = b"%PDF-"
# LOINC "Diagnostic Imaging Report" (PS3.16 CID 7000), Concept Name of the document.
DIAGNOSTIC_IMAGING_REPORT = Code("18748-4", "LN", "Diagnostic Imaging Report")
# CID 7060 "Encapsulated Document Source Purposes of Reference".
SOURCE_IMAGE = Code("121324", "DCM", "Source image")
SOURCE_REPORT = Code("128225", "DCM", "Source report")
_SR_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."


@dataclass(frozen=True, kw_only=True)
class SourceInstance:
    """A DICOM instance the PDF was made from (an image shown in it, or a timepoint's SR)."""

    sop_class_uid: str
    sop_instance_uid: str

    def __post_init__(self) -> None:
        check_uid("source_instances.sop_class_uid", self.sop_class_uid)
        check_uid("source_instances.sop_instance_uid", self.sop_instance_uid)


def build_encapsulated_pdf(
    pdf_bytes: bytes,
    *,
    patient: PatientInfo,
    study: StudyInfo,
    sop_instance_uid: str,
    series_instance_uid: str,
    document_title: str,
    content_datetime: datetime.datetime,
    series_number: int = 1,
    instance_number: int = 1,
    manufacturer: str = "Nadir",
    software_version: str | None = None,
    replaces: DocumentReference | None = None,
    source_instances: Sequence[SourceInstance] = (),
) -> Dataset:
    """An Encapsulated PDF Storage object (1.2.840.10008.5.1.4.1.1.104.1) in ``study``.

    ``content_datetime`` sets Content Date/Time and Instance Creation Date/Time; no clock
    is read. Raises :class:`~imaging.sr.errors.InvalidDocumentInput` for bytes that are
    not a PDF and for header values DICOM cannot hold.
    """
    _check_inputs(pdf_bytes, patient, study, sop_instance_uid, series_instance_uid,
                  document_title, content_datetime, series_number, instance_number,
                  manufacturer, replaces, source_instances)
    ds = Dataset()
    ds.file_meta = _file_meta(sop_instance_uid)
    ds.SpecificCharacterSet = SPECIFIC_CHARACTER_SET
    ds.SOPClassUID = EncapsulatedPDFStorage
    ds.SOPInstanceUID = sop_instance_uid
    ds.InstanceCreationDate = da(content_datetime.date())
    ds.InstanceCreationTime = tm(content_datetime)
    offset = timezone_offset(content_datetime)
    if offset is not None:
        ds.TimezoneOffsetFromUTC = offset
    apply_patient_and_study(ds, patient, study)
    # Encapsulated Document Series (C.24.1): DOC is the modality of documents.
    ds.Modality = "DOC"
    ds.SeriesInstanceUID = series_instance_uid
    ds.SeriesNumber = series_number
    ds.SeriesDescription = document_title[:64]
    # General Equipment (C.7.5.1) and SC Equipment (C.8.6.1): rendered by a workstation.
    ds.Manufacturer = manufacturer
    if software_version is not None:
        ds.SoftwareVersions = software_version
    ds.ConversionType = "WSD"
    _apply_document(ds, pdf_bytes, document_title, content_datetime, instance_number)
    if replaces is not None:
        ds.PredecessorDocumentsSequence = DicomSequence([hierarchical_reference(replaces)])
    if source_instances:
        ds.SourceInstanceSequence = DicomSequence([_source_item(s) for s in source_instances])
    return ds


def read_encapsulated_pdf(ds: Dataset) -> bytes:
    """The PDF document held by an Encapsulated PDF object, without DICOM padding.

    Raises :class:`~imaging.sr.errors.PDFReadError` for any other object.
    """
    if not isinstance(ds, Dataset):
        raise PDFReadError(f"expected a DICOM dataset, got {type(ds).__name__}")
    uid = str(ds.get("SOPInstanceUID", "")) or None
    sop_class = str(ds.get("SOPClassUID", ""))
    mime = str(ds.get("MIMETypeOfEncapsulatedDocument", ""))
    if sop_class != EncapsulatedPDFStorage and mime != PDF_MIME_TYPE:
        raise PDFReadError(f"object {uid} is not an Encapsulated PDF (SOP class {sop_class!r}, "
                           f"MIME type {mime!r})", sop_instance_uid=uid,
                           sop_class_uid=sop_class or None)
    data = ds.get("EncapsulatedDocument")
    if not data:
        raise PDFReadError(f"Encapsulated PDF {uid} holds no document", sop_instance_uid=uid,
                           sop_class_uid=sop_class)
    document = bytes(data)
    length = ds.get("EncapsulatedDocumentLength")
    if length is not None and 0 < int(length) <= len(document):
        document = document[: int(length)]
    elif document.endswith(b"\x00"):  # PS3.5 7.1.1: OB is padded to even length with NUL
        document = document[:-1]
    if not document.startswith(PDF_MAGIC):
        raise PDFReadError(f"Encapsulated PDF {uid} does not hold a PDF document",
                           sop_instance_uid=uid, sop_class_uid=sop_class)
    return document


def _check_inputs(
    pdf_bytes: object, patient: object, study: object, sop_uid: str, series_uid: str,
    title: object, when: object, series_number: int, instance_number: int,
    manufacturer: str, replaces: object, sources: Sequence[object],
) -> None:
    if not isinstance(pdf_bytes, (bytes, bytearray)) or not bytes(pdf_bytes[:5]) == PDF_MAGIC:
        raise InvalidDocumentInput("pdf_bytes", "must be the bytes of a PDF document "
                                                "(starting with %PDF-)")
    if not isinstance(patient, PatientInfo):
        raise InvalidDocumentInput("patient", f"must be a PatientInfo, got {patient!r}")
    if not isinstance(study, StudyInfo):
        raise InvalidDocumentInput("study", f"must be a StudyInfo, got {study!r}")
    check_uid("sop_instance_uid", sop_uid)
    check_uid("series_instance_uid", series_uid)
    if len({sop_uid, series_uid, study.study_instance_uid}) != 3:
        raise InvalidDocumentInput("sop_instance_uid", "the instance, series and study UIDs "
                                                       "must all differ")
    check_text("document_title", title, max_len=1024, required=True)  # ST holds 1024
    if not isinstance(when, datetime.datetime):
        raise InvalidDocumentInput("content_datetime", f"must be a datetime, got {when!r}")
    check_positive_int("series_number", series_number)
    check_positive_int("instance_number", instance_number)
    check_text("manufacturer", manufacturer, max_len=64, required=True)
    if replaces is not None and not isinstance(replaces, DocumentReference):
        raise InvalidDocumentInput("replaces", f"must be a DocumentReference, got {replaces!r}")
    for i, s in enumerate(sources):
        if not isinstance(s, SourceInstance):
            raise InvalidDocumentInput(f"source_instances[{i}]",
                                       f"must be a SourceInstance, got {s!r}")


def _file_meta(sop_instance_uid: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = EncapsulatedPDFStorage
    meta.MediaStorageSOPInstanceUID = UID(sop_instance_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    return meta


def _apply_document(
    ds: Dataset, pdf_bytes: bytes, title: str, when: datetime.datetime, instance_number: int
) -> None:
    """Encapsulated Document module (C.24.2)."""
    ds.InstanceNumber = instance_number
    ds.ContentDate = da(when.date())
    ds.ContentTime = tm(when)
    ds.AcquisitionDateTime = ""  # type 2: a rendered report has no acquisition
    ds.BurnedInAnnotation = "YES"  # the pages show the patient's name and ID
    ds.DocumentTitle = title
    concept = Dataset()
    concept.CodeValue = DIAGNOSTIC_IMAGING_REPORT.value
    concept.CodingSchemeDesignator = DIAGNOSTIC_IMAGING_REPORT.scheme_designator
    concept.CodeMeaning = DIAGNOSTIC_IMAGING_REPORT.meaning
    ds.ConceptNameCodeSequence = DicomSequence([concept])
    ds.MIMETypeOfEncapsulatedDocument = PDF_MIME_TYPE
    document = bytes(pdf_bytes)
    ds.EncapsulatedDocumentLength = len(document)  # before the even-length padding
    ds.EncapsulatedDocument = document + (b"\x00" if len(document) % 2 else b"")


def _source_item(source: SourceInstance) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = source.sop_class_uid
    item.ReferencedSOPInstanceUID = source.sop_instance_uid
    purpose = SOURCE_REPORT if source.sop_class_uid.startswith(_SR_CLASS_PREFIX) \
        else SOURCE_IMAGE
    code = Dataset()
    code.CodeValue = purpose.value
    code.CodingSchemeDesignator = purpose.scheme_designator
    code.CodeMeaning = purpose.meaning
    item.PurposeOfReferenceCodeSequence = DicomSequence([code])
    return item
