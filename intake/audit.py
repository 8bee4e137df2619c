"""The access log: every look at a client's record, append-only and hash-chained.

Each `AccessEvent` carries the hash of the one before it, so a changed, removed or inserted row
breaks the chain (`verify`). The chain is one line through the whole log: a unique index on
`prev_hash` means two entries written at once cannot both follow the same entry; the loser
writes again after the winner. On PostgreSQL, writers also take a transaction-level advisory
lock before reading the chain's end, so a crowd of them (eight coaches opening their lists at
once) waits its turn instead of running out of retries. An entry is written, and committed,
*before* anything of the record is opened, so nobody reads without leaving a trace.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Select, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.anchors import Anchor, AnchorState
from intake.models import AccessEvent, StaffUser, utcnow

GENESIS_HASH = "0" * 64
WRITE_ATTEMPTS = 8


class Action(StrEnum):
    VIEWED = "viewed"
    PRINTED = "printed"
    EXPORTED = "exported"
    ASSIGNED = "assigned"
    LISTED = "listed"  # the name they gave was opened to show them in a staff member's list


@dataclass(frozen=True)
class Entry:
    """One line of the log as people see it."""

    at: datetime
    staff_name: str
    action: str
    client_id: str
    staff_id: int | None = None


@dataclass(frozen=True)
class LookGroup:
    """Looks in a row by one staff member, with one action, on one day: one line for the client.

    `first_at` and `last_at` are the first and the last look of the run; one look has both equal.
    """

    staff_name: str
    action: str
    count: int
    first_at: datetime
    last_at: datetime


def event_hash(event: AccessEvent) -> str:
    return _hash_of(event.prev_hash, event.staff_id, event.client_id, event.action, event.at)


def _hash_of(prev: str, staff_id: int | None, client_id: str, action: str, at: datetime) -> str:
    canonical = json.dumps(
        {
            "prev": prev,
            "staff": staff_id,
            "client": client_id,
            "action": action,
            "at": at.isoformat(),
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


# Any constant the application uses for nothing else: "ACCESSLG" as a 64-bit number.
CHAIN_LOCK = int.from_bytes(b"ACCESSLG", "big") - 2**63


def _hold_the_chain(db: Session) -> None:
    """Wait until no other transaction is appending (PostgreSQL; SQLite has one writer)."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})


def _last_hash(db: Session) -> str:
    last = db.scalar(select(AccessEvent.hash).order_by(AccessEvent.id.desc()).limit(1))
    return last or GENESIS_HASH


def record(db: Session, staff_id: int, client_id: str, action: str) -> AccessEvent:
    """Append one entry and commit it. The session must hold no other pending changes."""
    for _attempt in range(WRITE_ATTEMPTS):
        _hold_the_chain(db)
        event = AccessEvent(
            staff_id=staff_id,
            client_id=client_id,
            action=str(action),
            at=utcnow(),
            prev_hash=_last_hash(db),
        )
        event.hash = event_hash(event)
        db.add(event)
        try:
            db.commit()
        except IntegrityError:
            db.rollback()  # someone else wrote first: follow their entry instead
            continue
        return event
    raise RuntimeError("the access log is too busy to write to")


def record_many(db: Session, staff_id: int, client_ids: Iterable[str], action: str) -> None:
    """Append one entry per client, chained one after another, in one commit."""
    ids = list(client_ids)
    if not ids:
        return
    for _attempt in range(WRITE_ATTEMPTS):
        _hold_the_chain(db)
        previous = _last_hash(db)
        now = utcnow()
        rows = []
        for client_id in ids:
            entry_hash = _hash_of(previous, staff_id, client_id, str(action), now)
            rows.append(
                {
                    "staff_id": staff_id,
                    "client_id": client_id,
                    "action": str(action),
                    "at": now,
                    "prev_hash": previous,
                    "hash": entry_hash,
                }
            )
            previous = entry_hash
        try:
            db.execute(insert(AccessEvent), rows)  # one statement, in chain order
            db.commit()
        except IntegrityError:
            db.rollback()  # someone else wrote first: follow their entry instead
            continue
        return
    raise RuntimeError("the access log is too busy to write to")


def verify(db: Session, batch: int = 1000) -> int | None:
    """None when the whole chain is intact; otherwise the id of the first entry that is not."""
    previous = GENESIS_HASH
    last_id = 0
    while True:
        events = list(
            db.scalars(
                select(AccessEvent)
                .where(AccessEvent.id > last_id)
                .order_by(AccessEvent.id)
                .limit(batch)
            )
        )
        if not events:
            return None
        for event in events:
            if event.prev_hash != previous or event_hash(event) != event.hash:
                return event.id
            previous = event.hash
            last_id = event.id


def _entries(rows: Iterable[tuple[AccessEvent, str | None]]) -> list[Entry]:
    return [
        Entry(event.at, name or "", event.action, event.client_id, event.staff_id)
        for event, name in rows
    ]


def _same_run(group: LookGroup, group_key: object, entry: Entry, entry_key: object) -> bool:
    return (
        group_key == entry_key
        and group.action == entry.action
        and group.first_at.date() == entry.at.date()
    )


def group_looks(entries: Iterable[Entry]) -> list[LookGroup]:
    """Join looks that follow each other into one line each, newest first.

    A run is unbroken entries by the same staff member (their id, or their name where the entry
    has no id) with the same action on the same calendar day of `at` (the stored UTC time, the
    time zone the pages show). Another person's look, another action or another day starts a new
    run. Entries may come in any order; equal times keep the order they came in.
    """
    groups: list[LookGroup] = []
    keys: list[object] = []
    for entry in sorted(entries, key=lambda item: item.at, reverse=True):
        key = entry.staff_id if entry.staff_id is not None else entry.staff_name
        if groups and _same_run(groups[-1], keys[-1], entry, key):
            last = groups[-1]
            groups[-1] = LookGroup(
                last.staff_name, last.action, last.count + 1, entry.at, last.last_at
            )
        else:
            groups.append(LookGroup(entry.staff_name, entry.action, 1, entry.at, entry.at))
            keys.append(key)
    return groups


def entries_for_client(db: Session, client_id: str) -> list[Entry]:
    """Who looked at one client's answers, and when: what the client sees."""
    rows = db.execute(
        select(AccessEvent, StaffUser.display_name)
        .outerjoin(StaffUser, StaffUser.id == AccessEvent.staff_id)
        .where(AccessEvent.client_id == client_id)
        .order_by(AccessEvent.id.desc())
    )
    return _entries(rows)


def entries_page(db: Session, page: int, per_page: int) -> tuple[list[Entry], int]:
    """One page of the whole log, newest first, and the number of entries."""
    total = db.scalar(select(func.count(AccessEvent.id))) or 0
    rows = db.execute(
        select(AccessEvent, StaffUser.display_name)
        .outerjoin(StaffUser, StaffUser.id == AccessEvent.staff_id)
        .order_by(AccessEvent.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return _entries(rows), total


def last_looked(db: Session, staff_id: int, client_ids: list[str]) -> dict[str, datetime]:
    """When this staff member last viewed each of these clients."""
    if not client_ids:
        return {}
    rows = db.execute(last_looked_query(staff_id, client_ids))
    return {str(row[0]): row[1] for row in rows.all()}


def last_looked_query(staff_id: int, client_ids: list[str]) -> Select[str, datetime]:
    """Their views alone, from `ix_access_event_staff_client_action`: never the "saw your
    name in a list" entries, one more of which each look at the workspace adds per name."""
    return (
        select(AccessEvent.client_id, func.max(AccessEvent.at))
        .where(
            AccessEvent.staff_id == staff_id,
            AccessEvent.client_id.in_(client_ids),
            AccessEvent.action == Action.VIEWED,
        )
        .group_by(AccessEvent.client_id)
    )


# --- anchors (intake/anchors.py) -----------------------------------------------------------


def head(db: Session) -> Anchor | None:
    """The anchor of the newest entry; None while the log is empty."""
    last = db.execute(
        select(AccessEvent.id, AccessEvent.hash).order_by(AccessEvent.id.desc()).limit(1)
    ).first()
    return None if last is None else Anchor(last.id, last.hash)


def anchor_state(db: Session, anchor: Anchor) -> AnchorState:
    """The entry the anchor names, now: one chain, so its own hash covers all before it."""
    return anchor.compare(
        db.scalar(select(AccessEvent.hash).where(AccessEvent.id == anchor.entry_id))
    )
