"""Forms nobody wrote by hand (hypothesis): every definition Groundwork accepts can be
published, shows every page in every one of its languages, takes a random submission as the
person typed it (refusing a choice that is not offered), and gives the same answers back from
the encrypted store."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import tomli_w
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from support.app import invoke
from support.clients import client_id_of
from support.journey import Phone
from support.team import Team

from intake import vault
from intake.db import database
from intake.form_definition import (
    QUESTIONS_PER_PAGE,
    RATHER_NOT_SAY,
    RESERVED_KEYS,
    Form,
    Question,
    read_form_text,
)
from intake.models import Client

LANGUAGES = ("en", "fr", "ar", "uk")
KINDS = ("short_text", "long_text", "one_choice", "many_choices", "note")
# Words as people type them, in several scripts: no control characters, nothing only blank.
LETTERS = st.sampled_from(
    list("abcdefghijklmnopqrstuvwxyz ABCÉçé'?,.-") + list("مرحباكيفحالك") + list("Привітякте")
)
WORDS = st.text(LETTERS, min_size=1, max_size=40).map(str.strip).filter(bool)
KEYS = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True).filter(
    lambda key: key != RATHER_NOT_SAY and key not in RESERVED_KEYS
)


@st.composite
def definitions(draw: st.DrawFn) -> dict[str, Any]:
    languages = ["en", *draw(st.lists(st.sampled_from(LANGUAGES[1:]), unique=True))]

    def words() -> dict[str, str]:
        return {code: draw(WORDS) for code in languages}

    keys = iter(draw(st.lists(KEYS, min_size=40, max_size=40, unique=True)))
    pages = []
    choice_questions: list[tuple[str, str, list[str]]] = []  # page, question, choice keys
    for _page in range(draw(st.integers(1, 3))):
        page: dict[str, Any] = {"key": next(keys), "heading": words()}
        if draw(st.booleans()):
            page["intro"] = words()
        questions = []
        earlier = list(choice_questions)
        for kind in draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=6)):
            if sum(q["kind"] != "note" for q in questions) == QUESTIONS_PER_PAGE:
                break
            question: dict[str, Any] = {"key": next(keys), "kind": kind, "label": words()}
            if kind != "note":
                question["why"] = words()
            if kind in ("one_choice", "many_choices"):
                count = draw(st.integers(1, 4))
                question["choices"] = [
                    {"key": next(keys), "label": words()} for _choice in range(count)
                ]
            if kind != "note" and earlier and draw(st.booleans()):
                target_page, target, choices = draw(st.sampled_from(earlier))
                question["shown_if"] = {
                    "page": target_page,
                    "question": target,
                    "is": draw(st.sampled_from(choices)),
                }
            questions.append(question)
            if "choices" in question:
                choice_questions.append(
                    (page["key"], question["key"], [c["key"] for c in question["choices"]])
                )
        page["questions"] = questions
        pages.append(page)
    return {"format": 1, "id": "groundwork", "version": 2, "languages": languages, "pages": pages}


def applies(form: Form, number: int, question: Question, given: dict[str, dict[str, Any]]) -> bool:
    """Whether the person is asked `question` on page `number`, worked out here from the rule
    in docs/forms.md (not with the app's own code)."""
    condition = question.shown_if
    if condition is None:
        return True
    pages = [section.key for section in form.sections]
    if pages.index(condition.page) + 1 >= number:
        return True  # the same page: always shown
    answer = given.get(condition.page, {}).get(condition.question)
    return answer == condition.is_ or (isinstance(answer, list) and condition.is_ in answer)


@st.composite
def page_answers(
    draw: st.DrawFn, form: Form, number: int, given: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """A random submission of page `number`: any question may be skipped."""
    section = form.sections[number - 1]
    answers: dict[str, Any] = {}
    for question in section.asked:
        if not applies(form, number, question, given) or draw(st.booleans()):
            continue  # skipped, as anyone may
        keys = [key for key, _words in question.choices]
        if question.kind.value == "one_choice":
            answers[question.key] = draw(st.sampled_from(keys))
        elif question.kind.value == "many_choices":
            answers[question.key] = draw(st.lists(st.sampled_from(keys), min_size=1, unique=True))
        else:
            answers[question.key] = draw(WORDS)
    return answers


def test_every_generated_form_publishes_shows_takes_and_gives_back_answers(
    app: Flask, team: Team, tmp_path: Path
) -> None:
    versions = itertools.count(2)

    @settings(
        max_examples=12,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(definition=definitions(), data=st.data())
    def check(definition: dict[str, Any], data: st.DataObject) -> None:
        definition["version"] = next(versions)
        text = tomli_w.dumps(definition)
        form = read_form_text(text, "generated.toml")  # accepted: nothing generated is wrong
        path = tmp_path / f"generated-{form.version}.toml"
        path.write_text(text, encoding="utf-8")
        published = invoke(app, "forms", "publish", str(path))
        assert published.exit_code == 0, published.output

        phone = Phone(app)
        code = phone.begin()
        given: dict[str, dict[str, Any]] = {}
        for number, section in enumerate(form.sections, start=1):
            for language in form.languages:
                shown = phone.get(f"/page/{number}?lang={language}").get_data(as_text=True)
                assert str(escape(section.heading.in_language(language))) in shown
                for question in section.asked:
                    label = f'name="{question.key}"'
                    asked = applies(form, number, question, given)
                    assert (label in shown) == asked, (question.key, asked)
                    if asked:
                        assert str(escape(question.label.in_language(language))) in shown
            choice = next((q for q in section.asked if q.choices), None)
            if choice is not None:  # a choice that is not offered is refused, and nothing kept
                phone.post(f"/page/{number}", {choice.key: "not_offered"}, status=400)
            answers = data.draw(page_answers(form, number, given))
            phone.post(f"/page/{number}", {**answers, "action": "continue"})
            given[section.key] = answers

        client_id = client_id_of(app, code)
        with database(app).sessions() as db:
            client = db.get(Client, client_id)
            assert client is not None
            assert (client.form_id, client.form_version) == ("groundwork", form.version)
            data_key = vault.unlock_with_org_key(client, team.org_private_key)
            stored = {key: s.fields for key, s in vault.read_sections(db, client, data_key).items()}
        assert stored == given

    check()
