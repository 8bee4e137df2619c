"""Recordings a published form names: a question's words read aloud, per language.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "form_recording",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("form_id", sa.String(length=60), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_recording")),
        sa.UniqueConstraint(
            "form_id", "version", "name", name=op.f("uq_form_recording_form_id")
        ),
    )
    op.create_index(op.f("ix_form_recording_sha256"), "form_recording", ["sha256"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_form_recording_sha256"), table_name="form_recording")
    op.drop_table("form_recording")
