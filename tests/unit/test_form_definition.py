"""A form definition read into pages and questions (intake/form_definition.py).

The shipped form matches the published schema (docs/form.schema.json). A definition with
mistakes is refused with every mistake named by page, question and language, never half-read;
every list of choices ends with "I'd rather not say" in every language; and a form's words
follow the language of whoever is reading.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path

import jsonschema_rs
import pytest

from intake import form_definition
from intake.form_definition import (
    FORMS_FOLDER,
    RATHER_NOT_SAY,
    FormProblems,
    Kind,
    read_form,
)

ROOT = Path(__file__).resolve().parent.parent.parent
SCHEMA = ROOT / "docs" / "form.schema.json"
DEFAULT = FORMS_FOLDER / "groundwork.toml"

SMALL = """
format = 1
id = "youth"
version = 1
languages = ["en", "fr"]

[[pages]]
key = "about"
heading = { en = "About you", fr = "Vous" }
intro = { en = "Say what you like.", fr = "Dites ce que vous voulez." }

[[pages.questions]]
key = "mood"
kind = "one_choice"
label = { en = "How are you?", fr = "Comment allez-vous ?" }
why = { en = "So we can go at your pace.", fr = "Pour aller à votre rythme." }
choices = [
  { key = "good", label = { en = "Good", fr = "Bien" } },
  { key = "low", label = { en = "Low", fr = "Pas bien" } },
]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "form.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def reader_in() -> Iterator[object]:
    def choose(language: str) -> None:
        form_definition.read_in(lambda: language)

    yield choose
    form_definition.read_in(lambda: "en")


def test_the_shipped_form_matches_the_published_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    with DEFAULT.open("rb") as handle:
        definition = tomllib.load(handle)
    assert [
        error.message for error in jsonschema_rs.validator_for(schema).iter_errors(definition)
    ] == []
    broken = {**definition, "pages": [{**definition["pages"][0], "colour": "red"}]}
    assert list(jsonschema_rs.validator_for(schema).iter_errors(broken)), "the schema can fail"


def test_the_shipped_form_is_groundworks_intake_and_agreement_in_six_languages() -> None:
    form = read_form(DEFAULT)
    assert (form.id, form.version) == ("groundwork", 1)
    assert form.languages == ("en", "ar", "fa", "uk", "fr", "es", "ps", "ti", "so", "ckb")
    assert len(form.sections) == 14
    for section in form.sections:
        for question in section.questions:
            for language in form.languages:
                assert question.label.in_language(language).strip()
                assert question.why.in_language(language).strip()


def test_every_list_of_choices_ends_with_rather_not_say_in_every_language(tmp_path: Path) -> None:
    form = read_form(write(tmp_path, SMALL))
    (mood,) = form.sections[0].questions
    assert [key for key, _words in mood.choices] == ["good", "low", RATHER_NOT_SAY]
    last = mood.choices[-1][1]
    assert last.in_language("en") == "I'd rather not say"
    assert last.in_language("fr") == "Je préfère ne pas répondre"
    already = SMALL.replace(
        '{ key = "low", label = { en = "Low", fr = "Pas bien" } },',
        '{ key = "rather_not_say", label = { en = "Skip", fr = "Passer" } },',
    )
    (mood,) = read_form(write(tmp_path, already)).sections[0].questions
    assert [key for key, _words in mood.choices] == ["good", RATHER_NOT_SAY], "never twice"


def test_a_form_with_mistakes_is_refused_naming_each_one(tmp_path: Path) -> None:
    broken = (
        SMALL.replace(
            'why = { en = "So we can go at your pace.", fr = "Pour aller à votre rythme." }',
            'why = { en = "So we can go at your pace." }',
        )
        + """
[[pages]]
key = "about"
heading = { en = "Again", fr = "Encore" }
intro = { en = "More.", fr = "Plus." }

[[pages.questions]]
key = "story"
kind = "essay"
label = { en = "Your story", fr = "Votre histoire" }
why = { en = "So we understand.", fr = "Pour comprendre." }

[[pages.questions]]
key = "when"
kind = "one_choice"
label = { en = "When?", fr = "Quand ?" }
why = { en = "So we plan.", fr = "Pour prévoir." }
"""
    )
    with pytest.raises(FormProblems) as refused:
        read_form(write(tmp_path, broken))
    assert refused.value.problems == [
        "page 2 (about), question story: kind must be one of "
        "short_text, long_text, one_choice, many_choices, note",
        "page 2 (about), question when: a choice question needs choices",
        "two pages have the key 'about'",
    ]


def test_what_is_not_toml_is_refused_kindly(tmp_path: Path) -> None:
    with pytest.raises(FormProblems) as refused:
        read_form(write(tmp_path, "format = 1\npages = [\n"))
    assert refused.value.problems[0].startswith("not readable as TOML")


def test_a_forms_words_follow_the_language_of_the_reader(tmp_path: Path, reader_in) -> None:
    (mood,) = read_form(write(tmp_path, SMALL)).sections[0].questions
    assert mood.kind == Kind.ONE_CHOICE
    assert str(mood.label) == "How are you?"
    reader_in("fr")
    assert str(mood.label) == "Comment allez-vous ?"
    reader_in("ar")  # a language this form is not written in: its source language
    assert str(mood.label) == "How are you?"


def test_a_language_missing_words_is_not_offered_and_each_missing_text_is_named(
    tmp_path: Path,
) -> None:
    lacking = SMALL.replace(
        'why = { en = "So we can go at your pace.", fr = "Pour aller à votre rythme." }',
        'why = { en = "So we can go at your pace." }',
    ).replace(
        '{ key = "low", label = { en = "Low", fr = "Pas bien" } },',
        '{ key = "low", label = { en = "Low" } },',
    )
    form = read_form(write(tmp_path, lacking))
    assert form.languages == ("en",)
    assert form.not_offered == {
        "fr": (
            "page 1 (about), question mood: why",
            "page 1 (about), question mood, choice low: label",
        )
    }


def test_nothing_can_be_made_required_and_unknown_fields_are_named(tmp_path: Path) -> None:
    marked = SMALL.replace(
        'kind = "one_choice"', 'kind = "one_choice"\nrequired = true\ncolour = "red"'
    )
    with pytest.raises(FormProblems) as refused:
        read_form(write(tmp_path, marked))
    assert refused.value.problems == [
        "page 1 (about), question mood: 'colour' is not part of a question",
        "page 1 (about), question mood: nothing is required in Groundwork; take out 'required'",
    ]


def test_a_page_holds_five_questions_at_most(tmp_path: Path) -> None:
    question = """
[[pages.questions]]
key = "q{n}"
kind = "short_text"
label = {{ en = "Question {n}?", fr = "Question {n} ?" }}
why = {{ en = "So we know.", fr = "Pour savoir." }}
"""
    crowded = SMALL + "".join(question.format(n=n) for n in range(5))
    with pytest.raises(FormProblems) as refused:
        read_form(write(tmp_path, crowded))
    assert refused.value.problems == ["page 1 (about): 6 questions; a page holds 5 at most"]


def test_the_content_note_comes_before_the_first_harder_page() -> None:
    form = read_form(DEFAULT)
    first = form.first_harder_index
    assert first is not None
    assert form.sections[first].key == "purpose", "the agreement pages begin with Purpose"
    assert all(section.harder for section in form.sections[first:])
    assert not any(section.harder for section in form.sections[:first])


def test_the_safety_card_names_questions_that_exist(tmp_path: Path) -> None:
    mood = """
[[safety_card]]
page = "about"
question = "mood"
label = { en = "How they are", fr = "Comment ça va" }
"""
    fears = """
[[safety_card]]
page = "about"
question = "fears"
label = { en = "What they fear", fr = "Leurs peurs" }
"""
    with pytest.raises(FormProblems) as refused:
        read_form(write(tmp_path, SMALL + mood + fears))
    assert refused.value.problems == [
        "safety card line 2: there is no question 'fears' on page 'about'"
    ]
    (line,) = read_form(write(tmp_path, SMALL + mood)).safety_card
    assert (line.section_key, line.question_key) == ("about", "mood")
    assert line.label.in_language("fr") == "Comment ça va"


def test_the_default_safety_card_puts_what_to_avoid_first() -> None:
    card = read_form(DEFAULT).safety_card
    assert [(line.section_key, line.question_key) for line in card][:3] == [
        ("margins", "avoid_topics"),
        ("margins", "bad_times_places"),
        ("in_case", "what_helps"),
    ]
    assert len(card) == 10


# --- notes ---------------------------------------------------------------------------------

NOTE = """
[[pages.questions]]
key = "pause"
kind = "note"
label = { en = "You can stop here and come back.", fr = "Vous pouvez vous arrêter ici." }
"""


def test_a_note_is_read_on_the_page_and_asks_nothing(tmp_path: Path) -> None:
    form = read_form(write(tmp_path, SMALL + NOTE))
    (page,) = form.sections
    assert [q.key for q in page.questions] == ["mood", "pause"]
    assert [q.key for q in page.asked] == ["mood"], "a note takes no answer"
    assert page.questions[1].label.in_language("fr") == "Vous pouvez vous arrêter ici."
    assert form.languages == ("en", "fr"), "a note needs no 'why' in any language"


def test_a_note_with_a_why_or_choices_is_refused(tmp_path: Path) -> None:
    wrong = NOTE + 'why = { en = "Because." }\nchoices = [{ key = "a", label = { en = "A" } }]\n'
    with pytest.raises(FormProblems) as refused:
        read_form(write(tmp_path, SMALL + wrong))
    assert refused.value.problems == [
        "page 1 (about), question pause: a note asks nothing, so it has no 'why'",
        "page 1 (about), question pause: only a choice question has choices",
    ]


def test_notes_do_not_count_towards_the_questions_on_a_page(tmp_path: Path) -> None:
    notes = "".join(NOTE.replace('"pause"', f'"pause_{n}"') for n in range(6))
    assert len(read_form(write(tmp_path, SMALL + notes)).sections[0].questions) == 7


def test_the_safety_card_cannot_point_at_a_note(tmp_path: Path) -> None:
    card = (
        '\n[[safety_card]]\npage = "about"\nquestion = "pause"\n'
        'label = { en = "Pause", fr = "P" }\n'
    )
    with pytest.raises(FormProblems) as refused:
        read_form(write(tmp_path, SMALL.replace("[[pages]]", card + "\n[[pages]]", 1) + NOTE))
    assert refused.value.problems == [
        "safety card line 1: there is no question 'pause' on page 'about'"
    ]


# --- a question asked only if an earlier answer applies -------------------------------------

LATER = """
[[pages]]
key = "later"
heading = { en = "Later", fr = "Plus tard" }

[[pages.questions]]
key = "why_low"
kind = "long_text"
label = { en = "What makes it hard?", fr = "Qu'est-ce qui est dur ?" }
why = { en = "So we can help.", fr = "Pour aider." }
shown_if = { page = "about", question = "mood", is = "low" }
"""


def test_a_condition_on_an_earlier_choice_is_read(tmp_path: Path) -> None:
    form = read_form(write(tmp_path, SMALL + LATER))
    about, later = form.sections
    assert later.questions[0].shown_if is not None
    answers = {("about", "mood"): "good"}
    assert form.not_shown(later, lambda page, q: answers.get((page, q))) == {"why_low"}
    answers[("about", "mood")] = "low"
    assert form.not_shown(later, lambda page, q: answers.get((page, q))) == frozenset()
    assert form.not_shown(about, lambda page, q: None) == frozenset()


@pytest.mark.parametrize(
    ("condition", "named"),
    [
        ('is = "sad"', "names no choice 'sad' of a question 'mood' on page 'about' before it"),
        ('is = "low", extra = 1', "'extra' is not part of a condition"),
    ],
)
def test_a_condition_that_cannot_be_followed_is_refused(
    tmp_path: Path, condition: str, named: str
) -> None:
    later = LATER.replace('is = "low"', condition)
    with pytest.raises(FormProblems) as refused:
        read_form(write(tmp_path, SMALL + later))
    assert any(named in problem for problem in refused.value.problems), refused.value.problems


def test_a_condition_on_a_later_question_is_refused(tmp_path: Path) -> None:
    """The person must meet the question a condition names before the one it hides."""
    backwards = LATER.replace('page = "about", question = "mood"', 'page = "later", question = "x"')
    with pytest.raises(FormProblems) as refused:
        read_form(write(tmp_path, SMALL + backwards))
    assert refused.value.problems == [
        "page 2 (later), question why_low: shown_if names no choice 'low' of a question 'x' "
        "on page 'later' before it"
    ]
