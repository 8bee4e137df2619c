"""What goes wrong on a phone, and what the person sees: kind words, their typing kept, and
nothing saved before lost.

A 100 KB answer, letters that are not UTF-8, a form without its CSRF token, a page posted
after the session closed, wrong return codes (until the limit), and codes of the wrong length.
None of these gives a 500; each says how to carry on.
"""

from __future__ import annotations

import html
import re
import secrets
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, update
from support.database import (
    answer_rows,
    assert_not_stored,
    count_rows,
    database_bytes,
    only_client,
    read_as_coach,
)
from support.journey import (
    CLIENT_TABLES,
    PERSIAN_DIGITS,
    Phone,
    fill,
    in_digits,
    marker,
    section_at,
    typed_words,
)
from support.pages import Page

from intake import create_app
from intake.db import database, db_session
from intake.models import Answer, SessionRecord, utcnow

TOO_LONG = "Please make this shorter. You can write up to {limit} letters here."
UNREADABLE = "Some letters here could not be read. Please check them and type them again."
NOT_SAVED = "We could not save this page. Please check it and press “Save and continue” again."
CLOSED = "We closed your page to keep your answers safe"
NOT_FOUND = (
    "We could not find answers for that code. "
    "A code has 16 numbers, like \u20664827\u00a01930\u00a05561\u00a02204\u2069. "
    "Answers that were never sent are deleted 30 days after the last change, "
    "and then their code stops working."
)
MANY_TRIES = (
    "There have been many tries. "
    "To keep everyone's answers safe, please wait 15 minutes and try again."
)
REASONS_PAGE = 4  # one long text question: "reasons"


def _snapshot(app: Flask) -> list[tuple[int, str, int, bytes, object]]:
    """Every answer row as stored: id, section, version, ciphertext and time of change."""
    return [
        (row.id, row.section_key, row.version, bytes(row.ciphertext), row.updated_at)
        for row in answer_rows(app)
    ]


@pytest.fixture
def person(app: Flask, team) -> tuple[Phone, str, dict[str, dict[str, object]]]:
    """A person who has saved pages 1 to 4 and is looking at page 4 again."""
    phone = Phone(app)
    code = phone.begin()
    saved: dict[str, dict[str, object]] = {}
    for number in range(1, REASONS_PAGE + 1):
        section = section_at(number)
        saved[section.key] = fill(section)
        phone.save_page(number, saved[section.key])  # type: ignore[arg-type]
    phone.get(f"/page/{REASONS_PAGE}")
    return phone, code, saved


def _assert_nothing_lost(app: Flask, team, saved: dict, before: list) -> None:
    assert _snapshot(app) == before, "an answer row changed"
    assert read_as_coach(app, team.org_private_key) == saved


# --- a 100 KB answer ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "field", "limit"),
    [(REASONS_PAGE, "reasons", "10,000"), (1, "name", "200")],
    ids=["long-answer", "short-answer"],
)
def test_a_100_kb_answer_comes_back_with_a_kind_message_and_nothing_saved_is_lost(
    app: Flask,
    team,
    person,
    database_kind: str,
    instance_path: Path,
    number: int,
    field: str,
    limit: str,
) -> None:
    phone, _code, saved = person
    before = _snapshot(app)
    section = section_at(number)
    tag = marker()
    huge = (tag + " I would like to talk about my week and the people in it. " * 2000)[:102400]
    assert len(huge.encode()) == 100 * 1024
    typed = {**fill(section), field: huge}
    phone.get(f"/page/{number}")
    response = phone.post(f"/page/{number}", {**typed, "action": "continue"}, status=400)

    page = Page(response.get_data(as_text=True))
    message = TOO_LONG.format(limit=limit)
    assert page.title.startswith("Error:"), page.title
    assert page.summary_links == [(f"#{field}", message)]
    assert f'id="{field}"' in page.markup
    assert f'<p class="error" id="{field}-error">{message}</p>' in page.markup
    box = re.search(rf'<(?:textarea|input)\b[^>]*\bid="{field}"[^>]*>', page.markup)
    assert box is not None
    assert f'aria-describedby="{field}-hint {field}-error"' in box.group(0)
    # Everything typed on the page is still in the form, the long answer too.
    for question in section.questions:
        if question.key in typed and isinstance(typed[question.key], str):
            if question.kind in ("short_text", "long_text"):
                assert page.value(question.key) == typed[question.key], question.key
            else:
                assert page.checked(question.key) == [typed[question.key]]
    # Nothing of this page was saved, nothing saved before changed.
    _assert_nothing_lost(app, team, saved, before)
    assert_not_stored(database_bytes(app, database_kind, instance_path), [tag])


# --- letters that are not UTF-8 -----------------------------------------------------------


BROKEN_BODIES = {
    "percent-encoded": b"reasons=%FF%FEabc",
    "raw-bytes": b"reasons=\xff\xfeabc",
    "cut-in-half": b"reasons=abc%C3%28def",
    "raw-cut-in-half": b"reasons=abc\xc3(def",
}


@pytest.mark.parametrize("body", BROKEN_BODIES.values(), ids=BROKEN_BODIES.keys())
def test_broken_letters_get_a_kind_message_and_earlier_answers_stay(
    app: Flask, team, person, body: bytes
) -> None:
    phone, _code, saved = person
    before = _snapshot(app)
    response = phone.post(f"/page/{REASONS_PAGE}", body + b"&action=continue", status=400)
    page = Page(response.get_data(as_text=True))
    assert page.title.startswith("Error:"), page.title
    assert page.summary_links == [("#reasons", UNREADABLE)]
    shown = page.value("reasons")
    assert shown is not None
    assert "abc" in shown
    assert "\ufffd" in shown
    _assert_nothing_lost(app, team, saved, before)
    # Typed again with readable letters, the page saves.
    fixed = {"reasons": "abc " + marker()}
    assert phone.post(f"/page/{REASONS_PAGE}", {**fixed, "action": "continue"}).status_code == 302
    assert read_as_coach(app, team.org_private_key)["reasons"] == fixed


BROKEN_EVERYWHERE = [
    ("/your-code", b"saved=\xff"),
    ("/agree", b"store_answers=%FF&share_with_coach=\xfe"),
    ("/page/1", b"name=\xc0\xaf&pronouns=%FF&channels=\xff"),
    ("/page/3", b"channels=%FF&details=\xed\xa0\x80"),
    ("/come-back", b"code=%FF%FE%FD"),
    ("/come-back", b"code=\xff\xfe\xfd"),
    ("/send", b"share=\xff"),
    ("/page/2", b"\xff\xfe=abc&languages=%FF&interpreter=yes"),
]


@pytest.mark.parametrize(("path", "body"), BROKEN_EVERYWHERE)
def test_broken_letters_never_give_a_server_error(
    app: Flask, team, person, path: str, body: bytes
) -> None:
    phone, _code, saved = person
    before = _snapshot(app)
    clients = 1
    if path in ("/your-code", "/agree"):
        phone = Phone(app)  # someone new, before agreeing to anything
        phone.start()
        if path == "/your-code":  # someone who has just said yes, and is given their code
            phone.agree("yes", "yes")
            clients = 2
    phone.get(path if path != "/send" else "/check")
    response = phone.client.post(
        path,
        data=b"csrf_token=" + phone.token.encode() + b"&" + body,  # type: ignore[union-attr]
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code < 500, (path, response.status_code)
    if response.status_code == 400:
        text = response.get_data(as_text=True)
        assert "Something went wrong" not in text
        assert Page(text).title.startswith("Error:")
    assert count_rows(app, "client")["client"] == clients
    if clients == 1:
        _assert_nothing_lost(app, team, saved, before)
    else:
        assert _snapshot(app) == before, "an answer row changed"


# --- a form without its CSRF token --------------------------------------------------------


def test_a_page_without_its_csrf_token_comes_back_with_what_was_typed(
    app: Flask, team, person
) -> None:
    phone, _code, saved = person
    before = _snapshot(app)
    section = section_at(3)
    typed = fill(section)
    phone.get("/page/3")
    response = phone.post("/page/3", {**typed, "action": "continue"}, status=400, token=False)
    page = Page(response.get_data(as_text=True))
    assert NOT_SAVED in page.markup
    assert "Page 3 of" in page.title
    for question in section.questions:
        value = typed[question.key]
        if question.kind in ("short_text", "long_text"):
            assert page.value(question.key) == value
        else:
            assert page.checked(question.key) == (value if isinstance(value, list) else [value])
    _assert_nothing_lost(app, team, saved, before)
    # Pressing Continue again (the page now carries a token) saves it.
    assert phone.post("/page/3", {**typed, "action": "continue"}).headers["Location"] == "/page/4"
    assert read_as_coach(app, team.org_private_key)[section.key] == typed


def test_send_without_its_csrf_token_sends_nothing(app: Flask, team, person) -> None:
    phone, _code, saved = person
    phone.get("/check")
    response = phone.post("/send", {}, status=400, token=False)
    assert "We could not save that page" in response.get_data(as_text=True)
    assert "Everything you saved before is still safe." in response.get_data(as_text=True)
    client = only_client(app)
    assert client.status == "draft"
    assert client.submitted_at is None
    assert read_as_coach(app, team.org_private_key) == saved


def test_agreeing_without_a_csrf_token_writes_nothing(app: Flask, team) -> None:
    phone = Phone(app)
    phone.start()
    phone.get("/agree")
    response = phone.post(
        "/agree", {"store_answers": "yes", "share_with_coach": "yes"}, status=400, token=False
    )
    assert "We could not save that page" in response.get_data(as_text=True)
    assert count_rows(app, *CLIENT_TABLES) == dict.fromkeys(CLIENT_TABLES, 0)


def test_a_token_from_another_visit_does_not_save_anything(app: Flask, team, person) -> None:
    phone, _code, saved = person
    before = _snapshot(app)
    stranger = Phone(app)
    stranger.get("/come-back")
    phone.get("/page/2")
    phone.token = stranger.token
    response = phone.post("/page/2", {**fill(section_at(2)), "action": "continue"}, status=400)
    assert NOT_SAVED in response.get_data(as_text=True)
    _assert_nothing_lost(app, team, saved, before)


# --- the session closed while the page was open -------------------------------------------


def _close_session_by_time(app: Flask, minutes: int) -> None:
    client = only_client(app)
    with app.app_context():
        db = db_session()
        changed = db.execute(
            update(SessionRecord)
            .where(SessionRecord.client_id == client.id)
            .values(last_seen_at=utcnow() - timedelta(minutes=minutes))
        )
        assert changed.rowcount == 1  # type: ignore[attr-defined]
        db.commit()


def _session_rows(app: Flask) -> int:
    with app.app_context():
        return int(db_session().scalar(select(func.count()).select_from(SessionRecord)) or 0)


def test_a_page_posted_after_the_session_closed_is_kept_and_saved_with_the_code(
    app: Flask, team, person
) -> None:
    phone, code, saved = person
    before = _snapshot(app)
    section = section_at(5)
    typed = fill(section)
    phone.get("/page/5")
    _close_session_by_time(app, 31)

    response = phone.post("/page/5", {**typed, "action": "continue"}, status=400)
    page = Page(response.get_data(as_text=True))
    assert CLOSED in page.markup
    assert "What you typed on this page is still here." in page.markup
    # Kept on the server, in this browser's new session: nothing of it is in the page.
    assert page.hidden("carried_page") is None
    assert page.hidden("carried_answers") is None
    for word in typed_words(section, typed):  # type: ignore[arg-type]
        assert word not in html.unescape(page.markup)
    _assert_nothing_lost(app, team, saved, before)
    assert _session_rows(app) == 1, "the old row is gone; only the new visitor's row is left"

    # A typing mistake keeps what was typed.
    wrong = phone.post("/come-back", {"code": "0000 0000 0000 0000"}, status=400)
    again = Page(wrong.get_data(as_text=True))
    assert NOT_FOUND in again.markup
    assert "What you typed on this page is still here." in again.markup

    # The right code (in Persian digits) saves the page and carries on.
    response = phone.post("/come-back", {"code": in_digits(code, PERSIAN_DIGITS, " ")})
    assert response.headers["Location"] == "/page/6"
    assert read_as_coach(app, team.org_private_key) == {**saved, section.key: typed}
    assert len(answer_rows(app, section.key)) == 1
    # The visit is open again on this phone.
    assert phone.get("/page/6").status_code == 200


def test_a_page_opened_29_minutes_ago_still_saves(app: Flask, team, person) -> None:
    phone, _code, saved = person
    typed = fill(section_at(5))
    phone.get("/page/5")
    _close_session_by_time(app, 29)
    assert phone.post("/page/5", {**typed, "action": "continue"}).headers["Location"] == "/page/6"
    assert read_as_coach(app, team.org_private_key) == {**saved, section_at(5).key: typed}


# --- return codes -------------------------------------------------------------------------


def _wrong_code() -> str:
    digits = "".join(secrets.choice("0123456789") for _ in range(16))
    return " ".join(digits[i : i + 4] for i in range(0, 16, 4))


@pytest.mark.parametrize("limit", [None, "10 per 15 minutes; 40 per day"], ids=["default", "ten"])
def test_wrong_codes_get_a_kind_message_until_the_limit_then_even_the_right_code_waits(
    settings: dict[str, object], instance_path: Path, limit: str | None, request
) -> None:
    if limit is not None:
        settings["RETURN_CODE_LIMIT_PER_ADDRESS"] = limit
    app = request.getfixturevalue("app")
    request.getfixturevalue("team")
    owner = Phone(app)
    code = owner.begin()
    owner.save_page(1, fill(section_at(1)))

    allowed = int(str(app.config["RETURN_CODE_LIMIT_PER_ADDRESS"]).split()[0])
    assert allowed <= 60
    guesser = Phone(app)
    guesser.keep_private(code)
    for attempt in range(max(10, allowed + 1)):
        response = guesser.come_back(_wrong_code(), status=400 if attempt < allowed else 429)
        text = response.get_data(as_text=True)
        if attempt < allowed:
            assert NOT_FOUND in text, attempt
        else:
            assert NOT_FOUND not in text, attempt
            assert Page(text).summary_links == [("#code", MANY_TRIES)], attempt
    refused = guesser.come_back(code, status=429)
    assert Page(refused.get_data(as_text=True)).summary_links == [("#code", MANY_TRIES)]
    assert guesser.get("/check", status=302).headers["Location"] == "/come-back"

    # The limit is per address: a new app (limits start again) lets the right code in.
    fresh = create_app(settings, instance_path=str(instance_path))
    try:
        response = Phone(fresh).come_back(code)
        assert response.headers["Location"] == "/your-space"
    finally:
        database(fresh).engine.dispose()


@pytest.mark.parametrize(
    "typed", ["1234 5678", "1234 5678 9012 345", "1234 5678 9012 34567", "abcd efgh", "", "۱۲۳"]
)
def test_a_code_of_the_wrong_shape_gets_the_same_kind_message(app: Flask, team, typed: str) -> None:
    phone = Phone(app)
    response = phone.come_back(typed, status=400)
    text = response.get_data(as_text=True)
    assert NOT_FOUND in text
    assert Page(text).title.startswith("Error:")
    assert Page(text).summary_links == [("#code", NOT_FOUND)]
    assert count_rows(app, "client")["client"] == 0


def test_a_well_formed_code_that_is_nobodys_gets_the_same_kind_message(app: Flask, team) -> None:
    phone = Phone(app)
    response = phone.come_back(_wrong_code(), status=400)
    assert NOT_FOUND in response.get_data(as_text=True)
    with app.app_context():
        assert db_session().scalar(select(func.count()).select_from(Answer)) == 0


def test_empty_or_misshapen_codes_do_not_use_up_the_tries(app: Flask, team) -> None:
    """A shaky hand or an empty box costs nothing: only well-formed codes that open
    nothing count towards the limit, so the person can still get in."""
    owner = Phone(app)
    code = owner.begin()
    owner.save_page(1, fill(section_at(1)))
    allowed = int(str(app.config["RETURN_CODE_LIMIT_PER_ADDRESS"]).split()[0])
    visitor = Phone(app)
    visitor.keep_private(code)
    for typed in ["", "   ", "1234", "abcd efgh", "1234 5678 9012 345"] * (allowed // 2 + 1):
        response = visitor.come_back(typed, status=400)
        assert NOT_FOUND in response.get_data(as_text=True)
    assert visitor.come_back(code).headers["Location"] == "/your-space"
