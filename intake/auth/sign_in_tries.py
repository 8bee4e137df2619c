"""The counts of tries at staff passwords and 6-digit codes, for this app's settings and its
rate-limit store (`intake.attempts` does the counting), and the budget each browser tries on.

A browser with no known-device cookie for the account tries on the account's shared budget
(named by a hash of the username, so the store holds no names); a device the owner signed in
on before tries on a budget of its own.
"""

from __future__ import annotations

import hashlib

from flask import current_app
from limits.storage import Storage
from werkzeug.exceptions import TooManyRequests

from intake.attempts import Reservation, SignInLimits, SignInTries
from intake.auth.devices import Device
from intake.context import tries_store
from intake.security import address_key


def _tries(storage: Storage) -> SignInTries:
    config = current_app.config
    return SignInTries(
        storage,
        SignInLimits(
            per_address=str(config["SIGN_IN_LIMIT_PER_ADDRESS"]),
            per_account=str(config["SIGN_IN_LIMIT_PER_ACCOUNT"]),
            for_the_service=str(config["SIGN_IN_LIMIT_GLOBAL"]),
        ),
    )


def account_by_name(username: str) -> str:
    """The shared budget of the account with this name, however the name is typed."""
    typed = username.strip().lower().encode("utf-8", "replace")
    return "acct:" + hashlib.sha256(typed).hexdigest()[:32]


def account_of(staff_id: int, device: Device | None) -> str:
    """The budget a try at this account (by id) comes from: its known device's, or shared."""
    if device is not None and device.staff_id == staff_id:
        return f"device:{staff_id}:{device.name}"
    return f"staff:{staff_id}"


def is_known_device(budget: str) -> bool:
    """Is this budget a known device's own (from `account_of`)?"""
    return budget.startswith("device:")


def reserve(account: str) -> Reservation:
    """Hold one try (a password or a code) before checking it, or ask them to wait."""
    address = address_key()
    known_device = is_known_device(account)
    reservation = tries_store().run(
        lambda storage: _tries(storage).reserve(address, account, known_device=known_device)
    )
    if reservation is None:
        raise TooManyRequests
    return reservation


def it_was_right(reservation: Reservation) -> None:
    """A right password or code: the try is not counted."""
    tries_store().give_back(reservation)
