"""Queueing a notice to staff, as the settings say (intake/notices.py): none without a mail
server, and each staff member's choice of at once, once a day, or never. From a request
(`tell`), and from the passing of time (`tell_due`, run by `flask notices send`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy.orm import Session

from intake import due_notices, notices
from intake.context import review_rhythm


def tell(db: Session, staff_ids: Iterable[int | None], kind: notices.Kind) -> None:
    config = current_app.config
    if not config.get("SMTP_URL"):
        return
    ids = [staff_id for staff_id in staff_ids if staff_id is not None]
    notices.notify(db, ids, kind, config["NOTICE_DEFAULTS"], config["NOTICE_DIGEST_HOUR"])


def tell_due(db: Session, now: datetime) -> int:
    """Queue the notices that have come due by `now` (intake/due_notices.py): reviews come
    due, and consent recorded by voice still waiting. How many were queued."""
    config = current_app.config
    if not config.get("SMTP_URL"):
        return 0
    return due_notices.queue_due(
        db,
        now,
        review_rhythm(),
        timedelta(days=int(config["VOICE_CONFIRM_REMIND_DAYS"])),
        config["NOTICE_DEFAULTS"],
        int(config["NOTICE_DIGEST_HOUR"]),
    )
