"""The three levels of agreement: relationship and plan agreements, session check-ins; when
a client was closed (for retention); and whether their answers are shared with a coach.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("client", sa.Column("closed_at", sa.DateTime(), nullable=True))
    op.add_column("client", sa.Column("shared_at", sa.DateTime(), nullable=True))
    # Everyone who sent before this column existed had agreed to share: sending needs it.
    op.execute("UPDATE client SET shared_at = submitted_at WHERE submitted_at IS NOT NULL")
    op.create_table(
        "agreement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_ct", sa.LargeBinary(), nullable=False),
        sa.Column("written_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("coach_accepted_at", sa.DateTime(), nullable=True),
        sa.Column("client_response", sa.String(length=24), nullable=True),
        sa.Column("client_response_at", sa.DateTime(), nullable=True),
        sa.Column("client_note_ct", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_agreement_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["written_by_id"], ["staff_user.id"],
            name=op.f("fk_agreement_written_by_id_staff_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement")),
        sa.UniqueConstraint("client_id", "kind", "version", name=op.f("uq_agreement_client_id")),
    )
    op.create_table(
        "check_in",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=32), nullable=False),
        sa.Column("content_ct", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("agreed_ct", sa.LargeBinary(), nullable=True),
        sa.Column("agreed_by_id", sa.Integer(), nullable=True),
        sa.Column("agreed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_check_in_client_id_client"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agreed_by_id"], ["staff_user.id"], name=op.f("fk_check_in_agreed_by_id_staff_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_in")),
    )
    op.create_index(op.f("ix_check_in_client_id"), "check_in", ["client_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_check_in_client_id"), table_name="check_in")
    op.drop_table("check_in")
    op.drop_table("agreement")
    with op.batch_alter_table("client") as batch:
        batch.drop_column("shared_at")
        batch.drop_column("closed_at")
