"""The client journey end to end, as a person on a phone and as an attacker with the database.

A person starts, saves their code, agrees, fills in half the pages, leaves, comes back on
another device typing the code in Persian or Arabic-Indic digits, finishes, changes an
answer, and sends. A coach then reads exactly what was sent; a copy of the database holds
none of it in plain text. Around that walk: nothing is written before consent, consent points
at the words shown, sending twice is sending once, the back button after sending works,
quick exit really ends the session, every page is neutral, uncached and light.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from support.database import (
    answer_rows,
    assert_not_stored,
    count_rows,
    database_bytes,
    only_client,
    read_as_coach,
)
from support.journey import (
    ARABIC_INDIC_DIGITS,
    CLIENT_TABLES,
    PAGES,
    PERSIAN_DIGITS,
    SITE_NAME,
    Phone,
    fill,
    in_digits,
    marker,
    return_code_shown,
    section_at,
    typed_words,
)
from support.pages import Page
from werkzeug.test import TestResponse

from intake import consent, vault
from intake.db import db_session
from intake.models import Client, ConsentEvent, ConsentText, SessionRecord
from intake.questionnaire import DEFAULT_FORM, Kind
from intake.sessions import cookie_name

SENT_NOTICE = "You sent your answers on"
NO_CLIENT_ROWS = dict.fromkeys(CLIENT_TABLES, 0)
BEFORE_AGREEMENT_AFTER = (
    next(n for n, s in enumerate(DEFAULT_FORM.sections, 1) if s.part == "agreement") - 1
)


def _session_rows(app: Flask) -> int:
    with app.app_context():
        return int(db_session().scalar(select(func.count()).select_from(SessionRecord)) or 0)


def _expected(answers: dict[str, object]) -> dict[str, object]:
    return {
        key: value.strip() if isinstance(value, str) else value for key, value in answers.items()
    }


# --- the whole path -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "separator"),
    [(PERSIAN_DIGITS, " "), (ARABIC_INDIC_DIGITS, "-")],
    ids=["persian-digits-with-spaces", "arabic-indic-digits-with-dashes"],
)
def test_whole_journey_left_half_way_finished_on_another_phone_and_read_by_a_coach(
    app: Flask, team, database_kind: str, instance_path: Path, digits: str, separator: str
) -> None:
    sent: dict[str, dict[str, object]] = {}
    first = Phone(app)
    code = first.begin(share="yes")

    # Pages 1 to 5, then "Save and come back later".
    for number in range(1, 6):
        section = section_at(number)
        sent[section.key] = fill(section)
        action = "later" if number == 5 else "continue"
        response = first.save_page(number, sent[section.key], action=action)
        expected_next = "/saved" if number == 5 else f"/page/{number + 1}"
        assert response.headers["Location"] == expected_next
    assert return_code_shown(first.get("/saved")) == code, "the saved page shows the code"

    # Leave: a new phone, no cookies. It cannot see anything without the code.
    second = Phone(app)
    second.keep_private(code, *first.private)
    away = second.get("/check", status=302)
    assert away.headers["Location"] == "/come-back"

    typed = in_digits(code, digits, separator)
    assert not any(c.isascii() and c.isdigit() for c in typed)
    response = second.come_back(typed)
    assert response.headers["Location"] == "/your-space", "back to a short page of their own"
    space = second.page(second.get("/your-space"))
    assert "You have 9 pages left to fill in." in space.markup
    assert "/page/6" in space.hrefs, "carry on from the first unsaved page"
    check = second.get("/check").get_data(as_text=True)
    assert "Carry on from page 6" in check
    for number in range(1, 6):
        for value in sent[section_at(number).key].values():
            if isinstance(value, str):
                assert value in check

    # Carry on from page 6, following the app's own redirects.
    for number in range(6, PAGES + 1):
        section = section_at(number)
        sent[section.key] = fill(section)
        response = second.save_page(number, sent[section.key])
        if number == PAGES:
            assert response.headers["Location"] == "/check"
        elif number == BEFORE_AGREEMENT_AFTER:
            assert response.headers["Location"] == "/before-the-agreement"
            note = second.page(second.get("/before-the-agreement"))
            assert f"/page/{number + 1}" in note.hrefs
        else:
            assert response.headers["Location"] == f"/page/{number + 1}"

    # Change one answer from the check page. Before sending, the version is replaced.
    changed = section_at(4)
    before = answer_rows(app, changed.key)
    assert [row.version for row in before] == [1]
    check = second.page(second.get("/check"))
    assert "/page/4?from=check" in check.hrefs
    old_reasons = sent[changed.key]["reasons"]
    sent[changed.key] = {"reasons": f"  {marker()}  "}
    response = second.save_page(4, sent[changed.key], query="?from=check")
    assert response.headers["Location"] == "/check"
    after = answer_rows(app, changed.key)
    assert [row.version for row in after] == [1], "before sending, a change replaces in place"
    assert after[0].id == before[0].id
    assert after[0].ciphertext != before[0].ciphertext
    check_html = second.get("/check").get_data(as_text=True)
    assert sent[changed.key]["reasons"].strip() in check_html  # type: ignore[union-attr]
    assert str(old_reasons) not in check_html

    # Send.
    second.get("/check")
    response = second.post("/send", {})
    assert response.headers["Location"] == "/sent"
    assert "Your answers are sent" in second.get("/sent").get_data(as_text=True)
    assert only_client(app).status == "submitted"

    # A coach reads exactly what was sent, field by field.
    read = read_as_coach(app, team.org_private_key)
    assert set(read) == {section.key for section in DEFAULT_FORM.sections}
    for section in DEFAULT_FORM.sections:
        assert read[section.key] == _expected(sent[section.key]), section.key
        for question in section.questions:
            assert question.key in read[section.key], (section.key, question.key)  # type: ignore[operator]
    assert all(len(rows) == 1 for rows in [answer_rows(app, s.key) for s in DEFAULT_FORM.sections])

    # No typed word, and not the return code, is in a copy of the database.
    every_marker = [str(old_reasons)] + [
        word for s in DEFAULT_FORM.sections for word in typed_words(s, sent[s.key])
    ]
    assert len(every_marker) == 1 + sum(
        1
        for s in DEFAULT_FORM.sections
        for q in s.questions
        if q.kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT)
    )
    stored = database_bytes(app, database_kind, instance_path)
    client = only_client(app)
    assert client.id.encode() in stored, "the copy holds the rows"
    assert b"reasons" in stored
    assert_not_stored(stored, [*every_marker, code, code.replace(" ", ""), typed])

    # No address the person was sent to or shown gave a word away.
    urls = first.urls + second.urls
    assert len(urls) > 50
    for url in urls:
        for value in every_marker:
            assert value not in url
        assert code.replace(" ", "") not in url.replace(" ", "").replace("%20", "")


# --- before consent -----------------------------------------------------------------------


def test_nothing_is_stored_and_no_code_is_given_before_the_person_chooses(
    app: Flask, team, database_kind: str, instance_path: Path
) -> None:
    phone = Phone(app)
    phone.start()
    for path in ("/", "/welcome", "/agree"):
        assert 'class="return-code"' not in phone.get(path).get_data(as_text=True), path
    assert count_rows(app, *CLIENT_TABLES) == NO_CLIENT_ROWS
    # The code page is not there before a yes to keeping answers.
    assert phone.get("/your-code", status=302).headers["Location"] == "/come-back"


def test_pressing_continue_with_nothing_chosen_asks_again_and_records_nothing(
    app: Flask, team
) -> None:
    phone = Phone(app)
    phone.start()
    response = phone.agree(store=None, share="yes")
    page = phone.page(response)
    assert page.title.startswith("Error:"), page.title
    assert [href for href, _text in page.summary_links] == ["#store_answers-0"]
    assert "You have not chosen yet" in page.markup
    assert "Either answer is fine" in page.markup
    assert "We have not kept anything" not in page.markup
    assert page.checked("share_with_coach") == ["yes"], "what they chose is still chosen"
    assert page.checked("store_answers") == []
    assert count_rows(app, *CLIENT_TABLES) == NO_CLIENT_ROWS
    assert 'class="return-code"' not in page.markup


@pytest.mark.parametrize("share", ["yes", "no", None], ids=["share-yes", "share-no", "no-answer"])
def test_a_no_to_keeping_answers_stores_nothing_and_still_opens_the_pages_for_this_visit(
    app: Flask, team, database_kind: str, instance_path: Path, share: str | None
) -> None:
    phone = Phone(app)
    phone.start()
    response = phone.agree(store="no", share=share)
    assert response.headers["Location"] == "/this-visit-only"
    explained = phone.page(phone.get("/this-visit-only"))
    assert "We will not keep your answers" in explained.markup
    assert "gone when you leave" in explained.markup
    assert "/page/1" in explained.hrefs
    assert "/agree" in explained.hrefs, "they can change their mind"
    assert 'class="return-code"' not in explained.markup, "no code for someone who keeps nothing"

    answers = fill(section_at(1))
    response = phone.save_page(1, answers)
    assert response.headers["Location"] == "/page/2"
    shown = phone.page(phone.get("/page/1"))
    assert shown.value("name") == answers["name"], "held for the rest of the visit"
    check = phone.get("/check").get_data(as_text=True)
    assert str(answers["name"]) in check
    assert "Send my answers" not in check
    assert count_rows(app, *CLIENT_TABLES) == NO_CLIENT_ROWS, "never written as answer rows"
    assert_not_stored(
        database_bytes(app, database_kind, instance_path), typed_words(section_at(1), answers)
    )
    # Nothing to send, nothing to come back to.
    assert phone.post("/send", {}, status=302).headers["Location"] == "/check"
    assert phone.get("/your-code", status=302).headers["Location"] == "/check"

    # Quick exit: the visit's answers are gone with it.
    phone.client.get("/exit")
    assert _session_rows(app) == 0
    assert phone.get("/page/1", status=302).headers["Location"] in ("/ended", "/come-back")


def test_someone_who_said_no_can_change_their_mind_and_keep_what_they_wrote(
    app: Flask, team
) -> None:
    phone = Phone(app)
    phone.start()
    phone.agree(store="no", share=None)
    written = {n: fill(section_at(n)) for n in (1, 2)}
    for number, answers in written.items():
        phone.save_page(number, answers)
    assert count_rows(app, "answer")["answer"] == 0
    phone.get("/check")
    response = phone.agree(store="yes", share="yes")
    assert response.headers["Location"] == "/your-code"
    code = phone.take_code(then="/page/3")
    assert read_as_coach(app, team.org_private_key) == {
        section_at(n).key: _expected(answers) for n, answers in written.items()
    }
    again = Phone(app)
    again.come_back(code)
    check = again.get("/check").get_data(as_text=True)
    assert str(written[2]["languages"]) in check


def test_the_code_page_reminds_once_then_lets_the_person_go_on(app: Flask, team) -> None:
    phone = Phone(app)
    phone.start()
    phone.agree("yes", "yes")
    code = return_code_shown(phone.get("/your-code"))
    response = phone.post("/your-code", {}, status=200)
    page = phone.page(response)
    assert page.title.startswith("Error:"), page.title
    assert [href for href, _text in page.summary_links] == ["#saved"]
    assert 'id="saved"' in page.markup
    assert return_code_shown(response) == code, "the same code is shown again"
    response = phone.post("/your-code", {"action": "without"})
    assert response.headers["Location"] == "/page/1"


def test_the_code_page_says_how_to_keep_the_code_and_when_unsent_answers_go(
    app: Flask, team
) -> None:
    phone = Phone(app)
    phone.start()
    phone.agree("yes", "yes")
    page = phone.get("/your-code").get_data(as_text=True)
    assert "screenshot" not in page.lower()
    assert "Write it down, and keep it somewhere only you can see." in page
    deleted_on = only_client(app).updated_at + timedelta(days=30)
    told = (
        f"If you do not send your answers, we delete them on {deleted_on.day} {deleted_on:%B %Y}."
    )
    assert told in page
    assert "30 minutes" in page
    # The same date where they save and leave, and in their space; the rule where they come back.
    phone.post("/your-code", {"saved": "y"})
    phone.save_page(1, fill(section_at(1)), action="later")
    deleted_on = only_client(app).updated_at + timedelta(days=30)
    told = (
        f"If you do not send your answers, we delete them on {deleted_on.day} {deleted_on:%B %Y}."
    )
    assert told in phone.get("/saved").get_data(as_text=True)
    assert told in phone.get("/your-space").get_data(as_text=True)
    come_back = Phone(app).get("/come-back").get_data(as_text=True)
    assert "Answers that were never sent are deleted 30 days after the last change." in come_back
    welcome = Phone(app).get("/welcome").get_data(as_text=True)
    assert "If you leave a page alone for 30 minutes, we close it" in welcome
    assert "Each page is saved when you go to the next one." in welcome


# --- consent ------------------------------------------------------------------------------


def _shown_consent_texts(page: Page) -> list[str]:
    """Each consent text as the page shows it: the question, then its explanation."""
    assert len(page.consent_paragraphs) == 2
    assert len(page.legends) == 2
    return [
        legend + "\n\n" + "\n\n".join(paragraphs) + "\n"
        for legend, paragraphs in zip(page.legends, page.consent_paragraphs, strict=True)
    ]


@pytest.mark.parametrize("share", ["yes", "no"])
def test_consent_events_point_at_the_exact_words_shown_and_the_chain_holds(
    app: Flask, team, share: str
) -> None:
    phone = Phone(app)
    phone.start()
    shown = _shown_consent_texts(phone.page(phone.get("/agree")))
    response = phone.post("/agree", {"store_answers": "yes", "share_with_coach": share})
    assert response.headers["Location"] == "/your-code", "no page of receipts in the way"
    confirmed = phone.get("/your-code").get_data(as_text=True)
    numbers = re.findall(r'class="receipt-number" dir="ltr">([0-9A-F]{4}-[0-9A-F]{4})<', confirmed)
    assert "We saved your choices." in confirmed
    assert 'href="/receipts"' in confirmed
    assert "We saved your choices." not in phone.get("/your-code").get_data(as_text=True), (
        "confirmed once, not on every page"
    )

    client = only_client(app)
    with app.app_context():
        db = db_session()
        events = list(
            db.scalars(
                select(ConsentEvent)
                .where(ConsentEvent.client_id == client.id)
                .order_by(ConsentEvent.id)
            )
        )
        assert [(e.purpose, e.decision, e.actor) for e in events] == [
            ("store_answers", "granted", "client"),
            ("share_with_coach", "granted" if share == "yes" else "declined", "client"),
        ]
        for event, words in zip(events, shown, strict=True):
            text_row = db.get(ConsentText, event.consent_text_id)
            assert text_row is not None
            assert text_row.purpose == event.purpose
            assert text_row.sha256 == hashlib.sha256(words.encode("utf-8")).hexdigest()
            assert text_row.body == words
        assert consent.verify_chain(db, client.id)
        assert numbers == [consent.receipt_number(e) for e in events]
        assert [e.hash[:8].upper() for e in events] == [n.replace("-", "") for n in numbers]

    if share == "no":
        # Sending asks again, next to the button; the yes is its own event on the chain.
        check = phone.page(phone.get("/check"))
        assert "share" in [i.get("name") for i in check.inputs]
        assert phone.post("/send", {"share": "y"}).headers["Location"] == "/sent"
        sent = phone.get("/sent").get_data(as_text=True)
        assert "We saved your choice." in sent, "the yes given by the button is confirmed"
        with app.app_context():
            db = db_session()
            state = consent.current_state(db, client.id)
            assert state["share_with_coach"].decision == "granted"
            share_text = db.get(ConsentText, state["share_with_coach"].consent_text_id)
            assert share_text is not None
            assert share_text.body == shown[1]
            assert consent.verify_chain(db, client.id)


def test_send_without_the_coach_sharing_yes_sends_nothing(app: Flask, team) -> None:
    phone = Phone(app)
    phone.begin(share="no")
    phone.save_page(1, fill(section_at(1)))
    phone.get("/check")
    assert phone.post("/send", {}).headers["Location"] == "/check"
    assert only_client(app).status == "draft"
    assert only_client(app).submitted_at is None


# --- sending twice, and the back button ---------------------------------------------------


def test_pressing_send_twice_sends_once(app: Flask, team) -> None:
    phone = Phone(app)
    phone.begin(share="no")
    phone.save_page(1, fill(section_at(1)))
    phone.get("/check")
    first = phone.post("/send", {"share": "y"})
    assert first.headers["Location"] == "/sent"
    submitted: datetime | None = only_client(app).submitted_at
    assert submitted is not None

    second = phone.post("/send", {"share": "y"})  # the same form, pressed again
    assert second.headers["Location"] == "/sent"
    assert phone.get("/sent").status_code == 200
    client = only_client(app)
    assert client.status == "submitted"
    assert client.submitted_at == submitted
    assert count_rows(app, "client")["client"] == 1
    with app.app_context():
        db = db_session()
        decisions = [
            (e.purpose, e.decision)
            for e in db.scalars(select(ConsentEvent).order_by(ConsentEvent.id))
        ]
        assert decisions == [
            ("store_answers", "granted"),
            ("share_with_coach", "declined"),
            ("share_with_coach", "granted"),
        ], "the second press records no second consent"
        assert consent.verify_chain(db, client.id)


def test_back_button_after_sending_shows_the_answers_and_a_change_is_a_new_version(
    app: Flask, team
) -> None:
    phone = Phone(app)
    phone.begin()
    answers = {n: fill(section_at(n)) for n in (1, 2, 3)}
    for number, fields in answers.items():
        phone.save_page(number, fields)
    phone.get("/check")
    assert phone.post("/send", {}).headers["Location"] == "/sent"

    check = phone.get("/check").get_data(as_text=True)
    assert SENT_NOTICE in check
    assert "Send my answers" not in check
    for fields in answers.values():
        for value in fields.values():
            if isinstance(value, str):
                assert value in check
    for number, fields in answers.items():
        page = phone.page(phone.get(f"/page/{number}"))
        assert SENT_NOTICE in page.markup
        for question in section_at(number).questions:
            value = fields[question.key]
            if question.kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT):
                assert page.value(question.key) == value
            else:
                assert page.checked(question.key) == (value if isinstance(value, list) else [value])

    old = answer_rows(app, section_at(2).key)
    assert [row.version for row in old] == [1]
    new_fields = fill(section_at(2))
    response = phone.save_page(2, new_fields)
    assert response.headers["Location"] == "/page/3"
    rows = answer_rows(app, section_at(2).key)
    assert [row.version for row in rows] == [1, 2], "after sending, a change keeps history"
    assert rows[0].ciphertext == old[0].ciphertext
    assert only_client(app).status == "submitted"

    with app.app_context():
        db = db_session()
        client = db.get(Client, only_client(app).id)
        assert client is not None
        key = vault.unlock_with_org_key(client, team.org_private_key)
        history = vault.section_history(db, client, key, section_at(2).key)
        assert [h.fields for h in history] == [answers[2], new_fields]
    assert read_as_coach(app, team.org_private_key)[section_at(2).key] == new_fields


# --- leaving ------------------------------------------------------------------------------


@pytest.fixture
def exit_url(settings: dict[str, object]) -> str:
    url = "https://weather.example.org/today"
    settings["QUICK_EXIT_URL"] = url
    return url


def test_quick_exit_ends_the_session_clears_the_browser_and_the_old_cookie_opens_nothing(
    exit_url: str, app: Flask, team
) -> None:
    phone = Phone(app)
    phone.begin()
    fields = fill(section_at(1))
    phone.save_page(1, fields)
    words = typed_words(section_at(1), fields)
    assert words
    assert all(word in phone.get("/check").get_data(as_text=True) for word in words)
    assert _session_rows(app) == 1
    cookie = phone.client.get_cookie(cookie_name(app))
    assert cookie is not None
    old_cookie = cookie.value

    response = phone.client.get("/exit")
    assert response.status_code == 303
    assert response.headers["Location"] == exit_url
    assert response.headers["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    assert response.headers["Cache-Control"] == "no-store"
    assert _session_rows(app) == 0
    assert phone.client.get_cookie(cookie_name(app)) is None

    replay = app.test_client()
    replay.set_cookie(cookie_name(app), old_cookie, path="/")
    for path in ("/check", "/page/1", "/saved", "/sent"):
        answer = replay.get(path)
        assert answer.status_code == 302, path
        assert answer.headers["Location"] in ("/ended", "/come-back")
        assert not any(word in answer.get_data(as_text=True) for word in words)
    ended = replay.get("/ended").get_data(as_text=True)
    assert not any(word in ended for word in words)
    # The answers are still there for the person's code; quick exit is not deletion.
    assert read_as_coach(app, team.org_private_key)[section_at(1).key] == fields


def test_quick_exit_before_agreeing_leaves_no_row_behind(exit_url: str, app: Flask, team) -> None:
    phone = Phone(app)
    phone.start()
    assert _session_rows(app) == 1
    response = phone.client.get("/exit")
    assert response.status_code == 303
    assert response.headers["Location"] == exit_url
    assert _session_rows(app) == 0
    assert count_rows(app, *CLIENT_TABLES) == NO_CLIENT_ROWS
    # Back on the site, nothing of the visit is left: the choices are asked afresh.
    again = Phone(app)
    assert "You have not chosen yet" not in again.get("/agree").get_data(as_text=True)


def test_leaving_calmly_ends_the_session_and_returns_to_the_start(app: Flask, team) -> None:
    phone = Phone(app)
    phone.begin()
    phone.save_page(1, fill(section_at(1)), action="later")
    saved = phone.page(phone.get("/saved"))
    assert "/leave" in saved.hrefs
    response = phone.client.get("/leave")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert response.headers["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    assert _session_rows(app) == 0
    assert phone.get("/check", status=302).headers["Location"] in ("/ended", "/come-back")


# --- every page: neutral, uncached, light, no JavaScript needed ---------------------------


def _walk_every_page(app: Flask) -> tuple[dict[str, TestResponse], list[Phone]]:
    """Every client page, rendered with answers filled in, keyed by a short name."""
    pages: dict[str, TestResponse] = {}
    phone = Phone(app)
    pages["start"] = phone.get("/")
    pages["welcome"] = phone.get("/welcome")
    pages["agree"] = phone.get("/agree")
    pages["agree-nothing-chosen"] = phone.post("/agree", {}, status=400)
    phone.post("/agree", {"store_answers": "yes", "share_with_coach": "no"})
    pages["your-code"] = phone.get("/your-code")
    phone.keep_private(return_code_shown(pages["your-code"]))
    phone.post("/your-code", {"saved": "y"})
    for number in range(1, PAGES + 1):
        fields = fill(section_at(number))
        phone.save_page(number, fields)
        pages[f"page/{number}"] = phone.get(f"/page/{number}")
    pages["before-the-agreement"] = phone.get("/before-the-agreement")
    pages["check"] = phone.get("/check")
    pages["saved"] = phone.get("/saved")
    pages["your-space"] = phone.get("/your-space")
    pages["receipts"] = phone.get("/receipts")
    phone.get("/check")
    phone.post("/send", {"share": "y"})
    pages["sent"] = phone.get("/sent")
    pages["check-after-sending"] = phone.get("/check")
    pages["your-space-after-sending"] = phone.get("/your-space")

    elsewhere = Phone(app)
    elsewhere.keep_private(*phone.private)
    pages["come-back"] = elsewhere.get("/come-back")
    pages["ended"] = elsewhere.get("/ended")
    declining = Phone(app)
    declining.start()
    declining.agree(store="no", share="no")
    pages["this-visit-only"] = declining.get("/this-visit-only")
    declining.save_page(1, fill(section_at(1)))
    pages["page/1-this-visit-only"] = declining.get("/page/1")
    pages["check-this-visit-only"] = declining.get("/check")
    return pages, [phone, elsewhere, declining]


def test_every_client_page_is_neutral_uncached_and_has_the_quick_exit(app: Flask, team) -> None:
    pages, phones = _walk_every_page(app)
    typed = set().union(*(p.private for p in phones))
    assert len(typed) > 20
    for name, response in pages.items():
        page = Page(response.get_data(as_text=True))
        assert response.headers["Cache-Control"] == "no-store", name
        assert SITE_NAME in page.title, name
        assert not any(value in page.title for value in typed), (name, page.title)
        exits = [href for href in page.hrefs if href == "/exit"]
        assert len(exits) == 1, name
        assert 'id="quick-exit"' in page.markup
        assert "Leave this page quickly" in page.markup
    urls = [url for p in phones for url in p.urls]
    assert any("?" in url for url in urls)
    assert len(urls) > 100
    for url in urls:
        for value in typed:
            assert value not in url, url
            assert value.replace(" ", "") not in url


PAGE_BUDGET = 14 * 1024


def test_every_client_page_is_light_and_works_without_javascript(app: Flask, team) -> None:
    pages, _phones = _walk_every_page(app)
    client = app.test_client()
    for name, response in pages.items():
        markup = response.get_data()
        page = Page(markup.decode("utf-8"))
        assert len(page.stylesheets) == 1, name
        with client.get(page.stylesheets[0]) as style:
            assert style.status_code == 200, name
            assert style.mimetype == "text/css", name
            css = style.get_data()
        weight = len(gzip.compress(markup, 6)) + len(gzip.compress(css, 6))
        assert weight < PAGE_BUDGET, (name, weight)

        # Scripts only enhance: the quick exit on every page, reading a question aloud on the
        # pages of questions. Nothing inline, no handlers.
        scripts = [
            re.fullmatch(r"/static/(\w+)\.js\?v=[0-9a-f]+", src or "") for src, _ in page.scripts
        ]
        expected = ["exit", "listen"] if name.startswith("page/") else ["exit"]
        assert [found and found.group(1) for found in scripts] == expected, (name, page.scripts)
        assert all(body.strip() == "" for _src, body in page.scripts), name
        assert page.event_handlers == [], (name, page.event_handlers)
        # Forms are plain POSTs to this site, sent by ordinary submit buttons.
        assert all(method == "post" for method in page.form_methods), name
        assert all(action.startswith("/") for action in page.form_actions), name
        for button in page.buttons:
            # The Listen button waits in a <template> for the script that adds it; it never sends.
            listen = "listen" in (button.get("class") or "").split()
            assert button.get("type") in (("button",) if listen else (None, "submit")), (
                name,
                button,
            )
