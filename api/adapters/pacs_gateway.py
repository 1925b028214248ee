"""The :class:`~api.workflow.ports.Pacs` of a running service: Orthanc, and the hospital
PACS (C-STORE) that published reports are also sent to, through the outbox, when one is
configured."""

from __future__ import annotations

from collections.abc import Callable

from imaging.geometry import ImagePlane, PixelGeometry
from pacs.dimse import DicomPeer
from pacs.metadata import image_plane, pixel_geometry
from pacs.orthanc import OrthancClient, StoredInstance


class OrthancPacs:
    def __init__(self, orthanc: OrthancClient, hospital: DicomPeer | None,
                 on_outbox_changed: Callable[[], None] | None = None) -> None:
        self.orthanc = orthanc
        self.hospital = hospital
        self._on_outbox_changed = on_outbox_changed

    def pixel_geometry(self, orthanc_id: str, frame: int) -> PixelGeometry:
        return pixel_geometry(self.orthanc.instance_tags(orthanc_id), frame)

    def image_plane(self, orthanc_id: str, frame: int) -> ImagePlane | None:
        return image_plane(self.orthanc.instance_tags(orthanc_id), frame)

    def instance_file(self, orthanc_id: str) -> bytes:
        return self.orthanc.instance_file(orthanc_id)

    def store(self, dicom_file: bytes) -> StoredInstance:
        return self.orthanc.store(dicom_file)

    def outbox_changed(self) -> None:
        if self._on_outbox_changed is not None:
            self._on_outbox_changed()
