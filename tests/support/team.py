"""The organisation every test works in: an admin, two coaches and a partner, with 6-digit
codes set up, made through the app's own staff functions."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import pyotp
from flask import Flask
from sqlalchemy import update

from intake import staff
from intake.context import staff_crypto
from intake.db import db_session
from intake.models import PartnerOrg, Role, StaffUser

PASSWORDS = {
    "admin": "lighthouse over the bay",
    "coach": "river stones and moss",
    "coach2": "paper boats at dawn",
    "partner": "orchard in late summer",
}


@dataclass
class Team:
    """An organisation with an admin, two coaches and a partner, all set up for 2FA."""

    app: Flask
    org_private_key: bytes
    recovery_phrase: str
    totp: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def code(self, username: str, offset_steps: int = 0) -> str:
        return pyotp.TOTP(self.totp[username]).at(time.time() + 30 * offset_steps)

    def forget_used_codes(self, username: str) -> None:
        """Let a code of the current time step be used again (several sign-ins in one test),
        and lift any pause."""
        with self.app.app_context():
            db = db_session()
            db.execute(
                update(StaffUser)
                .where(StaffUser.username == username)
                .values(totp_last_step=None, failed_sign_ins=0, paused_until=None)
            )
            db.commit()


def make_team(app: Flask) -> Team:
    """An organisation, an admin, two coaches and a partner, each with 6-digit codes set up.

    A plain function as well as the `team` fixture, so the browser tests' server can use it."""
    with app.app_context():
        db = db_session()
        keys = staff_crypto()
        _org, admin, phrase = staff.init_organisation(
            db, "Test coaching", "admin", "Ada Admin", PASSWORDS["admin"], keys
        )
        org_key = staff.open_org_key(
            *staff.check_password(db, "admin", PASSWORDS["admin"], keys, staff.SignInPolicy())  # type: ignore[misc]
        )
        assert org_key is not None
        partner_org = PartnerOrg(name="Test charity")
        db.add(partner_org)
        members = {"admin": admin}
        for username, role in (("coach", Role.COACH), ("coach2", Role.COACH)):
            members[username] = staff.create_staff(
                db,
                username=username,
                display_name=username.title(),
                role=role,
                password=PASSWORDS[username],
                keys=keys,
                org_private_key=org_key,
            )
        members["partner"] = staff.create_staff(
            db,
            username="partner",
            display_name="Pat Partner",
            role=Role.PARTNER,
            password=PASSWORDS["partner"],
            keys=keys,
            partner_org=partner_org,
        )
        result = Team(app=app, org_private_key=org_key, recovery_phrase=phrase)
        for username, member in members.items():
            found = staff.check_password(
                db, username, PASSWORDS[username], keys, staff.SignInPolicy()
            )
            assert found is not None
            secret = staff.new_totp_secret()
            staff.store_totp_secret(member, found[1], secret)
            result.totp[username] = secret
            result.ids[username] = member.id
        db.commit()
    return result
