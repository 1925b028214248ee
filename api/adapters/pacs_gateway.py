"""The :class:`~api.workflow.ports.Pacs` of a running service: Orthanc, and the hospital
PACS (C-STORE) that published reports are also sent to, through the outbox, when one is
configured."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pacs.dimse import DicomPeer
from pacs.orthanc import OrthancClient, StoredInstance


class OrthancPacs:
    def __init__(self, orthanc: OrthancClient, hospital: DicomPeer | None,
                 on_outbox_changed: Callable[[], None] | None = None) -> None:
        self.orthanc = orthanc
        self.hospital = hospital
        self._on_outbox_changed = on_outbox_changed

    def instance_tags(self, orthanc_id: str) -> dict[str, Any]:
        return self.orthanc.instance_tags(orthanc_id)

    def instance_file(self, orthanc_id: str) -> bytes:
        return self.orthanc.instance_file(orthanc_id)

    def store(self, dicom_file: bytes) -> StoredInstance:
        return self.orthanc.store(dicom_file)

    def outbox_changed(self) -> None:
        if self._on_outbox_changed is not None:
            self._on_outbox_changed()
