"""Migration 0019 (issue 17): the series descriptor's multi-valued attributes, stored as
backslash-joined text until 0017, become JSON lists; on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

IMAGE_TYPE = "ORIGINAL\\PRIMARY\\AXIAL"
# repr() of each float, as ingest wrote them; a value no decimal text rounds exactly.
SPACING = "0.7421875\\0.1"
ORIENTATION = "1.0\\0.0\\0.0\\0.0\\0.9999619230641713\\-0.008726535498373935"


def test_the_descriptor_migration_keeps_every_value_and_goes_back(database_url: str) -> None:
    import sqlalchemy as sa
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from api.db.models import Base
    from api.db.session import alembic_config

    config = alembic_config(database_url)
    command.upgrade(config, "0017")
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO patients (id, patient_id) VALUES (1, 'P')"))
        conn.execute(sa.text(
            "INSERT INTO studies (id, study_instance_uid, patient_pk, orthanc_id, indexed_at) "
            "VALUES (1, '1.2', 1, 'st', CURRENT_TIMESTAMP)"))
        conn.execute(sa.text(
            "INSERT INTO series (id, series_instance_uid, study_pk, orthanc_id, modality, "
            "instance_count, image_type, pixel_spacing, orientation) VALUES "
            "(1, '1.2.1', 1, 'a', 'CT', 3, :it, :ps, :ori), "
            "(2, '1.2.2', 1, 'b', 'SR', 1, NULL, NULL, NULL)"),
            {"it": IMAGE_TYPE, "ps": SPACING, "ori": ORIENTATION})
    command.upgrade(config, "0019")
    series = sa.table("series", sa.column("id"), sa.column("image_type", sa.JSON()),
                      sa.column("pixel_spacing_mm", sa.JSON()),
                      sa.column("orientation", sa.JSON()))
    with engine.begin() as conn:
        rows = conn.execute(sa.select(series.c.id, series.c.image_type,
                                      series.c.pixel_spacing_mm, series.c.orientation)
                            .order_by(series.c.id)).all()
        assert [tuple(r) for r in rows] == [
            (1, IMAGE_TYPE.split("\\"), [float(v) for v in SPACING.split("\\")],
             [float(v) for v in ORIENTATION.split("\\")]),
            (2, None, None, None)]
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if "'series'" in repr(d)] == []  # the table matches the model
    command.downgrade(config, "0017")
    with engine.begin() as conn:
        back = conn.execute(sa.text(
            "SELECT image_type, pixel_spacing, orientation FROM series ORDER BY id")).all()
        assert [tuple(r) for r in back] == [(IMAGE_TYPE, SPACING, ORIENTATION),
                                           (None, None, None)]
    command.upgrade(config, "head")
    engine.dispose()
