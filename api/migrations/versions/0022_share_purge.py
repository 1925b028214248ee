"""share purge: when a share's de-identified copy was purged (api/workflow/share_purge.py)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 03:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('shares', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('shares', schema=None) as batch_op:
        batch_op.drop_column('purged_at')
