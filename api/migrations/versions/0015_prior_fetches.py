"""prior fetches (issue 20): studies brought from the hospital PACS by C-FIND/C-MOVE

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-04 21:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'prior_fetches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.String(length=128), nullable=False),
        sa.Column('modality', sa.String(length=16), nullable=True),
        sa.Column('date_from', sa.Date(), nullable=True),
        sa.Column('date_to', sa.Date(), nullable=True),
        sa.Column('trigger', sa.String(length=16), nullable=False),
        sa.Column('requested_by', sa.String(length=128), nullable=True),
        sa.Column('source', sa.String(length=300), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('studies', sa.JSON(), nullable=True),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('prior_fetches', schema=None) as batch_op:
        batch_op.create_index('ix_prior_fetches_due', ['state', 'next_attempt_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_prior_fetches_patient_id'), ['patient_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('prior_fetches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prior_fetches_patient_id'))
        batch_op.drop_index('ix_prior_fetches_due')
    op.drop_table('prior_fetches')
