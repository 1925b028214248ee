"""resent copies spooled by Orthanc's Python plugin (pacs/resent_spool.py), not queued here:
the resent_copies table goes

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Copies still queued came from the Lua filter; the plugin's spool replaces the queue.
    with op.batch_alter_table('resent_copies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resent_copies_orthanc_id'))
    op.drop_table('resent_copies')


def downgrade() -> None:
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
