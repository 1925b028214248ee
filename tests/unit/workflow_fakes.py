"""In-memory fakes of the case service's ports (cosmicpython's FakeRepository).

They implement the same Protocols as the SQLAlchemy store and the Orthanc gateway, with
dicts instead of tables, so the workflow rules run in microseconds and without servers.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydicom.uid import CTImageStorage, generate_uid

from api.workflow.domain import (
    Case,
    Comparison,
    ComparisonPair,
    Lesion,
    LesionChange,
    MeasurementVersion,
    OutboxItem,
    PatientMarker,
    Publication,
    SrDraft,
)
from api.workflow.errors import RefusedByArchive, StaleVersion
from api.workflow.ports import Entity, LocatedInstance, StoredUpload, Study
from api.workflow.roles import Principal
from imaging.dicomfile import inspect_part10
from imaging.geometry import ImagePlane, PixelGeometry
from pacs.dimse import DicomPeer
from pacs.metadata import image_plane, pixel_geometry


@dataclass(kw_only=True, eq=False)
class FakeSeries:
    """An indexed series (:class:`api.workflow.ports.Series`)."""

    id: int
    series_instance_uid: str
    orthanc_id: str = "series"
    modality: str = "CT"
    sop_class_uid: str | None = CTImageStorage
    body_part: str | None = None
    description: str | None = None
    protocol: str | None = None
    series_number: int | None = None
    image_type: list[str] | None = None
    convolution_kernel: str | None = None
    slice_thickness_mm: float | None = None
    pixel_spacing_mm: list[float] | None = None
    orientation: list[float] | None = None
    frame_of_reference_uid: str | None = None
    contrast_agent: str | None = None
    instance_count: int = 1
    z_min_mm: float | None = None
    z_max_mm: float | None = None


@dataclass(kw_only=True, eq=False)
class FakeStudy:
    """An indexed study (:class:`api.workflow.ports.Study`)."""

    id: int
    study_instance_uid: str
    orthanc_id: str = "study"
    study_date: dt.date | None = None
    date_source: str | None = None
    study_time: str | None = None
    accession_number: str | None = None
    description: str | None = None
    other_patient_ids: list[Any] | None = None
    series: list[FakeSeries] = field(default_factory=list)

    def show_date(self, date: dt.date | None, source: str | None) -> None:
        self.study_date, self.date_source = date, source


@dataclass(kw_only=True, eq=False)
class FakePatient:
    """An indexed patient (:class:`api.workflow.ports.Patient`)."""

    id: int
    patient_id: str
    patient_name: str | None = None
    birth_date: dt.date | None = None
    sex: str | None = None
    studies: list[FakeStudy] = field(default_factory=list)


class FakeCaseStore:
    """A CaseStore over dicts; ``collide_next_write`` simulates a concurrent writer."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.patients: dict[str, FakePatient] = {}
        self.studies: dict[str, list[FakeStudy]] = {}
        self.instances: dict[str, LocatedInstance] = {}
        self.cases_by_id: dict[int, Case] = {}
        self.lesions: dict[int, Lesion] = {}
        self.versions: list[MeasurementVersion] = []
        self.changes: list[LesionChange] = []
        self.published: list[Publication] = []
        self.outbox: list[OutboxItem] = []
        self.comparisons: dict[int, Comparison] = {}
        self.sr_drafts: dict[int, SrDraft] = {}
        self.patient_markers: list[PatientMarker] = []
        self.audit_events: list[tuple[str, str, str, str | None]] = []
        #: Users by name, with their role (``user_role``).
        self.users: dict[str, str] = {}
        self.commits = 0
        self.collide_next_write = False

    # -- fixtures ----------------------------------------------------------------------------

    def add_study(self, patient_id: str, date: dt.date | None, *, slices: int = 3,
                  ) -> tuple[FakeStudy, list[str]]:
        """An indexed study with one CT series; returns the study and its SOP UIDs."""
        patient = self.patients.setdefault(patient_id, FakePatient(
            id=next(self._ids), patient_id=patient_id, patient_name="Test^Patient"))
        study = FakeStudy(id=next(self._ids), study_instance_uid=generate_uid(), study_date=date,
                          orthanc_id=f"study-{len(self.studies)}")
        series = FakeSeries(id=next(self._ids), series_instance_uid=generate_uid(),
                            instance_count=slices)
        study.series.append(series)
        patient.studies.append(study)
        self.studies.setdefault(patient_id, []).append(study)
        self.studies[patient_id].sort(key=lambda st: (st.study_date is None, st.study_date))
        uids = []
        for _ in range(slices):
            uid = generate_uid()
            self.instances[uid] = LocatedInstance(uid, CTImageStorage, series.series_instance_uid,
                                                  study.study_instance_uid, f"orthanc-{uid}")
            uids.append(uid)
        return study, uids

    # -- CaseStore ---------------------------------------------------------------------------

    def patient(self, patient_id: str) -> FakePatient | None:
        return self.patients.get(patient_id)

    def studies_of(self, patient_id: str) -> list[Study] | None:
        found: list[Study] = list(self.studies.get(patient_id, []))
        return found if patient_id in self.patients else None

    def locate_instance(self, sop_instance_uid: str) -> LocatedInstance | None:
        return self.instances.get(sop_instance_uid)

    def locate_instances(self, sop_instance_uids: Iterable[str]
                         ) -> dict[str, LocatedInstance]:
        return {uid: self.instances[uid] for uid in sop_instance_uids if uid in self.instances}

    def patient_of_study(self, study_uid: str) -> str | None:
        return next((pid for pid, studies in self.studies.items()
                     for st in studies if st.study_instance_uid == study_uid), None)

    def add(self, entity: Entity) -> None:
        if self.collide_next_write:
            self.collide_next_write = False
            raise StaleVersion("another change was saved at the same time")
        if isinstance(entity, MeasurementVersion):
            if any(v.lesion_id == entity.lesion_id and v.version == entity.version
                   for v in self.versions):
                raise StaleVersion("another change was saved at the same time")
            self.versions.append(entity)
        entity.id = next(self._ids)
        if isinstance(entity, Case):
            self.cases_by_id[entity.id] = entity
        elif isinstance(entity, Lesion):
            self.lesions[entity.id] = entity
        elif isinstance(entity, Publication):
            self.published.append(entity)
        elif isinstance(entity, OutboxItem):
            if any((o.ae_title, o.host, o.port, o.sop_instance_uid) == (
                    entity.ae_title, entity.host, entity.port, entity.sop_instance_uid)
                   for o in self.outbox):
                raise StaleVersion("this object is already queued for this destination")
            self.outbox.append(entity)
        elif isinstance(entity, PatientMarker):
            self.patient_markers.append(entity)
        elif isinstance(entity, LesionChange):
            self.changes.append(entity)
        elif isinstance(entity, Comparison):
            entity.version = 1
            self.comparisons[entity.id] = entity

    def case(self, case_id: int) -> Case | None:
        return self.cases_by_id.get(case_id)

    def cases(self, patient_id: str | None, limit: int) -> list[Case]:
        found = [c for c in self.cases_by_id.values()
                 if patient_id is None or c.patient_id == patient_id]
        return sorted(found, key=lambda c: -c.id)[:limit]

    def case_ids_of(self, patient_id: str) -> list[int]:
        return [c.id for c in self.cases_by_id.values() if c.patient_id == patient_id]

    def reviews_of(self, case_id: int) -> list[Case]:
        return [c for c in sorted(self.cases_by_id.values(), key=lambda c: c.id)
                if c.review_of == case_id]

    def reviews_signed_off_somewhere(self) -> list[Case]:
        return [c for c in sorted(self.cases_by_id.values(), key=lambda c: c.id)
                if c.review_of is not None and c.signoffs]

    def reviews_read_by(self, reader: str) -> list[Case]:
        return [c for c in sorted(self.cases_by_id.values(), key=lambda c: c.id)
                if c.review_of is not None and c.reader == reader]

    def user_role(self, name: str) -> str | None:
        return self.users.get(name)

    def lesion(self, lesion_id: int) -> Lesion | None:
        return self.lesions.get(lesion_id)

    def measurements(self, lesion_ids: Iterable[int]) -> list[MeasurementVersion]:
        ids = set(lesion_ids)
        return sorted((v for v in self.versions if v.lesion_id in ids), key=lambda v: v.version)

    def newest_measurements(self, lesion_ids: Iterable[int]) -> list[MeasurementVersion]:
        newest: dict[tuple[int, str], MeasurementVersion] = {}
        for v in self.measurements(lesion_ids):
            newest[(v.lesion_id, v.timepoint_uid)] = v
        return sorted(newest.values(), key=lambda v: v.version)

    def latest_version(self, lesion_id: int) -> int:
        return max((v.version for v in self.versions if v.lesion_id == lesion_id), default=0)

    def lesion_changes(self, lesion_id: int) -> list[LesionChange]:
        return [c for c in self.changes if c.lesion_id == lesion_id]

    def latest_publication(self, case_id: int, kind: str, timepoint_uid: str
                           ) -> Publication | None:
        found = [p for p in self.published if (p.case_id, p.kind, p.timepoint_uid)
                 == (case_id, kind, timepoint_uid)]
        return found[-1] if found else None

    def publications(self, case_id: int) -> list[Publication]:
        return [p for p in self.published if p.case_id == case_id]

    def sends(self, case_id: int) -> list[OutboxItem]:
        return [o for o in self.outbox if o.case_id == case_id]

    def indexed_instances(self, sop_instance_uids: Iterable[str]) -> set[str]:
        return {uid for uid in sop_instance_uids if uid in self.instances}

    def comparison(self, comparison_id: int) -> Comparison | None:
        return self.comparisons.get(comparison_id)

    def newest_comparison(self, patient_id: str, baseline_uid: str, followup_uid: str
                          ) -> Comparison | None:
        found = [c for c in self.comparisons.values()
                 if (c.patient_id, c.baseline_study_uid, c.followup_study_uid)
                 == (patient_id, baseline_uid, followup_uid)]
        return found[-1] if found else None

    def replace_pairs(self, comparison: Comparison, pairs: Sequence[ComparisonPair]) -> None:
        comparison.pairs = list(pairs)
        comparison.version += 1

    def drafts(self, case_id: int) -> list[SrDraft]:
        return [d for d in self.sr_drafts.values() if d.case_id == case_id]

    def markers_of(self, patient_id: str) -> list[PatientMarker]:
        return sorted((m for m in self.patient_markers if m.patient_id == patient_id),
                      key=lambda m: (m.date, m.id))

    def draft(self, draft_id: int) -> SrDraft | None:
        return self.sr_drafts.get(draft_id)

    def audit(self, who: Principal, action: str, resource: str,
              patient_id: str | None) -> None:
        self.audit_events.append((who.name, action, resource, patient_id))

    def commit(self) -> None:
        self.commits += 1

    def rollback(self) -> None:
        pass


class FakePacs:
    """Image headers by Orthanc id; records what is stored and when the outbox changed."""

    def __init__(self, *, rows: int = 64, columns: int = 64,
                 spacing: tuple[float, float] = (0.5, 0.8),
                 hospital: DicomPeer | None = None) -> None:
        self.tags: dict[str, Any] = {
            "Rows": str(rows), "Columns": str(columns),
            "PixelSpacing": f"{spacing[0]}\\{spacing[1]}"}
        self.stored: list[bytes] = []
        self.hospital = hospital
        self.outbox_changes = 0

    def pixel_geometry(self, orthanc_id: str, frame: int) -> PixelGeometry:
        return pixel_geometry(self.tags, frame)

    def image_plane(self, orthanc_id: str, frame: int) -> ImagePlane | None:
        return image_plane(self.tags, frame)

    def instance_file(self, orthanc_id: str) -> bytes:
        raise KeyError(orthanc_id)

    def store(self, dicom_file: bytes) -> None:
        self.stored.append(dicom_file)

    def outbox_changed(self) -> None:
        self.outbox_changes += 1


@dataclass
class FakeUploadedFile:
    """An uploaded file held in memory (:class:`api.workflow.ports.UploadedFile`)."""

    name: str
    data: bytes

    @property
    def read(self) -> Callable[[], bytes]:
        return lambda: self.data


class FakeUploadArchive:
    """An image archive by SOP Instance UID; ``refuse`` names files it refuses as
    unreadable (by their bytes), ``filter_out`` those it does not keep, ``fail_after`` makes
    the n-th store fail as an unreachable archive would."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.removed: list[str] = []
        self.refuse: set[bytes] = set()
        self.filter_out: set[bytes] = set()
        self.fail_after: int | None = None
        self._stores = 0

    def store(self, dicom_file: bytes) -> StoredUpload:
        self._stores += 1
        if self.fail_after is not None and self._stores > self.fail_after:
            raise ConnectionError("the archive is unreachable")
        if dicom_file in self.refuse:
            raise RefusedByArchive("bad file, says the archive")
        uid = inspect_part10(dicom_file).sop_instance_uid
        if dicom_file in self.filter_out:
            return StoredUpload(uid, new=False)
        if uid in self.files:
            return StoredUpload(uid, new=False, already_stored=True)
        self.files[uid] = dicom_file
        return StoredUpload(uid, new=True)

    def stored_file(self, archive_id: str) -> bytes:
        return self.files[archive_id]

    def remove(self, archive_id: str) -> None:
        self.removed.append(archive_id)
        del self.files[archive_id]
