"""When a staff member last viewed each client, read from an index that holds the action.

Each look at the workspace adds a "saw your name in a list" entry for every name shown, so a
coach's entries for one client grow by one each time they open their list. "Last viewed" asked
for the views among them, and the index it used (staff, client, time) made it read every
entry to find them: the workspace grew slower each time it was opened. The action joins the
index, and the views are read alone.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_access_event_staff_client_action",
        "access_event",
        ["staff_id", "client_id", "action", "at"],
        unique=False,
    )
    op.drop_index("ix_access_event_staff_client", table_name="access_event")


def downgrade() -> None:
    op.create_index(
        "ix_access_event_staff_client", "access_event", ["staff_id", "client_id", "at"]
    )
    op.drop_index("ix_access_event_staff_client_action", table_name="access_event")
