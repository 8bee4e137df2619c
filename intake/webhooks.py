"""Signed webhooks to partners: their endpoints, the messages waiting for them, and sending.

A partner organisation registers an HTTPS address (`register`) and sees its signing secret
once. When a referral's status as the partner may see it changes (`status_changed`: only the
statuses the person agreed to share, `referrals.status_for_partner`), a message waits for each
of the organisation's endpoints. `send_due` (run by `flask notices send` every minute) signs
each one per Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`) and
POSTs it (intake/outbound.py: never to a private address). A receiver that does not answer 2xx
is tried again after a longer wait each time, for about three days (the partner can send a
given-up one again); one that answers 410 Gone is not sent to again. A partner can ask for a new
secret: the old one signs beside it for a day, so their system changes over without a gap.

Nothing goes out that the person has not agreed to: a message waits only while their "status to
referrer" consent stands, and is checked again just before it is sent. When they stop sharing,
what was waiting is deleted, and the status is not sent.

The body names a referral's reference and a status, and nothing about the person. Knows nothing
of Flask; `send_due` commits after each message, the other functions leave it to the caller.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from intake import crypto, outbound, referrals
from intake.models import (
    Client,
    PartnerOrg,
    Referral,
    StaffUser,
    WebhookDelivery,
    WebhookEndpoint,
    rows_changed,
    utcnow,
)

STATUS_CHANGED = "referral.status_changed"
TEST = "webhook.test"
MAX_ENDPOINTS = 5  # live endpoints per partner organisation
# After the first try that fails, then the second, ...: about three days in all (Standard
# Webhooks' own schedule, from the first minute). After the last, the message is given up.
BACK_OFF = tuple(
    timedelta(minutes=minutes) for minutes in (1, 5, 30, 120, 300, 600, 840, 1200, 1440)
)
LONGEST_PAUSE = timedelta(hours=24)  # the most a receiver's Retry-After can hold a message
FAILING_AFTER = 3  # tries: from then on, the operators' and partner's views say so
KEEP_DONE = timedelta(days=30)  # delivered or given-up messages are kept this long, then deleted
PER_RUN = 500  # messages looked at in one run, oldest first
OVERLAP = timedelta(hours=24)  # an old secret signs beside the new one this long
GONE = "The receiver answered 410 Gone"
REMOVED = "Removed by the partner"


@dataclass(frozen=True)
class SendSettings:
    timeout: float = 15.0
    ca_file: str | None = None  # a CA to trust beyond the system's (a test's)
    allow_private: bool = False  # tests only: config refuses it in production


@dataclass(frozen=True)
class NewEndpoint:
    """What the partner is shown once: the secret exists nowhere else in readable form."""

    endpoint: WebhookEndpoint
    secret: str  # whsec_…


@dataclass(frozen=True)
class Outcome:
    delivered: int = 0
    delayed: int = 0
    given_up: int = 0
    withheld: int = 0  # deleted unsent: the person no longer shares their status


@dataclass(frozen=True)
class DeliveryRow:
    """A message as the partner and the operators see it: what kind, when, how it went."""

    id: int
    partner_name: str
    endpoint_url: str
    endpoint_live: bool
    event_type: str
    created_at: datetime
    tries: int
    next_try: datetime | None
    last_error: str | None
    delivered_at: datetime | None
    given_up_at: datetime | None

    @property
    def failing(self) -> bool:
        return self.delivered_at is None and self.tries >= FAILING_AFTER


def _secret_aad(partner_org_id: int, url: str) -> bytes:
    return f"webhook-secret\x00{partner_org_id}\x00{url}".encode()


def live_endpoints(db: Session, partner_org_id: int) -> list[WebhookEndpoint]:
    return list(
        db.scalars(
            select(WebhookEndpoint)
            .where(
                WebhookEndpoint.partner_org_id == partner_org_id,
                WebhookEndpoint.disabled_at.is_(None),
            )
            .order_by(WebhookEndpoint.id)
        )
    )


def endpoints_of(db: Session, partner_org_id: int) -> list[WebhookEndpoint]:
    """Every endpoint the organisation registered, live ones first, newest first."""
    return list(
        db.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.partner_org_id == partner_org_id)
            .order_by(WebhookEndpoint.disabled_at.is_not(None), WebhookEndpoint.id.desc())
        )
    )


def register(
    db: Session,
    partner_org: PartnerOrg,
    url: str,
    created_by: StaffUser | None,
    pepper: bytes,
    allow_private: bool = False,
) -> NewEndpoint:
    """A new endpoint for the organisation; raises outbound.Refused for an address that may not
    be used, one already there, or one too many."""
    url = url.strip()
    outbound.check(url, allow_private)
    live = live_endpoints(db, partner_org.id)
    if any(endpoint.url == url for endpoint in live):
        raise outbound.Refused(outbound.Reason.ALREADY_THERE)
    if len(live) >= MAX_ENDPOINTS:
        raise outbound.Refused(outbound.Reason.TOO_MANY)
    secret = crypto.new_webhook_secret()
    endpoint = WebhookEndpoint(
        partner_org_id=partner_org.id,
        url=url,
        secret_ct=_keep(secret, partner_org.id, url, pepper),
        created_by_id=created_by.id if created_by else None,
    )
    db.add(endpoint)
    db.flush()
    return NewEndpoint(endpoint, crypto.webhook_secret_text(secret))


def _keep(secret: bytes, partner_org_id: int, url: str, pepper: bytes) -> bytes:
    """A signing secret as the database keeps it: encrypted under a key from the pepper."""
    return crypto.encrypt(
        crypto.webhook_secrets_key(pepper), secret, _secret_aad(partner_org_id, url)
    )


def new_secret(
    db: Session, partner_org_id: int, endpoint_id: int, pepper: bytes, now: datetime | None = None
) -> str | None:
    """A new signing secret for an endpoint of this organisation, shown once. The one it
    replaces signs beside it for `OVERLAP`, so the partner can change over without a message
    their system cannot check. None for an endpoint that is not theirs or not live."""
    endpoint = _one_of(db, partner_org_id, endpoint_id)
    if endpoint is None or endpoint.disabled_at is not None:
        return None
    secret = crypto.new_webhook_secret()
    endpoint.previous_secret_ct = endpoint.secret_ct
    endpoint.previous_until = (now or utcnow()) + OVERLAP
    endpoint.secret_ct = _keep(secret, endpoint.partner_org_id, endpoint.url, pepper)
    db.flush()
    return crypto.webhook_secret_text(secret)


def _one_of(db: Session, partner_org_id: int, endpoint_id: int) -> WebhookEndpoint | None:
    endpoint = db.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.partner_org_id != partner_org_id:
        return None
    return endpoint


def remove(db: Session, partner_org_id: int, endpoint_id: int) -> bool:
    """Stop sending to an endpoint of this organisation; what waited for it is deleted."""
    endpoint = _one_of(db, partner_org_id, endpoint_id)
    if endpoint is None or endpoint.disabled_at is not None:
        return False
    endpoint.disabled_at, endpoint.disabled_reason = utcnow(), REMOVED
    db.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.delivered_at.is_(None),
            WebhookDelivery.given_up_at.is_(None),
        )
    )
    db.flush()
    return True


def _body(event_type: str, data: dict[str, str], now: datetime) -> str:
    timestamp = now.isoformat(timespec="microseconds").replace("+00:00", "Z")
    return json.dumps(
        {"type": event_type, "timestamp": timestamp, "data": data},
        separators=(",", ":"),
        ensure_ascii=True,
    )


def _queue(
    db: Session,
    endpoint: WebhookEndpoint,
    event_type: str,
    data: dict[str, str],
    now: datetime,
    referral_id: int | None = None,
) -> None:
    db.add(
        WebhookDelivery(
            endpoint_id=endpoint.id,
            referral_id=referral_id,
            message_id="msg_" + secrets.token_urlsafe(24),
            event_type=event_type,
            body=_body(event_type, data, now),
            created_at=now,
            send_after=now,
        )
    )


def send_test(db: Session, partner_org_id: int, endpoint_id: int) -> bool:
    """Queue a `webhook.test` message (no referral in it) to an endpoint of this organisation."""
    endpoint = _one_of(db, partner_org_id, endpoint_id)
    if endpoint is None or endpoint.disabled_at is not None:
        return False
    _queue(db, endpoint, TEST, {}, utcnow())
    db.flush()
    return True


def try_again(db: Session, partner_org_id: int, delivery_id: int) -> bool:
    """A given-up message of this organisation goes again at the next run (whether the person
    still shares is asked again then, as for every message)."""
    delivery = db.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.given_up_at is None:
        return False
    endpoint = _one_of(db, partner_org_id, delivery.endpoint_id)
    if endpoint is None or endpoint.disabled_at is not None:
        return False
    delivery.given_up_at, delivery.send_after = None, utcnow()
    db.flush()
    return True


def _withhold(db: Session, referral_id: int) -> int:
    """Delete every unsent message about this referral: the person no longer shares."""
    return rows_changed(
        db,
        delete(WebhookDelivery).where(
            WebhookDelivery.referral_id == referral_id,
            WebhookDelivery.delivered_at.is_(None),
            WebhookDelivery.given_up_at.is_(None),
        ),
    )


def status_changed(db: Session, client: Client, now: datetime | None = None) -> int:
    """Call after anything that may change what a referred person's partner may see: their
    "status to referrer" decision, sending their answers, their coach's status for them. Queues
    the new status for each endpoint when it is one they agreed to share and not the one told
    last; when they no longer share, deletes what waited. How many messages were queued."""
    if client.referral_id is None:
        return 0
    referral = db.get(Referral, client.referral_id)
    if referral is None:
        return 0
    now = now or utcnow()
    status = referrals.status_for_partner(referral, client, now)
    if status == referrals.Status.NOT_SHARED:
        _withhold(db, referral.id)
        referral.status_told = None
        db.flush()
        return 0
    if status == referral.status_told:
        return 0
    referral.status_told = str(status)
    endpoints = live_endpoints(db, referral.partner_org_id)
    for endpoint in endpoints:
        data = {"reference": referral.reference or "", "status": str(status)}
        _queue(db, endpoint, STATUS_CHANGED, data, now, referral.id)
    db.flush()
    return len(endpoints)


# --- sending ----------------------------------------------------------------------------------


def _still_shared(db: Session, referral_id: int, now: datetime) -> bool:
    referral = db.get(Referral, referral_id)
    if referral is None:
        return False
    client = db.scalar(select(Client).where(Client.referral_id == referral.id))
    return referrals.status_for_partner(referral, client, now) not in (
        referrals.Status.NOT_SHARED,
        referrals.Status.INVITED,
    )


def _next_try(tries: int, retry_after: int | None, now: datetime) -> datetime | None:
    """When to try again after `tries` failed tries; None when it is time to give up."""
    if tries > len(BACK_OFF):
        return None
    wait = BACK_OFF[tries - 1]
    wait += timedelta(seconds=secrets.randbelow(int(wait.total_seconds() // 10) + 1))  # jitter
    if retry_after is not None:
        wait = max(wait, min(timedelta(seconds=retry_after), LONGEST_PAUSE))
    return now + wait


def headers_for(
    secrets_in_use: list[bytes], message_id: str, body: bytes, timestamp: int
) -> dict[str, str]:
    """Standard Webhooks' headers: one signature for each secret in use, newest first."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "Groundwork-Webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            crypto.sign_webhook(secret, message_id, timestamp, body) for secret in secrets_in_use
        ),
    }


def _secrets_in_use(endpoint: WebhookEndpoint, secrets_key: bytes, now: datetime) -> list[bytes]:
    """The endpoint's secret, and the one before it while it still signs. Raises CannotOpen."""
    aad = _secret_aad(endpoint.partner_org_id, endpoint.url)
    found = [crypto.decrypt(secrets_key, endpoint.secret_ct, aad)]
    if endpoint.previous_secret_ct is not None and (endpoint.previous_until or now) > now:
        found.append(crypto.decrypt(secrets_key, endpoint.previous_secret_ct, aad))
    return found


def _try(
    delivery: WebhookDelivery,
    endpoint: WebhookEndpoint,
    secrets_key: bytes,
    settings: SendSettings,
) -> tuple[int | None, int | None, str | None]:
    """(HTTP status, Retry-After, error) of one try."""
    try:
        in_use = _secrets_in_use(endpoint, secrets_key, utcnow())
    except crypto.CannotOpen:
        return None, None, "The signing secret does not open: was LOOKUP_PEPPER changed?"
    body = delivery.body.encode()
    headers = headers_for(in_use, delivery.message_id, body, int(time.time()))
    try:
        reply = outbound.post(
            endpoint.url,
            body,
            headers,
            timeout=settings.timeout,
            ca_file=settings.ca_file,
            allow_private=settings.allow_private,
        )
    except outbound.Refused:
        return None, None, "Refused: the address leads inside a private network, or is unknown"
    except TimeoutError:
        return None, None, "No answer in time"
    except OSError as failed:
        return None, None, f"Could not connect ({type(failed).__name__})"
    return reply.status, reply.retry_after, None


def send_due(
    db: Session,
    secrets_key: bytes,
    settings: SendSettings,
    now: Callable[[], datetime] = utcnow,
) -> Outcome:
    """Send every message that is due, oldest first. A message about a referral waits while an
    older one about the same referral to the same endpoint has not gone, so a partner hears the
    statuses in the order they came."""
    delivered = delayed = given_up = withheld = 0
    pending = db.execute(
        select(WebhookDelivery.id, WebhookDelivery.endpoint_id, WebhookDelivery.referral_id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(
            WebhookEndpoint.disabled_at.is_(None),
            WebhookDelivery.delivered_at.is_(None),
            WebhookDelivery.given_up_at.is_(None),
        )
        .order_by(WebhookDelivery.id)
        .limit(PER_RUN)
    ).all()
    held_up: set[tuple[int, int | None]] = set()  # an older message there has not arrived
    for delivery_id, endpoint_id, referral_id in pending:
        if (endpoint_id, referral_id) in held_up:
            continue
        delivery = db.get(WebhookDelivery, delivery_id)
        endpoint = db.get(WebhookEndpoint, endpoint_id)
        if delivery is None or endpoint is None or endpoint.disabled_at is not None:
            continue
        if referral_id is not None:
            held_up.add((endpoint_id, referral_id))  # until this one arrives, below
        if delivery.send_after > now():
            continue
        if referral_id is not None and not _still_shared(db, referral_id, now()):
            withheld += _withhold(db, referral_id)
            db.commit()
            continue
        status, retry_after, error = _try(delivery, endpoint, secrets_key, settings)
        delivery.tries += 1
        at = now()
        if status is not None and 200 <= status < 300:
            delivery.delivered_at, delivery.last_error = at, None
            held_up.discard((endpoint_id, referral_id))
            delivered += 1
        elif status == 410:
            delivery.given_up_at, delivery.last_error = at, "HTTP 410"
            endpoint.disabled_at, endpoint.disabled_reason = at, GONE
            given_up += 1
        else:
            delivery.last_error = error or f"HTTP {status}"
            next_try = _next_try(delivery.tries, retry_after, at)
            if next_try is None:
                delivery.given_up_at = at
                given_up += 1
            else:
                delivery.send_after = next_try
                delayed += 1
        db.commit()
    forget_done(db, now())
    db.commit()
    return Outcome(delivered, delayed, given_up, withheld)


def forget_done(db: Session, now: datetime) -> None:
    """Messages delivered or given up more than `KEEP_DONE` ago are deleted."""
    db.execute(
        delete(WebhookDelivery).where(
            func.coalesce(WebhookDelivery.delivered_at, WebhookDelivery.given_up_at)
            < now - KEEP_DONE
        )
    )


# --- what partners and operators see -----------------------------------------------------------


def _rows(db: Session, where: ColumnElement[bool], limit: int) -> list[DeliveryRow]:
    rows = db.execute(
        select(WebhookDelivery, WebhookEndpoint.url, WebhookEndpoint.disabled_at, PartnerOrg.name)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(PartnerOrg, PartnerOrg.id == WebhookEndpoint.partner_org_id)
        .where(where)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    return [
        DeliveryRow(
            id=delivery.id,
            partner_name=name,
            endpoint_url=url,
            endpoint_live=disabled_at is None,
            event_type=delivery.event_type,
            created_at=delivery.created_at,
            tries=delivery.tries,
            next_try=None if delivery.delivered_at or delivery.given_up_at else delivery.send_after,
            last_error=delivery.last_error,
            delivered_at=delivery.delivered_at,
            given_up_at=delivery.given_up_at,
        )
        for delivery, url, disabled_at, name in rows
    ]


def recent_for(db: Session, partner_org_id: int, limit: int = 20) -> list[DeliveryRow]:
    """The organisation's newest messages, sent or not."""
    return _rows(db, WebhookEndpoint.partner_org_id == partner_org_id, limit)


def queue(db: Session, limit: int = 200) -> list[DeliveryRow]:
    """For the operators: messages not delivered (waiting, or given up), newest first."""
    return _rows(db, WebhookDelivery.delivered_at.is_(None), limit)
