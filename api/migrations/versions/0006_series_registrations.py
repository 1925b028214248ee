"""series registrations (issue 9): cached baseline -> follow-up transforms

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 22:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'series_registrations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('baseline_series_uid', sa.String(length=64), nullable=False),
        sa.Column('followup_series_uid', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('claimed_by', sa.String(length=128), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('baseline_instances', sa.Integer(), nullable=True),
        sa.Column('followup_instances', sa.Integer(), nullable=True),
        sa.Column('matrix', sa.JSON(), nullable=True),
        sa.Column('metric', sa.Float(), nullable=True),
        sa.Column('elapsed_s', sa.Float(), nullable=True),
        sa.Column('read_s', sa.Float(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('retryable', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('baseline_series_uid', 'followup_series_uid'),
    )


def downgrade() -> None:
    op.drop_table('series_registrations')
