"""A radiologist dates, for one case, a study whose DICOM carries no date at all.

Without a date a study cannot be placed among the case's timepoints; it is listed on the
case as left out (:func:`api.workflow.timeline.left_out`) until someone who reads the
images says when it was taken. The date holds for this case only; the index keeps what
the DICOM says, and every change is a new row (who, when, why) and an audit event.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from api.workflow.case_reader import CaseView
from api.workflow.cases import CaseService
from api.workflow.domain import CaseStudyDate, utcnow
from api.workflow.errors import Conflict, InvalidInput, NotFound
from api.workflow.events import ChangeKind
from api.workflow.reviews import dating_case
from api.workflow.roles import MEASURERS, Principal, check_role
from api.workflow.timeline import SET_FOR_CASE

#: Nadir contract: no image-based follow-up predates 1900 (a typo such as 0224 for 2024
#: is refused rather than placed a millennium before the baseline).
EARLIEST_DATE = dt.date(1900, 1, 1)
MAX_REASON = 1000
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class StudyDateChange:
    """A date for a study, as a radiologist gives it: ISO 8601 ``YYYY-MM-DD``, from
    :data:`EARLIEST_DATE` to ``today`` (UTC), with an optional reason."""

    date: dt.date
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.reason is not None and len(self.reason) > MAX_REASON:
            raise InvalidInput(f"reason: at most {MAX_REASON} characters")

    @classmethod
    def parse(cls, text: str, reason: str | None, today: dt.date) -> StudyDateChange:
        if not _ISO_DATE.fullmatch(text):
            raise InvalidInput(f"date: expected YYYY-MM-DD, got {text[:40]!r}")
        try:
            date = dt.date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(f"date: {text!r} is not a day of the calendar") from None
        if date < EARLIEST_DATE or date > today:
            raise InvalidInput(f"date: {text} is outside {EARLIEST_DATE.isoformat()} to "
                               f"today ({today.isoformat()})")
        return cls(date=date, reason=(reason or "").strip() or None)


def set_study_date(cases: CaseService, who: Principal, case_id: int, study_uid: str,
                   change: StudyDateChange) -> CaseView:
    """Date an undated study of the case's patient for this case; the case as it is now."""
    check_role(who, MEASURERS)
    case = cases.reader.case_for(who, case_id, write=True)
    study = next((st for st in cases.reader.case_studies(case)
                  if st.study_instance_uid == study_uid), None)
    if study is None:
        raise NotFound(f"study {study_uid!r} is not indexed for patient of case {case.id}")
    if dating_case(cases.store, case) is not case:
        raise Conflict(f"case {case.id} reviews case {case.review_of} over the same studies: "
                       f"their dates are set on case {case.review_of}")
    if study.study_date is not None and study.date_source != SET_FOR_CASE:
        raise Conflict(f"study {study_uid!r} is dated {study.study_date.isoformat()} by its "
                       f"{study.date_source}: only a study with no date in its DICOM can be "
                       "dated by hand")
    if study.study_instance_uid in {s.timepoint_uid for s in case.signoffs}:
        raise Conflict(f"timepoint {study_uid!r} is signed off: its date can no longer change")
    patient = cases.store.patient(case.patient_id)
    if patient is not None and patient.birth_date is not None \
            and change.date < patient.birth_date:
        raise InvalidInput(f"date: {change.date.isoformat()} is before the patient's birth "
                           f"date {patient.birth_date.isoformat()}")
    case.study_dates.append(CaseStudyDate(
        study_uid=study_uid, date=change.date, reason=change.reason,
        set_by=who.name, set_at=utcnow()))
    cases.store.audit(who, "set_study_date",
                      f"cases/{case.id}/studies/{study_uid}/date/{change.date.isoformat()}",
                      case.patient_id)
    cases.store.commit()
    cases.announce(case, ChangeKind.TIMEPOINT_DATED, who, timepoint_id=study_uid)
    return cases.reader.view(case)
