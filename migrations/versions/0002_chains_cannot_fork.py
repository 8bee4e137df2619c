"""Hash chains that cannot fork, and the index behind "new since you last looked".

Unique indexes rather than constraints, so SQLite adds them in place: rebuilding the tables
would drop their append-only triggers.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_access_event_chain", "access_event", ["prev_hash"], unique=True)
    op.create_index(
        "ix_access_event_staff_client", "access_event", ["staff_id", "client_id", "at"]
    )
    op.create_index(
        "ix_consent_event_chain", "consent_event", ["client_id", "prev_hash"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ix_consent_event_chain", table_name="consent_event")
    op.drop_index("ix_access_event_staff_client", table_name="access_event")
    op.drop_index("ix_access_event_chain", table_name="access_event")
