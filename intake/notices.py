"""Notices to staff by email: that there is something in Groundwork for them, and nothing more.

Every notice says the same words, whatever it is about: no client's name, nickname, language,
referrer, and no count (which could tell who). Notices wait in the database (`Notice`) and go
out with `flask notices send`, which a timer runs every minute: a slow or unreachable mail
server never slows or fails anyone's request, and a notice it could not take is tried again
later, each time after a longer wait, until it goes. A staff member's due notices go out as one
email. Flask-free; `send_due` commits after each email, so one sent is never sent twice.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from enum import StrEnum
from ipaddress import ip_address
from urllib.parse import unquote, urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from intake.models import Notice, NoticeChoice, Role, StaffUser, utcnow

# After the first try that fails, then the second, ...; after the last, every 12 hours.
BACK_OFF = tuple(timedelta(minutes=minutes) for minutes in (1, 5, 15, 60, 180, 720))
DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
KEEP_SENT = timedelta(days=30)  # a sent notice is kept this long, for the operators' view
FAILING_AFTER = 3  # tries: from then on, the operators' view says the notice is failing


class Kind(StrEnum):
    INTAKE_WAITING = "intake_waiting"  # to admins: someone sent their answers, no coach yet
    ASSIGNED = "assigned"  # to a coach: someone was given to them
    CHECK_IN = "check_in"  # to their coach: someone said how they are before a session
    CHANGE_ASKED = "change_asked"  # to their coach: someone asked for a change to an agreement
    REVIEW_SENT = "review_sent"  # to their coach: someone said how coaching is going
    # From the passing of time (intake/due_notices.py), to their coach:
    REVIEW_DUE = "review_due"  # someone's "are we on track?" review has come due
    VOICE_WAITING = "voice_waiting"  # consent the coach recorded by voice still waits for them


class When(StrEnum):
    AT_ONCE = "at_once"
    DAILY = "daily"  # with the others of the day, at the digest hour
    NEVER = "never"


def next_digest(now: datetime, hour: int) -> datetime:
    """The next daily digest: today at `hour` (UTC), or tomorrow if that has passed."""
    today = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    return today if today > now else today + timedelta(days=1)


def choices_of(db: Session, staff_id: int, defaults: Mapping[str, str]) -> dict[Kind, When]:
    """How this staff member gets each kind: their own choice, else the organisation's."""
    rows = db.execute(
        select(NoticeChoice.kind, NoticeChoice.when).where(NoticeChoice.staff_id == staff_id)
    )
    own: dict[str, str] = {row.kind: row.when for row in rows}
    return {kind: When(own.get(kind) or defaults.get(kind, When.AT_ONCE)) for kind in Kind}


def choose(db: Session, staff_id: int, chosen: Mapping[Kind, When]) -> None:
    existing = {
        choice.kind: choice
        for choice in db.scalars(select(NoticeChoice).where(NoticeChoice.staff_id == staff_id))
    }
    for kind, when in chosen.items():
        row = existing.get(kind)
        if row is None:
            db.add(NoticeChoice(staff_id=staff_id, kind=str(kind), when=str(when)))
        else:
            row.when = str(when)


def notify(
    db: Session,
    staff_ids: Iterable[int],
    kind: Kind,
    defaults: Mapping[str, str] | None = None,
    digest_hour: int = 8,
    now: datetime | None = None,
) -> int:
    """Queue a notice for each of these staff members who is active, has an email address and
    has not chosen "never" for this kind; a daily one waits for the digest hour. Nothing is
    sent here. How many were queued."""
    ids = set(staff_ids)
    if not ids:
        return 0
    reachable = db.scalars(
        select(StaffUser.id).where(
            StaffUser.id.in_(ids), StaffUser.active.is_(True), StaffUser.email.is_not(None)
        )
    ).all()
    now = now or utcnow()
    queued = 0
    for staff_id in reachable:
        when = choices_of(db, staff_id, defaults or {})[kind]
        if when == When.NEVER:
            continue
        send_after = now if when == When.AT_ONCE else next_digest(now, digest_hour)
        db.add(Notice(staff_id=staff_id, kind=str(kind), created_at=now, send_after=send_after))
        queued += 1
    return queued


@dataclass(frozen=True)
class Queued:
    """One notice as the operators see it: whose, what kind, since when, how it is going.
    Nothing about any client (a notice holds nothing about one)."""

    kind: str
    staff_name: str
    created_at: datetime
    tries: int
    next_try: datetime
    last_error: str | None

    @property
    def failing(self) -> bool:
        return self.tries >= FAILING_AFTER


def queue(db: Session) -> list[Queued]:
    """Every notice not sent yet, oldest first."""
    rows = db.execute(
        select(Notice, StaffUser.display_name)
        .join(StaffUser, StaffUser.id == Notice.staff_id)
        .where(Notice.sent_at.is_(None))
        .order_by(Notice.id)
    )
    return [
        Queued(n.kind, name, n.created_at, n.tries, n.send_after, n.last_error) for n, name in rows
    ]


def sent_since(db: Session, since: datetime) -> int:
    return db.scalar(select(func.count(Notice.id)).where(Notice.sent_at >= since)) or 0


def forget_sent(db: Session, now: datetime) -> None:
    """Sent notices older than `KEEP_SENT` are deleted: their work is done."""
    db.execute(delete(Notice).where(Notice.sent_at < now - KEEP_SENT))


def admins(db: Session) -> list[int]:
    return list(
        db.scalars(
            select(StaffUser.id).where(StaffUser.role == Role.ADMIN, StaffUser.active.is_(True))
        )
    )


@dataclass(frozen=True)
class MailServer:
    """Where notices are handed over, from `SMTP_URL`: smtps://user:password@host:465
    (TLS from the start), smtp+starttls://user:password@host:587, or smtp://host:25 (no
    encryption: refused unless the server is on this machine)."""

    host: str
    port: int
    security: str  # "tls", "starttls" or "none"
    username: str | None
    password: str | None
    from_address: str
    ca_file: str | None = None  # a CA to trust beyond the system's (a test's, an internal one)
    timeout: float = 10.0

    @classmethod
    def from_url(
        cls, url: str, from_address: str, ca_file: str | None = None, timeout: float = 10.0
    ) -> MailServer:
        parts = urlsplit(url)
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError("SMTP_URL must be smtps://, smtp+starttls:// or smtp:// with a host")
        security = {"smtps": "tls", "smtp+starttls": "starttls", "smtp": "none"}[parts.scheme]
        if security == "none" and not _is_loopback(parts.hostname):
            raise ValueError(
                "SMTP_URL: smtp:// sends without encryption; use smtps:// or smtp+starttls:// "
                "for a mail server on another machine"
            )
        if not from_address or "@" not in from_address:
            raise ValueError("SMTP_FROM must be an email address, like groundwork@example.org")
        return cls(
            host=parts.hostname,
            port=parts.port or DEFAULT_PORTS[parts.scheme],
            security=security,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            from_address=from_address,
            ca_file=ca_file,
            timeout=timeout,
        )

    def connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context(cafile=self.ca_file)
        connection: smtplib.SMTP
        if self.security == "tls":
            connection = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=context
            )
        else:
            connection = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.security == "starttls":
                connection.starttls(context=context)
        if self.username:
            connection.login(self.username, self.password or "")
        return connection


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def message(to: str, server: MailServer, site_name: str, sign_in_url: str) -> EmailMessage:
    """The one notice: the same words for everyone, whatever is waiting."""
    email = EmailMessage()
    email["Subject"] = f"{site_name}: something for you"
    email["From"] = server.from_address
    email["To"] = to
    email["Date"] = format_datetime(utcnow())
    # The sender's own domain, never this machine's name.
    email["Message-ID"] = make_msgid(domain=server.from_address.rsplit("@", 1)[1])
    email.set_content(
        f"Hello,\n\n"
        f"There is something in {site_name} for you. Sign in to see it:\n"
        f"{sign_in_url}\n\n"
        f"This email says nothing more on purpose: what people tell us stays in {site_name}.\n"
    )
    return email


@dataclass(frozen=True)
class Outcome:
    sent: int = 0  # emails handed over
    delayed: int = 0  # notices to try again later


def _try_again_later(notices: list[Notice], error: str, now: datetime) -> None:
    for notice in notices:
        notice.tries += 1
        wait = BACK_OFF[min(notice.tries, len(BACK_OFF)) - 1]
        notice.send_after = now + wait
        notice.last_error = error[:200]


def _error_words(error: Exception) -> str:
    """What went wrong, in the mail server's terms only (never an address or a message)."""
    if isinstance(error, smtplib.SMTPResponseException):
        return f"the mail server answered {error.smtp_code}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _words in error.recipients.values()})
        return "the mail server refused the address (" + ", ".join(map(str, codes)) + ")"
    return f"could not reach the mail server ({type(error).__name__})"


def send_due(
    db: Session,
    server: MailServer,
    site_name: str,
    sign_in_url: str,
    now: datetime | None = None,
    connect: Callable[[], smtplib.SMTP] | None = None,
) -> Outcome:
    """Send every notice that is due, one email for each staff member."""
    now = now or utcnow()
    forget_sent(db, now)
    db.commit()
    due = list(
        db.scalars(
            select(Notice)
            .where(Notice.sent_at.is_(None), Notice.send_after <= now)
            .order_by(Notice.id)
        )
    )
    if not due:
        return Outcome()
    by_staff: dict[int, list[Notice]] = {}
    for notice in due:
        by_staff.setdefault(notice.staff_id, []).append(notice)
    people = {
        person.id: person
        for person in db.scalars(select(StaffUser).where(StaffUser.id.in_(by_staff)))
    }
    try:
        connection = (connect or server.connect)()
    except (OSError, smtplib.SMTPException) as error:  # a timeout is an OSError
        _try_again_later(due, _error_words(error), now)
        db.commit()
        return Outcome(delayed=len(due))
    sent = delayed = 0
    try:
        for staff_id, notices in by_staff.items():
            person = people.get(staff_id)
            if person is None or not person.active or not person.email:
                for notice in notices:  # nobody to tell any more
                    db.delete(notice)
                db.commit()
                continue
            try:
                connection.send_message(message(person.email, server, site_name, sign_in_url))
            except smtplib.SMTPServerDisconnected as error:
                _try_again_later(
                    [n for ns in by_staff.values() for n in ns if n.sent_at is None],
                    _error_words(error),
                    now,
                )
                db.commit()
                return Outcome(sent, delayed + sum(1 for n in due if n.sent_at is None))
            except smtplib.SMTPException as error:
                _try_again_later(notices, _error_words(error), now)
                delayed += len(notices)
            else:
                for notice in notices:
                    notice.sent_at = now
                    notice.tries += 1
                    notice.last_error = None
                sent += 1
            db.commit()
    finally:
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            connection.close()
    return Outcome(sent, delayed)
