"""Queueing a notice to staff from a request, as the settings say (intake/notices.py): none
without a mail server, and each staff member's choice of at once, once a day, or never."""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app
from sqlalchemy.orm import Session

from intake import notices


def tell(db: Session, staff_ids: Iterable[int | None], kind: notices.Kind) -> None:
    config = current_app.config
    if not config.get("SMTP_URL"):
        return
    ids = [staff_id for staff_id in staff_ids if staff_id is not None]
    notices.notify(db, ids, kind, config["NOTICE_DEFAULTS"], config["NOTICE_DIGEST_HOUR"])
