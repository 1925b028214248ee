"""image checks (issue 20): the upload's acceptance rule on C-STORE arrivals, re-sends

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-04 21:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'image_checks',
        sa.Column('instance_pk', sa.Integer(), nullable=False),
        sa.Column('orthanc_id', sa.String(length=64), nullable=False),
        sa.Column('sop_instance_uid', sa.String(length=64), nullable=False),
        sa.Column('series_instance_uid', sa.String(length=64), nullable=True),
        sa.Column('study_instance_uid', sa.String(length=64), nullable=True),
        sa.Column('origin', sa.String(length=32), nullable=True),
        sa.Column('checked', sa.Boolean(), nullable=False),
        sa.Column('refused_reason', sa.Text(), nullable=True),
        sa.Column('resent_attributes', sa.JSON(), nullable=True),
        sa.Column('resent_by', sa.String(length=16), nullable=True),
        sa.Column('resent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['instance_pk'], ['instances.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('instance_pk'),
    )
    with op.batch_alter_table('image_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_checks_sop_instance_uid'),
                              ['sop_instance_uid'], unique=False)
        batch_op.create_index(batch_op.f('ix_image_checks_study_instance_uid'),
                              ['study_instance_uid'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('image_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_image_checks_study_instance_uid'))
        batch_op.drop_index(batch_op.f('ix_image_checks_sop_instance_uid'))
    op.drop_table('image_checks')
