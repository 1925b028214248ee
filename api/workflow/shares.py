"""Shares of a case for a second opinion (issue 21): create, list, read, revoke.

A share copies the case's timepoint studies de-identified (:class:`ShareCopies`: a patient
of its own named by a random pseudonym, dates moved by one offset, new UIDs), creates a
review case over the copy (:func:`api.workflow.reviews.new_review`, its timepoints mapped
one to one onto the case's), and a user of role ``reviewer`` with one token that expires.
The token is shown once, in the answer to the creation; only its digest is stored.

Revoking commits first (the token is refused from the next request on), then removes the
copy from the PACS. Every step is audited on the original patient.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

from pydicom.uid import generate_uid

from api.workflow.case_reader import CaseReader
from api.workflow.domain import CaseStudyDate, utcnow
from api.workflow.errors import Conflict, GoneFromPacs, InvalidInput, NotAllowed, NotFound
from api.workflow.ports import ShareCopies, ShareStore
from api.workflow.reviews import blinding_reason, new_review
from api.workflow.roles import CASE_MANAGERS, Principal, check_role
from api.workflow.share_reading import copy_reading
from api.workflow.share_types import DeidentifiedCopy, NewShare, Share

#: The pseudonym's form: the copy's Patient Name and Patient ID (LO, at most 64).
PSEUDONYM_PREFIX = "NADIR-SHARE-"


class ShareNotFound(NotFound):
    def __init__(self, share_id: int) -> None:
        super().__init__(f"unknown share {share_id}")
        self.share_id = share_id


@dataclass(frozen=True)
class CreatedShare:
    share: Share
    #: The reviewer's bearer token: in this answer only.
    token: str


class ShareService:
    def __init__(self, reader: CaseReader, shares: ShareStore, copies: ShareCopies) -> None:
        self.reader = reader
        self.store = reader.store
        self.shares = shares
        self.copies = copies

    def create(self, who: Principal, case_id: int, new: NewShare) -> CreatedShare:
        check_role(who, CASE_MANAGERS)
        case = self.reader.case(case_id)
        blinded = blinding_reason(self.store, who, case, lambda c: [
            st.study_instance_uid for st in self.reader.timepoints(c)])
        if blinded is not None:
            # A share can carry the reading (include_measurements): not to a blinded reader.
            raise NotAllowed(blinded)
        if case.review_of is not None:
            raise InvalidInput(f"case {case.id} is a review of case {case.review_of}: share "
                               "the primary case")
        timepoints = self.reader.view(case).timepoints
        if not timepoints:
            raise InvalidInput(f"case {case.id} has no timepoint with images to share")
        pseudonym = PSEUDONYM_PREFIX + secrets.token_hex(6).upper()
        try:
            copy = self.copies.copy([st.orthanc_id for st in timepoints], pseudonym)
        except GoneFromPacs as gone:
            raise GoneFromPacs(f"case {case.id} cannot be shared: {gone.message}") from gone
        try:
            return self._record(who, case_id, new, pseudonym, copy)
        except BaseException:
            if copy.orthanc_patient is not None:
                self.copies.remove(copy.orthanc_patient)
            raise

    def _record(self, who: Principal, case_id: int, new: NewShare, pseudonym: str,
                copy: DeidentifiedCopy) -> CreatedShare:
        case = self.reader.case(case_id)
        store = self.store
        reviewer = f"reviewer-{pseudonym.lower()}"
        expires_at = utcnow() + dt.timedelta(days=new.expires_in_days)
        user_id, token = self.shares.add_reviewer(reviewer, expires_at)
        review = new_review(case, reader=reviewer, blinded=new.blinded, created_by=who.name,
                            patient_id=pseudonym,
                            baseline_study_uid=copy.studies[case.baseline_study_uid],
                            timepoint_map={c: s for s, c in copy.studies.items()})
        for dated in case.study_dates:
            # A date a radiologist gave to an undated study moves with the share's offset.
            if dated.study_uid in copy.studies:
                review.study_dates.append(CaseStudyDate(
                    study_uid=copy.studies[dated.study_uid],
                    date=dated.date - dt.timedelta(days=copy.offset_days),
                    reason="the shared case's date, moved by the share's offset",
                    set_by=who.name))
        store.add(review)
        if new.include_measurements:
            copy_reading(store, case, review, self.reader.current(case), copy,
                         lambda: str(generate_uid(prefix=None)))
        share = Share(
            case_id=case.id, review_case_id=review.id, patient_id=case.patient_id,
            pseudonym=pseudonym, user_id=user_id, reviewer=reviewer,
            copy_patient=copy.orthanc_patient, offset_days=copy.offset_days,
            blinded=new.blinded, include_measurements=new.include_measurements,
            note=new.note, studies=[{"source": s, "copy": c} for s, c in copy.studies.items()],
            left_out=[{"study_uid": lo.study_uid, "series_uid": lo.series_uid,
                       "series_number": lo.series_number, "modality": lo.modality,
                       "reason": lo.reason} for lo in copy.left_out],
            created_by=who.name, expires_at=expires_at)
        self.shares.add_share(share)
        store.audit(who, "share", f"cases/{case.id}/shares/{share.id}", case.patient_id)
        store.commit()
        return CreatedShare(share, token)

    def list_shares(self, who: Principal, case_id: int | None) -> list[Share]:
        check_role(who, CASE_MANAGERS)
        found = self.shares.shares(case_id)
        self.store.audit(who, "list", "shares" if case_id is None
                               else f"cases/{case_id}/shares",
                               found[0].patient_id if case_id is not None and found else None)
        self.store.commit()
        return found

    def read_share(self, who: Principal, share_id: int) -> Share:
        check_role(who, CASE_MANAGERS)
        share = self._share(share_id)
        self.store.audit(who, "read", f"shares/{share.id}", share.patient_id)
        self.store.commit()
        return share

    def revoke(self, who: Principal, share_id: int) -> Share:
        """Refuse the share's token from now on, then remove the copy (again if asked
        again: a removal that failed is retried)."""
        check_role(who, CASE_MANAGERS)
        share = self._share(share_id)
        if share.revoked_at is None:
            share.revoked_at, share.revoked_by = utcnow(), who.name
        self.shares.revoke_tokens(share.user_id)
        self.store.audit(who, "revoke", f"shares/{share.id}", share.patient_id)
        self.store.commit()
        if share.copy_patient is not None:
            self.copies.remove(share.copy_patient)
        return share

    def package(self, who: Principal, share_id: int) -> tuple[Share, Iterator[bytes]]:
        """The share's copy as DICOM media (zip with a DICOMDIR), for the sharer or the
        share's own reviewer; audited on the original patient."""
        check_role(who, CASE_MANAGERS)
        share = self._share(share_id)
        if who.share is not None and who.share.share_id != share.id:
            raise ShareNotFound(share_id)
        state = share.state(utcnow())
        if state != "active" or share.copy_patient is None:
            raise Conflict(f"share {share.id} is {state if state != 'active' else 'empty'}: "
                           "it has no copy to download")
        chunks = self.copies.package(share.copy_patient)
        self.store.audit(who, "package", f"cases/{share.case_id}/shares/{share.id}",
                               share.patient_id)
        self.store.commit()
        return share, chunks

    def _share(self, share_id: int) -> Share:
        share = self.shares.share(share_id)
        if share is None:
            raise ShareNotFound(share_id)
        return share
