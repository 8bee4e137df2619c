"""The counts of tries at return codes and typed referral codes, for this app's settings and
its rate-limit store (`intake.attempts` does the counting)."""

from __future__ import annotations

from flask import current_app
from limits.storage import Storage
from werkzeug.exceptions import TooManyRequests

from intake.attempts import CodeTries, Limits, Reservation
from intake.context import tries_store
from intake.security import address_key

RETURN_CODES = "return"
REFERRAL_CODES = "referral"
_PER_ADDRESS = {
    RETURN_CODES: "RETURN_CODE_LIMIT_PER_ADDRESS",
    REFERRAL_CODES: "REFERRAL_CODE_LIMIT_PER_ADDRESS",
}


def _tries(kind: str, storage: Storage) -> CodeTries:
    config = current_app.config
    return CodeTries(
        storage,
        kind,
        Limits(
            every_try_per_address=str(config["CODE_TRIES_PER_ADDRESS"]),
            costly_per_address=str(config[_PER_ADDRESS[kind]]),
            costly_for_the_service=str(config["RETURN_CODE_LIMIT_GLOBAL"]),
        ),
    )


def count_a_try(kind: str) -> None:
    """Any try at a code, well-formed or not; past the limit, the person is asked to wait."""
    address = address_key()
    if not tries_store().run(lambda storage: _tries(kind, storage).may_try(address)):
        raise TooManyRequests


def reserve_a_lookup(kind: str) -> Reservation:
    """Hold a costly try (an Argon2id or keyed lookup) before doing it, or ask them to wait."""
    address = address_key()
    reservation = tries_store().run(lambda storage: _tries(kind, storage).reserve(address))
    if reservation is None:
        raise TooManyRequests
    return reservation


def it_opened(kind: str, reservation: Reservation) -> None:
    """The code found something: the try is not counted."""
    tries_store().give_back(reservation)
