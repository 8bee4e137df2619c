"""Signatures of agreement versions, kept in the consent ledger's chain (docs/agreements.md).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on both databases: the append-only table is never copied or rebuilt.
    op.add_column("consent_event", sa.Column("agreement_id", sa.Integer(), nullable=True))
    op.add_column(
        "consent_event", sa.Column("agreement_sha256", sa.String(length=64), nullable=True)
    )
    op.add_column("consent_event", sa.Column("signed_name_ct", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consent_event") as table:
        table.drop_column("signed_name_ct")
        table.drop_column("agreement_sha256")
        table.drop_column("agreement_id")
