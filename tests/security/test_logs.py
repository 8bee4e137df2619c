"""Nothing secret reaches any log record (OWASP ASVS 5.0 level 2; DESIGN.md §10).

Every record of every logger that matters (the root, werkzeug, SQLAlchemy, the app, gunicorn's
access and error logs) is kept whole, arguments and exception text included, while a whole
service runs: a client's journey, sent and come back to on another phone; an admin assigning
and a coach reading, printing, downloading and writing; a partner referring two people, on the
page and through the API, who both start; and things that fail (a 404, a CSRF failure, an
answer too long, a wrong sign-in, a bad API call). The request line each server would write is
logged too. Not one answer, return code, referral code or link, password, 6-digit-code secret,
recovery phrase, API token or session cookie is in any of those records.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from flask import Flask
from support.clients import client_ids
from support.journey import Phone, fill, marker, typed_words
from support.pages import csrf
from support.staff import StaffBrowser
from support.team import PASSWORDS, Team

from intake.questionnaire import DEFAULT_FORM

from .world import REFERRAL_LINK, api_client

LOGGERS = ("", "werkzeug", "sqlalchemy", "intake", "gunicorn", "gunicorn.access", "gunicorn.error")


class KeepEverything(logging.Handler):
    """Every record, whole: its message, its arguments, and any exception text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        parts = [record.name, str(record.msg), repr(record.args)]
        try:
            parts.append(record.getMessage())
        except (TypeError, ValueError):
            parts.append("(a message that does not format)")
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
        parts += [record.exc_text or "", record.stack_info or ""]
        self.records.append("\n".join(parts))


@pytest.fixture
def every_log_record() -> Iterator[KeepEverything]:
    handler = KeepEverything()
    before = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        before.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger, level in before:
            logger.removeHandler(handler)
            logger.setLevel(level)


class RequestLines:
    """The request line a server writes for every request, as the development server (through
    the "werkzeug" logger) and gunicorn's access log (through "gunicorn.access", in its default
    format) write it, so that what they would log is logged, through their loggers' filters.
    Also notes every session cookie the app sets, to look for it in the logs."""

    def __init__(self, wsgi_app: Callable[..., object]) -> None:
        self.wsgi_app = wsgi_app
        self.cookies: set[str] = set()

    def __call__(self, environ: dict[str, object], start_response: Callable[..., object]) -> object:
        status: list[str] = []

        def remember(code: str, headers: list[tuple[str, str]], *rest: object) -> object:
            status.append(code.split()[0])
            for name, value in headers:
                if name.lower() == "set-cookie":
                    self.cookies.add(value.split(";")[0].split("=", 1)[1])
            return start_response(code, headers, *rest)

        result = self.wsgi_app(environ, remember)
        line = f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}"
        address = environ.get("REMOTE_ADDR", "-")
        when = datetime.now(UTC).strftime("%d/%b/%Y %H:%M:%S")
        logging.getLogger("werkzeug").info(
            f'{address} - - [{when}] "%s" %s %s', line, status[0] if status else "-", "-"
        )
        atoms = {"h": address, "l": "-", "u": "-", "t": f"[{when}]", "r": line}
        atoms |= {"s": status[0] if status else "-", "b": "-", "f": "-", "a": "test"}
        logging.getLogger("gunicorn.access").info(
            '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"', atoms
        )
        return result


def test_no_answer_code_password_or_secret_reaches_any_log_record(
    every_log_record: KeepEverything, app: Flask, team: Team, auth: StaffBrowser
) -> None:
    lines = RequestLines(app.wsgi_app)
    app.wsgi_app = lines  # type: ignore[method-assign]
    secrets_: set[str] = {*PASSWORDS.values(), *team.totp.values(), team.recovery_phrase}
    markers: list[str] = []

    def mark(label: str) -> str:
        value = f"{label}-{marker()}"
        markers.append(value)
        return value

    # A whole journey: every page, a check-in, sent; left; back with the code on another phone.
    phone = Phone(app)
    code = phone.begin(share="yes")
    for number, section in enumerate(DEFAULT_FORM.sections, 1):
        answers = fill(section)
        markers.extend(typed_words(section, answers))
        phone.save_page(number, answers)
    phone.get("/before-a-session")
    phone.post("/before-a-session", {"goal": mark("goal"), "off_limits": mark("off")})
    phone.get("/check")
    phone.post("/send", {})
    phone.get("/exit", status=303)
    again = Phone(app)
    again.keep_private(code)
    again.come_back(code)
    again.save_page(1, {"name": mark("name-again")})
    client_id = next(iter(client_ids(app)))

    # The admin assigns; the coach reads, prints, downloads, writes a plan and a reason.
    admin = auth.sign_in("admin")
    assigned = admin.post(
        f"/clients/{client_id}/assign",
        data={"coach": str(team.ids["coach"]), "csrf_token": csrf(admin, "/account/password")},
    )
    assert assigned.status_code == 302
    coach = auth.sign_in("coach")
    for view in ("", "/print", "/export"):
        assert coach.get(f"/clients/{client_id}{view}").status_code == 200
    token = csrf(coach, "/account/password")
    coach.post(f"/clients/{client_id}/plan", data={"goals": mark("goal"), "csrf_token": token})
    coach.post(
        f"/clients/{client_id}/consent",
        data={
            "purpose": "contact",
            "decision": "granted",
            "reason": mark("reason"),
            "csrf_token": token,
        },
    )

    # A partner refers two people, on the page and through the API, with marked notes.
    partner = auth.sign_in("partner")
    made = partner.post(
        "/partner/referrals/new",
        data={
            "locale": "en",
            "nickname": mark("nick"),
            "note": mark("note"),
            "csrf_token": csrf(partner, "/partner/referrals/new"),
        },
    )
    link = REFERRAL_LINK.search(made.get_data(as_text=True))
    shown_code = re.search(
        r"<bdi>([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})</bdi>", made.get_data(as_text=True)
    )
    assert link
    assert shown_code
    page = partner.post(
        "/partner/api-tokens",
        data={"label": "our system", "csrf_token": csrf(partner, "/partner/api-tokens")},
    )
    api_token = re.search(r"<bdi>(gw_[^<]+)</bdi>", page.get_data(as_text=True))
    assert api_token
    by_api = api_client(app, api_token.group(1)).post(
        "/api/v1/referrals", json={"locale": "en", "note": mark("api-note")}
    )
    assert by_api.status_code == 201
    referred = by_api.get_json()
    secrets_ |= {link.group(2), shown_code.group(1), api_token.group(1), referred["code"]}
    secrets_.add(urlsplit(referred["link"]).path.rsplit("/", 1)[1])
    referred_codes = []
    for how in ("link", "code"):
        person = Phone(app)
        if how == "link":
            person.get(f"/r/{link.group(2)}", status=302)
        else:
            person.get("/referral-code")
            person.post("/referral-code", {"code": referred["code"]})
        person.get("/referred")
        person.get("/welcome")
        person.get("/agree")
        person.post("/agree", {"store_answers": "yes", "share_with_coach": "yes"})
        referred_codes.append(person.take_code())
        person.save_page(1, {"name": mark("referred")})

    # Things that fail: a 404, a CSRF failure, a field too long, a wrong sign-in, a bad API call.
    assert coach.get(f"/clients/{marker()}").status_code == 404
    assert app.test_client().get("/no-such-page").status_code == 404
    again.get("/page/2")
    again.post("/page/2", {"languages": mark("no-token")}, token=False, status=400)
    again.get("/page/4")
    again.post("/page/4", {"reasons": mark("too-long") + " x" * 60000}, status=400)
    wrong = app.test_client()
    auth.post_password(wrong, mark("user"), mark("password"))
    api_client(app, api_token.group(1)).post("/api/v1/referrals", json={"oops": mark("api")})

    # Nothing above is in any record, nor any code, password, key or cookie.
    cookies = lines.cookies - {""}
    assert cookies, "no session cookie was seen"
    digits = [c.replace(" ", "") for c in (code, *referred_codes)]
    looked_for = {*markers, *secrets_, *cookies, code, *referred_codes, *digits}
    records = every_log_record.records
    assert len(records) > 100, "the logs were not captured"
    assert any(" /r/" in r or "/r/" in r for r in records), "the request lines were not logged"
    found = sorted({value[:24] for value in looked_for for r in records if value in r})
    assert not found, f"in the logs: {found}"
