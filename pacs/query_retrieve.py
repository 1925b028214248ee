"""Query/retrieve from a hospital PACS through Orthanc (PS3.4 C.4.1 C-FIND, C.4.2 C-MOVE).

Orthanc is the SCU: ``/modalities/{name}/query`` sends the study-level C-FIND and
``/modalities/{name}/move`` the C-MOVE whose destination is Orthanc's own AE title, so the
PACS sends the studies back to Orthanc by C-STORE and ingest indexes them like any other
arrival. The PACS must know Orthanc's AE title, host and DICOM port as a move destination
(its own configuration); Orthanc must let the PACS store (``put_remote_pacs``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from pacs.errors import OrthancRequestError, OrthancUnavailable, PacsError
from pacs.orthanc import JsonObject, OrthancClient

#: PS3.5 6.2: Modality is a CS, upper-case letters, digits, space and underscore, 16 at most.
MODALITY = re.compile(r"[A-Z0-9_ ]{1,16}")
#: A move of one study that takes longer than this is reported as failed (and retried).
MOVE_TIMEOUT_S = 600.0


class RemoteQueryFailed(PacsError):
    """The hospital PACS could not be queried (down, refused the association, ...)."""

    retryable = True


class RemoteMoveFailed(PacsError):
    """The hospital PACS did not move a study to Orthanc (refused, or it never arrived)."""

    retryable = True


@dataclass(frozen=True)
class PriorQuery:
    """What to look for: a patient's studies, of one modality, within dates (inclusive)."""

    patient_id: str
    modality: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    def __post_init__(self) -> None:
        if not self.patient_id or len(self.patient_id) > 64 or "\\" in self.patient_id:
            # PS3.5 6.2: PatientID is an LO, 64 characters at most, no backslash.
            raise PacsError(f"patient_id must be 1-64 characters without backslash, got "
                            f"{len(self.patient_id)} characters")
        if self.modality is not None and not MODALITY.fullmatch(self.modality):
            raise PacsError(f"modality must be a DICOM code string such as CT or MR, got "
                            f"{self.modality!r}")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise PacsError(f"date_from {self.date_from} is after date_to {self.date_to}")

    def identifier(self) -> dict[str, str]:
        """The C-FIND identifier (PS3.4 C.6.1.1.3, study level): the keys to match, and
        empty ones for what each answer must return."""
        return {
            "PatientID": self.patient_id,
            "StudyInstanceUID": "",
            "StudyDate": _date_range(self.date_from, self.date_to),
            "ModalitiesInStudy": self.modality or "",
            "StudyDescription": "",
            "AccessionNumber": "",
        }


@dataclass(frozen=True)
class StudyAnswer:
    """One study the PACS holds."""

    study_instance_uid: str
    study_date: dt.date | None
    modalities: tuple[str, ...]
    description: str | None


def _date_range(start: dt.date | None, end: dt.date | None) -> str:
    """PS3.4 C.2.2.2.5: a DA range is ``from-to``, either side may be open."""
    if start is None and end is None:
        return ""
    return f"{start.strftime('%Y%m%d') if start else ''}-{end.strftime('%Y%m%d') if end else ''}"


def parse_answer(tags: JsonObject) -> StudyAnswer | None:
    """One C-FIND answer (Orthanc's simplified tags) as a study; None without a UID."""
    uid = str(tags.get("StudyInstanceUID") or "").strip()
    if not uid:
        return None
    text = str(tags.get("StudyDate") or "").strip()
    try:
        date = dt.datetime.strptime(text, "%Y%m%d").date() if text else None
    except ValueError:
        date = None
    modalities = tuple(m for m in str(tags.get("ModalitiesInStudy") or "").split("\\") if m)
    return StudyAnswer(uid, date, modalities, str(tags.get("StudyDescription") or "") or None)


def find_studies(client: OrthancClient, pacs: str, query: PriorQuery) -> list[StudyAnswer]:
    """The patient's studies the PACS holds that match ``query``, oldest first.

    C-FIND matches PatientID with wildcards (``*`` and ``?``, PS3.4 C.2.2.2.4) and has no
    escape for them, so the answers are kept only where the PatientID is the same, byte
    for byte; likewise a study whose modalities do not include the one asked for.
    """
    try:
        answers = client.remote_find(pacs, "Study", query.identifier())
    except (OrthancRequestError, OrthancUnavailable) as exc:
        raise RemoteQueryFailed(f"C-FIND on the hospital PACS failed: {_why(exc)}") from None
    found: dict[str, StudyAnswer] = {}
    for tags in answers:
        answer = parse_answer(tags)
        if answer is None or str(tags.get("PatientID", "")) != query.patient_id:
            continue
        if query.modality and answer.modalities and query.modality not in answer.modalities:
            continue
        found.setdefault(answer.study_instance_uid, answer)
    return sorted(found.values(), key=lambda a: (a.study_date or dt.date.min,
                                                 a.study_instance_uid))


def move_study(client: OrthancClient, pacs: str, study_uid: str, *, target_aet: str,
               timeout_s: float = MOVE_TIMEOUT_S) -> None:
    """C-MOVE one study to ``target_aet`` (Orthanc itself) and check that it arrived."""
    try:
        client.remote_move(pacs, "Study", {"StudyInstanceUID": study_uid},
                           target_aet=target_aet, timeout_s=timeout_s)
    except (OrthancRequestError, OrthancUnavailable) as exc:
        raise RemoteMoveFailed(f"C-MOVE of study {study_uid} failed: {_why(exc)}") from None
    try:
        arrived = any(hit.get("Type") == "Study" for hit in client.lookup(study_uid))
    except (OrthancRequestError, OrthancUnavailable) as exc:
        raise RemoteMoveFailed(f"study {study_uid} was moved but Orthanc cannot be asked "
                               f"whether it arrived: {_why(exc)}") from None
    if not arrived:
        raise RemoteMoveFailed(
            f"the hospital PACS answered the C-MOVE of study {study_uid} but sent nothing: "
            f"does it know {target_aet} as a move destination, and may it store here?")


def _why(exc: OrthancRequestError | OrthancUnavailable) -> str:
    """Orthanc's own words (they name the AET and the DIMSE status or the network error)."""
    if isinstance(exc, OrthancRequestError) and exc.orthanc_message:
        return exc.orthanc_message
    return str(exc)
