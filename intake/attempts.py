"""Counting tries at secret codes (return codes, typed referral codes) so that a guesser stays
slow and nobody else is locked out (SECURITY.md, "Guessing return codes").

Three counts, in the rate-limit store (memory for one process, Redis for several):

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
    """What one costly try holds until it is known to have found something."""

    address: str
    counted: tuple[tuple[RateLimitItem, tuple[str, ...]], ...]


class CodeTries:
    """The tries at one kind of code (`kind` keeps return and referral codes apart per
    address; the service-wide budget is shared by both)."""

    def __init__(self, storage: Storage, kind: str, limits: Limits) -> None:
        self.storage = storage
        self.counter = FixedWindowRateLimiter(storage)
        self.kind = kind
        self.every_try = parse_many(limits.every_try_per_address)
        self.costly = parse_many(limits.costly_per_address)
        self.service = parse_many(limits.costly_for_the_service)

    def _hit_all(self, items: list[RateLimitItem], *ids: str) -> list[RateLimitItem] | None:
        """Count one try against each limit; None (and nothing left counted) if one is full."""
        done = []
        for item in items:
            if not self.counter.hit(item, *ids):
                for counted in (*done, item):
                    self._take_back(counted, ids)
                return None
            done.append(item)
        return done

    def may_try(self, address: str) -> bool:
        """Count any try from this address; False once it has tried too often."""
        return self._hit_all(self.every_try, "code-any", self.kind, address) is not None

    def reserve(self, address: str) -> Reservation | None:
        """Hold a costly try before the lookup; None when it must wait."""
        mine = ("code-costly", self.kind, address)
        per_address = self._hit_all(self.costly, *mine)
        if per_address is None:
            return None
        counted = [(item, mine) for item in per_address]
        shared = ("code-costly", SERVICE)
        service = self._hit_all(self.service, *shared)
        if service is not None:
            counted += [(item, shared) for item in service]
        elif not self._first_try_of(address):
            self.give_back(Reservation(address, tuple(counted)))
            return None
        return Reservation(address, tuple(counted))

    def _first_try_of(self, address: str) -> bool:
        """Is the try just reserved this address's only one in every window?"""
        mine = ("code-costly", self.kind, address)
        return all(
            self.counter.get_window_stats(item, *mine).remaining == item.amount - 1
            for item in self.costly
        )

    def give_back(self, reservation: Reservation) -> None:
        """The code opened something (or the try never ran): it does not count."""
        for item, ids in reservation.counted:
            self._take_back(item, ids)

    def _take_back(self, item: RateLimitItem, ids: tuple[str, ...]) -> None:
        # A negative increment: every store the limits library offers (memory, Redis) has it.
        self.storage.incr(item.key_for(*ids), item.get_expiry(), amount=-1)
