"""Split-key sessions for clients and staff (DESIGN.md §6).

A session's contents — ordinary values and key material alike — are stored in a database row,
encrypted under a random per-session key. The only copy of that key is in the signed cookie,
next to the session id; the row is found by the id's hash. A database copy without the cookie
reads nothing; a cookie without the row reads nothing; deleting the row ends the session.

Key material goes in `session.secrets`, never in the dict that Flask exposes to templates.
Sessions end after SESSION_IDLE_MINUTES without a request; staff sessions also end
STAFF_SESSION_HOURS after sign-in. A visitor who has stored nothing gets no row and no cookie.
"""

from __future__ import annotations

import base64
import json
import logging
from datetime import datetime, timedelta
from typing import Any, cast

from flask import Flask, Request, Response, session
from flask.sessions import SessionInterface, SessionMixin
from itsdangerous import BadSignature, Signer
from sqlalchemy import delete, update
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import CallbackDict

from intake import crypto
from intake.db import db_session
from intake.models import SessionRecord, rows_changed, utcnow

log = logging.getLogger(__name__)

TOUCH_AFTER = timedelta(seconds=60)  # how stale last_seen_at may get before a write

VISITOR = "visitor"
CLIENT = "client"
STAFF = "staff"
LOCALE = "locale"  # the language a person chose (intake.i18n keeps it here)
# The secrets a signed-in staff member's session holds, shared by every staff blueprint.
PERSONAL_KEY = "personal_key"
ORG_KEY = "org_key"


class SplitKeySession(CallbackDict[str, Any], SessionMixin):
    """The session Flask hands to views; its row and key stay out of reach of templates."""

    def __init__(
        self,
        data: dict[str, Any] | None = None,
        *,
        id_hash: str | None = None,
        key: bytes | None = None,
        kind: str = VISITOR,
        staff_id: int | None = None,
        client_id: str | None = None,
        created_at: datetime | None = None,
        last_seen_at: datetime | None = None,
        secrets: dict[str, bytes] | None = None,
        ended: str | None = None,
        unavailable: bool = False,
    ) -> None:
        def on_update(self: SplitKeySession) -> None:
            self.modified = True

        super().__init__(data or {}, on_update)
        self.id_hash = id_hash
        self.key = key
        self.kind = kind
        self.staff_id = staff_id
        self.client_id = client_id
        self.created_at = created_at
        self.last_seen_at = last_seen_at
        self.secrets: dict[str, bytes] = dict(secrets or {})
        self.ended = ended  # why the previous session ended: "idle", "expired" or "gone"
        self.unavailable = unavailable
        self.modified = False
        self.regenerate_requested = False
        self.destroy_requested = False

    @property
    def new(self) -> bool:  # type: ignore[override]
        return self.id_hash is None

    def put_secret(self, name: str, value: bytes) -> None:
        self.secrets[name] = value
        self.modified = True

    def get_secret(self, name: str) -> bytes | None:
        return self.secrets.get(name)

    def drop_secret(self, name: str) -> None:
        if self.secrets.pop(name, None) is not None:
            self.modified = True

    def regenerate(self) -> None:
        """Give this session a new id and key at the end of the request (sign-in, unlock)."""
        self.regenerate_requested = True
        self.modified = True

    def restart(self) -> None:
        """Start afresh in a new session (new id and key), keeping only the language chosen."""
        locale = self.get(LOCALE)
        self.clear()
        self.secrets.clear()
        self.kind, self.staff_id, self.client_id = VISITOR, None, None
        if locale:
            self[LOCALE] = locale
        self.regenerate()

    def destroy(self) -> None:
        """Delete the row and the cookie at the end of the request (sign-out, quick exit)."""
        self.clear()
        self.secrets.clear()
        self.destroy_requested = True

    def bind_staff(self, staff_id: int) -> None:
        self.kind, self.staff_id, self.client_id = STAFF, staff_id, None
        self.modified = True

    def bind_client(self, client_id: str) -> None:
        self.kind, self.client_id, self.staff_id = CLIENT, client_id, None
        self.modified = True

    def has_content(self) -> bool:
        return bool(self) or bool(self.secrets) or self.kind != VISITOR


def current_session() -> SplitKeySession:
    return cast(SplitKeySession, session._get_current_object())  # type: ignore[attr-defined]


def _payload_aad(id_hash: str) -> bytes:
    return f"session\x00{id_hash}".encode()


def _encode(value: SplitKeySession, key: bytes, id_hash: str) -> bytes:
    body = {
        "data": dict(value),
        "secrets": {name: base64.b64encode(raw).decode() for name, raw in value.secrets.items()},
    }
    return crypto.encrypt(key, json.dumps(body).encode(), _payload_aad(id_hash))


def _decode(payload: bytes, key: bytes, id_hash: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    body = json.loads(crypto.decrypt(key, payload, _payload_aad(id_hash)))
    secrets = {name: base64.b64decode(raw) for name, raw in body["secrets"].items()}
    return body["data"], secrets


def cookie_name(app: Flask) -> str:
    return "__Host-session" if app.config["SECURE_COOKIES"] else "session"


def ended_reason(record: SessionRecord, now: datetime, config: dict[str, Any]) -> str | None:
    """Why this session has ended ("idle" or "expired"), or None while it is alive."""
    if now - record.last_seen_at > timedelta(minutes=config["SESSION_IDLE_MINUTES"]):
        return "idle"
    if record.kind == STAFF and now - record.created_at > timedelta(
        hours=config["STAFF_SESSION_HOURS"]
    ):
        return "expired"
    return None


class SplitKeySessionInterface(SessionInterface):
    """Loads and saves `SplitKeySession`s through the request's database session."""

    def _signer(self, app: Flask) -> Signer:
        return Signer(app.secret_key, salt="groundwork-session")  # type: ignore[arg-type]

    def _read_cookie(self, app: Flask, request: Request) -> tuple[str, bytes] | None:
        raw = request.cookies.get(cookie_name(app))
        if not raw:
            return None
        try:
            unsigned = self._signer(app).unsign(raw).decode("ascii")
            session_id, encoded_key = unsigned.split(".", 1)
            key = base64.urlsafe_b64decode(encoded_key)
        except (BadSignature, ValueError, UnicodeError):
            return None
        if len(key) != crypto.KEY_SIZE:
            return None
        return session_id, key

    def open_session(self, app: Flask, request: Request) -> SplitKeySession | None:
        if request.endpoint == "static":  # a file that exists needs no session; a miss does
            return None
        cookie = self._read_cookie(app, request)
        if cookie is None:
            had_cookie = cookie_name(app) in request.cookies
            return SplitKeySession(ended="gone" if had_cookie else None)
        session_id, key = cookie
        id_hash = crypto.token_digest(session_id)
        try:
            return self._load(app, id_hash, key)
        except SQLAlchemyError as exc:
            log.error("session store unavailable: %s", type(exc).__name__)
            return SplitKeySession(unavailable=True)

    def _load(self, app: Flask, id_hash: str, key: bytes) -> SplitKeySession:
        db = db_session()
        record = db.get(SessionRecord, id_hash)
        if record is None:
            db.rollback()
            return SplitKeySession(ended="gone")
        reason = ended_reason(record, utcnow(), app.config)
        if reason:
            db.delete(record)
            db.commit()
            return SplitKeySession(ended=reason)
        try:
            data, secrets = _decode(record.payload, key, id_hash)
        except (crypto.CannotOpen, ValueError, KeyError):
            db.rollback()
            return SplitKeySession(ended="gone")
        # The read goes on in the request's transaction: one connection and one round trip fewer
        # than ending it here, and each round trip is a wait for the GIL in a threaded worker.
        return SplitKeySession(
            data,
            id_hash=id_hash,
            key=key,
            kind=record.kind,
            staff_id=record.staff_id,
            client_id=record.client_id,
            created_at=record.created_at,
            last_seen_at=record.last_seen_at,
            secrets=secrets,
        )

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, SplitKeySession) or session.unavailable:
            return
        try:
            self._save(app, session, response)
        except SQLAlchemyError as exc:
            log.error("session not saved: %s", type(exc).__name__)
            db_session().rollback()

    def _save(self, app: Flask, session: SplitKeySession, response: Response) -> None:
        db = db_session()
        if session.destroy_requested:
            if session.id_hash:
                db.execute(delete(SessionRecord).where(SessionRecord.id_hash == session.id_hash))
                db.commit()
            self._forget_cookie(app, response)
            return
        if session.id_hash is None and not session.has_content():
            if session.ended:
                self._forget_cookie(app, response)
            return
        now = utcnow()
        if session.id_hash is None or session.regenerate_requested:
            self._create(app, session, response, now)
        elif session.modified:
            assert session.key is not None
            db.execute(
                update(SessionRecord)
                .where(SessionRecord.id_hash == session.id_hash)
                .values(
                    payload=_encode(session, session.key, session.id_hash),
                    kind=session.kind,
                    staff_id=session.staff_id,
                    client_id=session.client_id,
                    last_seen_at=now,
                )
            )
            db.commit()
        elif session.last_seen_at is None or now - session.last_seen_at > TOUCH_AFTER:
            db.execute(
                update(SessionRecord)
                .where(SessionRecord.id_hash == session.id_hash)
                .values(last_seen_at=now)
            )
            db.commit()

    def _create(
        self, app: Flask, session: SplitKeySession, response: Response, now: datetime
    ) -> None:
        db = db_session()
        if session.id_hash:
            db.execute(delete(SessionRecord).where(SessionRecord.id_hash == session.id_hash))
        session_id = crypto.new_secret_token()
        key = crypto.new_data_key()
        id_hash = crypto.token_digest(session_id)
        db.add(
            SessionRecord(
                id_hash=id_hash,
                kind=session.kind,
                staff_id=session.staff_id,
                client_id=session.client_id,
                payload=_encode(session, key, id_hash),
                created_at=now,
                last_seen_at=now,
            )
        )
        db.commit()
        session.id_hash, session.key = id_hash, key
        session.regenerate_requested = False
        value = f"{session_id}.{base64.urlsafe_b64encode(key).decode('ascii')}"
        response.set_cookie(
            cookie_name(app),
            self._signer(app).sign(value).decode("ascii"),
            httponly=True,
            secure=app.config["SECURE_COOKIES"],
            samesite="Lax",
            path="/",
        )

    def _forget_cookie(self, app: Flask, response: Response) -> None:
        response.delete_cookie(
            cookie_name(app),
            path="/",
            secure=app.config["SECURE_COOKIES"],
            httponly=True,
            samesite="Lax",
        )


def purge_ended(config: dict[str, Any]) -> int:
    """Delete the rows of sessions that have ended. Returns how many."""
    db = db_session()
    now = utcnow()
    idle_cutoff = now - timedelta(minutes=config["SESSION_IDLE_MINUTES"])
    staff_cutoff = now - timedelta(hours=config["STAFF_SESSION_HOURS"])
    removed = rows_changed(
        db,
        delete(SessionRecord).where(
            (SessionRecord.last_seen_at < idle_cutoff)
            | ((SessionRecord.kind == STAFF) & (SessionRecord.created_at < staff_cutoff))
        ),
    )
    db.commit()
    return removed
