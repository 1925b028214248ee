"""tumour markers on the patient; iCPD confirmation and marker window case options

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 21:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'patient_markers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.String(length=128), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('unit', sa.String(length=32), nullable=False),
        sa.Column('upper_limit_normal', sa.Float(), nullable=False),
        sa.Column('value', sa.Float(), nullable=False),
        sa.Column('date', sa.Date(), nullable=False),
        sa.Column('recorded_by', sa.String(length=128), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('patient_markers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_markers_patient_id'), ['patient_id'],
                              unique=False)
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('min_icpd_confirmation_days', sa.Integer(),
                                      server_default='28', nullable=False))
        batch_op.add_column(sa.Column('marker_window_days', sa.Integer(),
                                      server_default='14', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('marker_window_days')
        batch_op.drop_column('min_icpd_confirmation_days')
    with op.batch_alter_table('patient_markers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_markers_patient_id'))
    op.drop_table('patient_markers')
