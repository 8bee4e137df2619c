"""A consent decision names the reviewed English words shown beside a draft translation.

In a language no native speaker has reviewed yet, the consent pages show the checked English
words one tap away; the ledger records that they were there, so a receipt says which wording
the person could read.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both databases: the append-only table is never copied or rebuilt.
    op.add_column("consent_event", sa.Column("english_text_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consent_event") as table:
        table.drop_column("english_text_id")
