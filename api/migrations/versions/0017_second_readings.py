"""second readings (issue 21): a case may review another case; adjudications

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 23:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_of', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reader', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('blinded', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('timepoint_map', sa.JSON(), nullable=True))
        batch_op.create_foreign_key('fk_cases_review_of_cases', 'cases', ['review_of'], ['id'])
        batch_op.create_index(batch_op.f('ix_cases_review_of'), ['review_of'], unique=False)
    op.create_table(
        'adjudications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('timepoint_uid', sa.String(length=64), nullable=False),
        sa.Column('chosen_case_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('adjudicated_by', sa.String(length=128), nullable=False),
        sa.Column('adjudicated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['chosen_case_id'], ['cases.id'],
                                name='fk_adjudications_chosen_case_id_cases'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_adjudications_case_id'), 'adjudications', ['case_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_adjudications_case_id'), table_name='adjudications')
    op.drop_table('adjudications')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_review_of'))
        batch_op.drop_constraint('fk_cases_review_of_cases', type_='foreignkey')
        batch_op.drop_column('timepoint_map')
        batch_op.drop_column('blinded')
        batch_op.drop_column('reader')
        batch_op.drop_column('review_of')
