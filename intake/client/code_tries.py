"""The counts of tries at return codes and typed referral codes, for this app's settings and
its rate-limit store (`intake.attempts` does the counting)."""

from __future__ import annotations

from flask import current_app
from werkzeug.exceptions import TooManyRequests

from intake.attempts import CodeTries, Limits, Reservation
from intake.extensions import limiter
from intake.security import address_key

RETURN_CODES = "return"
REFERRAL_CODES = "referral"
_PER_ADDRESS = {
    RETURN_CODES: "RETURN_CODE_LIMIT_PER_ADDRESS",
    REFERRAL_CODES: "REFERRAL_CODE_LIMIT_PER_ADDRESS",
}


def _tries(kind: str) -> CodeTries:
    config = current_app.config
    return CodeTries(
        limiter.storage,
        kind,
        Limits(
            every_try_per_address=str(config["CODE_TRIES_PER_ADDRESS"]),
            costly_per_address=str(config[_PER_ADDRESS[kind]]),
            costly_for_the_service=str(config["RETURN_CODE_LIMIT_GLOBAL"]),
        ),
    )


def count_a_try(kind: str) -> None:
    """Any try at a code, well-formed or not; past the limit, the person is asked to wait."""
    if not _tries(kind).may_try(address_key()):
        raise TooManyRequests


def reserve_a_lookup(kind: str) -> Reservation:
    """Hold a costly try (an Argon2id or keyed lookup) before doing it, or ask them to wait."""
    reservation = _tries(kind).reserve(address_key())
    if reservation is None:
        raise TooManyRequests
    return reservation


def it_opened(kind: str, reservation: Reservation) -> None:
    """The code found something: the try is not counted."""
    _tries(kind).give_back(reservation)
