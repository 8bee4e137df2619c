"""What a coach has been told of by a notice that comes with time: a review come due, and
consent recorded by voice still waiting for the person (intake/due_notices.py).

A notice names no client, so the client's row remembers what its coach was told of: two
times, and nothing else.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("client", sa.Column("review_due_told_for", sa.DateTime(), nullable=True))
    op.add_column("client", sa.Column("voice_waiting_told_for", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("client") as table:
        table.drop_column("voice_waiting_told_for")
        table.drop_column("review_due_told_for")
