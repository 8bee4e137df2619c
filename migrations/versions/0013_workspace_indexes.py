"""Indexes for the two workspace reads that grew with the number of clients
(docs/performance.md): a coach's count, and an admin's "waiting for a coach" list.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A coach's count ("People assigned to you") and the filter of their list, from the
    # index alone.
    op.create_index(
        "ix_client_coach_status_shared",
        "client",
        ["assigned_coach_id", "status", "shared_at"],
        unique=False,
    )
    # "Waiting for a coach": the clients with no coach (or one who left), in the order they
    # sent their answers.
    op.create_index(
        "ix_client_coach_submitted", "client", ["assigned_coach_id", "submitted_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_client_coach_submitted", table_name="client")
    op.drop_index("ix_client_coach_status_shared", table_name="client")
