"""Series metadata from the index: ``/dicom-web/studies/{s}/series/{se}/metadata`` in
one query (the store; api/workers/series_metadata.py fills it).

Orthanc's DICOMweb plugin (1.7) reads every file of a series to answer its metadata (about
0.9 s for 300 slices), and the viewer waits for it before its first image. Nadir keeps each
instance's DICOM JSON without bulk data in its index (``instances.dicom_json``, cut from
Orthanc's own answer by :mod:`pacs.dicomjson`, so every attribute is Orthanc's text) and
answers from there. Orthanc stays the source of pixels and of everything else.

The index also picks a series' representative image for its thumbnail
(:meth:`SeriesMetadataStore.representative_image`): the plugin (1.7) has no thumbnail
resources, and finding the middle image by a QIDO-RS search of the series read every file
of it (3 s for 300 slices while the viewer prefetched).

When: after ingest indexes a series (an observer of the change-feed follower), a worker
thread asks Orthanc once for the series' metadata and stores it. Until every indexed
instance of the series has its JSON (a series just indexed, one that grew, an index older
than this store), the proxy passes the request to Orthanc as before and the series is
queued to be filled.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import sessionmaker

from api.db.models import Instance, Series, Study
from pacs.dicomjson import InstanceJson, join_series_metadata


@dataclass(frozen=True)
class RepresentativeImage:
    """The image a series' thumbnail shows: an instance, and its frame when it has several."""

    sop_instance_uid: str
    frame: int | None = None


@dataclass(frozen=True)
class IndexedImage:
    """An instance as the index knows it, for :func:`representative`."""

    sop_instance_uid: str
    instance_number: int | None
    #: The frame numbers of a multi-frame image, in order; empty for a single frame.
    frames: tuple[int, ...] = ()


def representative(images: list[IndexedImage]) -> RepresentativeImage | None:
    """The series' middle image by Instance Number (a missing number counts 0; ties by SOP
    Instance UID), and of a multi-frame image its middle frame: for a CT or MR stack the
    middle of the volume, where the first image is its edge (the shoulders, say). None for
    a series without images."""
    if not images:
        return None
    ordered = sorted(images, key=lambda i: (i.instance_number or 0, i.sop_instance_uid))
    middle = ordered[len(ordered) // 2]
    frames = sorted(middle.frames)
    return RepresentativeImage(middle.sop_instance_uid,
                               frames[len(frames) // 2] if len(frames) > 1 else None)


@dataclass(frozen=True)
class SeriesMetadata:
    """The answer: a DICOM JSON array and its entity tag (a digest of the bytes)."""

    body: bytes
    etag: str


class SeriesMetadataStore:
    """Reads and writes ``instances.dicom_json``."""

    def __init__(self, sessions: sessionmaker[Any]) -> None:
        self._sessions = sessions

    def answer(self, study_uid: str, series_uid: str) -> SeriesMetadata | None:
        """The series' metadata, or None while any indexed instance of it has none."""
        with self._sessions() as s:
            rows = s.scalars(
                select(Instance.dicom_json)
                .join(Series, Instance.series_pk == Series.id)
                .join(Study, Series.study_pk == Study.id)
                .where(Series.series_instance_uid == series_uid,
                       Study.study_instance_uid == study_uid)
                .order_by(Instance.instance_number, Instance.id)).all()
        if not rows or any(row is None for row in rows):
            return None
        body = join_series_metadata([row.encode("utf-8") for row in rows if row is not None])
        return SeriesMetadata(body, f'"md-{hashlib.sha256(body).hexdigest()[:32]}"')

    def representative_image(self, study_uid: str, series_uid: str
                             ) -> RepresentativeImage | None:
        """The image of the series its thumbnail shows (:func:`representative`); None when
        the index has no image of that series in that study."""
        with self._sessions() as s:
            rows = s.execute(
                select(Instance.sop_instance_uid, Instance.instance_number, Instance.frames)
                .join(Series, Instance.series_pk == Series.id)
                .join(Study, Series.study_pk == Study.id)
                .where(Series.series_instance_uid == series_uid,
                       Study.study_instance_uid == study_uid)).all()
        return representative([
            IndexedImage(uid, number, tuple(int(f["frame"]) for f in frames or ()))
            for uid, number, frames in rows])

    def store(self, study_uid: str, series_uid: str, instances: list[InstanceJson]) -> int:
        """Keep each instance's JSON on the index's row of it; return how many rows took one.
        Instances Orthanc has and the index does not (yet) are left out."""
        with self._sessions.begin() as s:
            series_pk = s.scalar(select(Series.id).join(Study, Series.study_pk == Study.id)
                                 .where(Series.series_instance_uid == series_uid,
                                        Study.study_instance_uid == study_uid))
            if series_pk is None or not instances:
                return 0
            table = cast(Table, Instance.__table__)
            result = s.connection().execute(
                update(table)
                .where(table.c.series_pk == series_pk,
                       table.c.sop_instance_uid == bindparam("uid"))
                .values(dicom_json=bindparam("text")),
                [{"uid": i.sop_instance_uid, "text": i.text} for i in instances])
            return int(result.rowcount or 0)
