"""The SQLAlchemy implementation of :class:`~api.workflow.ports.PriorStore`: the prior
fetches (api/db/priors.py) and the index reads the automatic fetch needs."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import AuditEvent, Patient, Series, Study
from api.db.priors import AUTOMATIC, FAILED, PENDING, PriorFetch
from api.workflow import ports
from api.workflow.ports import PriorRequest
from api.workflow.roles import Principal
from pacs.errors import PacsError
from pacs.query_retrieve import PriorQuery


class SqlPriorStore:
    """A unit of work on one SQLAlchemy session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def patient_known(self, patient_id: str) -> bool:
        return self.session.scalar(
            select(Patient.id).where(Patient.patient_id == patient_id)) is not None

    def query_problem(self, wanted: PriorRequest) -> str | None:
        try:
            PriorQuery(wanted.patient_id, wanted.modality, wanted.date_from, wanted.date_to)
        except PacsError as exc:
            return str(exc)
        return None

    def queue(self, wanted: PriorRequest, trigger: str, requested_by: str | None,
              source: str) -> ports.PriorFetch:
        fetch = PriorFetch(patient_id=wanted.patient_id, modality=wanted.modality,
                           date_from=wanted.date_from, date_to=wanted.date_to,
                           trigger=trigger, requested_by=requested_by, source=source,
                           state=PENDING, attempts=0, studies=[])
        self.session.add(fetch)
        self.session.flush()
        return fetch

    def fetch(self, fetch_id: int) -> ports.PriorFetch | None:
        return self.session.get(PriorFetch, fetch_id)

    def fetches_of(self, patient_id: str) -> list[ports.PriorFetch]:
        found: list[ports.PriorFetch] = list(self.session.scalars(select(PriorFetch).where(
            PriorFetch.patient_id == patient_id).order_by(PriorFetch.id)))
        return found

    def automatic_fetch_started(self, patient_id: str, modality: str) -> bool:
        return self.session.scalar(select(PriorFetch.id).where(
            PriorFetch.patient_id == patient_id, PriorFetch.modality == modality,
            PriorFetch.trigger == AUTOMATIC, PriorFetch.state != FAILED).limit(1)) is not None

    def study_date_of(self, patient_id: str, study_uid: str) -> tuple[dt.date | None] | None:
        study = self._study(study_uid)
        if study is None or study.patient.patient_id != patient_id:
            return None
        return (study.study_date,)

    def other_dates_of_modality(self, study_uid: str, modality: str) -> list[dt.date | None]:
        study = self._study(study_uid)
        if study is None:
            return []
        return list(self.session.scalars(
            select(Study.study_date).join(Series, Series.study_pk == Study.id).where(
                Study.patient_pk == study.patient_pk, Study.id != study.id,
                Series.modality == modality)))

    def _study(self, study_uid: str) -> Study | None:
        return self.session.scalar(select(Study).where(Study.study_instance_uid == study_uid))

    def audit(self, who: Principal, action: str, resource: str,
              patient_id: str | None) -> None:
        self.session.add(AuditEvent(user_name=who.name, action=action, resource=resource,
                                    patient_id=patient_id))

    def commit(self) -> None:
        self.session.commit()
