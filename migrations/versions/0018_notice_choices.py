"""How each staff member gets each kind of notice: at once, once a day, or never.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notice_choice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("when", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_user.id"], name=op.f("fk_notice_choice_staff_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_choice")),
        sa.UniqueConstraint("staff_id", "kind", name=op.f("uq_notice_choice_staff_id")),
    )


def downgrade() -> None:
    op.drop_table("notice_choice")
