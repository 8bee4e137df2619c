"""Counting tries at secrets — return codes, typed referral codes, staff passwords and
6-digit codes — so that a guesser stays slow and nobody else is locked out (SECURITY.md).

For codes, three counts, in the rate-limit store (memory for one process, Redis for several):

- **every try per address**, malformed or not: a cheap flood from one address stops there;
- **costly tries per address**: a well-formed code, which costs an Argon2id lookup;
- **costly tries across the service**.

A costly try is *reserved* before the lookup (an atomic increment that is refused past the
limit, so a burst of parallel requests cannot all slip through) and *given back* when the code
opens something: only codes that find nothing stay counted. When the service-wide budget is
spent, an address that has not missed in this window still gets its try, so a person who
types their own code right can always come back (to withdraw, or to delete everything).

Knows nothing of Flask: callers pass the address and the limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter

SERVICE = "service"


@dataclass(frozen=True)
class Limits:
    every_try_per_address: str
    costly_per_address: str
    costly_for_the_service: str


@dataclass(frozen=True)
class Reservation:
    """What one costly try holds until it is known to have found something, and where."""

    address: str
    counted: tuple[tuple[RateLimitItem, tuple[str, ...]], ...]
    storage: Storage | None = None


class Budgets:
    """Counts in the rate-limit store: a costly try is reserved before the work (an atomic
    increment, refused past the limit) and given back when it turns out right."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.counter = FixedWindowRateLimiter(storage)

    def hit_all(self, items: list[RateLimitItem], *ids: str) -> list[RateLimitItem] | None:
        """Count one try against each limit; None (and nothing left counted) if one is full."""
        done: list[RateLimitItem] = []
        for item in items:
            if not self.counter.hit(item, *ids):
                for counted in (*done, item):
                    self.take_back(counted, ids)
                return None
            done.append(item)
        return done

    def reserve(
        self, address: str, budgets: Sequence[tuple[list[RateLimitItem], tuple[str, ...]]]
    ) -> Reservation | None:
        """Hold one try against every budget, or none at all."""
        counted: list[tuple[RateLimitItem, tuple[str, ...]]] = []
        for items, ids in budgets:
            hit = self.hit_all(items, *ids)
            if hit is None:
                self.give_back(Reservation(address, tuple(counted)))
                return None
            counted += [(item, ids) for item in hit]
        return Reservation(address, tuple(counted), self.storage)

    def give_back(self, reservation: Reservation) -> None:
        """The try turned out right (or never ran): it does not count."""
        for item, ids in reservation.counted:
            self.take_back(item, ids, reservation.storage)

    def take_back(
        self, item: RateLimitItem, ids: tuple[str, ...], storage: Storage | None = None
    ) -> None:
        # A negative increment: every store the limits library offers (memory, Redis) has it.
        (storage or self.storage).incr(item.key_for(*ids), item.get_expiry(), amount=-1)

    def first_try_of(self, items: list[RateLimitItem], *ids: str) -> bool:
        """Is the try just reserved the only one in every window of these limits?"""
        return all(
            self.counter.get_window_stats(item, *ids).remaining == item.amount - 1 for item in items
        )


class CodeTries:
    """The tries at one kind of code (`kind` keeps return and referral codes apart per
    address; the service-wide budget is shared by both)."""

    def __init__(self, storage: Storage, kind: str, limits: Limits) -> None:
        self.budgets = Budgets(storage)
        self.kind = kind
        self.every_try = parse_many(limits.every_try_per_address)
        self.costly = parse_many(limits.costly_per_address)
        self.service = parse_many(limits.costly_for_the_service)

    def may_try(self, address: str) -> bool:
        """Count any try from this address; False once it has tried too often."""
        return self.budgets.hit_all(self.every_try, "code-any", self.kind, address) is not None

    def reserve(self, address: str) -> Reservation | None:
        """Hold a costly try before the lookup; None when it must wait."""
        mine = ("code-costly", self.kind, address)
        held = self.budgets.reserve(address, [(self.costly, mine)])
        if held is None:
            return None
        shared = self.budgets.reserve(address, [(self.service, ("code-costly", SERVICE))])
        if shared is not None:
            return Reservation(address, held.counted + shared.counted, held.storage)
        if self.budgets.first_try_of(self.costly, *mine):
            return held
        self.budgets.give_back(held)
        return None

    def give_back(self, reservation: Reservation) -> None:
        """The code opened something (or the try never ran): it does not count."""
        self.budgets.give_back(reservation)


@dataclass(frozen=True)
class SignInLimits:
    per_address: str
    per_account: str
    for_the_service: str


class SignInTries:
    """Staff passwords and 6-digit codes: every try costs (an Argon2id check, or a code
    opened with the personal key), so each is reserved per address, per account and across the
    service before the work, and given back when it was right.

    `account` names the account as this browser may try it. A device its owner has signed in
    on before has a budget of its own, apart from the service-wide one, so someone guessing
    from elsewhere never uses it up (docs/decisions.md, "A device its owner has used")."""

    def __init__(self, storage: Storage, limits: SignInLimits) -> None:
        self.budgets = Budgets(storage)
        self.per_address = parse_many(limits.per_address)
        self.per_account = parse_many(limits.per_account)
        self.service = parse_many(limits.for_the_service)

    def reserve(self, address: str, account: str, *, known_device: bool) -> Reservation | None:
        budgets = [
            (self.per_address, ("sign-in", address)),
            (self.per_account, ("sign-in", account)),
        ]
        if not known_device:
            budgets.append((self.service, ("sign-in", SERVICE)))
        return self.budgets.reserve(address, budgets)

    def give_back(self, reservation: Reservation) -> None:
        self.budgets.give_back(reservation)
