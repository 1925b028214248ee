"""The SQLAlchemy implementation of :class:`~api.workflow.ports.CaseStore`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import QueryableAttribute, Session, selectinload, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from api.db.image_checks import ImageCheck
from api.db.models import (
    AuditEvent,
    Case,
    Comparison,
    ComparisonPair,
    Instance,
    Lesion,
    LesionChange,
    MeasurementVersion,
    Patient,
    PatientMarker,
    Publication,
    Series,
    SrDraft,
    Study,
    User,
    cases_table,
    comparisons_table,
    lesion_changes_table,
    lesions_table,
    measurement_versions_table,
    patient_markers_table,
    publications_table,
    sr_drafts_table,
    timepoint_signoffs_table,
)
from api.db.outbox import OutboxItem, outbox_table
from api.workflow import ports
from api.workflow.errors import StaleVersion
from api.workflow.ports import Entity, LocatedInstance, WorklistRows
from api.workflow.ports import Study as IndexedStudy
from api.workflow.roles import Principal

_publications = publications_table.c
_outbox = outbox_table.c
_comparisons = comparisons_table.c
_drafts = sr_drafts_table.c

#: Primary keys are 32-bit integers on every database Nadir runs on: an id beyond that
#: range names nothing (and must not reach the database driver, which would fail).
MAX_ID = 2**31 - 1
# The case aggregate's classes are plain dataclasses: queries name the tables' columns.
_cases = cases_table.c
_versions = measurement_versions_table.c
_changes = lesion_changes_table.c
_markers = patient_markers_table.c
CONCURRENT_WRITE = "another change was saved at the same time; read it again and retry"


def _relation(entity: type[object], name: str) -> QueryableAttribute[Any]:
    """A relationship of a mapped domain class, for loader options (the dataclass itself
    declares it as a plain list)."""
    attribute: QueryableAttribute[Any] = getattr(entity, name)
    return attribute


def _valid_id(value: int) -> bool:
    return 0 < value <= MAX_ID


@contextmanager
def unit_of_work(sessions: sessionmaker[Session]) -> Iterator[SqlCaseStore]:
    """A store on a new session, closed on exit (what is not committed is dropped)."""
    with sessions() as session:
        yield SqlCaseStore(session)


class SqlCaseStore:
    """A unit of work on one SQLAlchemy session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def patient(self, patient_id: str) -> Patient | None:
        return self.session.scalar(select(Patient).where(Patient.patient_id == patient_id))

    def studies_of(self, patient_id: str) -> list[IndexedStudy] | None:
        patient = self.patient(patient_id)
        if patient is None:
            return None
        studies: list[IndexedStudy] = list(self.session.scalars(
            select(Study).where(Study.patient_pk == patient.id)
            .options(selectinload(Study.series))))
        studies.sort(key=lambda st: (st.study_date is None, st.study_date, st.study_time or "",
                                     st.study_instance_uid))
        return studies

    def locate_instance(self, sop_instance_uid: str) -> LocatedInstance | None:
        row = self.session.execute(
            select(Instance.orthanc_id, Series.sop_class_uid, Series.series_instance_uid,
                   Study.study_instance_uid)
            .join(Series, Instance.series_pk == Series.id)
            .join(Study, Series.study_pk == Study.id)
            .where(Instance.sop_instance_uid == sop_instance_uid)
        ).first()
        if row is None:
            return None
        return LocatedInstance(sop_instance_uid, row[1] or "", row[2], row[3], row[0])

    def locate_instances(self, sop_instance_uids: Iterable[str]
                         ) -> dict[str, LocatedInstance]:
        uids = sorted(set(sop_instance_uids))
        if not uids:
            return {}
        rows = self.session.execute(
            select(Instance.sop_instance_uid, Instance.orthanc_id, Series.sop_class_uid,
                   Series.series_instance_uid, Study.study_instance_uid)
            .join(Series, Instance.series_pk == Series.id)
            .join(Study, Series.study_pk == Study.id)
            .where(Instance.sop_instance_uid.in_(uids)))
        found: dict[str, LocatedInstance] = {}
        for uid, orthanc_id, sop_class, series_uid, study_uid in rows:
            # As locate_instance: the first row of a UID held twice.
            found.setdefault(uid, LocatedInstance(uid, sop_class or "", series_uid, study_uid,
                                                  orthanc_id))
        return found

    def patient_of_study(self, study_uid: str) -> str | None:
        return self.session.scalar(
            select(Patient.patient_id).join(Study, Study.patient_pk == Patient.id)
            .where(Study.study_instance_uid == study_uid))

    def add(self, entity: Entity) -> None:
        self.session.add(entity)
        try:
            self.session.flush()
        except IntegrityError:
            self.session.rollback()
            raise StaleVersion(CONCURRENT_WRITE) from None

    def case(self, case_id: int) -> Case | None:
        return self.session.get(Case, case_id) if _valid_id(case_id) else None

    def cases(self, patient_id: str | None, limit: int) -> list[Case]:
        query = select(Case).order_by(_cases.id.desc())
        if patient_id is not None:
            query = query.where(_cases.patient_id == patient_id)
        return list(self.session.scalars(query.limit(limit)))

    def case_ids_of(self, patient_id: str) -> list[int]:
        return list(self.session.scalars(select(_cases.id).where(_cases.patient_id == patient_id)))

    def reviews_of(self, case_id: int) -> list[Case]:
        if not _valid_id(case_id):
            return []
        return list(self.session.scalars(
            select(Case).where(_cases.review_of == case_id).order_by(_cases.id)))

    def reviews_signed_off_somewhere(self) -> list[Case]:
        # One query, and one for their sign-offs: cases without a review, and reviews not
        # signed off anywhere, are never loaded.
        signed = select(timepoint_signoffs_table.c.id).where(
            timepoint_signoffs_table.c.case_id == _cases.id).exists()
        return list(self.session.scalars(
            select(Case).where(_cases.review_of.is_not(None), signed)
            .options(selectinload(Case.signoffs))  # type: ignore[arg-type]
            .order_by(_cases.id)))

    def reviews_read_by(self, reader: str) -> list[Case]:
        return list(self.session.scalars(
            select(Case).where(_cases.reader == reader, _cases.review_of.is_not(None))
            .order_by(_cases.id)))

    def user_role(self, name: str) -> str | None:
        return self.session.scalar(select(User.role).where(User.name == name))

    def lesion(self, lesion_id: int) -> Lesion | None:
        return self.session.get(Lesion, lesion_id) if _valid_id(lesion_id) else None

    def measurements(self, lesion_ids: Iterable[int]) -> list[MeasurementVersion]:
        ids = list(lesion_ids)
        if not ids:
            return []
        return list(self.session.scalars(
            select(MeasurementVersion).where(_versions.lesion_id.in_(ids))
            .order_by(_versions.version)))

    def newest_measurements(self, lesion_ids: Iterable[int]) -> list[MeasurementVersion]:
        ids = list(lesion_ids)
        if not ids:
            return []
        newest = (select(_versions.lesion_id, _versions.timepoint_uid,
                         func.max(_versions.version).label("version"))
                  .where(_versions.lesion_id.in_(ids))
                  .group_by(_versions.lesion_id, _versions.timepoint_uid).subquery())
        return list(self.session.scalars(
            select(MeasurementVersion).join(newest, and_(
                _versions.lesion_id == newest.c.lesion_id,
                _versions.timepoint_uid == newest.c.timepoint_uid,
                _versions.version == newest.c.version))
            .order_by(_versions.version)))

    def latest_version(self, lesion_id: int) -> int:
        return self.session.scalar(select(func.max(_versions.version))
                                   .where(_versions.lesion_id == lesion_id)) or 0

    def lesion_changes(self, lesion_id: int) -> list[LesionChange]:
        return list(self.session.scalars(select(LesionChange).where(
            _changes.lesion_id == lesion_id).order_by(_changes.id)))

    def latest_publication(self, case_id: int, kind: str, timepoint_uid: str
                           ) -> Publication | None:
        return self.session.scalar(select(Publication).where(
            _publications.case_id == case_id, _publications.kind == kind,
            _publications.timepoint_uid == timepoint_uid
        ).order_by(_publications.id.desc()).limit(1))

    def publications(self, case_id: int) -> list[Publication]:
        return list(self.session.scalars(select(Publication).where(
            _publications.case_id == case_id).order_by(_publications.id)))

    def sends(self, case_id: int) -> list[OutboxItem]:
        return list(self.session.scalars(select(OutboxItem).where(
            _outbox.case_id == case_id).order_by(_outbox.id)))

    def indexed_instances(self, sop_instance_uids: Iterable[str]) -> set[str]:
        uids = sorted(set(sop_instance_uids))
        found: set[str] = set()
        for start in range(0, len(uids), 500):  # bounded IN lists
            found.update(self.session.scalars(select(Instance.sop_instance_uid).where(
                Instance.sop_instance_uid.in_(uids[start:start + 500]))))
        return found

    def comparison(self, comparison_id: int) -> Comparison | None:
        if not _valid_id(comparison_id):
            return None
        return self.session.get(Comparison, comparison_id)

    def newest_comparison(self, patient_id: str, baseline_uid: str, followup_uid: str
                          ) -> Comparison | None:
        return self.session.scalar(select(Comparison).where(
            _comparisons.patient_id == patient_id,
            _comparisons.baseline_study_uid == baseline_uid,
            _comparisons.followup_study_uid == followup_uid,
        ).order_by(_comparisons.id.desc()).limit(1))

    def replace_pairs(self, comparison: Comparison, pairs: Sequence[ComparisonPair]) -> None:
        from sqlalchemy.orm.attributes import flag_modified

        comparison.pairs.clear()
        self.session.flush()
        comparison.pairs.extend(pairs)
        # Update the comparison row itself: its version is bumped and checked on commit.
        flag_modified(comparison, "excluded")

    def drafts(self, case_id: int) -> list[SrDraft]:
        return list(self.session.scalars(select(SrDraft).where(_drafts.case_id == case_id)
                                         .order_by(_drafts.id)))

    def markers_of(self, patient_id: str) -> list[PatientMarker]:
        return list(self.session.scalars(
            select(PatientMarker).where(_markers.patient_id == patient_id)
            .order_by(_markers.date, _markers.id)))

    def draft(self, draft_id: int) -> SrDraft | None:
        return self.session.get(SrDraft, draft_id) if _valid_id(draft_id) else None

    # -- the read-only views (ViewStore) ----------------------------------------------------

    def patient_counts(self) -> list[tuple[str, str | None, int]]:
        rows = self.session.execute(
            select(Patient.patient_id, Patient.patient_name, func.count(Study.id))
            .outerjoin(Study, Study.patient_pk == Patient.id)
            .group_by(Patient.id)
            .order_by(Patient.patient_id)
        ).all()
        return [(pid, name, count) for pid, name, count in rows]

    def audit_events(self, patient_id: str | None, user: str | None, limit: int
                     ) -> list[ports.AuditEvent]:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if patient_id is not None:
            query = query.where(AuditEvent.patient_id == patient_id)
        if user is not None:
            query = query.where(AuditEvent.user_name == user)
        found: list[ports.AuditEvent] = list(self.session.scalars(query.limit(limit)))
        return found

    def worklist_rows(self) -> WorklistRows:
        patients = list(self.session.scalars(
            select(Patient).options(selectinload(Patient.studies))
            .order_by(Patient.patient_id)))
        cases = list(self.session.scalars(select(Case).options(
            selectinload(_relation(Case, "lesions")), selectinload(_relation(Case, "signoffs")),
            selectinload(_relation(Case, "study_dates")))))
        measurements = self.session.scalars(
            select(MeasurementVersion)
            .join(lesions_table, lesions_table.c.id == _versions.lesion_id)
            .where(lesions_table.c.deleted_at.is_(None)).order_by(_versions.version))
        return WorklistRows(patients, cases, measurements,
                            self.session.scalars(select(PatientMarker)))

    def images_flagged(self, study_uids: Sequence[str]) -> list[ports.ImageCheck]:
        found: list[ports.ImageCheck] = list(self.session.scalars(select(ImageCheck).where(
            ImageCheck.study_instance_uid.in_(list(study_uids)),
            or_(ImageCheck.refused_reason.is_not(None),
                ImageCheck.resent_attributes.is_not(None)))
            .order_by(ImageCheck.study_instance_uid, ImageCheck.series_instance_uid,
                      ImageCheck.sop_instance_uid)))
        return found

    def audit(self, who: Principal, action: str, resource: str,
              patient_id: str | None) -> None:
        # Added to this unit of work, so it commits with the data it covers.
        self.session.add(AuditEvent(user_name=who.name, action=action, resource=resource,
                                    patient_id=patient_id))

    def commit(self) -> None:
        try:
            self.session.commit()
        except (IntegrityError, StaleDataError):
            self.session.rollback()
            raise StaleVersion(CONCURRENT_WRITE) from None

    def rollback(self) -> None:
        self.session.rollback()
