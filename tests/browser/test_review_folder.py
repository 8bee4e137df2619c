"""The words of a real page, as `make review` reads them for the reviewer's folder: in the
order a person meets them, with the ones behind a closed "Read these words in English"."""

from __future__ import annotations

from typing import Any

from tools import review

from .review import READ_WORDS
from .tours import open_page


def test_the_reviewer_gets_the_words_of_the_consent_page_in_page_order(new_context: Any) -> None:
    page = new_context("ar").new_page()
    open_page(page, "/agree")
    text = review.tidy(page.evaluate(READ_WORDS))
    consent = review.consent_words(review.CONSENT_TEXTS, "ar")
    english = review.consent_words(review.CONSENT_TEXTS, "en")
    catalog = {w.english[0]: w for w in review.catalog_words(review.TRANSLATIONS, "ar")}
    asked = [
        catalog["Your choices"],
        catalog["Read these words in English"],
        *consent["store_answers"],
        catalog["Continue"],
        catalog["Leave this page quickly"],
    ]

    placed = review.place(asked, [review.Page("/agree", "", "", text)])

    assert not placed.unseen
    seen = [s.words.ref for s in placed.pages[0]]
    # The page's heading after the quick exit; the explanation, then the English behind its
    # summary, then the question (the legend of the choices); the button last.
    assert seen == [
        catalog["Leave this page quickly"].ref,
        catalog["Your choices"].ref,
        "store_answers ¶2",
        "store_answers ¶3",
        catalog["Read these words in English"].ref,
        "store_answers ¶1",
        catalog["Continue"].ref,
    ]
    for paragraph in english["store_answers"]:
        assert paragraph.translated[0] in text  # the English words, though not open yet
