"""A client's visit, and where their answers live during it.

Two kinds of visit:

- a **kept** visit: the person agreed that we keep their answers. The session holds their
  data key and return code (split-key session secrets, readable only with the browser's
  cookie) and the answers are stored encrypted by `vault`;
- a visit **for this visit only**: the person said no to keeping anything. Their answers live
  only in this session's own encrypted payload (under the key whose only copy is in their
  cookie), are never written as answer rows, and are gone when they leave, press the quick
  exit or the session times out. They can still decide to keep them.

Pages that show or take answers ask for either kind through `answers_required`; pages that
need a kept record (sending, the person's choices, their agreement) use `client_required`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import Any, Protocol

from flask import g, redirect, request, url_for

from intake import consent, i18n, vault
from intake.code_copies import ASK_AGAIN_AFTER, gone, this_process
from intake.context import code_copies, form_library
from intake.db import db_session
from intake.models import Client, ClientStatus, Referral, utcnow
from intake.questionnaire import Form, Section
from intake.sessions import CLIENT, VISITOR, current_session
from intake.vault import AnswerValue, OpenedSection

DATA_KEY = "data_key"
RETURN_CODE = "return_code"
NEWCOMER = "newcomer"  # this visit began by getting a new return code
CODE_COPY_ASKED = "code_copy_asked"  # when this visit last asked for its code's copy (epoch s)
VISIT_ONLY = "visit_only"  # this visitor keeps nothing beyond the visit
VISIT_ANSWERS = "visit_answers"  # their answers for this visit only (a session secret)
CONSENT_CHECKED = "consent_checked"  # this visit has no decision waiting to be made again
VISIT_FORM = "visit_form"  # [form id, version] followed by a visitor who keeps nothing
REFERRAL = "referral_id"  # the referral this visitor arrived with
# Pages a person can always reach, even with a decision waiting.
ALWAYS_OPEN = frozenset(
    {
        "client.decide_again",
        "client.my_choices",
        "client.delete_everything",
        "client.receipts",
        "client.receipt_json",
        "client.who_looked",
        "client.my_data",
        "client.my_data_json",
    }
)


@dataclass(frozen=True)
class Visit:
    client: Client
    data_key: bytes

    @property
    def sent(self) -> bool:
        return self.client.status != ClientStatus.DRAFT

    @property
    def form(self) -> Form:
        """The form and version this person started, and finishes."""
        return form_of(self.client)


class Answers(Protocol):
    """Where a visit's answers are read and saved, page by page."""

    def read(self, section: Section) -> dict[str, AnswerValue]: ...

    def save(self, section: Section, fields: Mapping[str, AnswerValue]) -> None: ...

    def saved_keys(self) -> set[str]: ...

    def read_all(self) -> dict[str, OpenedSection]: ...


class KeptAnswers:
    """Answers stored encrypted under the person's data key (`vault`)."""

    def __init__(self, visit: Visit) -> None:
        self.visit = visit

    def read(self, section: Section) -> dict[str, AnswerValue]:
        stored = vault.read_section(
            db_session(), self.visit.client, self.visit.data_key, section.key
        )
        return dict(stored.fields) if stored and stored.fields else {}

    def save(self, section: Section, fields: Mapping[str, AnswerValue]) -> None:
        vault.save_section(
            db_session(),
            self.visit.client,
            self.visit.data_key,
            section.key,
            fields,
            schema_version=section.schema_version,
            form_id=section.form_id,
            form_version=section.form_version,
            keep_history=self.visit.sent,
        )

    def saved_keys(self) -> set[str]:
        return vault.saved_section_keys(db_session(), self.visit.client)

    def read_all(self) -> dict[str, OpenedSection]:
        return vault.read_sections(db_session(), self.visit.client, self.visit.data_key)


class VisitAnswers:
    """Answers held in this session only, for someone who keeps nothing."""

    def _all(self) -> dict[str, dict[str, AnswerValue]]:
        raw = current_session().get_secret(VISIT_ANSWERS)
        held = json.loads(raw) if raw else {}
        return held if isinstance(held, dict) else {}

    def read(self, section: Section) -> dict[str, AnswerValue]:
        return dict(self._all().get(section.key) or {})

    def save(self, section: Section, fields: Mapping[str, AnswerValue]) -> None:
        held = self._all()
        held[section.key] = dict(fields)
        current_session().put_secret(
            VISIT_ANSWERS, json.dumps(held, ensure_ascii=False, separators=(",", ":")).encode()
        )

    def saved_keys(self) -> set[str]:
        return set(self._all())

    def read_all(self) -> dict[str, OpenedSection]:
        now = utcnow()
        return {key: OpenedSection(key, 1, now, fields) for key, fields in self._all().items()}


def current_visit() -> Visit | None:
    session = current_session()
    data_key = session.get_secret(DATA_KEY)
    if session.kind != CLIENT or session.client_id is None or data_key is None:
        return None
    client = db_session().get(Client, session.client_id)
    if client is None or client.status == ClientStatus.ERASED:
        return None
    return Visit(client, data_key)


def form_of(client: Client) -> Form:
    return form_library().form(db_session(), client.form_id, client.form_version)


def visit_form() -> Form:
    """The form this visit follows: the version the person started, or, before they start,
    the live version of the form their referral names (else the organisation's default)."""
    form = g.get("visit_form")
    if form is None:
        form = g.visit_form = _find_visit_form()
    return form  # type: ignore[no-any-return]


def _find_visit_form() -> Form:
    visit = current_visit()
    if visit is not None:
        return visit.form
    held = current_session().get(VISIT_FORM)
    if is_visit_only() and isinstance(held, list) and len(held) == 2:
        try:
            return form_library().form(db_session(), str(held[0]), int(held[1]))
        except (LookupError, TypeError, ValueError):
            pass  # a version from another installation's session: start on the live one
    return starting_form()


def starting_form() -> Form:
    """The form someone starting now is asked to fill in."""
    db = db_session()
    referral_id = current_session().get(REFERRAL)
    referral = db.get(Referral, referral_id) if isinstance(referral_id, int) else None
    return form_library().live(db, referral.form_id if referral else None)


def is_visit_only() -> bool:
    """True while someone fills in the forms without keeping anything."""
    session = current_session()
    return session.kind == VISITOR and bool(session.get(VISIT_ONLY))


def begin_visit_only() -> None:
    """From now on this visitor's answers are held for this visit only (a staff member's
    session never becomes one)."""
    session = current_session()
    if session.kind == VISITOR:
        form = starting_form()
        session[VISIT_ONLY] = True
        session[VISIT_FORM] = [form.id, form.version]


def begin_visit(client: Client, data_key: bytes, code_digits: str, *, newcomer: bool) -> None:
    """Hold this client's keys in a fresh session (a new id and key: no fixation)."""
    session = current_session()
    session.restart()
    session.bind_client(client.id)
    session.put_secret(DATA_KEY, data_key)
    session.put_secret(RETURN_CODE, code_digits.encode())
    if newcomer:
        session[NEWCOMER] = True


def make_code_copy(client: Client, data_key: bytes, code_digits: str) -> None:
    """Have the copy of this newcomer's data key under their code made, off this request."""
    current_session()[CODE_COPY_ASKED] = [time.time(), this_process()]
    code_copies().make(client.id, code_digits, data_key)


def _code_copy_still_missing(visit: Visit) -> None:
    """A later page of a visit whose code's copy was never made (the worker that had it
    queued stopped first): ask again, from what the visit holds."""
    if not vault.awaits_code(visit.client) or code_copies().making(visit.client.id):
        return
    asked = current_session().get(CODE_COPY_ASKED)
    if isinstance(asked, list) and len(asked) == 2:
        when, where = asked
        if (
            where != this_process()
            and not gone(str(where))
            and time.time() - when < ASK_AGAIN_AFTER
        ):
            return  # another process has it queued
    code_digits = return_code_of_visit()
    if code_digits is not None:
        make_code_copy(visit.client, visit.data_key, code_digits)


def keep_visit_answers(visit: Visit, held: dict[str, OpenedSection]) -> None:
    """Someone who kept nothing changed their mind: store what they wrote in this visit."""
    kept = KeptAnswers(visit)
    for section in visit.form.sections:
        opened = held.get(section.key)
        if opened is not None and opened.fields:
            kept.save(section, opened.fields)


def return_code_of_visit() -> str | None:
    raw = current_session().get_secret(RETURN_CODE)
    return raw.decode() if raw else None


def _decision_waiting(visit: Visit) -> bool:
    """Once per visit: has a consent text changed, or has a coach recorded a choice for them?"""
    session = current_session()
    if session.get(CONSENT_CHECKED):
        return False
    db = db_session()
    waiting = bool(
        consent.needs_asking_again(db, visit.client.id, i18n.select_locale())
        or consent.recorded_by_coach(db, visit.client.id)
    )
    if not waiting:
        session[CONSENT_CHECKED] = True
    return waiting


def _no_visit() -> Any:
    if current_session().ended:
        return redirect(url_for("client.ended"))
    return redirect(url_for("client.come_back"))


def client_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Run the view only within a kept visit (as `g.visit`); otherwise explain kindly."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        visit = current_visit()
        if visit is None:
            if is_visit_only():
                return redirect(url_for("client.check"))
            return _no_visit()
        g.visit = visit
        g.answers = KeptAnswers(visit)
        _code_copy_still_missing(visit)
        if request.endpoint not in ALWAYS_OPEN and _decision_waiting(visit):
            return redirect(url_for("client.decide_again"))
        return view(*args, **kwargs)

    return wrapped


def answers_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Run the view within a kept visit or a visit for this visit only (`g.visit` is None
    then); `g.answers` is where the answers are read and saved either way."""
    kept_view = client_required(view)

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_visit() is None and is_visit_only():
            g.visit = None
            g.answers = VisitAnswers()
            return view(*args, **kwargs)
        return kept_view(*args, **kwargs)

    return wrapped
