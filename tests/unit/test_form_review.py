"""Advice to a form's author before publishing (intake/form_review.py): the words Groundwork's
voice avoids, and the hardest English to read, each named by page and question."""

from __future__ import annotations

from pathlib import Path

from intake.form_definition import FORMS_FOLDER, read_form
from intake.form_review import MAX_GRADE, avoided_words, hardest_to_read

HARSH = """
format = 1
id = "harsh"
version = 1
languages = ["en"]

[[pages]]
key = "case"
heading = { en = "Your case file" }
intro = { en = "You must answer." }

[[pages.questions]]
key = "story"
kind = "long_text"
label = { en = "LONG_LABEL" }
why = { en = "So we understand." }
""".replace(
    "LONG_LABEL",
    "Notwithstanding prior adjudications, elaborate comprehensively regarding circumstances "
    "necessitating institutional intervention.",
)


def test_words_that_blame_alarm_or_recall_interrogation_are_named_where_they_are(
    tmp_path: Path,
) -> None:
    path = tmp_path / "harsh.toml"
    path.write_text(HARSH, encoding="utf-8")
    found = avoided_words(read_form(path))
    assert found == [
        'page 1 (case): heading: "case" (Your case file)',
        'page 1 (case): heading: "file" (Your case file)',
        'page 1 (case): intro: "must" (You must answer.)',
    ]


def test_the_hardest_english_comes_first_and_a_hard_label_is_over_the_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "harsh.toml"
    path.write_text(HARSH, encoding="utf-8")
    (hardest,) = hardest_to_read(read_form(path))
    assert hardest.where == "page 1 (case), question story: label"
    assert hardest.grade > MAX_GRADE


def test_groundworks_own_form_reads_plainly() -> None:
    form = read_form(FORMS_FOLDER / "groundwork.toml")
    hardest = hardest_to_read(form)
    assert len(hardest) == 5
    assert [item.grade for item in hardest] == sorted(
        (item.grade for item in hardest), reverse=True
    )
    assert all(item.grade <= MAX_GRADE for item in hardest)
    # The one word it keeps on purpose: who must not know a person comes here.
    assert [line.split(":")[0] for line in avoided_words(form)] == [
        "page 12 (safety), question must_not_know"
    ]
