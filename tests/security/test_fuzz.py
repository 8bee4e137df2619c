"""Input nobody would type, and none of it gives a server error (OWASP ASVS 5.0 level 2).

- Property-based fuzzing of every client form: each page of questions, the check-in, the
  agreement, the choices, "I have saved my code", the return-code and referral-code forms and
  the first question are sent any fields with any values (control characters, lists, words the
  forms know, text up to 240 KB). Nothing fails; a page that saves keeps exactly what its own
  form makes of the fields (a text answer as typed first, NUL dropped, trimmed); no answer is
  lost; no record appears but the one a visitor who agrees makes for themselves; and the
  person's visit goes on.
- Odd numbers in addresses (a superscript two, Arabic-Indic and full-width digits, more digits
  than a number holds, zero, minus one) wherever an address takes a number (the lists' pages,
  a receipt, the API's pages): never a server error. They are here, with the fuzzing, because
  what they prove is the same: odd input is refused or ignored, never a crash.
- JSON nested too deep gets the API's JSON 400, not a server error, and makes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from flask import Flask, request
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from support.clients import assign_in_database, client_ids
from support.journey import Phone, fill, section_at
from support.pages import csrf
from support.staff import StaffBrowser
from support.team import Team
from werkzeug.datastructures import MultiDict
from werkzeug.test import TestResponse

from intake import vault
from intake.client.forms import answers_from, form_class
from intake.db import db_session
from intake.models import Client
from intake.questionnaire import DEFAULT_FORM, Kind

from .world import ROOMY_LIMITS, api_client, as_stored, counts, make_api_token

# --- property-based fuzzing of every client form --------------------------------------------------

PAGE_PATHS = [f"/page/{n}" for n in range(1, len(DEFAULT_FORM.sections) + 1)]
VISIT_FORMS = ["/before-a-session", "/agreement", "/my-choices", "/your-code"]
VISITOR_FORMS = ["/come-back", "/agree", "/referral-code"]
FIELD_NAMES = sorted(
    {q.key for s in DEFAULT_FORM.sections for q in s.questions}
    | {"consent_choice", "action", "kind", "response", "version", "note", "goal", "off_limits"}
    | {"arriving", "code", "saved", "purpose", "decision", "store_answers", "share_with_coach"}
    | {"status_to_referrer", "carried_page", "carried_answers", "share"}
)
WORDS = sorted(
    {key for s in DEFAULT_FORM.sections for q in s.questions for key, _label in q.choices}
    | {"yes", "no", "continue", "later", "without", "granted", "withdrawn", "declined", "plan"}
    | {"relationship", "confirmed", "change_requested", "1", "2", "y", "on", "contact"}
    | {"share_with_coach", "store_answers", "anonymous_statistics", "status_to_referrer"}
)
any_text = st.text(max_size=40)  # any letters, control characters and all, no surrogates
huge_text = st.builds(
    lambda letter, times: letter * times,
    st.characters(codec="utf-8"),
    st.sampled_from([201, 2001, 20_000]),  # up to 240 KB as sent: under the cap
)
a_value = st.one_of(
    any_text,
    st.sampled_from(WORDS),
    huge_text,
    st.lists(st.one_of(any_text, st.sampled_from(WORDS)), max_size=3),
)
a_form = st.dictionaries(
    st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=12)).filter(
        lambda key: key != "csrf_token"
    ),
    a_value,
    max_size=8,
)
FUZZING = hypothesis_settings(
    max_examples=90,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


@dataclass
class Fuzzed:
    """One app, one person in a visit with every page saved (sent, assigned, with a plan), one
    visitor who has been shown a code, and what the person's answers must read as."""

    app: Flask
    team: Team
    phone: Phone
    client_id: str
    visitor: Phone
    expected: dict[str, dict[str, object]] = field(default_factory=dict)
    clients: int = 0

    def new_visitor(self) -> None:
        self.visitor = Phone(self.app)
        self.visitor.get("/agree")

    def stored(self) -> dict[str, dict[str, object]]:
        with self.app.app_context():
            db = db_session()
            client = db.get(Client, self.client_id)
            assert client is not None
            data_key = vault.unlock_with_org_key(client, self.team.org_private_key)
            opened = vault.read_sections(db, client, data_key)
            return {key: dict(section.fields or {}) for key, section in opened.items()}


@pytest.fixture
def fuzzed(app: Flask, team: Team, auth: StaffBrowser) -> Fuzzed:
    app.config.update(ROOMY_LIMITS)
    phone = Phone(app)
    phone.begin(share="yes")
    for number, section in enumerate(DEFAULT_FORM.sections, 1):
        phone.save_page(number, fill(section))
    phone.get("/check")
    phone.post("/send", {})
    (client_id,) = client_ids(app)
    assign_in_database(app, client_id, team.ids["coach"])
    coach = auth.sign_in("coach")
    plan = coach.post(
        f"/clients/{client_id}/plan",
        data={"goals": "one\ntwo", "csrf_token": csrf(coach, "/account/password")},
    )
    assert plan.status_code == 302
    world = Fuzzed(app, team, phone, client_id, Phone(app))
    world.new_visitor()
    world.expected = world.stored()
    world.clients = len(client_ids(app))
    return world


def accepted(app: Flask, path: str, fields: dict[str, object], number: int) -> dict[str, object]:
    """What the page's own form makes of these fields (the fields as the app parses them)."""
    section = section_at(number)
    assert section is not None
    with app.test_request_context(path, method="POST", data=fields):
        form = form_class(section)(meta={"csrf": False})
        assert form.validate(), form.errors
        kept = dict(answers_from(form, section))
        posted = MultiDict(request.form)
    # Independently of the form: a text answer is what was typed first, NUL dropped, trimmed.
    for question in section.questions:
        if question.kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT):
            typed = as_stored(str(posted.get(question.key) or ""))
            assert kept.get(question.key, "") == typed, question.key
    return kept


def post_fuzzed(world: Fuzzed, path: str, fields: dict[str, object]) -> TestResponse:
    browser = world.visitor if path in VISITOR_FORMS else world.phone
    token = csrf(browser.client, path)  # read from the form's own page, as a browser would
    response = browser.client.post(path, data={**fields, "csrf_token": token})
    assert response.status_code < 500, (path, response.status_code)
    return response


def assert_nothing_lost(world: Fuzzed) -> None:
    assert world.stored() == world.expected


@FUZZING
@given(number=st.integers(1, len(DEFAULT_FORM.sections)), fields=a_form)
@example(number=1, fields={"name": ["first", "second"], "pronouns": ["she", "he"]})
@example(number=3, fields={"channels": ["", "phone"], "consent_choice": "maybe"})
@example(number=1, fields={"name": "a\x00b\x00", "action": "later"})
@example(number=4, fields={"reasons": "x" * 2001})
def test_fuzzed_pages_never_fail_and_never_lose_an_answer(
    fuzzed: Fuzzed, number: int, fields: dict[str, object]
) -> None:
    path = f"/page/{number}"
    response = post_fuzzed(fuzzed, path, fields)
    section = section_at(number)
    assert section is not None
    if response.status_code == 302:
        went = urlsplit(response.headers["Location"]).path
        assert went not in ("/come-back", "/ended", "/decide-again"), went
        fuzzed.expected[section.key] = accepted(fuzzed.app, path, fields, number)
    else:
        assert response.status_code in (400, 413), response.status_code
    assert_nothing_lost(fuzzed)


@FUZZING
@given(path=st.sampled_from(VISIT_FORMS + VISITOR_FORMS), fields=a_form)
@example(
    path="/come-back",
    fields={"code": "1234 5678 9012 3456", "carried_page": "1", "carried_answers": "[" * 100_000},
)
@example(path="/come-back", fields={"carried_page": "-1", "carried_answers": '{"name": "x"}'})
@example(path="/agreement", fields={"kind": "plan", "version": "1", "response": "no such"})
@example(path="/agree", fields={"store_answers": ["yes", "no"], "share_with_coach": "maybe"})
@example(path="/my-choices", fields={"purpose": "store_answers", "decision": "withdrawn"})
def test_fuzzed_client_forms_never_fail_and_never_lose_an_answer(
    fuzzed: Fuzzed, path: str, fields: dict[str, object]
) -> None:
    response = post_fuzzed(fuzzed, path, fields)
    if path == "/agree" and response.headers.get("Location") == "/your-code":
        # They agreed: a new person with their own record, and nobody else's changed.
        assert len(client_ids(fuzzed.app)) == fuzzed.clients + 1
        fuzzed.clients += 1
        fuzzed.new_visitor()
    assert len(client_ids(fuzzed.app)) == fuzzed.clients
    assert_nothing_lost(fuzzed)
    # The person's visit goes on.
    assert fuzzed.phone.client.get("/check").status_code == 200


# --- odd numbers in addresses ---------------------------------------------------------------------

ODD_NUMBERS = (
    "%C2%B2",  # a superscript two: a digit to str.isdigit, not to int()
    "%D9%A1",  # an Arabic-Indic one
    "%EF%BC%91",  # a full-width one
    "9" * 5000,  # more digits than int() converts
    "99999999999999999999",  # more than a database integer holds
    "0",
    "-1",
)


def test_odd_numbers_in_an_address_never_give_a_server_error(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    admin = auth.sign_in("admin")
    partner = auth.sign_in("partner")
    _id, token = make_api_token(app, "partner")
    system = api_client(app, token)
    phone = Phone(app)
    phone.begin()
    problems = []
    for value in ODD_NUMBERS:
        for browser, path, fine in (
            (admin, f"/workspace?page={value}", (200,)),
            (admin, f"/workspace?waiting_page={value}", (200,)),
            (admin, f"/access-log?page={value}", (200,)),
            (partner, f"/partner/?page={value}", (200,)),
            (phone.client, f"/receipt.json?n={value}", (200, 404)),
            (system, f"/api/v1/referrals?page={value}", (200, 400)),
        ):
            status = browser.get(path).status_code
            if status not in fine:
                problems.append(f"{path[:60]}: {status}")
    assert not problems, "\n".join(problems)


# --- JSON nested too deep -------------------------------------------------------------------------


def test_json_nested_too_deep_gets_a_json_400_not_a_server_error(app: Flask, team: Team) -> None:
    _id, token = make_api_token(app, "partner")
    before = counts(app)["referral"]
    for body in ("[" * 100_000, '{"note": ' + "[" * 50_000 + "}"):
        answer = api_client(app, token).post(
            "/api/v1/referrals", data=body, content_type="application/json"
        )
        assert answer.status_code == 400
        assert answer.get_json() == {"error": "bad_body"}
    assert counts(app)["referral"] == before
