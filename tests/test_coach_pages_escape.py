"""Hostile words typed by a client are shown as words, never run as markup (DESIGN.md §10).

Someone types markup, template syntax, direction-changing characters, scripts from right to
left, emoji and one very long word into every text question of the real client pages, sends,
and is assigned to a coach by the admin's own form. Then the pages that show those words are
read as a browser reads them: the client's own form pages and "check your answers", the admin's
and the coach's client lists, the coach's record, its print view, and the JSON download.

On every page: no element, attribute or script came from the typed words; they are escaped
(`&lt;script&gt;`), not evaluated (`{{7*7}}` stays `{{7*7}}`); on staff pages every answer sits
alone inside a <bdi>, so a right-to-left override stops at the end of the answer; the long
word is there in full, and the page links the stylesheet that wraps it. The download gives
back exactly what was typed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from conftest import Team, csrf
from flask import Flask
from flask.testing import FlaskClient
from journey_helpers import Page, Phone, fill
from markupsafe import escape
from werkzeug.test import TestResponse
from workspace_helpers import BIDI_CONTROLS, HELD_BACK, Text, Tree, browser_as, client_ids

from intake.coach.record import SAFETY_CARD
from intake.questionnaire import LONG_TEXT_LIMIT, SECTIONS, Kind, Question
from intake.vault import AnswerValue

# A word with no spaces, as long as a long answer may be (LONG_TEXT_LIMIT letters).
LONG_WORD = ("Donaudampfschifffahrtsgesellschaftskapitänsmütze" * 250)[:LONG_TEXT_LIMIT]  # 10 KB

CORPUS = {
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
MARKUP = re.compile(r"[<>&\"']")
MADE_BY_MARKUP = frozenset({"svg", "img", "iframe", "object", "embed", "math"})


def typed_for(question: Question, payload: str) -> str:
    """The payload as it fits the question (the long word is cut to a short answer's size)."""
    return payload[: question.limit]


def text_questions() -> Iterator[tuple[str, Question]]:
    for section in SECTIONS:
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


@pytest.fixture(params=list(CORPUS.values()), ids=list(CORPUS))
def sent(request: pytest.FixtureRequest, app: Flask, team: Team) -> Sent:
    payload = request.param
    phone = Phone(app)
    before = client_ids(app)
    phone.begin(share="yes")
    typed: dict[tuple[str, str], str] = {}
    for number, section in enumerate(SECTIONS, 1):
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
        card_labels = {(s, f): str(label) for label, s, f in SAFETY_CARD if (s, f) in typed}

    # The client's own pages, before sending.
    check_client_pages(phone, typed, labels)
    phone.get("/check")
    assert phone.post("/send", {}).headers["Location"] == "/sent"

    # The admin assigns them to the coach through the workspace's own form.
    admin = browser_as(app, team, "admin")
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
        browser_as(app, team, "coach"),
        admin_list,
    )


# --- what every page must show, and must not --------------------------------------------


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


# --- the client's own pages ---------------------------------------------------------------


def check_client_pages(
    phone: Phone, typed: dict[tuple[str, str], str], labels: dict[tuple[str, str], str]
) -> None:
    """Their form pages show each answer back in its box; "check your answers" as words."""
    payload = next(iter(typed.values()))
    for number, section in enumerate(SECTIONS, 1):
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


# --- the staff pages ----------------------------------------------------------------------


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


# --- the test -----------------------------------------------------------------------------


def test_hostile_words_are_shown_as_words_on_every_page(app: Flask, sent: Sent) -> None:
    check_client_lists(app, sent)
    check_record(app, sent, "")
    check_record(app, sent, "/print")
    check_download(app, sent)
    # Still the client's words on their own page after the coach has read them.
    check_client_pages(sent.phone, sent.typed, sent.labels)
