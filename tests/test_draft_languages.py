"""Draft languages say so, and consent stays informed (translations/STATUS.md).

A language nobody who speaks it has reviewed is marked as a draft in the language list, in its
own words; beside consent words in a draft language, the English words we checked are one tap
away (a <details>, no script). A language becomes reviewed only through a review written down
in `translations/reviews.toml` (who, when, which catalog), and only while its catalog is the
one that was read. STATUS.md's "reviewed" column says the same.
"""

from __future__ import annotations

import datetime
import hashlib
import html
import json
import re
from pathlib import Path

import pytest
from babel.support import Translations
from flask import Flask
from sqlalchemy import select
from support.consent import drop_append_only_triggers, restore_append_only_triggers
from support.database import raw_sql
from support.journey import Phone

from intake import consent, i18n, translation_reviews
from intake.db import db_session
from intake.models import ConsentEvent, ConsentText
from intake.translation_reviews import ReviewNotRecorded

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
ENGLISH_STORE_QUESTION = (
    (ROOT / "consent_texts" / "en" / "store_answers.v1.txt").read_text().strip().split("\n")[0]
)


def own_draft_mark(locale: str) -> str:
    return str(Translations.load(str(TRANSLATIONS), [locale]).gettext("draft translation"))


def review_of(locale: str, *, sha256: str | None = None, **changes: object) -> str:
    entry = {
        "locale": f'"{locale}"',
        "reviewer": '"Amina, a volunteer reader"',
        "date": "2027-01-15",
        "catalog_sha256": f'"{sha256 or translation_reviews.catalog_sha256(TRANSLATIONS, locale)}"',
        **{key: str(value) for key, value in changes.items()},
    }
    return "[[review]]\n" + "".join(f"{k} = {v}\n" for k, v in entry.items() if v != "None")


def test_every_language_but_english_is_a_draft_until_a_review_is_written_down(app: Flask) -> None:
    with app.test_request_context():
        drafts = [code for code in app.config["SHIPPED_LOCALES"] if i18n.is_draft(code)]
    assert drafts == [code for code in app.config["SHIPPED_LOCALES"] if code != "en"]


def test_the_language_list_marks_each_draft_in_its_own_words(app: Flask) -> None:
    markup = Phone(app).get("/").get_data(as_text=True)
    for code in app.config["SHIPPED_LOCALES"]:
        link = re.search(rf'<a href="\?lang={code}"[^>]*>(.*?)</a>', markup)
        assert link is not None, code
        if code == "en":
            assert "draft-mark" not in link.group(1)
            continue
        mark = own_draft_mark(code)
        assert mark != "draft translation", f"{code}: the mark is in the language itself"
        assert f'<span class="draft-mark">({mark})</span>' in link.group(1), code


@pytest.mark.parametrize("locale", ["ar", "ps", "ti"])
def test_consent_words_in_a_draft_language_have_the_checked_english_one_tap_away(
    app: Flask, team: object, locale: str
) -> None:
    phone = Phone(app)
    phone.get(f"/?lang={locale}")
    page = phone.get("/agree").get_data(as_text=True)
    beside = re.findall(r'<details class="english-words">(.*?)</details>', page, re.S)
    assert len(beside) == 2, "both questions: keeping the answers and sharing them"
    assert '<div lang="en" dir="ltr">' in beside[0]
    assert ENGLISH_STORE_QUESTION in beside[0]
    # Pressing on without choosing keeps them; so does the page with its own consent question.
    phone.post("/agree", {}, status=400)
    phone.post("/agree", {"store_answers": "yes", "share_with_coach": "yes"})
    phone.get("/your-code")
    phone.post("/your-code", {"saved": "y"})
    contact = phone.get("/page/3").get_data(as_text=True)
    assert contact.count('<details class="english-words">') == 1


def test_english_pages_have_no_second_copy_of_their_words(app: Flask, team: object) -> None:
    page = Phone(app).get("/agree").get_data(as_text=True)
    assert "english-words" not in page


def test_a_language_is_reviewed_only_by_a_review_of_the_catalog_as_it_is(
    app: Flask, team: object, tmp_path: Path
) -> None:
    reviews = tmp_path / "reviews.toml"
    reviews.write_text(review_of("fr") + review_of("ar", sha256="0" * 64), encoding="utf-8")
    assert translation_reviews.reviewed_locales(reviews, TRANSLATIONS) == {"en", "fr"}
    app.config["TRANSLATION_REVIEWS"] = str(reviews)
    phone = Phone(app)
    listed = phone.get("/?lang=fr").get_data(as_text=True)
    french = re.search(r'<a href="\?lang=fr"[^>]*>(.*?)</a>', listed)
    arabic = re.search(r'<a href="\?lang=ar"[^>]*>(.*?)</a>', listed)
    assert french is not None
    assert arabic is not None
    assert "draft-mark" not in french.group(1)
    assert "draft-mark" in arabic.group(1), "a review of an older catalog counts for nothing"
    assert "english-words" not in phone.get("/agree").get_data(as_text=True)
    (recorded,) = [r for r in translation_reviews.recorded(reviews) if r.locale == "fr"]
    assert (recorded.reviewer, recorded.reviewed_on) == (
        "Amina, a volunteer reader",
        datetime.date(2027, 1, 15),
    )


@pytest.mark.parametrize(
    "missing", [{"reviewer": '""'}, {"reviewer": None}, {"date": None}, {"date": '"soon"'}]
)
def test_a_review_that_does_not_say_who_and_when_is_refused(
    tmp_path: Path, missing: dict[str, object]
) -> None:
    reviews = tmp_path / "reviews.toml"
    reviews.write_text(review_of("fr", **missing), encoding="utf-8")
    with pytest.raises(ReviewNotRecorded):
        translation_reviews.reviewed_locales(reviews, TRANSLATIONS)


def test_the_status_page_says_what_the_recorded_reviews_say(app: Flask) -> None:
    status = (TRANSLATIONS / "STATUS.md").read_text(encoding="utf-8")
    rows = {
        cells[0]: cells[-1]
        for line in status.splitlines()
        if line.startswith("| ") and not line.startswith("| locale")
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
        if cells[0] in app.config["SHIPPED_LOCALES"]
    }
    assert sorted(rows) == sorted(app.config["SHIPPED_LOCALES"])
    reviewed = translation_reviews.reviewed_locales(
        TRANSLATIONS / translation_reviews.REVIEWS_FILE, TRANSLATIONS
    )
    for locale, said in rows.items():
        if locale == "en":
            continue
        assert (said == "**no**") == (locale not in reviewed), (locale, said)


# --- the receipt says which wording the person saw ---------------------------------------------


def _receipts(phone: Phone) -> list[dict[str, object]]:
    """Every receipt's copy to save, newest first, as the receipts page links them."""
    page = phone.get("/receipts").get_data(as_text=True)
    return [
        json.loads(phone.get(path).get_data(as_text=True))
        for path in re.findall(r'<a href="([^"]+\.json)" download>', page)
    ]


def _english_words(purpose: str) -> str:
    return (ROOT / "consent_texts" / "en" / f"{purpose}.v1.txt").read_text().strip() + "\n"


def test_a_receipt_in_a_draft_language_names_the_english_words_shown_beside(
    app: Flask, team: object
) -> None:
    phone = Phone(app)
    phone.get("/?lang=ar")
    phone.begin()
    kept, shared = sorted(_receipts(phone), key=lambda r: str(r["purpose"]))[-2:]
    for receipt in (kept, shared):
        shown, beside = receipt["text"], receipt["english_beside"]
        assert isinstance(shown, dict), receipt
        assert isinstance(beside, dict), receipt
        assert shown["locale"] == "ar"
        assert beside["locale"] == "en"
        assert beside["words"] == _english_words(str(receipt["purpose"]))
        assert beside["sha256"] == hashlib.sha256(str(beside["words"]).encode()).hexdigest()
    page = phone.get("/receipts").get_data(as_text=True)
    beside_label = str(
        Translations.load(str(TRANSLATIONS), ["ar"]).gettext("Beside them, in English")
    )
    assert beside_label != "Beside them, in English", "said in the person's language"
    assert page.count(f"<dt>{beside_label}</dt>") == 2


def test_a_choice_changed_later_in_a_draft_language_names_the_english_too(
    app: Flask, team: object
) -> None:
    phone = Phone(app)
    phone.get("/?lang=ps")
    phone.begin()
    choices = phone.get("/my-choices").get_data(as_text=True)
    assert choices.count('<details class="english-words">') >= 3, "each choice has its English"
    phone.post("/my-choices", {"purpose": "contact", "decision": "granted"})
    (newest,) = _receipts(phone)[:1]
    assert newest["purpose"] == "contact"
    beside = newest["english_beside"]
    assert isinstance(beside, dict)
    assert beside["words"] == _english_words("contact")


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_no_english_beside_is_recorded_where_none_was_shown(
    app: Flask, team: object, tmp_path: Path, locale: str
) -> None:
    reviews = tmp_path / "reviews.toml"
    reviews.write_text(review_of("fr"), encoding="utf-8")
    app.config["TRANSLATION_REVIEWS"] = str(reviews)
    phone = Phone(app)
    phone.get(f"/?lang={locale}")
    phone.begin()
    assert "english-words" not in phone.get("/my-choices").get_data(as_text=True)
    for receipt in _receipts(phone):
        assert receipt["english_beside"] is None, receipt
    assert "Beside them, in English" not in phone.get("/receipts").get_data(as_text=True)


def test_the_english_beside_is_held_in_the_chain(
    app: Flask, team: object, database_kind: str
) -> None:
    """Pointing a decision at other English words afterwards is seen, as any change is."""
    phone = Phone(app)
    phone.get("/?lang=ti")
    phone.begin()
    with app.app_context():
        db = db_session()
        event = db.scalars(
            select(ConsentEvent).where(ConsentEvent.english_text_id.is_not(None))
        ).first()
        assert event is not None
        client_id, event_id = event.client_id, event.id
        assert consent.verify_chain(db, client_id)
        other = db.scalar(
            select(ConsentText.id).where(
                ConsentText.locale == "en", ConsentText.id != event.english_text_id
            )
        )
    drop_append_only_triggers(app, database_kind)
    try:
        raw_sql(
            app,
            "UPDATE consent_event SET english_text_id = :t WHERE id = :id",
            t=other,
            id=event_id,
        )
        with app.app_context():
            assert not consent.verify_chain(db_session(), client_id)
    finally:
        restore_append_only_triggers(app, database_kind)


def test_the_check_page_shows_the_english_beside_its_one_question(app: Flask, team: object) -> None:
    phone = Phone(app)
    phone.get("/?lang=so")
    phone.begin(share="no")
    check = phone.get("/check").get_data(as_text=True)
    assert check.count('<details class="english-words">') == 1
    assert _english_words("share_with_coach").split("\n")[0] in html.unescape(check)
