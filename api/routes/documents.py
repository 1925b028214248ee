"""DICOM documents of a case: SR per timepoint, publishing to the PACS, SR import, drafts."""

from __future__ import annotations

import datetime as dt
import logging
from io import BytesIO
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydicom import Dataset, dcmread
from pydicom.errors import InvalidDicomError
from pydicom.uid import generate_uid
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api import __version__
from api.audit import audit
from api.auth import READERS, Principal, Role, require
from api.case_logic import evaluation_or_none, get_case, get_timepoint
from api.db.models import Case, Publication, SrDraft, utcnow
from api.deps import db_session
from api.documents import (
    PDF_SERIES_NUMBER,
    latest_publication,
    measured_timepoints,
    patient_info,
    reference,
    study_info,
    timepoint_sr,
)
from api.errors import ApiError
from api.reporting import report_pdf
from api.settings import Settings
from api.sr_import import import_report
from imaging.dicomfile import part10_bytes
from imaging.sr import SRReadError, build_encapsulated_pdf, read_measurement_report
from pacs.dimse import DicomPeer, store
from pacs.errors import PacsError
from pacs.orthanc import OrthancClient

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/cases")
DICOM = "application/dicom"


@router.get("/{case_id}/timepoints/{timepoint_id}/sr")
def get_timepoint_sr(
    case_id: int, timepoint_id: str,
    who: Principal = Depends(require(*READERS)),  # noqa: B008
    session: Session = Depends(db_session),  # noqa: B008
) -> Response:
    case = get_case(session, case_id)
    study = get_timepoint(session, case, timepoint_id)
    ds = timepoint_sr(session, case, study, evaluation_or_none(session, case),
                      observer=who.name, now=dt.datetime.now(dt.UTC))
    if ds is None:
        raise ApiError(404, f"nothing is recorded at timepoint {timepoint_id!r} yet")
    audit(session, who, "export_sr", f"cases/{case.id}/timepoints/{timepoint_id}/sr",
          case.patient_id)
    session.commit()
    return Response(part10_bytes(ds), media_type=DICOM, headers={
        "Content-Disposition": f'attachment; filename="case{case.id}-{timepoint_id}-sr.dcm"'})


@router.post("/{case_id}/sr")
async def import_sr(
    case_id: int, request: Request,
    who: Principal = Depends(require(Role.RADIOLOGIST)),  # noqa: B008
) -> dict[str, Any]:
    body = await request.body()
    return await run_in_threadpool(_import_sr, request, case_id, who, body)


def _import_sr(request: Request, case_id: int, who: Principal, body: bytes) -> dict[str, Any]:
    try:
        ds = dcmread(BytesIO(body))
        report = read_measurement_report(ds)
    except (InvalidDicomError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise ApiError(400, f"body is not a readable DICOM file ({type(exc).__name__})") from None
    except SRReadError as exc:
        raise ApiError(422, str(exc)) from None
    with request.app.state.sessions() as session:
        case = get_case(session, case_id)
        if report.patient_id and report.patient_id != case.patient_id:
            raise ApiError(422, "the SR is about another patient than this case's")
        result = import_report(session, request.app.state.orthanc, case, who.name, report,
                               source="sr-import")
        audit(session, who, "import_sr", f"cases/{case.id}/sr/{report.sop_instance_uid}",
              case.patient_id)
        commit_or_412(session)
    return result


def commit_or_412(session: Session) -> None:
    """Commit, or answer 412 when another change to the same lesion won the race."""
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ApiError(412, "another change to these lesions was saved at the same time; "
                       "nothing was imported; retry") from None


@router.get("/{case_id}/sr-drafts")
def list_drafts(
    case_id: int,
    who: Principal = Depends(require(*READERS)),  # noqa: B008
    session: Session = Depends(db_session),  # noqa: B008
) -> dict[str, Any]:
    case = get_case(session, case_id)
    drafts = session.scalars(select(SrDraft).where(SrDraft.case_id == case.id)
                             .order_by(SrDraft.id))
    audit(session, who, "read", f"cases/{case.id}/sr-drafts", case.patient_id)
    session.commit()
    return {"drafts": [draft_json(d) for d in drafts]}


def draft_json(d: SrDraft) -> dict[str, Any]:
    return {"id": d.id, "sop_instance_uid": d.sop_instance_uid, "status": d.status,
            "received_at": d.received_at.isoformat(), "summary": d.summary,
            "decided_by": d.decided_by}


@router.post("/{case_id}/sr-drafts/{draft_id}/{decision}")
def decide_draft(
    case_id: int, draft_id: int, decision: str, request: Request,
    who: Principal = Depends(require(Role.RADIOLOGIST)),  # noqa: B008
    session: Session = Depends(db_session),  # noqa: B008
) -> dict[str, Any]:
    """``confirm`` records the draft's measurements on the case; ``reject`` discards it."""
    if decision not in ("confirm", "reject"):
        raise ApiError(404, f"unknown action {decision!r}: confirm or reject")
    case = get_case(session, case_id)
    draft = session.get(SrDraft, draft_id)
    if draft is None or draft.case_id != case.id:
        raise ApiError(404, f"unknown SR draft {draft_id} in case {case.id}")
    if draft.status != "pending":
        raise ApiError(409, f"SR draft {draft.id} is already {draft.status}")
    result: dict[str, Any] = {"imported": [], "not_mapped": []}
    if decision == "confirm":
        orthanc: OrthancClient = request.app.state.orthanc
        try:
            report = read_measurement_report(dcmread(BytesIO(orthanc.instance_file(
                draft.orthanc_id))))
        except SRReadError as exc:
            raise ApiError(422, str(exc)) from None
        result = import_report(session, orthanc, case, who.name, report, source="sr-draft")
    draft.status = "confirmed" if decision == "confirm" else "rejected"
    draft.decided_by, draft.decided_at = who.name, utcnow()
    audit(session, who, f"{decision}_sr_draft", f"cases/{case.id}/sr-drafts/{draft.id}",
          case.patient_id)
    commit_or_412(session)
    return {"draft": draft_json(draft), **result}


@router.post("/{case_id}/publish", status_code=201)
def publish(
    case_id: int, request: Request,
    who: Principal = Depends(require(Role.RADIOLOGIST, Role.ADMIN)),  # noqa: B008
    session: Session = Depends(db_session),  # noqa: B008
) -> dict[str, Any]:
    """Store each measured timepoint's SR, and the PDF report, into the PACS."""
    case = get_case(session, case_id)
    studies = measured_timepoints(session, case)
    if not studies:
        raise ApiError(409, "nothing is measured in this case yet")
    signed = {s.timepoint_uid for s in case.signoffs}
    unsigned = [st.study_instance_uid for st in studies if st.study_instance_uid not in signed]
    if unsigned:
        raise ApiError(409, "every measured timepoint must be signed off first; unsigned: "
                       + ", ".join(unsigned), extra={"unsigned": unsigned})
    orthanc: OrthancClient = request.app.state.orthanc
    settings: Settings = request.app.state.settings
    now = dt.datetime.now(dt.UTC)
    result = evaluation_or_none(session, case)
    # Each object with its publication record and the earlier publication it replaces.
    objects: list[tuple[Dataset, Publication, Publication | None]] = []
    for study in studies:
        previous = latest_publication(session, case, "sr", study.study_instance_uid)
        ds = timepoint_sr(session, case, study, result, observer=who.name, now=now,
                          replaces=reference(previous))
        assert ds is not None
        objects.append((ds, _publication(case, "sr", ds, study.study_instance_uid, previous,
                                         who), previous))
    latest = studies[-1]
    previous = latest_publication(session, case, "pdf", latest.study_instance_uid)
    pdf = build_encapsulated_pdf(
        report_pdf(session, orthanc, case, now=now), patient=patient_info(session, case),
        study=study_info(latest), sop_instance_uid=generate_uid(),
        series_instance_uid=generate_uid(), series_number=PDF_SERIES_NUMBER,
        document_title="Nadir tumour response report", content_datetime=now,
        software_version=__version__, replaces=reference(previous))
    objects.append((pdf, _publication(case, "pdf", pdf, latest.study_instance_uid, previous,
                                      who), previous))
    for ds, _, _ in objects:
        orthanc.store(part10_bytes(ds))
    remote = _send_remote(settings, [ds for ds, _, _ in objects])
    for _, pub, _ in objects:
        pub.sent_to_remote = remote.get("sent", False) is True
        session.add(pub)
    audit(session, who, "publish", f"cases/{case.id}/publish", case.patient_id)
    session.commit()
    return {"objects": [{"sop_instance_uid": p.sop_instance_uid,
                         "study_instance_uid": p.study_instance_uid, "kind": p.kind,
                         "replaces": prev.sop_instance_uid if prev else None}
                        for _, p, prev in objects], "remote": remote}


def _publication(case: Case, kind: str, ds: Dataset, timepoint_uid: str,
                 previous: Publication | None, who: Principal) -> Publication:
    return Publication(
        case_id=case.id, kind=kind, timepoint_uid=timepoint_uid,
        sop_class_uid=str(ds.SOPClassUID), sop_instance_uid=str(ds.SOPInstanceUID),
        series_instance_uid=str(ds.SeriesInstanceUID),
        study_instance_uid=str(ds.StudyInstanceUID),
        replaces_id=previous.id if previous else None, published_by=who.name)


def _send_remote(settings: Settings, datasets: list[Dataset]) -> dict[str, Any]:
    if not settings.remote_ae_host:
        return {"configured": False}
    peer = DicomPeer(settings.remote_ae_host, settings.remote_ae_port, settings.remote_ae_title,
                     settings.orthanc_aet)
    try:
        store(peer, datasets)
    except PacsError as exc:
        # The objects are safe in Orthanc; the hospital PACS can be sent to again later.
        log.warning("sending to the remote AE failed: %s", type(exc).__name__)
        return {"configured": True, "sent": False, "error": str(exc)}
    return {"configured": True, "sent": True}



