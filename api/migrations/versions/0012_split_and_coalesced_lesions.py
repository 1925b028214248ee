"""split and coalesced lesions (issue 16, RECIST 1.1 s4.3.2): fragments of a measurement
version, and the lesion a lesion coalesced into

Revision ID: 0012
Revises: 0015
Create Date: 2026-12-04 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'measurement_fragments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('measurement_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('sop_instance_uid', sa.String(length=64), nullable=False),
        sa.Column('series_instance_uid', sa.String(length=64), nullable=False),
        sa.Column('frame', sa.Integer(), nullable=True),
        sa.Column('endpoints', sa.JSON(), nullable=False),
        sa.Column('length_mm', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['measurement_id'], ['measurement_versions.id'],
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('measurement_id', 'position'),
    )
    op.create_index(op.f('ix_measurement_fragments_measurement_id'), 'measurement_fragments',
                    ['measurement_id'], unique=False)
    with op.batch_alter_table('measurement_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('coalesced_into', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_measurement_versions_coalesced_into_lesions',
                                    'lesions', ['coalesced_into'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('measurement_versions', schema=None) as batch_op:
        batch_op.drop_constraint('fk_measurement_versions_coalesced_into_lesions',
                                 type_='foreignkey')
        batch_op.drop_column('coalesced_into')
    op.drop_index(op.f('ix_measurement_fragments_measurement_id'),
                  table_name='measurement_fragments')
    op.drop_table('measurement_fragments')
