"""The specialist report as an Encapsulated PDF object: header, round trip, dciodvfy."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from pydicom.uid import EncapsulatedPDFStorage, generate_uid

from imaging.sr import (
    DocumentReference,
    InvalidDocumentInput,
    PDFReadError,
    SourceInstance,
    build_encapsulated_pdf,
    read_encapsulated_pdf,
)
from tests.unit.test_sr_factories import PATIENT, ct_study, dciodvfy, reread, study_info

WHEN = datetime.datetime(2026, 3, 2, 17, 5, 0, tzinfo=datetime.timezone(datetime.timedelta(
    hours=1)))


def tiny_pdf(text: str = "Nadir") -> bytes:
    """A one-page PDF made by hand (PDF 1.4 objects with a correct cross-reference table)."""
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream
        + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n" \
        .encode()
    return bytes(out)


def build(pdf: bytes, **changes: Any) -> Any:
    images = ct_study(2, study_date="20260302")
    kwargs: dict[str, Any] = {
        "patient": PATIENT, "study": study_info(images, datetime.date(2026, 3, 2)),
        "sop_instance_uid": generate_uid(), "series_instance_uid": generate_uid(),
        "document_title": "Nadir tumour response comparison", "content_datetime": WHEN,
        "series_number": 902, "software_version": "0.1.0",
        "source_instances": [SourceInstance(sop_class_uid=images[0].SOPClassUID,
                                            sop_instance_uid=images[0].SOPInstanceUID)],
    }
    kwargs.update(changes)
    return build_encapsulated_pdf(pdf, **kwargs)


@pytest.mark.parametrize("text", ["Nadir", "Nadirs"])  # even and odd PDF lengths
def test_pdf_round_trips_byte_for_byte(text: str) -> None:
    pdf = tiny_pdf(text)
    ds = build(pdf)
    assert len(ds.EncapsulatedDocument) % 2 == 0
    assert read_encapsulated_pdf(reread(ds)) == pdf


def test_header_places_the_pdf_in_the_study_with_burned_in_annotation() -> None:
    ds = reread(build(tiny_pdf()))
    assert (ds.SOPClassUID, ds.Modality, ds.MIMETypeOfEncapsulatedDocument) == (
        EncapsulatedPDFStorage, "DOC", "application/pdf")
    assert ds.BurnedInAnnotation == "YES"
    assert (ds.PatientID, ds.StudyDate, ds.AccessionNumber) == (
        PATIENT.patient_id, "20260302", "ACC1")
    assert (ds.ContentDate, ds.ContentTime, ds.TimezoneOffsetFromUTC) == (
        "20260302", "170500", "+0100")
    assert ds.DocumentTitle == "Nadir tumour response comparison"
    assert ds.SourceInstanceSequence[0].PurposeOfReferenceCodeSequence[0].CodeValue == "121324"


def test_a_new_pdf_references_the_one_it_replaces() -> None:
    first = build(tiny_pdf())
    earlier = DocumentReference(sop_class_uid=first.SOPClassUID,
                                sop_instance_uid=first.SOPInstanceUID,
                                study_instance_uid=first.StudyInstanceUID,
                                series_instance_uid=first.SeriesInstanceUID)
    second = reread(build(tiny_pdf("v2"), replaces=earlier))
    item = second.PredecessorDocumentsSequence[0]
    assert item.StudyInstanceUID == first.StudyInstanceUID
    ref = item.ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    assert ref.ReferencedSOPInstanceUID == first.SOPInstanceUID


def test_dciodvfy_reports_no_errors_on_the_pdf(tmp_path: Path) -> None:
    lines = dciodvfy(build(tiny_pdf()), tmp_path)
    assert [line for line in lines if line.startswith("Error")] == [], "\n".join(lines)
    assert [line for line in lines if line.startswith("Warning")] == [], "\n".join(lines)


def test_bytes_that_are_not_a_pdf_are_refused() -> None:
    with pytest.raises(InvalidDocumentInput, match="pdf_bytes"):
        build(b"<html></html>")


def test_reading_a_pdf_out_of_a_ct_image_fails() -> None:
    with pytest.raises(PDFReadError, match="not an Encapsulated PDF"):
        read_encapsulated_pdf(ct_study(1)[0])


def test_reading_an_encapsulated_pdf_without_a_pdf_fails() -> None:
    ds = build(tiny_pdf())
    ds.EncapsulatedDocument = b"GIF89a"
    del ds.EncapsulatedDocumentLength
    with pytest.raises(PDFReadError, match="does not hold a PDF"):
        read_encapsulated_pdf(ds)
