"""lesion soft delete and lesion changes (issue 18): who changed or deleted it, when, why

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'lesion_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lesion_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('author', sa.String(length=128), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['lesion_id'], ['lesions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_lesion_changes_lesion_id'), 'lesion_changes', ['lesion_id'],
                    unique=False)
    with op.batch_alter_table('lesions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deleted_by', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('deletion_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('deletion_amendment_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('lesions', schema=None) as batch_op:
        batch_op.drop_column('deletion_amendment_reason')
        batch_op.drop_column('deletion_reason')
        batch_op.drop_column('deleted_by')
        batch_op.drop_column('deleted_at')
    op.drop_index(op.f('ix_lesion_changes_lesion_id'), table_name='lesion_changes')
    op.drop_table('lesion_changes')
