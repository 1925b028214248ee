"""Second readings (issue 21): a case that reviews another case, on SQLite and PostgreSQL
with a real Orthanc."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Service, storescu, wait_until
from tests.factories import tiny_ct_series, write_all

pytestmark = pytest.mark.integration
PID = "REVIEW-1"


def test_the_review_migration_goes_both_ways(database_url: str) -> None:
    """0017 adds review_of, reader, blinded, timepoint_map and the adjudications table,
    matches the models, keeps the cases already there (primary cases) and goes back."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from api.db.models import Base
    from api.db.session import alembic_config

    config = alembic_config(database_url)
    command.upgrade(config, "0016")
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO cases (id, patient_id, criteria, baseline_study_uid, created_by, "
            "created_at) VALUES (1, 'P', 'RECIST1.1', '1.1', 'rad', CURRENT_TIMESTAMP)"))
    command.upgrade(config, "0017")
    with engine.begin() as conn:
        rows = conn.execute(sa.text(
            "SELECT review_of, reader, blinded, timepoint_map FROM cases")).all()
        assert [tuple(r) for r in rows] == [(None, None, False, None)]
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    # (The shares table of 0020 has a blinded column too: not this revision's.)
    diffs = [d for d in diffs if "Table('shares'" not in repr(d)]
    mine = [d for d in diffs if "adjudications" in repr(d) or "review_of" in repr(d)
            or "'reader'" in repr(d) or "blinded" in repr(d) or "timepoint_map" in repr(d)]
    assert mine == []
    command.downgrade(config, "0016")
    with engine.begin() as conn:
        inspector = sa.inspect(conn)
        assert not {"review_of", "reader", "blinded", "timepoint_map"} & {
            c["name"] for c in inspector.get_columns("cases")}
        assert "adjudications" not in inspector.get_table_names()
        assert conn.execute(sa.text("SELECT count(*) FROM cases")).scalar() == 1
    command.upgrade(config, "head")
    engine.dispose()


@pytest.fixture
def studies(service: Service, orthanc: Any, tmp_path: Path) -> list[str]:
    """A baseline and a follow-up of one patient."""
    bl = tiny_ct_series(2, patient_id=PID, study_date="20260105")
    fu = tiny_ct_series(2, patient_id=PID, study_date="20260302")
    storescu(orthanc, write_all(bl, tmp_path / "bl") + write_all(fu, tmp_path / "fu"))

    def ready() -> bool:
        r = service.client.get(f"/api/v1/patients/{PID}/studies",
                               headers=service.headers("admin"))
        return r.status_code == 200 and len(r.json()) == 2

    wait_until(ready, timeout=20)
    return [bl[0].StudyInstanceUID, fu[0].StudyInstanceUID]


def test_the_case_json_says_whether_a_case_is_a_review(service: Service,
                                                      studies: list[str]) -> None:
    from api.adapters.sql_store import SqlCaseStore
    from api.workflow.reviews import new_review

    r = service.client.post("/api/v1/cases", json={"patient_id": PID, "criteria": "RECIST1.1"},
                            headers=service.headers("radiologist"))
    assert r.status_code == 201, r.text
    primary = r.json()
    assert (primary["review_of"], primary["reader"], primary["blinded"]) == (None, None, False)
    with service.app.state.sessions() as session:
        store = SqlCaseStore(session)
        case = store.case(primary["id"])
        assert case is not None
        review = new_review(case, reader="other-radiologist", blinded=True,
                            created_by="admin-user")
        store.add(review)
        store.commit()
        review_id = review.id
    for role in ("radiologist", "specialist", "admin"):
        got = service.client.get(f"/api/v1/cases/{review_id}", headers=service.headers(role))
        assert got.status_code == 200, got.text
        body = got.json()
        assert (body["review_of"], body["reader"], body["blinded"]) \
            == (primary["id"], "other-radiologist", True)
        assert [t["id"] for t in body["timepoints"]] == studies
        assert [t["id"] for t in body["timepoints"]] == [t["id"] for t in primary["timepoints"]]
    listed = service.client.get(f"/api/v1/cases?patient_id={PID}",
                                headers=service.headers("specialist")).json()
    assert [(c["id"], c["review_of"], c["reader"], c["blinded"]) for c in listed] == [
        (review_id, primary["id"], "other-radiologist", True),
        (primary["id"], None, None, False)]
