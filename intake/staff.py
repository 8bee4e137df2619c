"""Staff accounts and the organisation key: set-up, sign-in checks, two-factor codes, invites.

Each staff member has a personal keypair (ML-KEM-768 + X25519; older accounts X25519 until
their next sign-in). The private key (their "personal key") is
wrapped under their password; the public key is stored as it is. Their copy of the
organisation private key (coaches and admins only) and their TOTP secret are sealed to the
public key. So a stolen database and server configuration open neither (both need a
password), while rotating the organisation key, or recovering it, can give everyone their new
copy without knowing anyone's password.

Knows nothing of Flask. Functions flush; callers commit.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.orm import Session

from intake import crypto, passwords
from intake.models import (
    Organisation,
    PartnerOrg,
    Role,
    SessionRecord,
    StaffInvite,
    StaffUser,
    rows_changed,
    utcnow,
)
from intake.wording import N_, Sentence

TOTP_STEP_SECONDS = 30
TOTP_ISSUER = "Groundwork"


class StaffError(Exception):
    """A request about staff accounts that cannot be done. `sentence` is safe to show, and is
    translated where it is shown (`intake.i18n.say`)."""

    def __init__(self, sentence: Sentence) -> None:
        super().__init__(str(sentence))
        self.sentence = sentence


@dataclass(frozen=True)
class SignInPolicy:
    failures_before_pause: int = 10
    pause: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class StaffCrypto:
    """What staff operations need from the settings."""

    hasher: PasswordHasher
    kdf: crypto.KdfParams


def _personal_key_aad(staff_id: int) -> bytes:
    return f"staff-personal-key\x00{staff_id}".encode()


def _org_key_aad(staff_id: int) -> bytes:
    return f"staff-org-key\x00{staff_id}".encode()


def _totp_aad(staff_id: int) -> bytes:
    return f"staff-totp\x00{staff_id}".encode()


def _recovery_aad() -> bytes:
    return b"org-key-recovery"


def _invite_aad(token_hash: str) -> bytes:
    return f"org-key-invite\x00{token_hash}".encode()


# --- the organisation ---------------------------------------------------------------------


def organisation(db: Session) -> Organisation | None:
    return db.scalar(select(Organisation).limit(1))


def init_organisation(
    db: Session,
    name: str,
    admin_username: str,
    admin_display_name: str,
    admin_password: str,
    keys: StaffCrypto,
) -> tuple[Organisation, StaffUser, str]:
    """Make the organisation keypair and its first admin. Returns the recovery phrase,
    which is stored nowhere: whoever runs this must write it down."""
    if organisation(db) is not None:
        raise StaffError(N_("This Groundwork already has an organisation."))
    pair = crypto.generate_org_keypair()
    phrase = crypto.generate_recovery_phrase()
    org = Organisation(
        name=name,
        public_key=pair.public_key,
        key_id=pair.key_id,
        recovery_wrapped_key=wrap_for_recovery(phrase, pair, keys),
    )
    db.add(org)
    admin = create_staff(
        db,
        username=admin_username,
        display_name=admin_display_name,
        role=Role.ADMIN,
        password=admin_password,
        keys=keys,
        org_private_key=pair.private_key,
    )
    return org, admin, phrase


def wrap_for_recovery(phrase: str, pair: crypto.OrgKeyPair, keys: StaffCrypto) -> bytes:
    """The organisation private key under the recovery phrase (which is stored nowhere)."""
    return crypto.wrap_with_secret(
        crypto.normalise_recovery_phrase(phrase),
        pair.private_key,
        _recovery_aad(),
        keys.kdf,
        pair.key_id,
    )


def recover_org_key(org: Organisation, phrase: str) -> bytes:
    """The organisation private key, from the recovery phrase (raises crypto.CannotOpen)."""
    return crypto.unwrap_with_secret(
        crypto.normalise_recovery_phrase(phrase), org.recovery_wrapped_key, _recovery_aad()
    )


# --- accounts -----------------------------------------------------------------------------


def normalise_username(username: str) -> str:
    return passwords.normalise(username).strip().lower()


def find_staff(db: Session, username: str) -> StaffUser | None:
    return db.scalar(select(StaffUser).where(StaffUser.username == normalise_username(username)))


def create_staff(
    db: Session,
    *,
    username: str,
    display_name: str,
    role: str,
    password: str,
    keys: StaffCrypto,
    org_private_key: bytes | None = None,
    partner_org: PartnerOrg | None = None,
) -> StaffUser:
    username = normalise_username(username)
    if not username or len(username) > 80:
        raise StaffError(N_("Choose a username of 1 to 80 characters."))
    if find_staff(db, username) is not None:
        raise StaffError(N_("That username is taken. Choose another one."))
    problem = passwords.problem_with(password, username)
    if problem:
        raise StaffError(problem)
    if role == Role.PARTNER:
        if partner_org is None:
            raise StaffError(N_("Partner staff belong to a partner organisation."))
        org_private_key = None
    elif org_private_key is None:
        raise StaffError(N_("Coaches and admins need the organisation key."))
    staff = StaffUser(
        username=username,
        display_name=display_name.strip() or username,
        role=str(role),
        partner_org=partner_org,
        password_hash=passwords.hash_password(keys.hasher, password),
        personal_key_wrapped=b"",
    )
    db.add(staff)
    db.flush()  # the id goes into the associated data
    personal_key = crypto.new_private_key()  # ML-KEM-768 + X25519: copies sealed to it are PQ
    staff.public_key = crypto.public_key_of(personal_key)
    _wrap_personal_key(staff, personal_key, password, keys)
    if org_private_key is not None:
        grant_org_key(staff, org_private_key)
    db.flush()
    return staff


def grant_org_key(staff: StaffUser, org_private_key: bytes) -> None:
    """Give someone their own copy of the organisation key, sealed to their public key."""
    if staff.public_key is None:
        raise StaffError(N_("This account has no personal key yet: they need to sign in once."))
    staff.wrapped_org_key = crypto.seal(staff.public_key, org_private_key, _org_key_aad(staff.id))


def _open_own(staff: StaffUser, personal_key: bytes, envelope: bytes, aad: bytes) -> bytes:
    """Open an envelope meant for this person: sealed to their public key, or (accounts made
    before personal keys were keypairs) encrypted under the personal key itself."""
    kind, _kid = crypto.read_header(envelope)
    if kind == crypto.KIND_SEALED:
        return crypto.unseal(personal_key, envelope, aad)
    return crypto.decrypt(personal_key, envelope, aad)


def _wrap_personal_key(
    staff: StaffUser, personal_key: bytes, password: str, keys: StaffCrypto
) -> None:
    staff.personal_key_wrapped = crypto.wrap_with_secret(
        passwords.normalise(password),
        personal_key,
        _personal_key_aad(staff.id),
        keys.kdf,
        crypto.key_id(personal_key),
    )


def register_failure(db: Session, staff: StaffUser, policy: SignInPolicy, now: datetime) -> None:
    """Count a wrong password or code; enough of them in a row pause the account.

    One UPDATE that adds to the count the database holds, so wrong tries arriving at once (in
    threads, processes or hosts) are each counted: none is lost to a read-modify-write.
    """
    reaches_pause = StaffUser.failed_sign_ins + 1 >= policy.failures_before_pause
    db.execute(
        update(StaffUser)
        .where(StaffUser.id == staff.id)
        .values(
            failed_sign_ins=case((reaches_pause, 0), else_=StaffUser.failed_sign_ins + 1),
            paused_until=case((reaches_pause, now + policy.pause), else_=StaffUser.paused_until),
        )
        .execution_options(synchronize_session=False)
    )
    db.refresh(staff, ["failed_sign_ins", "paused_until"])


def register_success(staff: StaffUser, now: datetime) -> None:
    staff.failed_sign_ins = 0
    staff.last_sign_in_at = now


def is_paused(staff: StaffUser, now: datetime) -> bool:
    return staff.paused_until is not None and staff.paused_until > now


def check_password(
    db: Session,
    username: str,
    password: str,
    keys: StaffCrypto,
    policy: SignInPolicy,
    *,
    known_device_of: int | None = None,
) -> tuple[StaffUser, bytes] | None:
    """The staff member and their personal key when the password is right; None otherwise.

    The same work is done whether or not the username exists. Repeated failures pause the
    account for a while; during a pause even the right password is refused — except from a
    device the account's owner has signed in on before (`known_device_of` is the account it
    names), whose tries are neither paused nor counted toward a pause: the caller limits
    them on a budget of their own.
    """
    staff = find_staff(db, username)
    now = utcnow()
    if staff is None or not staff.active:
        passwords.spend_equal_time(keys.hasher)
        return None
    from_known_device = known_device_of == staff.id
    right = passwords.verify_password(keys.hasher, staff.password_hash, password)
    if not right or (is_paused(staff, now) and not from_known_device):
        if not right and not from_known_device:
            register_failure(db, staff, policy, now)
        db.flush()
        return None
    try:
        personal_key = crypto.unwrap_with_secret(
            passwords.normalise(password),
            staff.personal_key_wrapped,
            _personal_key_aad(staff.id),
        )
    except crypto.CannotOpen:
        return None
    if passwords.needs_rehash(keys.hasher, staff.password_hash):
        staff.password_hash = passwords.hash_password(keys.hasher, password)
    if staff.public_key is None:
        staff.public_key = crypto.public_key_of(personal_key)
    if not crypto.is_hybrid(personal_key):
        personal_key = _upgrade_personal_key(db, staff, personal_key, password, keys)
    db.flush()
    return staff, personal_key


def _upgrade_personal_key(
    db: Session, staff: StaffUser, old_key: bytes, password: str, keys: StaffCrypto
) -> bytes:
    """An account made before personal keys were post-quantum hybrids gets one at sign-in (the
    only moment its password is at hand): its copy of the organisation key and its two-factor
    secret are sealed again to the new public key. Its other sessions end, since they hold
    the old key."""
    org_key = open_org_key(staff, old_key)
    totp_secret = read_totp_secret(staff, old_key)
    new_key = crypto.new_private_key()
    staff.public_key = crypto.public_key_of(new_key)
    _wrap_personal_key(staff, new_key, password, keys)
    if org_key is not None:
        grant_org_key(staff, org_key)
    if totp_secret is not None:
        store_totp_secret(staff, new_key, totp_secret)
    end_sessions(db, staff.id)
    return new_key


def open_org_key(staff: StaffUser, personal_key: bytes) -> bytes | None:
    """The organisation private key from a coach's or admin's own copy."""
    if staff.wrapped_org_key is None:
        return None
    return _open_own(staff, personal_key, staff.wrapped_org_key, _org_key_aad(staff.id))


def change_password(
    db: Session, staff: StaffUser, personal_key: bytes, new_password: str, keys: StaffCrypto
) -> None:
    """Re-wrap the personal key under a new password and end every other session."""
    problem = passwords.problem_with(new_password, staff.username)
    if problem:
        raise StaffError(problem)
    staff.password_hash = passwords.hash_password(keys.hasher, new_password)
    _wrap_personal_key(staff, personal_key, new_password, keys)
    db.flush()


def reset_account(db: Session, staff: StaffUser, new_password: str, keys: StaffCrypto) -> None:
    """A fresh start for an account whose password is lost: a new personal keypair under the new
    password. Their old copies are gone; they set up their 6-digit codes again."""
    problem = passwords.problem_with(new_password, staff.username)
    if problem:
        raise StaffError(problem)
    personal_key = crypto.new_private_key()
    staff.public_key = crypto.public_key_of(personal_key)
    staff.password_hash = passwords.hash_password(keys.hasher, new_password)
    _wrap_personal_key(staff, personal_key, new_password, keys)
    staff.wrapped_org_key = None
    staff.totp_secret_ct = None
    staff.totp_last_step = None
    staff.failed_sign_ins = 0
    staff.paused_until = None
    staff.active = True
    end_sessions(db, staff.id)
    db.flush()


def end_sessions(db: Session, staff_id: int, keep_id_hash: str | None = None) -> int:
    """Delete a staff member's session rows (all, or all but one). Returns how many."""
    statement = delete(SessionRecord).where(SessionRecord.staff_id == staff_id)
    if keep_id_hash:
        statement = statement.where(SessionRecord.id_hash != keep_id_hash)
    return rows_changed(db, statement)


def deactivate(db: Session, staff: StaffUser) -> None:
    """Sign someone out everywhere and delete their copy of the organisation key, at once."""
    staff.active = False
    staff.wrapped_org_key = None
    staff.totp_secret_ct = None
    end_sessions(db, staff.id)
    db.flush()


# --- two-factor codes ---------------------------------------------------------------------


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)


def store_totp_secret(staff: StaffUser, personal_key: bytes, secret: str) -> None:
    public_key = crypto.public_key_of(personal_key)
    staff.totp_secret_ct = crypto.seal(public_key, secret.encode(), _totp_aad(staff.id))


def read_totp_secret(staff: StaffUser, personal_key: bytes) -> str | None:
    if staff.totp_secret_ct is None:
        return None
    return _open_own(staff, personal_key, staff.totp_secret_ct, _totp_aad(staff.id)).decode()


def matching_totp_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (now, or one either side) whose code this is, else None."""
    code = crypto.normalise_digits(code).replace(" ", "").strip()
    if len(code) != 6 or not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def accept_totp(db: Session, staff: StaffUser, secret: str, code: str, now: datetime) -> bool:
    """True for a right code whose time step has not been used before; remembers the step.

    The step is taken with one conditional UPDATE, so a code sent twice at once (two tabs,
    two hosts) is accepted by exactly one of them.
    """
    step = matching_totp_step(secret, code, now)
    if step is None:
        return False
    taken = rows_changed(
        db,
        update(StaffUser)
        .where(
            StaffUser.id == staff.id,
            or_(StaffUser.totp_last_step.is_(None), StaffUser.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False),
    )
    db.refresh(staff, ["totp_last_step"])
    return taken == 1


def reset_two_factor(db: Session, staff: StaffUser) -> None:
    """Forget someone's two-factor secret: they enrol again at their next sign-in."""
    staff.totp_secret_ct = None
    staff.totp_last_step = None
    end_sessions(db, staff.id)
    db.flush()


def partner_org_named(db: Session, name: str) -> PartnerOrg:
    """The partner organisation with this name, made if it is new."""
    name = name.strip()
    if not name or len(name) > 200:
        raise StaffError(N_("Give the partner organisation a name of up to 200 characters."))
    found = db.scalar(select(PartnerOrg).where(PartnerOrg.name == name))
    if found is None:
        found = PartnerOrg(name=name)
        db.add(found)
        db.flush()
    return found


def team(db: Session) -> list[StaffUser]:
    return list(
        db.scalars(
            select(StaffUser).order_by(
                StaffUser.active.desc(), StaffUser.role, StaffUser.display_name
            )
        )
    )


# --- invitations --------------------------------------------------------------------------


def create_invite(
    db: Session,
    *,
    role: str,
    display_name: str,
    keys: StaffCrypto,
    days: int,
    org_private_key: bytes | None = None,
    partner_org: PartnerOrg | None = None,
    invited_by: StaffUser | None = None,
) -> str:
    """A single-use invite. Returns the secret for the link; only its hash is stored."""
    if role == Role.PARTNER and partner_org is None:
        raise StaffError(N_("Partner staff belong to a partner organisation."))
    if role != Role.PARTNER and org_private_key is None:
        raise StaffError(N_("Inviting a coach needs the organisation key."))
    secret = crypto.new_secret_token()
    token_hash = crypto.token_digest(secret)
    invite = StaffInvite(
        token_hash=token_hash,
        role=str(role),
        display_name=display_name.strip(),
        partner_org_id=partner_org.id if partner_org else None,
        invited_by_id=invited_by.id if invited_by else None,
        expires_at=utcnow() + timedelta(days=days),
    )
    if role != Role.PARTNER and org_private_key is not None:
        invite.org_key_wrapped = crypto.wrap_with_secret(
            secret,
            org_private_key,
            _invite_aad(token_hash),
            keys.kdf,
            crypto.public_key_id(crypto.public_key_of(org_private_key)),
        )
    db.add(invite)
    db.flush()
    return secret


def find_invite(db: Session, secret: str) -> StaffInvite | None:
    """An unused, unexpired invite for this secret."""
    invite = db.scalar(
        select(StaffInvite).where(StaffInvite.token_hash == crypto.token_digest(secret))
    )
    if invite is None or invite.used_at is not None or invite.expires_at <= utcnow():
        return None
    return invite


def accept_invite(
    db: Session, invite: StaffInvite, secret: str, username: str, password: str, keys: StaffCrypto
) -> StaffUser:
    """Create the invited account, moving the organisation key from the invite to the password."""
    org_private_key = None
    if invite.org_key_wrapped is not None:
        org_private_key = crypto.unwrap_with_secret(
            secret, invite.org_key_wrapped, _invite_aad(invite.token_hash)
        )
    partner_org = db.get(PartnerOrg, invite.partner_org_id) if invite.partner_org_id else None
    staff = create_staff(
        db,
        username=username,
        display_name=invite.display_name,
        role=invite.role,
        password=password,
        keys=keys,
        org_private_key=org_private_key,
        partner_org=partner_org,
    )
    invite.used_at = utcnow()
    invite.org_key_wrapped = None
    db.flush()
    return staff
