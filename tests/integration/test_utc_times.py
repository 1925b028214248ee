"""Every stored moment comes back aware and in UTC, on SQLite (which keeps no time zone) as on
PostgreSQL (which answers in the session's zone), so the API writes times the same way on
both: ``adjudicated_at`` lost its ``+00:00`` on SQLite before (issue 21's leftover; its API
read is checked in test_reviews)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

pytestmark = pytest.mark.integration


def test_times_are_read_back_aware_in_utc_on_both_backends(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from api.db.models import ApiToken, Base, User
    from api.db.session import make_engine, migrate

    engine = make_engine(database_url)
    migrate(engine)
    paris = dt.timezone(dt.timedelta(hours=1))
    written = dt.datetime(2026, 12, 5, 9, 30, 15, 123456, tzinfo=paris)
    with Session(engine) as s, s.begin():
        user = User(name="rad", role="radiologist", created_at=written)
        s.add(user)
        s.flush()
        # A naive value is taken as UTC, as everything Nadir stores is.
        s.add(ApiToken(user_id=user.id, token_hash="h", label="", revoked=False,
                       created_at=dt.datetime(2026, 12, 5, 8, 0), expires_at=None))
    with Session(engine) as s:
        user = s.scalars(sa.select(User)).one()
        token = s.scalars(sa.select(ApiToken)).one()
    assert user.created_at == written
    assert user.created_at.utcoffset() == dt.timedelta(0)
    assert user.created_at.isoformat() == "2026-12-05T08:30:15.123456+00:00"
    assert token.created_at.isoformat() == "2026-12-05T08:00:00+00:00"
    assert token.expires_at is None
    # As the workers and the token check read them: an aggregate and a Core select of
    # columns (the outbox's next due time, a token's expiry) come back aware as well.
    with engine.connect() as conn:
        earliest = conn.scalar(sa.select(sa.func.min(User.created_at)))
        row = conn.execute(sa.select(ApiToken.created_at, User.name)
                           .join(User, ApiToken.user_id == User.id)).one()
    assert earliest is not None and earliest.utcoffset() == dt.timedelta(0)
    assert earliest == written
    assert row.created_at.isoformat() == "2026-12-05T08:00:00+00:00"
    # The column type is the same to Alembic: no migration is owed for it.
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    changes = [d for group in diffs for d in (group if isinstance(group, list) else [group])]
    assert [d for d in changes if d[0] == "modify_type"] == []
    engine.dispose()

