""""Are we on track?" reviews, and the agreement versions they asked for (docs/agreements.md).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("content_ct", sa.LargeBinary(), nullable=False),
        sa.Column("coach_view_ct", sa.LargeBinary(), nullable=True),
        sa.Column("coach_id", sa.Integer(), nullable=True),
        sa.Column("coach_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_review_client_id_client"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["coach_id"], ["staff_user.id"], name=op.f("fk_review_coach_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review")),
    )
    op.create_index(op.f("ix_review_client_id"), "review", ["client_id"], unique=False)
    with op.batch_alter_table("agreement") as table:
        table.add_column(sa.Column("review_id", sa.Integer(), nullable=True))
        table.create_foreign_key(
            op.f("fk_agreement_review_id_review"),
            "review",
            ["review_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("agreement") as table:
        table.drop_constraint(op.f("fk_agreement_review_id_review"), type_="foreignkey")
        table.drop_column("review_id")
    op.drop_index(op.f("ix_review_client_id"), table_name="review")
    op.drop_table("review")
