"""Tumour markers of a patient: lab levels recorded beside the scans (RECIST 1.1 s.3.2.2,
s.4.3.3). Which level counts for a timepoint, and when a raised one holds back a complete
response, is the engine's rule (:mod:`measurement.markers`); this service records and
lists the levels.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from api.workflow.case_reader import patient_studies
from api.workflow.domain import PatientMarker, utcnow
from api.workflow.errors import InvalidInput, StaleVersion
from api.workflow.ports import CaseStore
from api.workflow.roles import CASE_MANAGERS, READERS, Principal, check_role

#: Nadir contract: no serum marker is reported above 10^9 of any unit.
MAX_MARKER_LEVEL = 1e9


@dataclass(frozen=True)
class NewMarkerValue:
    """One tumour marker level from the lab (RECIST 1.1 s.3.2.2)."""

    name: str
    unit: str
    upper_limit_normal: float
    value: float
    date: dt.date

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InvalidInput("name: must not be empty")
        for field_name in ("upper_limit_normal", "value"):
            number = getattr(self, field_name)
            if not math.isfinite(number) or number < 0 or number > MAX_MARKER_LEVEL:
                raise InvalidInput(f"{field_name}: must be a finite number from 0 to "
                                   f"{MAX_MARKER_LEVEL:g}, got {number!r}")
        if self.upper_limit_normal <= 0:
            raise InvalidInput("upper_limit_normal: must be greater than 0")


class MarkerService:
    """Use cases of a patient's tumour markers for one unit of work (a request)."""

    def __init__(self, store: CaseStore) -> None:
        self.store = store

    def record_marker(self, who: Principal, patient_id: str, new: NewMarkerValue
                      ) -> PatientMarker:
        """Record a tumour marker level of an indexed patient (radiologist or admin)."""
        check_role(who, CASE_MANAGERS)
        patient_studies(self.store, patient_id)  # the patient must be known
        marker = PatientMarker(patient_id=patient_id, name=new.name.strip(),
                               unit=new.unit.strip(),
                               upper_limit_normal=new.upper_limit_normal, value=new.value,
                               date=new.date, recorded_by=who.name, recorded_at=utcnow())
        self.store.add(marker)
        self.store.audit(who, "record_marker", f"patients/{patient_id}/markers/{marker.id}",
                         patient_id)
        self._commit()
        return marker

    def markers(self, who: Principal, patient_id: str) -> list[PatientMarker]:
        """The patient's levels, oldest first."""
        check_role(who, READERS)
        patient_studies(self.store, patient_id)
        found = self.store.markers_of(patient_id)
        self.store.audit(who, "read", f"patients/{patient_id}/markers", patient_id)
        self._commit()
        return found

    def _commit(self) -> None:
        try:
            self.store.commit()
        except StaleVersion:
            self.store.rollback()
            raise
