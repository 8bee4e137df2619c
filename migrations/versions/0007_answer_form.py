"""Each answer keeps the form and the version of the form it was given under (docs/forms.md);
both are bound into its envelope's associated data. Answers saved before are left as they are
(both empty) and open as before.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("answer", sa.Column("form_id", sa.String(length=60), nullable=True))
    op.add_column("answer", sa.Column("form_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("answer") as batch:
        batch.drop_column("form_version")
        batch.drop_column("form_id")
