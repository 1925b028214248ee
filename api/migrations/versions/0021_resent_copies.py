"""resent copies: the queue of copies Orthanc's Lua filter posts (pacs/resent.py)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'resent_copies',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('orthanc_id', sa.String(length=64), nullable=False),
        sa.Column('tags', sa.JSON(), nullable=False),
        sa.Column('remote_aet', sa.String(length=16), nullable=True),
        sa.Column('transfer_syntax', sa.String(length=64), nullable=True),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('resent_copies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resent_copies_orthanc_id'), ['orthanc_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('resent_copies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resent_copies_orthanc_id'))
    op.drop_table('resent_copies')
