"""Upload over HTTP: every file is checked before the first is stored, and all of them
are stored or none (a failure removes what this upload stored, not what was there).

The route (api/routes/upload.py) spools and unpacks the body; the image archive is a port
(:class:`~api.workflow.ports.UploadArchive`), so nothing here talks HTTP or to Orthanc.
"""

from __future__ import annotations

from collections.abc import Sequence

from api.workflow.errors import Conflict, MalformedPayload, RefusedByArchive
from api.workflow.ports import CaseStore, UploadArchive, UploadedFile
from api.workflow.roles import Principal
from imaging.dicomfile import (
    InstanceIdentity,
    InvalidDicomFile,
    differing_attributes,
    inspect_part10,
)

#: A refusal names this many bad files with their reasons, then counts the rest.
MAX_NAMED_REFUSALS = 50


def check_and_store(archive: UploadArchive, files: Sequence[UploadedFile]
                    ) -> list[InstanceIdentity]:
    """Check every file (the acceptance rule of imaging/dicomfile.py), then store them
    all; the identities of the stored instances. Nothing is stored when one is refused."""
    identities = check_all(files)
    store_all(archive, files)
    return identities


def audit_upload(store: CaseStore, who: Principal, identities: Sequence[InstanceIdentity]
                 ) -> None:
    """One audit event per uploaded study (patient data was written)."""
    for study_uid, patient_id in sorted({(i.study_instance_uid, i.patient_id)
                                         for i in identities}):
        store.audit(who, "upload", f"studies/{study_uid}", patient_id or None)
    store.commit()


def check_all(files: Sequence[UploadedFile]) -> list[InstanceIdentity]:
    """Every file checked; every bad one named with its reason (up to a bound)."""
    identities: list[InstanceIdentity] = []
    refused: list[dict[str, str]] = []
    for f in files:
        try:
            identities.append(inspect_part10(f.read()))
        except InvalidDicomFile as exc:
            refused.append({"file": f.name, "reason": exc.reason})
    if refused:
        shown = refused[:MAX_NAMED_REFUSALS]
        listed = "; ".join(f"file {r['file']!r}: {r['reason']}" for r in shown)
        more = len(refused) - len(shown)
        rest = f"; and {more:,} more bad files" if more else ""
        raise MalformedPayload(
            f"{len(refused):,} of {len(files):,} files refused: {listed}{rest}; nothing was "
            "stored", extra={"file": refused[0]["file"], "refused": shown,
                             "refused_count": len(refused)})
    return identities


def store_all(archive: UploadArchive, files: Sequence[UploadedFile]) -> None:
    """Store each file; on the first failure, remove what this upload stored and raise."""
    created: list[str] = []
    for f in files:
        try:
            stored = archive.store(f.read())
            if stored.already_stored:
                _same_or_conflict(archive, f, stored.archive_id)
        except RefusedByArchive as exc:
            _roll_back(archive, created)
            raise MalformedPayload(f"file {f.name!r}: {exc.message}; nothing was stored",
                                   extra={"file": f.name}) from None
        except Exception:
            _roll_back(archive, created)
            raise
        if stored.new:
            created.append(stored.archive_id)


def _same_or_conflict(archive: UploadArchive, f: UploadedFile, archive_id: str) -> None:
    """A SOP Instance UID the archive already holds: the same content again is a quiet
    success; other content under that UID is refused (Orthanc would keep the first one
    silently)."""
    differing = differing_attributes(archive.stored_file(archive_id), f.read())
    if differing:
        raise Conflict(
            f"file {f.name!r}: its SOP Instance UID is already stored with other content "
            f"(differing: {', '.join(differing)}); a corrected instance needs a new SOP "
            "Instance UID. Nothing was stored",
            extra={"file": f.name, "differing_attributes": differing})


def _roll_back(archive: UploadArchive, created: list[str]) -> None:
    """Remove what this upload stored before a later file failed (not what was there)."""
    for archive_id in created:
        archive.remove(archive_id)
