"""Anchors: a line kept outside the database that shows a hash chain was not rebuilt or cut.

A hash chain without a secret key shows a change, a removal or an insertion in the middle, but
someone with write access to the database could rebuild it from the changed entry on, or cut
off its end. An anchor is an entry id and a hash, printed by `flask audit verify` or `flask
consent verify` and kept elsewhere (a backup report, a log shipper, paper). Checked later, it
fails if anything up to that entry was rewritten or removed.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

HEX_DIGITS = frozenset("0123456789abcdef")


class AnchorState(StrEnum):
    HOLDS = "holds"
    CHANGED = "changed"
    MISSING = "missing"


@dataclass(frozen=True)
class Anchor:
    entry_id: int
    hash: str

    def __str__(self) -> str:
        return f"{self.entry_id}:{self.hash}"

    @classmethod
    def parse(cls, typed: str) -> Anchor | None:
        """`1234:<64 hex digits>` as the verify commands print it; None if it is not one."""
        entry, _, digest = typed.strip().partition(":")
        if not (entry.isascii() and entry.isdigit() and int(entry) > 0):
            return None
        if len(digest) != 64 or not set(digest) <= HEX_DIGITS:
            return None
        return cls(int(entry), digest)

    def compare(self, now: str | None) -> AnchorState:
        """What the anchored hash, computed again from the database now, says."""
        if now is None:
            return AnchorState.MISSING
        return AnchorState.HOLDS if secrets.compare_digest(now, self.hash) else AnchorState.CHANGED


def digest_of(hashes: Iterable[str]) -> str:
    """One hash over many entries' hashes, in order: for ledgers made of many chains."""
    running = hashlib.sha256()
    for value in hashes:
        running.update(value.encode("ascii"))
        running.update(b"\n")
    return running.hexdigest()
