"""Strengths and past successes added over time, by the person or their coach
(docs/agreements.md).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "strength",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("text_ct", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["client.id"],
            name=op.f("fk_strength_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["added_by_id"], ["staff_user.id"], name=op.f("fk_strength_added_by_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strength")),
    )
    op.create_index(op.f("ix_strength_client_id"), "strength", ["client_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_strength_client_id"), table_name="strength")
    op.drop_table("strength")
