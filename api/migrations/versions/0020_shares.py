"""shares for a second opinion (issue 21): a de-identified copy, a review, an expiring token

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 00:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'shares',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('review_case_id', sa.Integer(), nullable=False),
        sa.Column('patient_id', sa.String(length=128), nullable=False),
        sa.Column('pseudonym', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('reviewer', sa.String(length=128), nullable=False),
        sa.Column('copy_patient', sa.String(length=64), nullable=True),
        sa.Column('offset_days', sa.Integer(), nullable=False),
        sa.Column('blinded', sa.Boolean(), nullable=False),
        sa.Column('include_measurements', sa.Boolean(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('studies', sa.JSON(), nullable=False),
        sa.Column('left_out', sa.JSON(), nullable=False),
        sa.Column('created_by', sa.String(length=128), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_by', sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['review_case_id'], ['cases.id'],
                                name='fk_shares_review_case'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('pseudonym'),
        sa.UniqueConstraint('user_id'),
    )
    op.create_index(op.f('ix_shares_case_id'), 'shares', ['case_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_shares_case_id'), table_name='shares')
    op.drop_table('shares')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
