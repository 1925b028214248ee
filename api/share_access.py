"""What a share token may do (issue 21): an allow-list of routes, within its own share.

A share's token (role ``reviewer``) reads its share's de-identified images through
``/dicom-web/`` (study by study: :class:`api.workflow.image_reads.ImageReads` checks the
study is the share's copy), reads and measures its review case, reads that case's report,
and downloads its share's package. Every other route answers 403, and a route of another
case or share 404, before any body is read (``api.body_guard`` calls :func:`act_for` too).

Admitted, the reviewer acts as the reader of its review case: the case service sees a
radiologist of that name (its rules, blinding included, then apply as to any reader), with
the share's scope kept on the principal. Each use is audited on the original patient, with
the original case and the share in the resource; image reads are audited once per study
and hour, as every reader's (``ImageReads``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from api.adapters.sql_store import unit_of_work
from api.workflow.errors import NotAllowed, NotFound
from api.workflow.roles import Principal, Role

_CASE = "/api/v1/cases/{case_id}"
_LESION = _CASE + "/lesions/{lesion_id}"
IMAGES = ("GET", "/dicom-web/{path:path}")
ME = ("GET", "/api/v1/me")
#: The routes a share token may call (method, path template); path ids are its own.
REVIEWER_ROUTES = frozenset({
    ME, IMAGES,
    ("GET", _CASE),
    ("GET", _CASE + "/lesions"),
    ("POST", _CASE + "/lesions"),
    ("PATCH", _LESION),
    ("DELETE", _LESION),
    ("GET", _LESION + "/history"),
    ("GET", _LESION + "/proposal"),
    ("GET", _LESION + "/measurements/{timepoint_id}"),
    ("PUT", _LESION + "/measurements/{timepoint_id}"),
    ("GET", _CASE + "/measurements"),
    ("POST", _CASE + "/timepoints/{timepoint_id}/sign-off"),
    ("GET", _CASE + "/response"),
    ("GET", _CASE + "/report"),
    ("GET", _CASE + "/timepoints/{timepoint_id}/sr"),
    ("GET", _CASE + "/events"),
    ("GET", "/api/v1/shares/{share_id}/package"),
    # The workstation lists the review's studies (its copy patient's only).
    ("GET", "/api/v1/patients/{patient_id:path}/studies"),
})


def act_for(principal: Principal, method: str, template: str, params: Mapping[str, Any],
            sessions: sessionmaker[Session]) -> Principal:
    """The principal a share token acts as on this route, or NotAllowed / NotFound."""
    share = principal.share
    if share is None:
        raise NotAllowed("this reviewer token is bound to no share")
    if (method, template) not in REVIEWER_ROUTES:
        raise NotAllowed(f"a share token may not do this: it reads the images of share "
                         f"{share.share_id} and reads and measures its review case "
                         f"{share.review_case_id}")
    case_id = params.get("case_id")
    if case_id is not None and str(case_id) != str(share.review_case_id):
        raise NotFound(f"unknown case {case_id}")
    share_id = params.get("share_id")
    if share_id is not None and str(share_id) != str(share.share_id):
        raise NotFound(f"unknown share {share_id}")
    patient_id = params.get("patient_id")
    if patient_id is not None and str(patient_id) != share.copy_patient_id:
        raise NotFound(f"unknown patient {str(patient_id)[:64]!r}")
    if (method, template) == ME:
        return principal
    if (method, template) != IMAGES:
        path = template
        with contextlib.suppress(KeyError, IndexError, ValueError):
            path = template.format(**params)
        with unit_of_work(sessions) as store:
            store.audit(principal, "share_use",
                        f"cases/{share.case_id}/shares/{share.share_id}: {method} {path}",
                        share.patient_id)
            store.commit()
    # The reader of its review case: the case service's rules apply as to a radiologist.
    return replace(principal, role=Role.RADIOLOGIST)
