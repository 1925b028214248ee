"""Comparisons: a baseline study and a follow-up study of a patient, with paired series."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Response
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

from api.audit import audit
from api.auth import READERS, Principal, Role, require
from api.db.models import Comparison, ComparisonPair, Study
from api.deps import db_session
from api.errors import ApiError
from api.index_store import pair_studies
from api.routes.patients import studies_of

router = APIRouter(prefix="/api/v1/comparisons")


class ComparisonRequest(BaseModel):
    patient_id: str = Field(min_length=1)
    baseline_study_uid: str | None = None
    followup_study_uid: str | None = None


class PairIn(BaseModel):
    baseline_series_uid: str = Field(min_length=1)
    followup_series_uid: str = Field(min_length=1)


class PairsOverride(BaseModel):
    pairs: list[PairIn]


def _pick_study(studies: list[Study], uid: str | None, role: str, default: Study) -> Study:
    if uid is None:
        return default
    for st in studies:
        if st.study_instance_uid == uid:
            return st
    raise ApiError(422, f"{role}_study_uid {uid!r} is not an indexed study of this patient")


def comparison_json(c: Comparison, baseline: Study, followup: Study) -> dict[str, Any]:
    paired_b = {p.baseline_series_uid for p in c.pairs}
    paired_f = {p.followup_series_uid for p in c.pairs}
    return {
        "id": c.id,
        "patient_id": c.patient_id,
        "baseline_study_uid": c.baseline_study_uid,
        "followup_study_uid": c.followup_study_uid,
        "version": c.version,
        "pairs": [
            {"baseline_series_uid": p.baseline_series_uid,
             "followup_series_uid": p.followup_series_uid,
             "score": p.score, "reasons": list(p.reasons), "source": p.source}
            for p in c.pairs
        ],
        "unpaired_baseline": sorted(s.series_instance_uid for s in baseline.series
                                    if s.series_instance_uid not in paired_b),
        "unpaired_followup": sorted(s.series_instance_uid for s in followup.series
                                    if s.series_instance_uid not in paired_f),
        "excluded": [{"series_instance_uid": uid, "reason": why} for uid, why in c.excluded],
    }


def _load(session: Session, comparison_id: int) -> tuple[Comparison, Study, Study]:
    c = session.get(Comparison, comparison_id)
    if c is None:
        raise ApiError(404, f"unknown comparison {comparison_id}")
    studies = {st.study_instance_uid: st for st in studies_of(session, c.patient_id)}
    return c, studies[c.baseline_study_uid], studies[c.followup_study_uid]


def _etag(c: Comparison) -> str:
    return f'"comparison-{c.id}-v{c.version}"'


@router.post("", status_code=201)
def create_comparison(
    body: ComparisonRequest,
    response: Response,
    who: Principal = Depends(require(*READERS)),  # noqa: B008
    session: Session = Depends(db_session),  # noqa: B008
) -> dict[str, Any]:
    studies = studies_of(session, body.patient_id)
    if len(studies) < 2 and not (body.baseline_study_uid and body.followup_study_uid):
        raise ApiError(422, f"patient {body.patient_id!r} has {len(studies)} indexed "
                       "study; a comparison needs a baseline and a follow-up")
    baseline = _pick_study(studies, body.baseline_study_uid, "baseline", studies[0])
    followup = _pick_study(studies, body.followup_study_uid, "followup", studies[-1])
    if baseline.id == followup.id:
        raise ApiError(422, "baseline_study_uid and followup_study_uid are the same study")
    pairing = pair_studies(baseline, followup)
    c = Comparison(
        patient_id=body.patient_id, baseline_study_uid=baseline.study_instance_uid,
        followup_study_uid=followup.study_instance_uid, created_by=who.name,
        excluded=[list(e) for e in pairing.excluded],
    )
    c.pairs = [
        ComparisonPair(baseline_series_uid=p.baseline_series_uid,
                       followup_series_uid=p.followup_series_uid, score=round(p.score, 4),
                       reasons=list(p.reasons), source="auto")
        for p in pairing.pairs
    ]
    session.add(c)
    session.flush()
    audit(session, who, "create", f"comparisons/{c.id}", body.patient_id)
    session.commit()
    response.headers["ETag"] = _etag(c)
    return comparison_json(c, baseline, followup)


@router.get("/{comparison_id}")
def get_comparison(
    comparison_id: int,
    response: Response,
    who: Principal = Depends(require(*READERS)),  # noqa: B008
    session: Session = Depends(db_session),  # noqa: B008
) -> dict[str, Any]:
    c, baseline, followup = _load(session, comparison_id)
    audit(session, who, "read", f"comparisons/{c.id}", c.patient_id)
    session.commit()
    response.headers["ETag"] = _etag(c)
    return comparison_json(c, baseline, followup)


@router.put("/{comparison_id}/pairs")
def override_pairs(
    comparison_id: int,
    body: PairsOverride,
    response: Response,
    if_match: str | None = Header(default=None),
    who: Principal = Depends(require(Role.RADIOLOGIST, Role.ADMIN)),  # noqa: B008
    session: Session = Depends(db_session),  # noqa: B008
) -> dict[str, Any]:
    c, baseline, followup = _load(session, comparison_id)
    if if_match is not None and if_match.strip() not in (_etag(c), "*"):
        raise ApiError(412, f"comparison {c.id} changed since it was read "
                       f"(If-Match {if_match}, now {_etag(c)})")
    b_uids = {s.series_instance_uid for s in baseline.series}
    f_uids = {s.series_instance_uid for s in followup.series}
    seen_b: set[str] = set()
    seen_f: set[str] = set()
    for i, pair in enumerate(body.pairs):
        if pair.baseline_series_uid not in b_uids:
            raise ApiError(422, f"pairs[{i}].baseline_series_uid {pair.baseline_series_uid!r} "
                           "is not a series of the baseline study")
        if pair.followup_series_uid not in f_uids:
            raise ApiError(422, f"pairs[{i}].followup_series_uid {pair.followup_series_uid!r} "
                           "is not a series of the follow-up study")
        if pair.baseline_series_uid in seen_b or pair.followup_series_uid in seen_f:
            raise ApiError(422, f"pairs[{i}]: a series may appear in one pair only")
        seen_b.add(pair.baseline_series_uid)
        seen_f.add(pair.followup_series_uid)
    c.pairs.clear()
    session.flush()
    c.pairs.extend(
        ComparisonPair(baseline_series_uid=p.baseline_series_uid,
                       followup_series_uid=p.followup_series_uid, score=None,
                       reasons=[f"set by {who.role.value}"], source="manual", set_by=who.name)
        for p in body.pairs
    )
    flag_modified(c, "excluded")  # update the row itself: its version is bumped and checked
    audit(session, who, "override_pairs", f"comparisons/{c.id}", c.patient_id)
    try:
        session.commit()
    except (StaleDataError, IntegrityError):
        session.rollback()
        raise ApiError(412, f"comparison {comparison_id} was changed at the same time; "
                       "read it again and retry") from None
    response.headers["ETag"] = _etag(c)
    return comparison_json(c, baseline, followup)
