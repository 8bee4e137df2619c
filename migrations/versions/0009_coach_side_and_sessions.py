"""A coach's own words under each part of their side of the relationship agreement, sealed to
their personal key; sessions a coach records without a check-in, and the client's answer to
what was agreed at a session (docs/agreements.md).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("staff_user", sa.Column("own_words_ct", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("check_in") as batch:
        batch.add_column(sa.Column("started_by_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("client_response", sa.String(length=24), nullable=True))
        batch.add_column(sa.Column("client_response_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("client_note_ct", sa.LargeBinary(), nullable=True))
        batch.create_foreign_key(
            "fk_check_in_started_by_id_staff_user", "staff_user", ["started_by_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("check_in") as batch:
        batch.drop_constraint("fk_check_in_started_by_id_staff_user", type_="foreignkey")
        for column in ("client_note_ct", "client_response_at", "client_response", "started_by_id"):
            batch.drop_column(column)
    with op.batch_alter_table("staff_user") as batch:
        batch.drop_column("own_words_ct")
