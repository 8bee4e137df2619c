"""Staff passwords: the policy (ASVS 5.0 §6.2) and argon2id hashing with rehash-on-use.

A staff password also guards the organisation key against an offline attack on a stolen
database, so it is at least 12 characters, any characters, no composition rules, up to 128,
and never one of the 30,000 common passwords in `intake/data/common_passwords.txt`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from intake.wording import N_, Sentence

# The one place the lengths are set: the checks below, the hints on the forms (through
# `intake.templating`'s `password_min_length`) and the catalogs all take them from here.
MIN_LENGTH = 12
MAX_LENGTH = 128


COMMON_PASSWORDS = Path(__file__).resolve().parent / "data" / "common_passwords.txt"


@cache
def _common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def normalise(password: str) -> str:
    """NFKC, so the same password typed on another keyboard still matches."""
    return unicodedata.normalize("NFKC", password)


def problem_with(password: str, username: str = "") -> Sentence | None:
    """A plain sentence saying what to change, or None when the password is fine."""
    password = normalise(password)
    length = len(password)
    if length < MIN_LENGTH:
        return N_(
            "Use at least %(count)d characters. A few words in a row work well.", count=MIN_LENGTH
        )
    if length > MAX_LENGTH:
        return N_("Use at most %(count)d characters.", count=MAX_LENGTH)
    lowered = password.lower()
    if lowered in _common_passwords() or lowered.rstrip("0123456789!.") in _common_passwords():
        return N_("That password is very common. Choose one that other people are unlikely to use.")
    if username and username.lower() in lowered:
        return N_("Choose a password that does not contain your username.")
    if len(set(password)) < 4:
        return N_("That password repeats itself too much. Choose one with more variety.")
    return None


def hasher_from(config: Mapping[str, Any]) -> PasswordHasher:
    return PasswordHasher(
        time_cost=config["PASSWORD_HASH_TIME_COST"],
        memory_cost=config["PASSWORD_HASH_MEMORY_KIB"],
        parallelism=config["PASSWORD_HASH_PARALLELISM"],
    )


def hash_password(hasher: PasswordHasher, password: str) -> str:
    return hasher.hash(normalise(password))


def verify_password(hasher: PasswordHasher, stored_hash: str, password: str) -> bool:
    try:
        return hasher.verify(stored_hash, normalise(password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(hasher: PasswordHasher, stored_hash: str) -> bool:
    return hasher.check_needs_rehash(stored_hash)


@cache
def _dummy_hash(hasher_key: tuple[int, int, int]) -> str:
    time_cost, memory_cost, parallelism = hasher_key
    return PasswordHasher(time_cost, memory_cost, parallelism).hash("no such account")


def spend_equal_time(hasher: PasswordHasher) -> None:
    """Verify against a dummy hash, so an unknown username takes as long as a known one."""
    key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    verify_password(hasher, _dummy_hash(key), "not the password")
