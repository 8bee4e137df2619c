"""Hostile words in every free-text field (OWASP ASVS 5.0 level 2; DESIGN.md §10).

- Kept exactly: markup, attribute breakers, javascript: addresses, SQL, Jinja, NUL and
  direction overrides typed into every free-text field a client, partner or coach fills (the
  client's pages, their check-in and their note on a plan; the coach's plan, reason and session
  agreement; the partner's note and nickname, on the page and through the API). The tables stay,
  the pages that show the words keep their shape (no element, attribute or script comes from
  them), and the coach reads back exactly what was typed, NUL dropped.
- Refused kindly: 64 KB in any of those fields is refused, and nothing is stored: the client
  and the partner are told "Please make this shorter", the API names the field, and a plan
  answered with 64 KB stays as it was.
- NUL characters: one typed into a sign-in is refused like any wrong password; one in a token
  label, a name or a partner organisation is dropped; one in an address names nothing (a 404,
  and the API's JSON 404). None ever reaches the database as "service not available".
- Shown as words: a client types markup, template syntax, direction-changing characters,
  scripts from right to left, emoji and one very long word into every text question, sends,
  and is assigned to a coach by the admin's own form. Their own pages, "check your answers", the
  admin's and the coach's client lists, the coach's record, its print view and the JSON
  download show them escaped (`&lt;script&gt;`), not evaluated (`{{7*7}}` stays `{{7*7}}`); on
  staff pages every answer sits alone inside a <bdi>, so a right-to-left override stops at the
  end of the answer; the long word is there in full, and the page links the stylesheet that
  wraps it. The download gives back exactly what was typed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select
from support.clients import HELD_BACK, assign_in_database, client_ids, sent_client
from support.journey import Phone, fill
from support.pages import BIDI_CONTROLS, Page, Text, Tree, csrf
from support.staff import StaffBrowser
from support.team import Team
from werkzeug.test import TestResponse

from intake import agreements, consent, referrals, vault
from intake.db import db_session
from intake.models import AgreementKind, ApiToken, Client, ConsentEvent, PartnerOrg, Referral
from intake.questionnaire import DEFAULT_FORM, LONG_TEXT_LIMIT, Kind, Question
from intake.vault import AnswerValue

from .world import (
    GENERIC,
    REFERRAL_LINK,
    TOO_LONG,
    api_client,
    as_stored,
    assert_every_table_there,
    changed_tables,
    check_in_of,
    counts,
    make_api_token,
    rows,
)

# Typed into every free-text field a client, partner or coach fills.
FIELD_CORPUS = {
    "script": "<script>alert(1)</script>",
    "attribute-breakers": "\"><img src=x onerror=alert(1)>'><svg/onload=alert(2)>",
    "unquoted-attribute": "x onmouseover=alert(1) autofocus onfocus=alert(2)",
    "javascript-url": "javascript:alert(document.cookie)",
    "sql": "'; DROP TABLE client; --",
    "sql-union": '" OR 1=1 UNION SELECT password_hash FROM staff_user --',
    "jinja": "{{7*7}} {{ config.SECRET_KEY }} {% for x in range(3) %}{{x}}{% endfor %}",
    "nul": "be\x00fore\x00 after",
    "rtl-override": "\u202egnp.exe\u202c and \u2067an isolate left open",
}
PLAIN = "plain words"  # the same pages with harmless words, to compare their shape with
HUGE = ("A" * 1023 + "\n") * 64  # 64 KB
MARKUP = re.compile(r"[<>&\"']")

# A word with no spaces, as long as a long answer may be (LONG_TEXT_LIMIT letters).
LONG_WORD = ("Donaudampfschifffahrtsgesellschaftskapitänsmütze" * 250)[:LONG_TEXT_LIMIT]  # 10 KB

# Typed by a client into every text question, and read on every page that shows it.
PAGE_CORPUS = {
    "script": "<script>alert(1)</script>",
    "img-onerror": '"><img src=x onerror=alert(1)>',
    "textarea-svg": "</textarea><svg onload=alert(1)>",
    "quote-attribute": "' onmouseover='alert(1)' x='",
    "jinja-expression": "{{7*7}} {{ config.SECRET_KEY }} {{ ''.__class__ }}",
    "jinja-statement": (
        "{% raw %}{{7*7}}{% endraw %}{% for x in range(3) %}{{ x }}{% endfor %}{# c #}"
    ),
    "javascript-url": "javascript:alert(1)",
    "entities": "&lt;b&gt;bold&lt;/b&gt; &amp; &#60;i&#62; &nbsp;",
    "format-strings": "%(name)s %s {0} {name} %%",
    "rtl-overrides": (
        "\u202eexe.txt\u202c, \u2066left\u2069 \u2067right\u2069 \u2068first\u2069, \u202eunclosed"
    ),
    "unclosed-isolates": "\u2067\u2066\u2068 three isolates left open",
    "zero-width-joiner": (
        "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 a\u200db\u200cc"
    ),
    "arabic": "اسمي سارة، وأحب القراءة مع أطفالي في المساء",
    "persian": "نام من پریسا است و شب‌ها کتاب می‌خوانم",
    "emoji": "\U0001f331 \U0001f3f3\ufe0f\u200d\U0001f308 \U0001f4ac \u270a\U0001f3fe",
    "long-word": LONG_WORD,
}
MADE_BY_MARKUP = frozenset({"svg", "img", "iframe", "object", "embed", "math"})


# --- typed into every free-text field a client, partner or coach fills ----------------------------


def shape(markup: str) -> list[tuple[str, tuple[str, ...]]]:
    """Every element of a page and the names of its attributes: what text cannot add to."""
    return [(tag, tuple(sorted(attrs))) for tag, attrs in Tree(markup).elements]


@dataclass
class Typed:
    """One person's run through a set of forms with the same text in every free-text field."""

    client_id: str
    pages: dict[str, tuple[FlaskClient, str]]  # name -> (whose browser, address)
    shown: dict[str, list[str]] = field(default_factory=dict)  # name -> texts it must show


def read_pages(typed: Typed) -> dict[str, str]:
    found = {}
    for name, (browser, path) in typed.pages.items():
        response = browser.get(path)
        assert response.status_code == 200, (name, path, response.status_code)
        found[name] = response.get_data(as_text=True)
    return found


def check_pages(
    plain: dict[str, str], hostile: dict[str, str], typed: Typed, text: str, secret: str
) -> None:
    """Hostile words make no element, attribute or script, and are shown escaped."""
    for name, markup in hostile.items():
        where = f"{name} with {text[:30]!r}"
        assert shape(markup) == shape(plain[name]), f"{where}: the words changed the page"
        tree = Tree(markup)
        assert tree.event_handler_attributes() == [], where
        assert tree.inline_scripts() == [], where
        assert "\x00" not in markup, f"{where}: a NUL character reached the page"
        assert secret not in markup, f"{where}: the app's secret key is on the page"
        for value in typed.shown.get(name, []):
            assert str(escape(value)) in markup, f"{where}: not shown, or not escaped"
            if MARKUP.search(value):
                assert value not in markup, f"{where}: shown raw"
        assert "49" not in "".join(t.text for t in tree.texts if "7*7" in t.text), where


def data_key_of(app: Flask, team: Team, client_id: str) -> bytes:
    with app.app_context():
        client = db_session().get(Client, client_id)
        assert client is not None
        return vault.unlock_with_org_key(client, team.org_private_key)


def sent_and_assigned(app: Flask, team: Team, name: str) -> tuple[Phone, str]:
    made = sent_client(app, name)
    assign_in_database(app, made.id, team.ids["coach"])
    return made.phone, made.id


@pytest.fixture
def coach(app: Flask, team: Team, auth: StaffBrowser) -> FlaskClient:
    return auth.sign_in("coach")


def type_on_client_pages(app: Flask, team: Team, coach: FlaskClient, words: str) -> Typed:
    """Every text question of every page, then sent, and assigned to coach A."""
    phone = Phone(app)
    before = client_ids(app)
    phone.begin(share="yes")
    for number, section in enumerate(DEFAULT_FORM.sections, 1):
        answers = fill(section)
        for question in section.questions:
            if question.kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT):
                answers[question.key] = words
        phone.save_page(number, answers)
    phone.get("/check")
    assert phone.post("/send", {}).headers["Location"] == "/sent"
    (client_id,) = client_ids(app) - before
    assign_in_database(app, client_id, team.ids["coach"])
    stored = [as_stored(words)]
    pages: dict[str, tuple[FlaskClient, str]] = {
        f"page {n}": (phone.client, f"/page/{n}") for n in range(1, len(DEFAULT_FORM.sections) + 1)
    }
    pages |= {
        "check": (phone.client, "/check"),
        "my data": (phone.client, "/my-data"),
        "record": (coach, f"/clients/{client_id}"),
        "print": (coach, f"/clients/{client_id}/print"),
    }
    shown = dict.fromkeys(pages, stored)
    return Typed(client_id, pages, shown)


def test_hostile_words_on_the_client_pages_are_kept_exactly_and_shown_as_words(
    app: Flask, team: Team, coach: FlaskClient
) -> None:
    plain = read_pages(type_on_client_pages(app, team, coach, PLAIN))
    for name, words in FIELD_CORPUS.items():
        typed = type_on_client_pages(app, team, coach, words)
        check_pages(plain, read_pages(typed), typed, name, app.config["SECRET_KEY"])
        assert_every_table_there(app)
        # The coach reads exactly what was typed, through the vault and in the download.
        with app.app_context():
            db = db_session()
            client = db.get(Client, typed.client_id)
            assert client is not None
            opened = vault.read_sections(db, client, data_key_of(app, team, typed.client_id))
        exported = coach.get(f"/clients/{typed.client_id}/export").get_json()
        for section in DEFAULT_FORM.sections:
            for question in section.questions:
                if question.kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT):
                    got = opened[section.key].fields or {}
                    assert got[question.key] == as_stored(words), (name, section.key)
                    if section.key != "contact":  # held back without consent to contact
                        exported_value = exported["answers"][section.key][question.key]
                        assert exported_value == as_stored(words), (name, section.key)


def type_in_agreements(app: Flask, team: Team, coach: FlaskClient, words: str) -> Typed:
    """The coach's plan, voice-consent reason and session agreement; the client's check-in and
    their note asking to change the plan."""
    phone, client_id = sent_and_assigned(app, team, "Sam")
    record = f"/clients/{client_id}"
    # The token from another page: the record's first look is the one the pages are read at.
    token = csrf(coach, "/account/password")
    plan = coach.post(f"{record}/plan", data={"goals": words, "csrf_token": token})
    assert plan.status_code == 302, plan.status_code
    voice = coach.post(
        f"{record}/consent",
        data={
            "purpose": "anonymous_statistics",
            "decision": "granted",
            "reason": words,
            "csrf_token": token,
        },
    )
    assert voice.status_code == 302, voice.status_code
    phone.get("/before-a-session")
    phone.post("/before-a-session", {"goal": words, "off_limits": words, "arriving": words})
    phone.get("/agreement")
    phone.post(
        "/agreement",
        {"kind": "plan", "response": "change_requested", "version": "1", "note": words},
    )
    check_in = check_in_of(app, client_id)
    agreed = coach.post(
        f"{record}/check-ins/{check_in}/agreed", data={"agreed": words, "csrf_token": token}
    )
    assert agreed.status_code == 302, agreed.status_code
    stored = [as_stored(words)]
    pages = {
        "check-in": (phone.client, "/before-a-session"),
        "agreement": (phone.client, "/agreement"),
        "decide again": (phone.client, "/decide-again"),
        "my data": (phone.client, "/my-data"),
        "record": (coach, record),
        "print": (coach, f"{record}/print"),
    }
    return Typed(client_id, pages, {name: stored for name in pages if name != "print"})


def test_hostile_words_in_agreements_check_ins_and_coach_notes_are_kept_exactly(
    app: Flask, team: Team, coach: FlaskClient
) -> None:
    plain = read_pages(type_in_agreements(app, team, coach, PLAIN))
    for name, words in FIELD_CORPUS.items():
        typed = type_in_agreements(app, team, coach, words)
        check_pages(plain, read_pages(typed), typed, name, app.config["SECRET_KEY"])
        assert_every_table_there(app)
        expected = as_stored(words)
        data_key = data_key_of(app, team, typed.client_id)
        with app.app_context():
            db = db_session()
            (check_in,) = [
                agreements.open_check_in(c, data_key)
                for c in agreements.check_ins(db, typed.client_id)
            ]
            plan = agreements.latest(db, typed.client_id, AgreementKind.PLAN)
            assert plan is not None
            opened_plan = agreements.open_agreement(plan, data_key)
            (voice,) = db.scalars(
                select(ConsentEvent).where(
                    ConsentEvent.client_id == typed.client_id, ConsentEvent.reason_ct.is_not(None)
                )
            )
            reason = vault.open_json(
                data_key, voice.reason_ct, consent.reason_aad(typed.client_id, voice.purpose)
            )
        assert check_in.brought == dict.fromkeys(agreements.CHECK_IN_FIELDS, expected), name
        assert check_in.agreed == expected, name
        assert opened_plan.content == {"goals": [expected]}, name
        assert opened_plan.note == expected, name
        assert reason == expected, name


def referred_and_sent(app: Flask, team: Team, link_token: str) -> str:
    """Someone opens the link, agrees (to keep, share, and tell the referrer), and sends."""
    phone = Phone(app)
    before = client_ids(app)
    assert phone.get(f"/r/{link_token}", status=302).headers["Location"] == "/referred"
    phone.get("/referred")
    phone.get("/welcome")
    phone.get("/agree")
    phone.post(
        "/agree", {"store_answers": "yes", "share_with_coach": "yes", "status_to_referrer": "no"}
    )
    phone.take_code()
    phone.get("/check")
    assert phone.post("/send", {}).headers["Location"] == "/sent"
    (client_id,) = client_ids(app) - before
    assign_in_database(app, client_id, team.ids["coach"])
    return client_id


def referral_of(app: Flask, client_id: str) -> Referral:
    with app.app_context():
        db = db_session()
        found = db.scalar(
            select(Referral)
            .join(Client, Client.referral_id == Referral.id)
            .where(Client.id == client_id)
        )
        assert found is not None
        db.expunge(found)
        return found


def type_in_referrals(
    app: Flask,
    team: Team,
    coach: FlaskClient,
    partner: FlaskClient,
    system: FlaskClient,
    words: str,
) -> list[Typed]:
    """A note and a nickname for the coach, on the partner's page and through the API; each
    referral is used by a person who sends, and is assigned to coach A."""
    tokens = []
    page = partner.post(
        "/partner/referrals/new",
        data={
            "locale": "en",
            "nickname": words,
            "note": words,
            "csrf_token": csrf(partner, "/partner/referrals/new"),
        },
    )
    assert page.status_code == 200, page.status_code
    found = REFERRAL_LINK.search(page.get_data(as_text=True))
    assert found, "no link on the page"
    tokens.append(found.group(2))
    before = counts(app)["referral"]
    made = system.post("/api/v1/referrals", json={"locale": "en", "nickname": words, "note": words})
    if "\x00" in words:
        # The API refuses a NUL outright (the page drops it): nothing is made.
        assert made.status_code == 400, made.status_code
        assert made.get_json()["error"] in ("bad_nickname", "bad_note")
        assert counts(app)["referral"] == before
    else:
        assert made.status_code == 201, made.status_code
        tokens.append(urlsplit(made.get_json()["link"]).path.rsplit("/", 1)[1])
    typed = []
    for link_token in tokens:
        client_id = referred_and_sent(app, team, link_token)
        record = f"/clients/{client_id}"
        pages = {"record": (coach, record), "print": (coach, f"{record}/print")}
        typed.append(Typed(client_id, pages, {"record": [as_stored(words)]}))
    return typed


def test_hostile_words_in_referral_notes_and_nicknames_reach_the_coach_as_words(
    app: Flask, team: Team, coach: FlaskClient, auth: StaffBrowser
) -> None:
    partner = auth.sign_in("partner")
    _id, token = make_api_token(app, "partner")
    system = api_client(app, token)
    (plain_page, plain_api) = (
        read_pages(t) for t in type_in_referrals(app, team, coach, partner, system, PLAIN)
    )
    for name, words in FIELD_CORPUS.items():
        made = type_in_referrals(app, team, coach, partner, system, words)
        assert len(made) == (1 if "\x00" in words else 2)
        for typed, plain in zip(made, (plain_page, plain_api), strict=False):
            check_pages(plain, read_pages(typed), typed, name, app.config["SECRET_KEY"])
            nickname, note = referrals.open_sealed(
                referral_of(app, typed.client_id), team.org_private_key
            )
            assert (nickname, note) == (as_stored(words), as_stored(words)), name
        assert_every_table_there(app)


# --- 64 KB ----------------------------------------------------------------------------------------


def test_64_kb_of_text_is_refused_kindly_everywhere_and_nothing_is_stored(
    app: Flask, team: Team, coach: FlaskClient, auth: StaffBrowser
) -> None:
    phone, client_id = sent_and_assigned(app, team, "Ola")
    record = f"/clients/{client_id}"
    partner = auth.sign_in("partner")
    _id, token = make_api_token(app, "partner")
    before = rows(app, sessions=False)
    # The client's own pages: a short and a long answer, a check-in, a note on the plan.
    for number, key in ((1, "name"), (4, "reasons")):
        phone.get(f"/page/{number}")
        refused = phone.post(f"/page/{number}", {key: HUGE, "action": "continue"}, status=400)
        assert TOO_LONG in refused.get_data(as_text=True)
    phone.get("/before-a-session")
    refused = phone.post("/before-a-session", {"goal": HUGE}, status=400)
    assert TOO_LONG in refused.get_data(as_text=True)
    # The coach's forms.
    token_ = csrf(coach, "/account/password")
    for path, data in (
        (f"{record}/plan", {"goals": HUGE}),
        (f"{record}/consent", {"purpose": "contact", "decision": "granted", "reason": HUGE}),
    ):
        assert coach.post(path, data={**data, "csrf_token": token_}).status_code == 400, path
    # The partner's page and API.
    refused = partner.post(
        "/partner/referrals/new",
        data={"locale": "en", "note": HUGE, "csrf_token": csrf(partner, "/partner/referrals/new")},
    )
    assert refused.status_code == 400
    assert TOO_LONG in refused.get_data(as_text=True)
    for body in ({"note": HUGE}, {"nickname": HUGE}):
        answer = api_client(app, token).post("/api/v1/referrals", json=body)
        assert answer.status_code == 400
        assert answer.get_json()["error"] in ("bad_note", "bad_nickname")
    assert not changed_tables(before, rows(app, sessions=False))
    # A plan written before, answered with 64 KB: refused, and the plan is as it was.
    plan = coach.post(f"{record}/plan", data={"goals": "one goal", "csrf_token": token_})
    assert plan.status_code == 302
    before = rows(app, sessions=False)
    phone.get("/agreement")
    answer = phone.client.post(
        "/agreement",
        data={
            "kind": "plan",
            "response": "change_requested",
            "version": "1",
            "note": HUGE,
            "csrf_token": phone.token,
        },
    )
    assert answer.status_code in (200, 400)
    assert TOO_LONG in answer.get_data(as_text=True)
    assert not changed_tables(before, rows(app, sessions=False))


# --- NUL characters -------------------------------------------------------------------------------


def test_a_nul_character_anywhere_is_dropped_or_not_found_never_a_database_error(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    """PostgreSQL refuses NUL in text: a NUL typed into any form is dropped, and one in an
    address names nothing. Neither ever reaches the database as "service not available"."""
    visitor = app.test_client()
    refused = auth.post_password(visitor, "co\x00ach", "not the\x00 password")
    assert refused.status_code == 200
    assert GENERIC in refused.get_data(as_text=True)
    partner = auth.sign_in("partner")
    made = partner.post(
        "/partner/api-tokens",
        data={"label": "our\x00 system", "csrf_token": csrf(partner, "/partner/api-tokens")},
    )
    assert made.status_code == 200
    assert "our system" in made.get_data(as_text=True)
    admin = auth.sign_in("admin")
    invited = admin.post(
        "/team",
        data={
            "role": "partner",
            "display_name": "Ana\x00 Lopez",
            "partner_org": "Harbour\x00 project",
            "csrf_token": csrf(admin, "/team"),
        },
    )
    assert invited.status_code == 200
    with app.app_context():
        db = db_session()
        assert db.scalar(select(PartnerOrg).where(PartnerOrg.name == "Harbour project"))
        labels = set(db.scalars(select(ApiToken.label)))
    assert "our system" in labels
    coach = auth.sign_in("coach")
    for browser, path in (
        (coach, "/clients/ab%00cd"),
        (coach, "/clients/ab%00cd/print"),
        (partner, "/partner/referrals/R-%00/withdraw"),
    ):
        response = (
            browser.post(path, data={"csrf_token": csrf(browser, "/account/password")})
            if path.endswith("withdraw")
            else browser.get(path)
        )
        assert response.status_code == 404, path
    _id, token = make_api_token(app, "partner")
    answer = api_client(app, token).get("/api/v1/referrals/R-%00")
    assert answer.status_code == 404
    assert answer.get_json() == {"error": "not_found"}
    assert_every_table_there(app)


# --- shown as words: a client who typed them everywhere, sent, and was assigned -------------------


def typed_for(question: Question, payload: str) -> str:
    """The payload as it fits the question (the long word is cut to a short answer's size)."""
    return payload[: question.limit]


def text_questions() -> Iterator[tuple[str, Question]]:
    for section in DEFAULT_FORM.sections:
        for question in section.questions:
            if question.kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT):
                yield section.key, question


@dataclass
class Sent:
    """One client who typed the payload everywhere, sent it, and was assigned to a coach."""

    payload: str
    client_id: str
    phone: Phone
    typed: dict[tuple[str, str], str]  # (section, question) -> what was typed
    labels: dict[tuple[str, str], str]  # (section, question) -> the question, in English
    card_labels: dict[tuple[str, str], str]  # (section, question) -> its safety-card line
    admin: FlaskClient
    coach: FlaskClient
    admin_list: TestResponse  # the admin's workspace, with the client waiting for a coach

    @property
    def values(self) -> set[str]:
        return set(self.typed.values())

    @property
    def name(self) -> str:
        return self.typed[("name", "name")]

    def shown_to_coach(self) -> dict[tuple[str, str], str]:
        return {key: value for key, value in self.typed.items() if key not in HELD_BACK}


@pytest.fixture(params=list(PAGE_CORPUS.values()), ids=list(PAGE_CORPUS))
def sent(request: pytest.FixtureRequest, app: Flask, team: Team, auth: StaffBrowser) -> Sent:
    payload = request.param
    phone = Phone(app)
    before = client_ids(app)
    phone.begin(share="yes")
    typed: dict[tuple[str, str], str] = {}
    for number, section in enumerate(DEFAULT_FORM.sections, 1):
        answers: dict[str, AnswerValue] = fill(section)
        for question in section.questions:
            if question.kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT):
                answers[question.key] = typed_for(question, payload)
                typed[(section.key, question.key)] = typed_for(question, payload)
        response = phone.save_page(number, answers)
        assert response.status_code == 302, "a hostile answer was refused"
    (client_id,) = client_ids(app) - before

    with app.test_request_context():
        labels = {(s, q.key): str(q.label) for s, q in text_questions()}
        card_labels = {
            (line.section_key, line.question_key): str(line.label)
            for line in DEFAULT_FORM.safety_card
            if (line.section_key, line.question_key) in typed
        }

    # The client's own pages, before sending.
    check_client_pages(phone, typed, labels)
    phone.get("/check")
    assert phone.post("/send", {}).headers["Location"] == "/sent"

    # The admin assigns them to the coach through the workspace's own form.
    admin = auth.sign_in("admin")
    admin_list = admin.get("/workspace")
    assert f'action="/clients/{client_id}/assign"' in admin_list.get_data(as_text=True)
    assigned = admin.post(
        f"/clients/{client_id}/assign",
        data={"csrf_token": csrf(admin, "/account/password"), "coach": str(team.ids["coach"])},
    )
    assert assigned.status_code == 302
    return Sent(
        payload,
        client_id,
        phone,
        typed,
        labels,
        card_labels,
        admin,
        auth.sign_in("coach"),
        admin_list,
    )


# --- what every page must show, and must not ------------------------------------------------------


def assert_nothing_made_by_the_words(tree: Tree, payload: str, where: str) -> None:
    """No element, attribute or script on the page came from what was typed."""
    assert tree.event_handler_attributes() == [], where
    assert tree.inline_scripts() == [], where
    assert not (tree.tags() & MADE_BY_MARKUP), (where, tree.tags() & MADE_BY_MARKUP)
    for piece in re.findall(r"<[a-z][^<]*|on[a-z]+=\S*", payload):
        assert piece not in tree.markup, f"{where}: {piece!r} went through unescaped"


def assert_escaped(tree: Tree, value: str, where: str) -> None:
    """The words are in the markup in their escaped form, and not in their raw form."""
    assert str(escape(value)) in tree.markup, f"{where}: the answer is not shown escaped"
    if MARKUP.search(value):
        assert value not in tree.markup, f"{where}: the answer went into the page raw"


def assert_not_evaluated(runs: list[Text], app_secret: str, markup: str, where: str) -> None:
    """Template syntax shows as typed: nothing was worked out or filled in."""
    assert app_secret not in markup, f"{where}: the app's secret key is on the page"
    shown = " ".join(run.text for run in runs)
    assert "49" not in shown, f"{where}: {{{{7*7}}}} was worked out"
    assert "012" not in shown, f"{where}: a template loop ran"
    assert "<class" not in shown, f"{where}: a Python object was shown"


def assert_isolated(tree: Tree, values: set[str], where: str) -> None:
    """Every run of text holding an answer (or a direction-changing character) is one whole
    answer, alone inside a <bdi>: what it does to direction stops where the answer stops."""
    for run in tree.texts:
        holds_answer = any(value in run.text for value in values)
        if holds_answer or BIDI_CONTROLS & set(run.text):
            assert run.parent == "bdi", f"{where}: {run.text[:40]!r} is inside <{run.parent}>"
            assert run.text in values, f"{where}: {run.text[:40]!r} is not one whole answer"


def assert_stylesheet_wraps_long_words(browser: FlaskClient, tree: Tree, where: str) -> None:
    sheets = [href for href in tree.stylesheets() if urlsplit(href).path == "/static/site.css"]
    assert sheets, f"{where} does not link site.css"
    with browser.get(sheets[0]) as css:  # a file response: closed when read
        assert css.status_code == 200
        rules = re.sub(r"\s+", "", css.get_data(as_text=True))
    assert "overflow-wrap:anywhere" in rules


# --- the client's own pages -----------------------------------------------------------------------


def check_client_pages(
    phone: Phone, typed: dict[tuple[str, str], str], labels: dict[tuple[str, str], str]
) -> None:
    """Their form pages show each answer back in its box; "check your answers" as words."""
    payload = next(iter(typed.values()))
    for number, section in enumerate(DEFAULT_FORM.sections, 1):
        markup = phone.get(f"/page/{number}").get_data(as_text=True)
        where = f"page {number}"
        tree = Tree(markup)
        assert_nothing_made_by_the_words(tree, payload, where)
        page = Page(markup)
        for question in section.questions:
            if (section.key, question.key) in typed:
                value = typed[(section.key, question.key)]
                assert page.value(question.key) == value, (where, question.key)
                assert_escaped(tree, value, where)

    tree = Tree(phone.get("/check").get_data(as_text=True))
    assert_nothing_made_by_the_words(tree, payload, "check")
    for key, value in typed.items():
        assert_escaped(tree, value, "check")
        (runs,) = tree.answers_to(labels[key])
        assert "".join(run.text for run in runs) == value, ("check", key)


# --- the staff pages ------------------------------------------------------------------------------


def check_client_lists(app: Flask, sent: Sent) -> None:
    for who, response in (("admin", sent.admin_list), ("coach", sent.coach.get("/workspace"))):
        assert response.status_code == 200
        tree = Tree(response.get_data(as_text=True))
        where = f"the {who}'s client list"
        assert_nothing_made_by_the_words(tree, sent.payload, where)
        assert_escaped(tree, sent.name, where)
        assert_isolated(tree, sent.values, where)
        names = [run for run in tree.texts if run.text == sent.name]
        assert len(names) == 1, where
        assert names[0].stack[-2:] == ("a", "bdi"), "the name is the link to the record"
        assert_not_evaluated(names, app.config["SECRET_KEY"], tree.markup, where)
        assert_stylesheet_wraps_long_words(sent.coach, tree, where)


def check_record(app: Flask, sent: Sent, view: str) -> None:
    response = sent.coach.get(f"/clients/{sent.client_id}{view}")
    assert response.status_code == 200
    tree = Tree(response.get_data(as_text=True))
    where = f"the coach's record{view}"
    assert_nothing_made_by_the_words(tree, sent.payload, where)
    assert_isolated(tree, sent.values, where)
    shown: list[Text] = []
    for key, value in sent.shown_to_coach().items():
        assert_escaped(tree, value, where)
        # In full (the long word too), alone in its <bdi>, under its own question.
        (runs,) = tree.answers_to(sent.labels[key])
        assert runs == [Text(value, ("bdi",))], (where, key)
        shown += runs
        if key in sent.card_labels:  # the safety card, read first, shows it the same way
            (card,) = tree.answers_to(sent.card_labels[key])
            assert card == [Text(value, ("bdi",))], (where, "safety card", key)
    heading = [run for run in tree.texts if run.stack[-2:] == ("h1", "bdi")]
    assert [run.text for run in heading] == [sent.name], "the name heads the record"
    assert_not_evaluated(shown, app.config["SECRET_KEY"], tree.markup, where)
    assert_stylesheet_wraps_long_words(sent.coach, tree, where)


def check_download(app: Flask, sent: Sent) -> None:
    response = sent.coach.get(f"/clients/{sent.client_id}/export")
    assert response.status_code == 200
    # A browser saves it as a file and never reads it as a page.
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    document = json.loads(response.get_data(as_text=True))
    assert document["client"] == sent.client_id
    for (section, question), value in sent.shown_to_coach().items():
        assert document["answers"][section][question] == value, (section, question)
    assert app.config["SECRET_KEY"] not in response.get_data(as_text=True)


# --- every page, for each kind of hostile words ---------------------------------------------------


def test_hostile_words_are_shown_as_words_on_every_page(app: Flask, sent: Sent) -> None:
    check_client_lists(app, sent)
    check_record(app, sent, "")
    check_record(app, sent, "/print")
    check_download(app, sent)
    # Still the client's words on their own page after the coach has read them.
    check_client_pages(sent.phone, sent.typed, sent.labels)
