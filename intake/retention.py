"""Retention: answers are not kept longer than they are needed.

Drafts never sent are erased (crypto-shredded) a number of days after they were last changed;
closed clients a number of days after they were closed. `flask retention run` does it and says
how many. Knows nothing of Flask; callers commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake import vault, webhooks
from intake.models import Client, ClientStatus


@dataclass(frozen=True)
class RetentionResult:
    drafts_erased: int
    closed_erased: int


def run(db: Session, now: datetime, draft_days: int, closed_days: int) -> RetentionResult:
    drafts = list(
        db.scalars(
            select(Client).where(
                Client.status == ClientStatus.DRAFT,
                Client.updated_at < now - timedelta(days=draft_days),
            )
        )
    )
    closed = list(
        db.scalars(
            select(Client).where(
                Client.status == ClientStatus.CLOSED,
                Client.closed_at.is_not(None),
                Client.closed_at < now - timedelta(days=closed_days),
            )
        )
    )
    for client in (*drafts, *closed):
        vault.erase_client(db, client)
        webhooks.status_changed(db, client, now)
    return RetentionResult(len(drafts), len(closed))
