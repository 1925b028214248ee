"""The :class:`~api.workflow.ports.ShareCopies` of a running service: Orthanc's own
anonymization, planned by :mod:`pacs.deid_profile` (:class:`pacs.share_copy.ShareCopier`)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from api.workflow.errors import GoneFromPacs
from api.workflow.share_types import CopiedSeriesLeftOut, DeidentifiedCopy
from pacs.deid_profile import DateShift
from pacs.errors import OrthancNotFound
from pacs.orthanc import OrthancClient
from pacs.share_copy import ShareCopier
from pacs.share_media import stream_file, write_package


class OrthancShareCopies:
    def __init__(self, orthanc: OrthancClient) -> None:
        self._orthanc = orthanc
        self._copier = ShareCopier(orthanc)

    def copy(self, study_orthanc_ids: Sequence[str], pseudonym: str) -> DeidentifiedCopy:
        try:
            made = self._copier.copy(study_orthanc_ids, pseudonym, DateShift.random())
        except OrthancNotFound as exc:
            # The copier removed what it had stored; the source changed under it.
            raise GoneFromPacs("the PACS no longer holds all of its images (deleted there "
                               "after Nadir listed them); share again once the index has "
                               "caught up") from exc
        return DeidentifiedCopy(
            orthanc_patient=made.orthanc_patient,
            studies={s.source_uid: s.copy_uid for s in made.studies},
            left_out=tuple(CopiedSeriesLeftOut(s.study_uid, s.series_uid, s.series_number,
                                               s.modality, s.reason) for s in made.left_out),
            offset_days=made.shift.days, uid_of=made.uids.get)

    def remove(self, orthanc_patient: str) -> None:
        self._copier.remove(orthanc_patient)

    def package(self, orthanc_patient: str) -> Iterator[bytes]:
        with tempfile.NamedTemporaryFile(prefix="nadir-package-", suffix=".zip",
                                         delete=False) as out:
            path = Path(out.name)
            try:
                try:
                    write_package(self._orthanc, orthanc_patient, out)
                except OrthancNotFound as exc:
                    raise GoneFromPacs("the share's copy is no longer in the PACS") from exc
            except BaseException:
                path.unlink(missing_ok=True)  # no half-written package is left behind
                raise
        return stream_file(path)
