"""The :class:`~api.workflow.ports.Pacs` of a running service: Orthanc, and the hospital
PACS (C-STORE) that published reports are also sent to when one is configured."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from pydicom import Dataset

from pacs.dimse import DicomPeer, store
from pacs.errors import PacsError
from pacs.orthanc import OrthancClient, StoredInstance

log = logging.getLogger(__name__)


class OrthancPacs:
    def __init__(self, orthanc: OrthancClient, hospital: DicomPeer | None) -> None:
        self.orthanc = orthanc
        self.hospital = hospital

    def instance_tags(self, orthanc_id: str) -> dict[str, Any]:
        return self.orthanc.instance_tags(orthanc_id)

    def instance_file(self, orthanc_id: str) -> bytes:
        return self.orthanc.instance_file(orthanc_id)

    def store(self, dicom_file: bytes) -> StoredInstance:
        return self.orthanc.store(dicom_file)

    def send_to_hospital(self, datasets: Sequence[Dataset]) -> dict[str, Any]:
        if self.hospital is None:
            return {"configured": False}
        try:
            store(self.hospital, list(datasets))
        except PacsError as exc:
            # The objects are safe in Orthanc; the hospital PACS can be sent to again later.
            log.warning("sending to the remote AE failed: %s", type(exc).__name__)
            return {"configured": True, "sent": False, "error": str(exc)}
        return {"configured": True, "sent": True}
