"""study dates (issue 20): where each study's date came from, and dates set per case

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 18:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('studies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('date_source', sa.String(length=32), nullable=True))
    # Until now only StudyDate was read.
    op.execute("UPDATE studies SET date_source = 'StudyDate' WHERE study_date IS NOT NULL")
    op.create_table(
        'case_study_dates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('study_uid', sa.String(length=64), nullable=False),
        sa.Column('date', sa.Date(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('set_by', sa.String(length=128), nullable=False),
        sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_case_study_dates_case_id'), 'case_study_dates', ['case_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_case_study_dates_case_id'), table_name='case_study_dates')
    op.drop_table('case_study_dates')
    with op.batch_alter_table('studies', schema=None) as batch_op:
        batch_op.drop_column('date_source')
