"""The :class:`~api.workflow.ports.UploadArchive` of a running service: Orthanc's REST
API (POST /instances). A file Orthanc refuses as unreadable (HTTP 400) becomes
:class:`~api.workflow.errors.RefusedByArchive`; its other errors pass through."""

from __future__ import annotations

import logging

from api.workflow.errors import RefusedByArchive
from api.workflow.ports import StoredUpload
from pacs.errors import OrthancRequestError, PacsError
from pacs.orthanc import OrthancClient

log = logging.getLogger(__name__)


class OrthancUploadArchive:
    def __init__(self, orthanc: OrthancClient) -> None:
        self.orthanc = orthanc

    def store(self, dicom_file: bytes) -> StoredUpload:
        try:
            stored = self.orthanc.store(dicom_file)
        except OrthancRequestError as exc:
            if exc.status == 400:
                raise RefusedByArchive(exc.orthanc_message) from None
            raise
        return StoredUpload(stored.orthanc_id, new=stored.status == "Success",
                            already_stored=stored.status == "AlreadyStored")

    def stored_file(self, archive_id: str) -> bytes:
        return self.orthanc.instance_file(archive_id)

    def remove(self, archive_id: str) -> None:
        try:
            self.orthanc.delete_instance(archive_id)
        except PacsError:
            log.warning("could not roll back an uploaded instance")
