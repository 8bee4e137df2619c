"""The whole data model of DESIGN.md section 4, with append-only triggers.

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-27 19:58:38.448179
"""

from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


APPEND_ONLY_TABLES = ("consent_event", "access_event")


def _append_only_triggers() -> None:
    """The database itself refuses UPDATE and DELETE on the append-only tables."""
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY_TABLES:
        if dialect == "sqlite":
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        elif dialect == "postgresql":
            op.execute(
                "CREATE OR REPLACE FUNCTION groundwork_append_only() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION groundwork_append_only()"
            )


def _drop_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY_TABLES:
        if dialect == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        elif dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS groundwork_append_only()")


def upgrade() -> None:
    op.create_table('consent_text',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_text')),
    sa.UniqueConstraint('purpose', 'version', 'locale', name=op.f('uq_consent_text_purpose'))
    )
    op.create_table('organisation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('public_key', sa.LargeBinary(), nullable=False),
    sa.Column('key_id', sa.LargeBinary(length=8), nullable=False),
    sa.Column('recovery_wrapped_key', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('rotated_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation'))
    )
    op.create_table('partner_org',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_org')),
    sa.UniqueConstraint('name', name=op.f('uq_partner_org_name'))
    )
    op.create_table('staff_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('partner_org_id', sa.Integer(), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('personal_key_wrapped', sa.LargeBinary(), nullable=False),
    sa.Column('wrapped_org_key', sa.LargeBinary(), nullable=True),
    sa.Column('totp_secret_ct', sa.LargeBinary(), nullable=True),
    sa.Column('totp_last_step', sa.Integer(), nullable=True),
    sa.Column('failed_sign_ins', sa.Integer(), nullable=False),
    sa.Column('paused_until', sa.DateTime(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_sign_in_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['partner_org_id'], ['partner_org.id'], name=op.f('fk_staff_user_partner_org_id_partner_org')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_user')),
    sa.UniqueConstraint('username', name=op.f('uq_staff_user_username'))
    )
    op.create_table('access_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('client_id', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=24), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], name=op.f('fk_access_event_staff_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_event'))
    )
    with op.batch_alter_table('access_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_event_client_id'), ['client_id'], unique=False)

    op.create_table('consent_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=32), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('consent_text_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=16), nullable=False),
    sa.Column('actor_staff_id', sa.Integer(), nullable=True),
    sa.Column('reason_ct', sa.LargeBinary(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['actor_staff_id'], ['staff_user.id'], name=op.f('fk_consent_event_actor_staff_id_staff_user')),
    sa.ForeignKeyConstraint(['consent_text_id'], ['consent_text.id'], name=op.f('fk_consent_event_consent_text_id_consent_text')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_event'))
    )
    with op.batch_alter_table('consent_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_event_client_id'), ['client_id'], unique=False)

    op.create_table('referral',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_org_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('note_ct', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff_user.id'], name=op.f('fk_referral_created_by_id_staff_user')),
    sa.ForeignKeyConstraint(['partner_org_id'], ['partner_org.id'], name=op.f('fk_referral_partner_org_id_partner_org')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_referral_token_hash'))
    )
    op.create_table('session_record',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('client_id', sa.String(length=32), nullable=True),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_user.id'], name=op.f('fk_session_record_staff_id_staff_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_session_record'))
    )
    with op.batch_alter_table('session_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_record_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_session_record_last_seen_at'), ['last_seen_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_session_record_staff_id'), ['staff_id'], unique=False)

    op.create_table('staff_invite',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('partner_org_id', sa.Integer(), nullable=True),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('org_key_wrapped', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['invited_by_id'], ['staff_user.id'], name=op.f('fk_staff_invite_invited_by_id_staff_user')),
    sa.ForeignKeyConstraint(['partner_org_id'], ['partner_org.id'], name=op.f('fk_staff_invite_partner_org_id_partner_org')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_invite')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_staff_invite_token_hash'))
    )
    op.create_table('client',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('lookup_hash', sa.LargeBinary(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('assigned_coach_id', sa.Integer(), nullable=True),
    sa.Column('referral_id', sa.Integer(), nullable=True),
    sa.Column('dek_by_code', sa.LargeBinary(), nullable=True),
    sa.Column('dek_by_org', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('erased_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['assigned_coach_id'], ['staff_user.id'], name=op.f('fk_client_assigned_coach_id_staff_user')),
    sa.ForeignKeyConstraint(['referral_id'], ['referral.id'], name=op.f('fk_client_referral_id_referral')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client')),
    sa.UniqueConstraint('lookup_hash', name=op.f('uq_client_lookup_hash'))
    )
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.create_index('ix_client_coach_updated', ['assigned_coach_id', 'updated_at'], unique=False)

    op.create_table('answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=32), nullable=False),
    sa.Column('section_key', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('schema_version', sa.Integer(), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_answer_client_id_client'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_answer')),
    sa.UniqueConstraint('client_id', 'section_key', 'version', name=op.f('uq_answer_client_id'))
    )
    _append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()
    op.drop_table('answer')
    with op.batch_alter_table('client', schema=None) as batch_op:
        batch_op.drop_index('ix_client_coach_updated')

    op.drop_table('client')
    op.drop_table('staff_invite')
    with op.batch_alter_table('session_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_record_staff_id'))
        batch_op.drop_index(batch_op.f('ix_session_record_last_seen_at'))
        batch_op.drop_index(batch_op.f('ix_session_record_client_id'))

    op.drop_table('session_record')
    op.drop_table('referral')
    with op.batch_alter_table('consent_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_event_client_id'))

    op.drop_table('consent_event')
    with op.batch_alter_table('access_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_event_client_id'))

    op.drop_table('access_event')
    op.drop_table('staff_user')
    op.drop_table('partner_org')
    op.drop_table('organisation')
    op.drop_table('consent_text')
