"""The folder a volunteer opens to review one language (`make review LANG=xx`,
tools/review.py): each text under the page where a person first meets it, in the order it
appears there, with what translators were told; the texts seen on no page listed last; every
text shown as text, in its own language and direction."""

from __future__ import annotations

import datetime
import re
from html import unescape
from pathlib import Path

import pytest

from intake.translation_reviews import catalog_sha256
from tools import review
from tools.review import Page, Words

TODAY = datetime.date(2027, 1, 15)
SHA = "ab" * 32


def page(label: str, *lines: str) -> Page:
    name = re.sub(r"\W+", "-", label).strip("-")
    return Page(label, f"en/{name}.png", f"ar/{name}.png", "\n".join(lines))


SEND = Words(
    "1",
    ("Send my answers",),
    ("أرسل إجاباتي",),
    note="The button that sends the answers to the coach.",
    sources=("templates/client/check.html:40",),
)
CHOICES = Words("2", ("Your choices",), ("اختياراتك",), sources=("templates/client/agree.html:3",))
LEFT = Words("3", ("You have %(num)s pages left",), ("بقيت لك %(num)s صفحات",))
STAFF = Words("4", ("Team",), ("الفريق",), sources=("templates/coach/team.html:3",))
NOT_YET = Words("5", ("Leave this page quickly",), ("",), sources=("templates/base.html:20",))
UNSURE = Words("6", ("Back",), ("رجوع",), fuzzy=True)
ONE_WORD = Words("7", ("Text",), ("النص",), sources=("templates/coach/consent_texts.html:11",))
PAGES = [
    page(
        "/agree",
        "اختياراتك – استمارات",
        "Leave this page quickly",
        "بقيت لك 3 صفحات",
        "اضغط أرسل إجاباتي عندما تكون جاهزًا",
    ),
    page("/check", "Back", "اختياراتك", "هذا النص قصير", "أرسل إجاباتي"),
]


def test_each_text_is_under_the_first_page_it_is_on_in_the_order_it_appears() -> None:
    placed = review.place([SEND, CHOICES, LEFT, STAFF, NOT_YET, UNSURE, ONE_WORD], PAGES)

    first, second = ([seen.words.ref for seen in on_page] for on_page in placed.pages)
    # "Send my answers" is named in a sentence on /agree, and is the button of /check; the
    # placeholder is found filled in; English shows while a translation is missing or unsure,
    # so it is found by its English.
    assert first == ["5", "3"]
    assert second == ["6", "2", "1"]
    also = {seen.words.ref: seen.also_on for on_page in placed.pages for seen in on_page}
    assert also["1"] == (0,)
    assert SEND in [seen.words for seen in placed.pages[1]]
    assert placed.pages[1][-1].words.note == "The button that sends the answers to the coach."
    # "Team" was never on a page; "Text" alone is a word of another sentence there.
    assert [words.ref for words in placed.unseen] == ["4", "7"]


def test_a_form_question_belongs_on_its_own_page_not_the_summary_before_it() -> None:
    question = Words("page 2: label", ("Which?",), ("أي لغة؟",), home="/page/2")
    pages = [page("/check (this visit only)", "أي لغة؟"), page("/page/2", "أي لغة؟")]

    placed = review.place([question], pages)

    assert [seen.words for seen in placed.pages[1]] == [question]


def write(
    folder: Path, locale: str, catalog: list[Words], consent: dict[str, list[Words]] | None = None
) -> str:
    index = review.write(folder, locale, PAGES, catalog, consent or {}, [], SHA, TODAY)
    return index.read_text(encoding="utf-8")


def section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    end = html.find("<section", start)
    return html[start : end if end > 0 else None]


def test_the_page_shows_each_text_beside_its_english_with_its_note_and_source(
    tmp_path: Path,
) -> None:
    html = write(tmp_path, "ar", [SEND, CHOICES, LEFT, STAFF, NOT_YET, UNSURE, ONE_WORD])

    check = section(html, "page-2")
    assert check.index("Back") < check.index("Your choices") < check.index("Send my answers")
    assert '<p lang="ar" dir="rtl">أرسل إجاباتي</p>' in check
    assert "The button that sends the answers to the coach." in check
    assert "templates/client/check.html:40" in check
    assert 'src="ar/check.png"' in check
    assert 'src="en/check.png"' in check
    assert 'alt="Page 2, /check, in Arabic, as a phone shows it"' in check
    assert "Not translated yet" in section(html, "page-1")
    assert "Unsure (marked fuzzy)" in check
    # A placeholder keeps its own direction inside right-to-left words.
    assert '<code dir="ltr">%(num)s</code>' in section(html, "page-1")
    unseen = section(html, "unseen")
    assert "Team" in unseen
    assert "Text" in unseen
    assert unseen.index("(0)") < unseen.index("Team")  # no client text unseen; "Team" is staff's
    assert f'catalog_sha256 = "{SHA}"' in html
    assert 'locale = "ar"' in html
    assert "translations/reviews.toml" in html


def test_words_are_shown_as_text_never_run_and_nothing_is_fetched(tmp_path: Path) -> None:
    sly = Words("1", ("Hello",), ('<script>alert("hi")</script><img src=x onerror=alert(1)>',))

    html = write(tmp_path, "fr", [sly])

    assert "<script" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;hi&quot;)&lt;/script&gt;" in html
    assert '<p lang="fr" dir="ltr">' in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "<link" not in html


@pytest.mark.parametrize("locale", ["ar", "fa", "ps", "ckb"])
def test_right_to_left_languages_are_written_right_to_left(tmp_path: Path, locale: str) -> None:
    html = write(tmp_path, locale, [SEND])

    assert f'<p lang="{locale}" dir="rtl">' in html
    assert '<html lang="en">' in html


PO = """msgid ""
msgstr ""
"Language: ar\\n"

#. Translators: the button that sends the answers.
#: templates/client/check.html:40 templates/client/sent.html:9
msgid "Send my answers"
msgstr "أرسل إجاباتي"

#: templates/client/page.html:12
#, fuzzy
msgid "Back"
msgstr "رجوع"

#: templates/client/your_space.html:30
msgid "You have %(num)s page left"
msgid_plural "You have %(num)s pages left"
msgstr[0] "صفر"
msgstr[1] ""
"""


def test_the_catalog_is_read_with_notes_sources_and_unsure_entries(tmp_path: Path) -> None:
    catalog = tmp_path / "ar" / "LC_MESSAGES" / "messages.po"
    catalog.parent.mkdir(parents=True)
    catalog.write_text(PO, encoding="utf-8")

    send, back, left = review.catalog_words(tmp_path, "ar")

    assert send.note == "the button that sends the answers."
    assert send.sources == ("templates/client/check.html:40", "templates/client/sent.html:9")
    assert back.fuzzy
    assert not send.fuzzy
    assert left.english == ("You have %(num)s page left", "You have %(num)s pages left")
    assert left.untranslated
    assert not send.untranslated
    assert [send.ref, back.ref, left.ref] == ["1", "2", "3"]


@pytest.mark.parametrize("locale", review.REVIEWABLE)
def test_nothing_of_a_language_is_left_out(tmp_path: Path, locale: str) -> None:
    """Every message of the catalog, every paragraph of every consent text and every text of
    the form is in the folder, seen on a page or not."""
    catalog = review.catalog_words(review.TRANSLATIONS, locale)
    consent = review.consent_words(review.CONSENT_TEXTS, locale)
    form = review.form_words(review.FORM, locale)
    sha256 = catalog_sha256(review.TRANSLATIONS, locale)

    html = review.write(tmp_path, locale, [], catalog, consent, form, sha256).read_text("utf-8")

    rows = set(re.findall(r'<tr id="([^"]+)"', html))
    shown = unescape(re.sub(r"<[^>]+>", "", html))
    assert len(catalog) > 600
    assert {review.anchor(words.ref) for words in catalog} <= rows
    assert len(consent) == 5
    for words in (*(w for texts in consent.values() for w in texts), *form):
        assert review.anchor(words.ref, whole=True) in rows, words.ref
        assert all(text in shown for text in words.translated), words.ref
    assert sha256 in html


@pytest.mark.parametrize("asked", ["", "en", "de", "ar_SA.UTF-8"])
def test_a_language_there_is_nothing_to_review_in_is_refused_kindly(asked: str) -> None:
    refused = review.refusal(asked)

    assert refused is not None
    assert all(f"{code} (" in refused for code in review.REVIEWABLE)
    assert "make review LANG=ar" in refused
    assert review.refusal("ti") is None
