"""Forms as published data: every published definition word for word, an admin's drafts, the
form and version each person started, and the form a referral asks for (docs/forms.md).

Records from before have no form: they are Groundwork's own form, version 1.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "published_form",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("form_id", sa.String(length=60), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["published_by_id"],
            ["staff_user.id"],
            name=op.f("fk_published_form_published_by_id_staff_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_published_form")),
        sa.UniqueConstraint("form_id", "version", name=op.f("uq_published_form_form_id")),
    )
    op.create_table(
        "form_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_name", sa.String(length=200), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("import_notes", sa.Text(), nullable=True),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"],
            ["staff_user.id"],
            name=op.f("fk_form_draft_uploaded_by_id_staff_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_draft")),
    )
    op.add_column("client", sa.Column("form_id", sa.String(length=60), nullable=True))
    op.add_column("client", sa.Column("form_version", sa.Integer(), nullable=True))
    op.add_column("referral", sa.Column("form_id", sa.String(length=60), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("referral") as batch:
        batch.drop_column("form_id")
    with op.batch_alter_table("client") as batch:
        batch.drop_column("form_version")
        batch.drop_column("form_id")
    op.drop_table("form_draft")
    op.drop_table("published_form")
