"""bidirectional measurements and lesion points (issue 19)

Both diameters, the short axis's endpoints and a non-target or new lesion's point on
the image. Existing calipers get the diameter they always were: the long axis of a
non-nodal lesion, the short axis of a node (RECIST 1.1 s.4.2).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('measurement_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('short_axis_endpoints', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('long_axis_mm', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('short_axis_mm', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('point', sa.JSON(), nullable=True))
    versions = sa.table('measurement_versions', sa.column('lesion_id', sa.Integer),
                        sa.column('sop_instance_uid', sa.String), sa.column('length_mm', sa.Float),
                        sa.column('endpoints', sa.JSON), sa.column('long_axis_mm', sa.Float),
                        sa.column('short_axis_mm', sa.Float),
                        sa.column('short_axis_endpoints', sa.JSON))
    lesions = sa.table('lesions', sa.column('id', sa.Integer), sa.column('nodal', sa.Boolean))
    # Until now only a caliper set sop_instance_uid, always with its length.
    calipers = sa.and_(versions.c.sop_instance_uid.isnot(None), versions.c.length_mm.isnot(None))
    nodes = sa.select(lesions.c.id).where(lesions.c.nodal.is_(sa.true()))
    op.execute(versions.update().where(calipers, versions.c.lesion_id.notin_(nodes))
               .values(long_axis_mm=versions.c.length_mm))
    op.execute(versions.update().where(calipers, versions.c.lesion_id.in_(nodes))
               .values(short_axis_mm=versions.c.length_mm,
                       short_axis_endpoints=versions.c.endpoints))


def downgrade() -> None:
    with op.batch_alter_table('measurement_versions', schema=None) as batch_op:
        batch_op.drop_column('point')
        batch_op.drop_column('short_axis_mm')
        batch_op.drop_column('long_axis_mm')
        batch_op.drop_column('short_axis_endpoints')
