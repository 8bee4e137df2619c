"""The organisation key over time: rotating it, and recovering it with the recovery phrase.

Both run in one transaction, so a stop half-way changes nothing, and both are safe to run
again. Rotation makes a new keypair, re-seals every client's data key to it (work grows with
clients, not answers) and every partner's sealed note, gives every coach and admin their copy
(sealed to their public key, so nobody's password is needed), cancels invitations that carried
the old key, ends every staff session, and prints a new recovery phrase: the old key and the
old phrase are retired.
Knows nothing of Flask; callers commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from intake import crypto, referrals, staff, vault
from intake.models import (
    Client,
    Organisation,
    Referral,
    Role,
    SessionRecord,
    StaffInvite,
    StaffUser,
    utcnow,
)
from intake.sessions import STAFF
from intake.wording import N_


@dataclass(frozen=True)
class Rotation:
    clients_resealed: int
    staff_given_the_key: int
    staff_left_out: list[str]  # accounts that must be given the key again by an admin
    invites_cancelled: int
    recovery_phrase: str
    old_key_id: bytes
    new_key_id: bytes
    # Their copy is sealed to a personal key older than the post-quantum hybrid ones; it is
    # sealed again, to a hybrid key, the next time they sign in.
    staff_not_yet_post_quantum: list[str] = field(default_factory=list)


def _organisation_or_fail(db: Session) -> Organisation:
    org = staff.organisation(db)
    if org is None:
        raise staff.StaffError(N_("There is no organisation yet: run `flask org init` first."))
    return org


def rotate(db: Session, old_private_key: bytes, keys: staff.StaffCrypto) -> Rotation:
    org = _organisation_or_fail(db)
    if crypto.public_key_of(old_private_key) != org.public_key:
        raise staff.StaffError(N_("That is not the organisation's current key."))
    pair = crypto.generate_org_keypair()
    resealed = 0
    for client in db.scalars(select(Client).where(Client.dek_by_org.is_not(None))):
        data_key = vault.unlock_with_org_key(client, old_private_key)
        vault.reseal_for_org(client, data_key, pair.public_key)
        resealed += 1
    # Partners' notes and nicknames for the coach are sealed to the organisation key too.
    sealed_notes = or_(Referral.note_ct.is_not(None), Referral.nickname_ct.is_not(None))
    for referral in db.scalars(select(Referral).where(sealed_notes)):
        referrals.reseal_for_org(referral, old_private_key, pair.public_key)
    given, left_out, classical = 0, [], []
    for member in db.scalars(select(StaffUser).where(StaffUser.wrapped_org_key.is_not(None))):
        if member.active and member.public_key is not None:
            staff.grant_org_key(member, pair.private_key)
            given += 1
            if not crypto.is_hybrid(member.public_key):
                classical.append(member.username)  # sealed again at their next sign-in
        else:
            member.wrapped_org_key = None
            left_out.append(member.username)
    now = utcnow()
    cancelled = 0
    for invite in db.scalars(
        select(StaffInvite).where(
            StaffInvite.org_key_wrapped.is_not(None), StaffInvite.used_at.is_(None)
        )
    ):
        invite.org_key_wrapped = None
        invite.expires_at = now
        cancelled += 1
    phrase = crypto.generate_recovery_phrase()
    old_key_id = org.key_id
    org.public_key = pair.public_key
    org.key_id = pair.key_id
    org.recovery_wrapped_key = staff.wrap_for_recovery(phrase, pair, keys)
    org.rotated_at = now
    db.execute(delete(SessionRecord).where(SessionRecord.kind == STAFF))
    db.flush()
    return Rotation(
        resealed, given, left_out, cancelled, phrase, old_key_id, pair.key_id, classical
    )


def recover(
    db: Session,
    phrase: str,
    username: str,
    display_name: str,
    password: str,
    keys: staff.StaffCrypto,
) -> StaffUser:
    """Every admin password is lost: the recovery phrase makes (or restores) an admin who holds
    the organisation key. They set up their 6-digit codes again at their next sign-in."""
    org = _organisation_or_fail(db)
    try:
        org_key = staff.recover_org_key(org, phrase)
    except crypto.CannotOpen:
        raise staff.StaffError(
            N_("That recovery phrase does not open the organisation key.")
        ) from None
    member = staff.find_staff(db, username)
    if member is None:
        return staff.create_staff(
            db,
            username=username,
            display_name=display_name,
            role=Role.ADMIN,
            password=password,
            keys=keys,
            org_private_key=org_key,
        )
    staff.reset_account(db, member, password, keys)
    member.role = str(Role.ADMIN)
    member.partner_org = None
    staff.grant_org_key(member, org_key)
    db.flush()
    return member
