"""the series descriptor's multi-valued attributes as JSON lists (issue 17), not
backslash-joined text: image_type, pixel_spacing_mm, orientation

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-05 00:10:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0017'
branch_labels = None
depends_on = None

_TEXT = ('image_type', 'pixel_spacing', 'orientation')
_JSON = ('image_type_values', 'pixel_spacing_mm', 'orientation_values')


def _split(text: str | None, kind: type) -> list[Any] | None:
    # The inverse of the backslash-joined values ingest wrote (repr of each float).
    return [kind(v) for v in text.split('\\')] if text else None


def _join(values: list[Any] | None) -> str | None:
    return '\\'.join(str(v) if isinstance(v, str) else repr(float(v)) for v in values) \
        if values else None


def _series(*names: str) -> Any:
    columns: list[Any] = [sa.column('id', sa.Integer)]
    for name in names:
        columns.append(sa.column(name, sa.JSON() if name in _JSON else sa.String()))
    return sa.table('series', *columns)


def upgrade() -> None:
    with op.batch_alter_table('series', schema=None) as batch_op:
        for name in _JSON:
            batch_op.add_column(sa.Column(name, sa.JSON(), nullable=True))
    series = _series(*_TEXT, *_JSON)
    conn = op.get_bind()
    for row in conn.execute(sa.select(series.c.id, *(series.c[n] for n in _TEXT))).all():
        conn.execute(series.update().where(series.c.id == row[0]).values(
            image_type_values=_split(row[1], str), pixel_spacing_mm=_split(row[2], float),
            orientation_values=_split(row[3], float)))
    with op.batch_alter_table('series', schema=None) as batch_op:
        for name in _TEXT:
            batch_op.drop_column(name)
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.alter_column('image_type_values', new_column_name='image_type')
        batch_op.alter_column('orientation_values', new_column_name='orientation')


def downgrade() -> None:
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.alter_column('image_type', new_column_name='image_type_values')
        batch_op.alter_column('orientation', new_column_name='orientation_values')
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.add_column(sa.Column('image_type', sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column('pixel_spacing', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('orientation', sa.String(length=256), nullable=True))
    series = _series(*_TEXT, *_JSON)
    conn = op.get_bind()
    for row in conn.execute(sa.select(series.c.id, *(series.c[n] for n in _JSON))).all():
        conn.execute(series.update().where(series.c.id == row[0]).values(
            image_type=_join(row[1]), pixel_spacing=_join(row[2]), orientation=_join(row[3])))
    with op.batch_alter_table('series', schema=None) as batch_op:
        for name in _JSON:
            batch_op.drop_column(name)
