"""Notices to staff, waiting to be sent by email, and where each staff member gets them.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("staff_user", sa.Column("email", sa.String(length=254), nullable=True))
    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("send_after", sa.DateTime(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff_user.id"], name=op.f("fk_notice_staff_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice")),
    )
    op.create_index(op.f("ix_notice_staff_id"), "notice", ["staff_id"], unique=False)
    op.create_index(op.f("ix_notice_send_after"), "notice", ["send_after"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_notice_send_after"), table_name="notice")
    op.drop_index(op.f("ix_notice_staff_id"), table_name="notice")
    op.drop_table("notice")
    with op.batch_alter_table("staff_user") as table:
        table.drop_column("email")
