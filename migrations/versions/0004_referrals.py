"""Referrals a person can type (code), a public reference, a sealed nickname; the client's
"status to referrer" consent as a column; API tokens for partners' systems.

Unique indexes rather than constraints, so SQLite adds them without rebuilding tables.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("referral", sa.Column("reference", sa.String(length=16), nullable=True))
    op.add_column("referral", sa.Column("code_hash", sa.String(length=64), nullable=True))
    op.add_column("referral", sa.Column("nickname_ct", sa.LargeBinary(), nullable=True))
    op.create_index("uq_referral_reference", "referral", ["reference"], unique=True)
    op.create_index("uq_referral_code_hash", "referral", ["code_hash"], unique=True)
    op.add_column("client", sa.Column("status_shared_at", sa.DateTime(), nullable=True))
    op.create_index("uq_client_referral_id", "client", ["referral_id"], unique=True)
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_org_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=80), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["partner_org_id"], ["partner_org.id"],
            name=op.f("fk_api_token_partner_org_id_partner_org"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["staff_user.id"],
            name=op.f("fk_api_token_created_by_id_staff_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    op.create_index(op.f("ix_api_token_partner_org_id"), "api_token", ["partner_org_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_api_token_partner_org_id"), table_name="api_token")
    op.drop_table("api_token")
    op.drop_index("uq_client_referral_id", table_name="client")
    op.drop_index("uq_referral_code_hash", table_name="referral")
    op.drop_index("uq_referral_reference", table_name="referral")
    with op.batch_alter_table("client") as batch:
        batch.drop_column("status_shared_at")
    with op.batch_alter_table("referral") as batch:
        batch.drop_column("nickname_ct")
        batch.drop_column("code_hash")
        batch.drop_column("reference")
