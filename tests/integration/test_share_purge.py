"""The purge of ended shares' copies (issue 21), on SQLite and PostgreSQL with a real
Orthanc: after the grace period and not before, by the leader only, once (audited), and
finished by the next round when a round stopped between the deletion and its record.
The clock is injected: no test waits."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from api.workers.share_purge import SharePurger
from api.workflow.share_purge import PurgeAfter
from tests.conftest import Service
from tests.integration.test_shares import _as, _measure_one_lesion, _share, expire
from tests.integration.test_shares import case as case  # noqa: F401 (the fixture)

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


def _utc(text: str) -> dt.datetime:
    """A time the API answers (SQLite gives it back without its zone, which is UTC)."""
    at = dt.datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def _purger(service: Service, clock: Clock, days: int = 30, *, leader: bool = True
            ) -> SharePurger:
    state = service.app.state
    return SharePurger(state.sessions, state.share_copies, PurgeAfter(days),
                       is_leader=lambda: leader, now=clock)


def _in_pacs(service: Service, share: dict[str, Any]) -> bool:
    return bool(service.app.state.orthanc.lookup(share["studies"][0]["copy_study_uid"]))


def _read(service: Service, share: dict[str, Any]) -> dict[str, Any]:
    r = service.client.get(f"/api/v1/shares/{share['id']}", headers=service.headers("admin"))
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


def _purge_audits(service: Service) -> list[tuple[str, str, str | None]]:
    import sqlalchemy as sa

    from api.db.models import AuditEvent

    with service.app.state.sessions() as session:
        return [(e.user_name, e.resource, e.patient_id) for e in session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "purge_share_copy")
            .order_by(AuditEvent.id))]


def test_an_ended_shares_copy_is_purged_after_the_grace_period_and_its_reading_stays(
        service: Service, case: dict[str, Any]) -> None:  # noqa: F811
    cid = case["case"]["id"]
    _measure_one_lesion(service, case)
    ended = _share(service, cid, blinded=False, include_measurements=True)
    active = _share(service, cid, expires_in_days=60)
    revoked = _share(service, cid)
    expiry = dt.datetime.now(dt.UTC).replace(microsecond=0)
    expire(service, ended, expiry)
    r = service.client.delete(f"/api/v1/shares/{revoked['id']}",
                              headers=service.headers("radiologist"))
    assert r.status_code == 200 and r.json()["purged_at"] is None
    revoked_at = _utc(r.json()["revoked_at"])
    review = f"/api/v1/cases/{ended['review_case_id']}/measurements"
    reading = service.client.get(review, headers=service.headers("admin")).json()
    assert len(reading["measurements"]) == 2

    clock = Clock(expiry + dt.timedelta(days=30) - dt.timedelta(seconds=1))
    assert _purger(service, clock).purge() == []  # within the grace period
    assert _in_pacs(service, ended) and _read(service, ended)["purged_at"] is None
    clock.at = max(expiry, revoked_at) + dt.timedelta(days=30)
    assert _purger(service, clock, leader=False).purge() == []  # only the leader purges
    assert _in_pacs(service, ended)

    assert _purger(service, clock).purge() == [ended["id"], revoked["id"]]
    assert not _in_pacs(service, ended) and _in_pacs(service, active)
    for share in (ended, revoked):
        shown = _read(service, share)
        assert _utc(shown["purged_at"]) == clock.at
    assert _read(service, ended)["state"] == "expired"
    assert _read(service, revoked)["state"] == "revoked"
    assert _read(service, active)["purged_at"] is None and _read(service, active)["state"] \
        == "active"
    # The review case and its reading stay: they are the second opinion.
    assert service.client.get(review, headers=service.headers("admin")).json()["measurements"] \
        == reading["measurements"]
    # Again (a restart, the next leader): nothing more is purged, audited or changed.
    clock.at += dt.timedelta(days=1)
    assert _purger(service, clock).purge() == []
    assert _purge_audits(service) == [
        ("nadir-share-purge", f"cases/{cid}/shares/{s['id']}", "SHARE-PATIENT-1")
        for s in (ended, revoked)]
    assert _utc(_read(service, ended)["purged_at"]) \
        == clock.at - dt.timedelta(days=1)
    # The expired token stays refused; the active share is untouched.
    assert service.client.get("/api/v1/me", headers=_as(ended["token"])).status_code == 401
    assert service.client.get("/api/v1/me", headers=_as(active["token"])).status_code == 200


def test_a_purge_stopped_after_the_deletion_is_finished_by_the_next_round(
        service: Service, case: dict[str, Any]) -> None:  # noqa: F811
    """0 days purges at expiry; a copy already deleted (the round before stopped before its
    record was committed) is recorded as purged without an error."""
    share = _share(service, case["case"]["id"])
    expiry = dt.datetime.now(dt.UTC).replace(microsecond=0)
    expire(service, share, expiry)
    state = service.app.state
    state.share_copies.remove(_orthanc_patient(service, share))
    assert not _in_pacs(service, share)
    assert _purger(service, Clock(expiry - dt.timedelta(seconds=1)), days=0).purge() == []
    assert _purger(service, Clock(expiry), days=0).purge() == [share["id"]]
    assert _utc(_read(service, share)["purged_at"]) == expiry
    assert len(_purge_audits(service)) == 1


def _orthanc_patient(service: Service, share: dict[str, Any]) -> str:
    import sqlalchemy as sa

    from api.db.models import shares_table

    with service.app.state.sessions() as session:
        found = session.execute(sa.select(shares_table.c.copy_patient).where(
            shares_table.c.id == share["id"])).scalar_one()
    assert isinstance(found, str)
    return found


def test_the_purge_migration_goes_both_ways(database_url: str) -> None:
    """0022 adds shares.purged_at (empty for the shares there), matches the models, and
    goes back."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from api.db.models import Base
    from api.db.session import alembic_config

    config = alembic_config(database_url)
    command.upgrade(config, "0022")
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert "purged_at" in {c["name"] for c in sa.inspect(conn).get_columns("shares")}
    assert [d for d in diffs if "shares" in repr(d)] == []
    command.downgrade(config, "0021")
    with engine.begin() as conn:
        assert "purged_at" not in {c["name"] for c in sa.inspect(conn).get_columns("shares")}
    command.upgrade(config, "head")
    engine.dispose()


def test_the_purge_setting_is_a_whole_number_of_days_from_zero() -> None:
    from pydantic import ValidationError

    from api.settings import Settings

    assert Settings().share_purge_after_days == 30
    assert Settings(share_purge_after_days=0).share_purge_after_days == 0
    with pytest.raises(ValidationError, match="share_purge_after_days"):
        Settings(share_purge_after_days=-1)
    with pytest.raises(ValueError, match="days"):
        PurgeAfter(-1)
