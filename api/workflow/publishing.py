"""DICOM documents of a case: SR export, SR import and drafts, publication to the PACS."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from io import BytesIO
from typing import Any

from pydicom import Dataset, dcmread
from pydicom.errors import InvalidDicomError
from pydicom.uid import generate_uid

from api import __version__
from api.workflow.case_reader import CaseReader
from api.workflow.domain import OUTBOX_PENDING, Case, OutboxItem, Publication, SrDraft, utcnow
from api.workflow.errors import (
    Conflict,
    InvalidInput,
    MalformedPayload,
    NotFound,
    StaleVersion,
)
from api.workflow.events import CaseEventPublisher, ChangeKind, announce
from api.workflow.ports import DicomDestination, Pacs, Study
from api.workflow.reading_rules import ReadingRules
from api.workflow.roles import CASE_MANAGERS, MEASURERS, READERS, Principal, check_role
from api.workflow.sr_export import (
    PDF_SERIES_NUMBER,
    measured_timepoints,
    patient_info,
    reference,
    study_info,
    timepoint_sr,
)
from api.workflow.sr_import import import_report
from imaging.dicomfile import part10_bytes
from imaging.sr import SRReadError, build_encapsulated_pdf, read_measurement_report

#: Builds the PDF report of a case (the report package renders it).
PdfBuilder = Callable[[CaseReader, Pacs, Case, dt.datetime], bytes]
DRAFT_DECISIONS = ("confirm", "reject")


class DocumentService:
    """SR and PDF documents of cases, for one unit of work (a request)."""

    def __init__(self, reader: CaseReader, pacs: Pacs, *,
                 events: CaseEventPublisher | None = None) -> None:
        self.reader = reader
        self.store = reader.store
        self.pacs = pacs
        self.rules = ReadingRules(reader, pacs)
        self._events = events

    def export_sr(self, who: Principal, case_id: int, timepoint_id: str,
                  now: dt.datetime) -> bytes:
        """The timepoint's TID 1500 report as a Part 10 file."""
        case = self.reader.open_case(who, READERS, case_id)
        study = self.reader.timepoint(case, timepoint_id)
        ev = self.reader.evaluation(case)
        ds = timepoint_sr(self.store, case, study, ev.current, ev.result, now=now)
        if ds is None:
            raise NotFound(f"nothing is recorded at timepoint {timepoint_id!r} yet")
        self.reader.record(who, "export_sr", case, f"/timepoints/{timepoint_id}/sr")
        return part10_bytes(ds)

    def import_sr(self, who: Principal, case_id: int, body: bytes) -> dict[str, Any]:
        """Record the linear measurements of a TID 1500 report made elsewhere."""
        check_role(who, MEASURERS)
        try:
            ds = dcmread(BytesIO(body))
            report = read_measurement_report(ds)
        except (InvalidDicomError, EOFError, ValueError, KeyError, TypeError) as exc:
            raise MalformedPayload(f"body is not a readable DICOM file "
                                   f"({type(exc).__name__})") from None
        except SRReadError as exc:
            raise InvalidInput(str(exc)) from None
        case = self.reader.case_for(who, case_id, write=True)
        if report.patient_id and report.patient_id != case.patient_id:
            raise InvalidInput("the SR is about another patient than this case's")
        result = import_report(self.rules, case, who.name, report, source="sr-import")
        self.store.audit(who, "import_sr", f"cases/{case.id}/sr/{report.sop_instance_uid}",
                         case.patient_id)
        self._commit_import()
        announce(self._events, case.id, ChangeKind.SR_IMPORTED, who.name)
        return result

    def _commit_import(self) -> None:
        try:
            self.store.commit()
        except StaleVersion:
            raise StaleVersion("another change to these lesions was saved at the same time; "
                               "nothing was imported; retry") from None

    def drafts(self, who: Principal, case_id: int) -> list[SrDraft]:
        case = self.reader.open_case(who, READERS, case_id)
        drafts = self.store.drafts(case.id)
        self.reader.record(who, "read", case, "/sr-drafts")
        return drafts

    def decide_draft(self, who: Principal, case_id: int, draft_id: int, decision: str
                     ) -> tuple[SrDraft, dict[str, Any]]:
        """``confirm`` records the draft's measurements on the case; ``reject`` discards it."""
        check_role(who, MEASURERS)
        if decision not in DRAFT_DECISIONS:
            raise NotFound(f"unknown action {decision!r}: confirm or reject")
        case = self.reader.case_for(who, case_id, write=True)
        draft = self.store.draft(draft_id)
        if draft is None or draft.case_id != case.id:
            raise NotFound(f"unknown SR draft {draft_id} in case {case.id}")
        if draft.status != "pending":
            raise Conflict(f"SR draft {draft.id} is already {draft.status}")
        result: dict[str, Any] = {"imported": [], "not_mapped": []}
        if decision == "confirm":
            try:
                report = read_measurement_report(dcmread(BytesIO(
                    self.pacs.instance_file(draft.orthanc_id))))
            except SRReadError as exc:
                raise InvalidInput(str(exc)) from None
            result = import_report(self.rules, case, who.name, report, source="sr-draft")
        draft.status = "confirmed" if decision == "confirm" else "rejected"
        draft.decided_by, draft.decided_at = who.name, utcnow()
        self.store.audit(who, f"{decision}_sr_draft", f"cases/{case.id}/sr-drafts/{draft.id}",
                         case.patient_id)
        self._commit_import()
        if decision == "confirm":
            announce(self._events, case.id, ChangeKind.SR_IMPORTED, who.name)
        return draft, result

    def publish(self, who: Principal, case_id: int, now: dt.datetime,
                build_pdf: PdfBuilder) -> dict[str, Any]:
        """Store each measured timepoint's SR, and the PDF report, into the PACS.

        Every measured timepoint must be signed off first. Each object references the
        publication it replaces (Predecessor Documents Sequence). The hospital PACS, when
        one is configured, gets the same objects through the outbox: a row per object,
        committed with the publication, sent in the background until it arrives.
        """
        case = self.reader.open_case(who, CASE_MANAGERS, case_id)
        ev = self.reader.evaluation(case)
        studies = measured_timepoints(ev.timepoints, ev.current)
        if not studies:
            raise Conflict("nothing is measured in this case yet")
        signed = {s.timepoint_uid for s in case.signoffs}
        unsigned = [st.study_instance_uid for st in studies if st.study_instance_uid not in signed]
        if unsigned:
            raise Conflict("every measured timepoint must be signed off first; unsigned: "
                           + ", ".join(unsigned), extra={"unsigned": unsigned})
        objects: list[tuple[Dataset, Publication, Publication | None]] = []
        for study in studies:
            previous = self.store.latest_publication(case.id, "sr", study.study_instance_uid)
            ds = timepoint_sr(self.store, case, study, ev.current, ev.result, now=now,
                              replaces=reference(previous))
            assert ds is not None
            objects.append((ds, _publication(case, "sr", ds, study, previous, who), previous))
        latest = studies[-1]
        previous = self.store.latest_publication(case.id, "pdf", latest.study_instance_uid)
        pdf = build_encapsulated_pdf(
            build_pdf(self.reader, self.pacs, case, now), patient=patient_info(self.store, case),
            study=study_info(latest), sop_instance_uid=generate_uid(),
            series_instance_uid=generate_uid(), series_number=PDF_SERIES_NUMBER,
            document_title="Nadir tumour response report", content_datetime=now,
            software_version=__version__, replaces=reference(previous))
        objects.append((pdf, _publication(case, "pdf", pdf, latest, previous, who), previous))
        hospital = self.pacs.hospital
        for ds, pub, _ in objects:
            dicom_file = part10_bytes(ds)
            self.pacs.store(dicom_file)
            self.store.add(pub)
            if hospital is not None:
                # Committed with the publication itself: the send cannot be forgotten.
                self.store.add(_send(case, pub, hospital, dicom_file))
        self.store.audit(who, "publish", f"cases/{case.id}/publish", case.patient_id)
        self.store.commit()
        if hospital is not None:
            self.pacs.outbox_changed()
        return {"objects": [{"sop_instance_uid": p.sop_instance_uid,
                             "study_instance_uid": p.study_instance_uid, "kind": p.kind,
                             "replaces": prev.sop_instance_uid if prev else None}
                            for _, p, prev in objects],
                "remote": {"configured": hospital is not None,
                           "destination": str(hospital) if hospital else None,
                           "queued": len(objects) if hospital else 0}}

    def publications(self, who: Principal, case_id: int
                     ) -> list[tuple[Publication, list[OutboxItem]]]:
        """The case's published objects, oldest first, each with its sends (outbox rows)."""
        case = self.reader.open_case(who, READERS, case_id)
        sends: dict[int | None, list[OutboxItem]] = {}
        for item in self.store.sends(case.id):
            sends.setdefault(item.publication_id, []).append(item)
        found = [(p, sends.get(p.id, [])) for p in self.store.publications(case.id)]
        self.reader.record(who, "read", case, "/publications")
        return found


def _publication(case: Case, kind: str, ds: Dataset, study: Study,
                 previous: Publication | None, who: Principal) -> Publication:
    return Publication(
        case_id=case.id, kind=kind, timepoint_uid=study.study_instance_uid,
        sop_class_uid=str(ds.SOPClassUID), sop_instance_uid=str(ds.SOPInstanceUID),
        series_instance_uid=str(ds.SeriesInstanceUID),
        study_instance_uid=str(ds.StudyInstanceUID),
        replaces_id=previous.id if previous else None, published_by=who.name,
        published_at=utcnow())


def _send(case: Case, pub: Publication, destination: DicomDestination, dicom_file: bytes
          ) -> OutboxItem:
    now = utcnow()
    return OutboxItem(case_id=case.id, publication_id=pub.id, ae_title=destination.called_aet,
                      host=destination.host, port=destination.port,
                      sop_class_uid=pub.sop_class_uid, sop_instance_uid=pub.sop_instance_uid,
                      payload=dicom_file, state=OUTBOX_PENDING, attempts=0, next_attempt_at=now,
                      created_at=now)
