"""The data model of DESIGN.md §4, as typed SQLAlchemy 2.0 models.

Columns named `*_ct`, `dek_*`, `wrapped_*` and `payload` hold envelopes from `crypto.py`;
everything else is plaintext and holds no personal data: ids, times, states and hashes.
`ConsentEvent` and `AccessEvent` are append-only: the ORM refuses to change or delete them,
and the migration adds database triggers that do the same.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    CursorResult,
    DateTime,
    Executable,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from intake.db import metadata


def rows_changed(db: Session, statement: Executable) -> int:
    """Run an UPDATE or DELETE and say how many rows it changed (a conditional UPDATE that
    changed one row is the one that won a race)."""
    result = cast("CursorResult[Any]", db.execute(statement))
    return result.rowcount


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("Groundwork stores aware datetimes only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = metadata
    type_annotation_map = {datetime: UTCDateTime(), bytes: LargeBinary()}


class Role(enum.StrEnum):
    COACH = "coach"
    ADMIN = "admin"
    PARTNER = "partner"


class ClientStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACTIVE = "active"
    CLOSED = "closed"
    ERASED = "erased"


class Organisation(Base):
    """The one coaching organisation this deployment serves, and its public key."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    public_key: Mapped[bytes]
    key_id: Mapped[bytes] = mapped_column(LargeBinary(8))
    recovery_wrapped_key: Mapped[bytes]  # the private key, under the recovery phrase
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rotated_at: Mapped[datetime | None]


class PartnerOrg(Base):
    """A partner organisation that refers people (a charity, a caseworkers' team)."""

    __tablename__ = "partner_org"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffUser(Base):
    """A coach, an admin or a partner's staff member.

    `personal_key_wrapped` is an X25519 private key wrapped under the person's password;
    `wrapped_org_key` (coaches and admins only) and `totp_secret_ct` are sealed to `public_key`.
    """

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    partner_org_id: Mapped[int | None] = mapped_column(ForeignKey("partner_org.id"))
    password_hash: Mapped[str] = mapped_column(String(200))
    personal_key_wrapped: Mapped[bytes]
    public_key: Mapped[bytes | None]  # of the personal key: what their copies are sealed to
    wrapped_org_key: Mapped[bytes | None]
    totp_secret_ct: Mapped[bytes | None]
    # A coach's own words under each part of their side of the agreement: sealed to
    # `public_key`, so only they read them back (intake/agreements.py).
    own_words_ct: Mapped[bytes | None]
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    failed_sign_ins: Mapped[int] = mapped_column(default=0)
    paused_until: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None]
    # Where notices go (intake/notices.py): only that there is something in Groundwork for them.
    email: Mapped[str | None] = mapped_column(String(254))

    partner_org: Mapped[PartnerOrg | None] = relationship()

    # Flask-Login's user interface, written out so models need not import Flask-Login.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def reads_answers(self) -> bool:
        return self.role in (Role.COACH, Role.ADMIN)


class StaffInvite(Base):
    """A single-use invitation. The secret lives only in the link; this row holds its hash."""

    __tablename__ = "staff_invite"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(120))
    partner_org_id: Mapped[int | None] = mapped_column(ForeignKey("partner_org.id"))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    org_key_wrapped: Mapped[bytes | None]  # the org key under the invite secret
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Referral(Base):
    """A partner's referral: a single-use link and typed code, and a sealed note for the coach.

    The link's token and the code are stored only as digests. `reference` is a public name for
    the referral that the partner can file in their own system; it says nothing about anyone.
    """

    __tablename__ = "referral"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(16))
    partner_org_id: Mapped[int] = mapped_column(ForeignKey("partner_org.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_hash: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(16), default="en")
    status: Mapped[str] = mapped_column(String(24), default="invited")
    note_ct: Mapped[bytes | None]  # sealed to the organisation key
    nickname_ct: Mapped[bytes | None]  # sealed to the organisation key
    form_id: Mapped[str | None] = mapped_column(String(60))  # the form asked; None: the default
    # The last status the partner's webhooks were told (intake/webhooks.py); None: none yet, or
    # the person stopped sharing since.
    status_told: Mapped[str | None] = mapped_column(String(24))

    __table_args__ = (
        Index("uq_referral_reference", "reference", unique=True),
        Index("uq_referral_code_hash", "code_hash", unique=True),
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]


class ApiToken(Base):
    """A partner organisation's token for its own case-management system. Only the digest is
    stored; the token is shown once. Revoked tokens stay, so their use can be refused."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_org_id: Mapped[int] = mapped_column(ForeignKey("partner_org.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(80))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Client(Base):
    """A person filling in the forms. Found only by the lookup hash of their return code."""

    __tablename__ = "client"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    lookup_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=ClientStatus.DRAFT)
    locale: Mapped[str] = mapped_column(String(16), default="en")
    assigned_coach_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"))
    dek_by_code: Mapped[bytes | None]  # the data key under the return-code key
    dek_by_org: Mapped[bytes | None]  # the data key sealed to the organisation
    # What the referrer wrote (name used, note), sealed under the data key once a coach has
    # opened it with the organisation key, so the person can read it too ("my data").
    referral_copy_ct: Mapped[bytes | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    shared_at: Mapped[datetime | None]  # while "share with a coach" is granted; else None
    status_shared_at: Mapped[datetime | None]  # while "status to referrer" is granted
    closed_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]
    # The form and the version they started: they finish that version (docs/forms.md).
    # None for a record from before forms were data: Groundwork's own form, version 1.
    form_id: Mapped[str | None] = mapped_column(String(60))
    form_version: Mapped[int | None]
    # What their coach has been told of, by a notice that comes with time (a notice names no
    # client, so it is remembered here: intake/due_notices.py). The review come due, as the
    # moment it counts from (the last review, or when coaching began); and the newest decision
    # recorded by voice that had waited too long for the person, as the moment it was recorded.
    # Set even when the coach hears nothing of it (no address, or "never"): it was theirs.
    review_due_told_for: Mapped[datetime | None]
    voice_waiting_told_for: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_client_coach_updated", "assigned_coach_id", "updated_at"),
        # A coach's count, from the index alone; an admin's waiting list in the order sent.
        Index("ix_client_coach_status_shared", "assigned_coach_id", "status", "shared_at"),
        Index("ix_client_coach_submitted", "assigned_coach_id", "submitted_at"),
        Index("uq_client_referral_id", "referral_id", unique=True),  # a referral is used once
    )


class Answer(Base):
    """One section of a client's answers, as one envelope. A change after sending is a new
    version; before sending, the latest version is replaced in place."""

    __tablename__ = "answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    section_key: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(default=1)
    schema_version: Mapped[int] = mapped_column(default=1)
    # The form and its version the answers were given under (docs/forms.md); bound into the
    # envelope's associated data. Empty for answers saved before forms were data.
    form_id: Mapped[str | None] = mapped_column(String(60))
    form_version: Mapped[int | None]
    ciphertext: Mapped[bytes]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("client_id", "section_key", "version"),)


class AgreementKind(enum.StrEnum):
    RELATIONSHIP = "relationship"  # the PROMISES answers, accepted by the coach
    PLAN = "plan"  # the coaching plan and its goals, written with the coach


class Agreement(Base):
    """One version of a relationship agreement or coaching plan. The content is encrypted
    under the client's data key, like their answers; each change is a new version."""

    __tablename__ = "agreement"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[int]
    content_ct: Mapped[bytes]
    written_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    coach_accepted_at: Mapped[datetime | None]
    client_response: Mapped[str | None] = mapped_column(String(24))  # confirmed / change
    client_response_at: Mapped[datetime | None]
    client_note_ct: Mapped[bytes | None]
    # The "are we on track?" review that asked for this version, if one did.
    review_id: Mapped[int | None] = mapped_column(ForeignKey("review.id", ondelete="SET NULL"))

    __table_args__ = (UniqueConstraint("client_id", "kind", "version"),)


class CheckIn(Base):
    """Before a session: what the client brings today, and what the coach records as agreed.
    A session the client did not prepare for is one the coach started (`started_by_id`), with
    nothing brought. The client confirms what was agreed, or adds a comment."""

    __tablename__ = "check_in"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    content_ct: Mapped[bytes]  # today's goal, anything off-limits today, how they are arriving
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    agreed_ct: Mapped[bytes | None]
    agreed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    agreed_at: Mapped[datetime | None]
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    client_response: Mapped[str | None] = mapped_column(String(24))  # confirmed / change
    client_response_at: Mapped[datetime | None]
    client_note_ct: Mapped[bytes | None]


class Review(Base):
    """An "are we on track?" review: what the person said about how coaching is going, and
    their coach's view of it. Both parts are encrypted under the client's data key; whether
    either asked for a change is inside them, never in a column."""

    __tablename__ = "review"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    content_ct: Mapped[bytes]
    coach_view_ct: Mapped[bytes | None]
    coach_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    coach_at: Mapped[datetime | None]


class Strength(Base):
    """Something the person managed, added to their strengths over time by them or their
    coach ("something I managed since we last met"). Encrypted under the client's data key."""

    __tablename__ = "strength"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))  # None: them
    text_ct: Mapped[bytes]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsentText(Base):
    """The exact words a client was shown for one consent purpose. Immutable once published."""

    __tablename__ = "consent_text"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40))
    version: Mapped[int]
    locale: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("purpose", "version", "locale"),)


class PublishedForm(Base):
    """A form definition as it was published: its text, word for word, kept for as long as any
    answer was given under it. Never changed: a change is a new version."""

    __tablename__ = "published_form"

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[str] = mapped_column(String(60))
    version: Mapped[int]
    definition: Mapped[str] = mapped_column(Text)  # the TOML text (docs/forms.md)
    sha256: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))

    __table_args__ = (UniqueConstraint("form_id", "version"),)


class FormRecording(Base):
    """A recording a published form names (ODK's media::audio): someone reading a question's
    words, or its "why we ask", aloud in one language. Kept with the form version, like its
    words, and heard by anyone who has the address, which is its hash (nothing personal)."""

    __tablename__ = "form_recording"

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[str] = mapped_column(String(60))
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    media_type: Mapped[str] = mapped_column(String(40))
    content: Mapped[bytes]

    __table_args__ = (UniqueConstraint("form_id", "version", "name"),)


class Notice(Base):
    """A note to a staff member that something in Groundwork needs them, waiting to be sent by
    email (intake/notices.py). It names its kind and its person, never a client: nothing here
    says who, how many or what about."""

    __tablename__ = "notice"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    send_after: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    tries: Mapped[int] = mapped_column(default=0)
    # What went wrong at the last try, in the mail server's terms (an SMTP code, a class of
    # error), for the operator: never an address or a message.
    last_error: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None]


class NoticeChoice(Base):
    """How a staff member gets one kind of notice: at once, once a day, or never. Without a
    row, the organisation's default (NOTICE_DEFAULTS) holds."""

    __tablename__ = "notice_choice"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    kind: Mapped[str] = mapped_column(String(32))
    when: Mapped[str] = mapped_column(String(16))

    __table_args__ = (UniqueConstraint("staff_id", "kind"),)


class WebhookEndpoint(Base):
    """An HTTPS address where a partner organisation's own system hears when a referral's
    status changes (intake/webhooks.py). The signing secret is encrypted under a key from the
    server's pepper; the partner saw it once."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_org_id: Mapped[int] = mapped_column(ForeignKey("partner_org.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    secret_ct: Mapped[bytes]
    # After the partner asks for a new secret, the old one signs beside it for a while, so their
    # system can change over without a message it cannot check (Standard Webhooks' rotation).
    previous_secret_ct: Mapped[bytes | None]
    previous_until: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]  # the receiver answered 410 Gone, or it was removed
    disabled_reason: Mapped[str | None] = mapped_column(String(80))


class WebhookDelivery(Base):
    """One message to one endpoint, waiting, sent or given up. `body` is the exact JSON that
    is signed and sent: a referral's reference and a status the person agreed to share, never
    anything about them. Undelivered messages about a person who stops sharing are deleted."""

    __tablename__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id"), index=True)
    referral_id: Mapped[int | None] = mapped_column(ForeignKey("referral.id"), index=True)
    message_id: Mapped[str] = mapped_column(String(40), unique=True)
    event_type: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    send_after: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    tries: Mapped[int] = mapped_column(default=0)
    # What the last try met (an HTTP status, a class of error), for the partner and operator.
    last_error: Mapped[str | None] = mapped_column(String(200))
    delivered_at: Mapped[datetime | None]
    given_up_at: Mapped[datetime | None]


class FormDraft(Base):
    """A form an admin uploaded, waiting for them to look at it and publish it. Clients never
    see a draft; only the admin who uploaded it can open it."""

    __tablename__ = "form_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[str] = mapped_column(Text)  # the TOML text, as uploaded or imported
    import_notes: Mapped[str | None] = mapped_column(Text)  # what an XLSForm import said (JSON)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsentEvent(Base):
    """One consent decision, or one signature of an agreement version, chained to the client's
    previous entry by hash. Append-only."""

    __tablename__ = "consent_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(32), index=True)
    purpose: Mapped[str] = mapped_column(String(40))
    decision: Mapped[str] = mapped_column(String(16))  # granted / declined / withdrawn
    consent_text_id: Mapped[int | None] = mapped_column(ForeignKey("consent_text.id"))
    actor: Mapped[str] = mapped_column(String(16))  # client / coach
    actor_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    reason_ct: Mapped[bytes | None]  # a coach's reason for recording on someone's behalf
    at: Mapped[datetime] = mapped_column(default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # A signature of an agreement version (not a decision): the version, a hash of its sealed
    # words, and the name the person typed, sealed under their data key. No foreign key: the
    # entry outlives the agreement when a person's record is erased.
    agreement_id: Mapped[int | None]
    agreement_sha256: Mapped[str | None] = mapped_column(String(64))
    signed_name_ct: Mapped[bytes | None]
    # The reviewed English words shown beside a draft translation of the text, when the
    # person's language had not been reviewed yet (issue: consent stays informed). No foreign
    # key, like `agreement_id`: a plain added column on an append-only table.
    english_text_id: Mapped[int | None]

    # Two decisions written at once cannot both follow the same one: the chain never forks.
    __table_args__ = (Index("ix_consent_event_chain", "client_id", "prev_hash", unique=True),)


class AccessEvent(Base):
    """One look at (or action on) a client's record by a staff member. Append-only, chained."""

    __tablename__ = "access_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    client_id: Mapped[str] = mapped_column(String(32), index=True)
    action: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_access_event_chain", "prev_hash", unique=True),  # one chain, never forked
        # When a staff member last viewed each client: their views only, never the many
        # "saw your name in a list" entries each look at the workspace adds.
        Index("ix_access_event_staff_client_action", "staff_id", "client_id", "action", "at"),
    )


class SessionRecord(Base):
    """A split-key session (DESIGN.md §6): its payload opens only with the key in the cookie."""

    __tablename__ = "session_record"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # visitor / client / staff
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str | None] = mapped_column(String(32), index=True)
    payload: Mapped[bytes]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


APPEND_ONLY_TABLES = ("consent_event", "access_event")


class AppendOnlyViolation(Exception):
    """Someone tried to change or delete a row of an append-only table."""


def _refuse_change(_mapper: Any, _connection: Any, target: Any) -> None:
    raise AppendOnlyViolation(f"{type(target).__name__} rows cannot be changed or deleted")


for _model in (ConsentEvent, AccessEvent, PublishedForm):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_change)
