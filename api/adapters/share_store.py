"""The SQLAlchemy implementation of :class:`~api.workflow.ports.ShareStore`: shares, and
their reviewers' users and tokens, on the case store's session (one unit of work)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from api.adapters.sql_store import MAX_ID
from api.auth import create_user, issue_token
from api.db.models import ApiToken, Share, shares_table
from api.workflow.roles import Role


class SqlShareStore:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add_share(self, share: Share) -> None:
        self.session.add(share)
        self.session.flush()

    def share(self, share_id: int) -> Share | None:
        return self.session.get(Share, share_id) if 0 < share_id <= MAX_ID else None

    def shares(self, case_id: int | None) -> list[Share]:
        query = select(Share).order_by(shares_table.c.id.desc())
        if case_id is not None:
            query = query.where(shares_table.c.case_id == case_id)
        return list(self.session.scalars(query.limit(1000)))

    def add_reviewer(self, name: str, expires_at: dt.datetime) -> tuple[int, str]:
        user = create_user(self.session, name, Role.REVIEWER)
        token = issue_token(self.session, user, label="share")
        self.session.execute(update(ApiToken).where(ApiToken.user_id == user.id)
                             .values(expires_at=expires_at))
        return user.id, token

    def revoke_tokens(self, user_id: int) -> None:
        self.session.execute(update(ApiToken).where(ApiToken.user_id == user_id)
                             .values(revoked=True))

    def unpurged_ended(self, before: dt.datetime) -> list[Share]:
        c = shares_table.c
        return list(self.session.scalars(
            select(Share).where(c.purged_at.is_(None),
                                or_(c.expires_at <= before, c.revoked_at <= before))
            .order_by(c.id).limit(1000)))
