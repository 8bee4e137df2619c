"""Partner referrals, as a caseworker, a referred person, a coach and an attacker see them
(DESIGN.md §1 and §7).

A caseworker makes a referral: a single-use link, a typed code and a card to print in the
person's language, with a nickname and a note sealed for the coach at once. The caseworker sees
only their own organisation's referrals, never an answer, never their own note again, and how
a referral is going only while the person agrees to tell them. The person learns who sent
them, in the language the caseworker chose; a link or code works once, and only once the person
agrees to keep their answers; a link that cannot be used gets a kind page offering to start
without it; guessing codes is throttled. The coach assigned to the person reads the note.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import segno
from babel.dates import format_date
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, gettext
from sqlalchemy import select
from support.app import with_settings
from support.database import assert_not_stored, database_bytes
from support.journey import Phone, fill, marker, typed_words
from support.pages import Page, csrf, without_csrf_tokens
from support.referrals import (
    CLOSED_PAGE,
    CODE_NOT_FOUND,
    SHOWN,
    START_WITHOUT,
    TOO_MANY_CODES,
    NewReferral,
    arrive,
    begin_referred,
    client_of,
    expire,
    my_choice,
    other_partner_browser,
    refer,
    referral_row,
    statuses,
    withdraw_on_page,
)
from support.staff import StaffBrowser, assign
from support.team import Team
from werkzeug.test import TestResponse

from intake import crypto
from intake.db import db_session
from intake.models import Client, ClientStatus
from intake.questionnaire import DEFAULT_FORM

ORG = "Test charity"
STATUS = "status_to_referrer"


def text_of(response: TestResponse) -> str:
    """The words of a page as a person reads them: tags dropped, entities decoded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def without_versions(response: TestResponse) -> str:
    """A page with its stylesheet and script versions blanked (they follow the files), and its
    CSRF tokens (they carry the second they were made in)."""
    return without_csrf_tokens(re.sub(r"\?v=[0-9a-f]+", "", response.get_data(as_text=True)))


def fill_and_send(phone: Phone) -> list[str]:
    """Answer every page with markers and send; returns every word typed."""
    typed: list[str] = []
    for number, section in enumerate(DEFAULT_FORM.sections, 1):
        answers = fill(section)
        phone.save_page(number, answers)
        typed += typed_words(section, answers)
    phone.get("/check")
    assert phone.post("/send", {}).headers["Location"] == "/sent"
    return typed


def set_status(coach: FlaskClient, client_id: str, status: str) -> None:
    """The coach marks the person "In coaching" (active) or "Closed" on the record."""
    response = coach.post(
        f"/clients/{client_id}/status",
        data={"status": status, "csrf_token": csrf(coach, f"/clients/{client_id}")},
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def partner_pages(browser: FlaskClient) -> Iterator[tuple[str, TestResponse]]:
    """Every page a caseworker can reach from their list by following links (GET only)."""
    queue, seen = ["/partner/"], set()
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = browser.get(path)
        yield path, response
        if response.mimetype != "text/html":
            continue
        for href in Page(response.get_data(as_text=True)).hrefs:
            target = urlsplit(href)
            if not target.netloc and target.path.startswith(("/partner", "/api")):
                queue.append(target.path + (f"?{target.query}" if target.query else ""))


# --- only their own organisation's ------------------------------------------------------------


def test_a_partner_never_sees_nor_withdraws_another_organisations_referrals(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    ours = auth.sign_in("partner")
    theirs = other_partner_browser(auth)
    mine = refer(ours)
    other = refer(theirs)

    assert set(statuses(ours)) == {mine.reference}
    assert set(statuses(theirs)) == {other.reference}
    assert mine.reference not in theirs.get("/partner/").get_data(as_text=True)

    refused = withdraw_on_page(theirs, mine.reference)
    made_up = withdraw_on_page(theirs, "R-ZZZZZZ")
    assert refused.status_code == made_up.status_code == 404
    assert without_versions(refused) == without_versions(made_up), "tells theirs from none"
    assert statuses(ours)[mine.reference] == SHOWN["invited"]
    assert referral_row(app, mine.reference).withdrawn_at is None

    # The link still works for the person it was made for.
    arrive(Phone(app), mine.token)

    # A coach is not partner staff: the partner pages do not exist for them.
    coach = auth.sign_in("coach")
    assert coach.get("/partner/").status_code == 404
    assert coach.get("/partner/referrals/new").status_code == 404


def test_the_partner_never_sees_an_answer_nor_their_own_note_and_the_coach_does(
    app: Flask, team: Team, database_kind: str, instance_path: Path, auth: StaffBrowser
) -> None:
    partner = auth.sign_in("partner")
    nickname, note = f"Nick {marker()}", f"Note {marker()}\nsecond line {marker()}"
    made = refer(partner, nickname=nickname, note=note)
    for value in (nickname, *note.split("\n")):
        assert value not in made.page, "the page after sending shows what was sealed"

    phone = Phone(app)
    arrive(phone, made.token)
    begin_referred(phone, "yes")
    typed = fill_and_send(phone)
    person = client_of(app, made.reference)
    assert person is not None
    admin = auth.sign_in("admin")
    assign(admin, person.id, team.ids["coach"])
    coach = auth.sign_in("coach")
    set_status(coach, person.id, ClientStatus.ACTIVE)

    # The caseworker walks every page they can reach, and asks the API too.
    secrets_ = [*typed, nickname, *note.split("\n")]
    walked = dict(partner_pages(partner))
    assert {"/partner/", "/partner/referrals/new", "/partner/api-tokens"} <= set(walked)
    token_page = partner.post(
        "/partner/api-tokens",
        data={"label": "Case system", "csrf_token": csrf(partner, "/partner/api-tokens")},
    )
    token = re.search(r"<bdi>(gw_[^<]+)</bdi>", token_page.get_data(as_text=True))
    assert token
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {token.group(1)}"}
    answers = [
        api.get("/api/v1/referrals", headers=bearer),
        api.get(f"/api/v1/referrals/{made.reference}", headers=bearer),
    ]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[1].get_json()["status"] == "first_session_agreed"
    # Nor can they open the person's record in the coaches' workspace.
    for path in (f"/clients/{person.id}", f"/clients/{person.id}/export", "/workspace"):
        refused = partner.get(path)
        assert refused.status_code == 404, path
        walked[path] = refused
    for path, response in [*walked.items(), *(("api", a) for a in answers), ("t", token_page)]:
        body = response.get_data(as_text=True)
        for secret in secrets_:
            assert secret not in body, f"{path} shows {secret!r} to the partner"

    # A copy of the database holds neither the nickname nor the note (nor any answer).
    assert_not_stored(database_bytes(app, database_kind, instance_path), secrets_)

    # The coach the person was given reads both on the record; another coach cannot open it.
    record = coach.get(f"/clients/{person.id}")
    assert record.status_code == 200
    body = record.get_data(as_text=True)
    assert f"<bdi>{html.escape(nickname)}</bdi>" in body
    for line in note.split("\n"):
        assert line in body
    assert f"Note from {ORG}:" in text_of(record)
    other_coach = auth.sign_in("coach2")
    refused = other_coach.get(f"/clients/{person.id}")
    assert refused.status_code == 404
    assert nickname not in refused.get_data(as_text=True)


# --- the status, only while the person agrees -------------------------------------------------


@pytest.mark.parametrize("answer", ["no", None], ids=["said-no", "did-not-answer"])
def test_the_status_is_shared_only_while_the_person_agrees(
    app: Flask, team: Team, answer: str | None, auth: StaffBrowser
) -> None:
    partner = auth.sign_in("partner")
    made = refer(partner)
    assert statuses(partner)[made.reference] == SHOWN["invited"]

    phone = Phone(app)
    arrive(phone, made.token)
    begin_referred(phone, answer)
    assert statuses(partner)[made.reference] == SHOWN["not_shared"]
    page = partner.get("/partner/").get_data(as_text=True)
    assert f"/partner/referrals/{made.reference}/withdraw" not in page, "a used one is theirs"
    assert withdraw_on_page(partner, made.reference).status_code == 400

    # Later, on "Your choices", they say yes: from now on the partner sees how it goes.
    my_choice(phone, STATUS, "granted")
    assert statuses(partner)[made.reference] == SHOWN["started"]
    phone.save_page(1, fill(DEFAULT_FORM.sections[0]))
    assert statuses(partner)[made.reference] == SHOWN["started"]
    phone.get("/check")
    phone.post("/send", {})
    assert statuses(partner)[made.reference] == SHOWN["sent"]

    person = client_of(app, made.reference)
    assert person is not None
    assign(auth.sign_in("admin"), person.id, team.ids["coach"])
    coach = auth.sign_in("coach")
    set_status(coach, person.id, ClientStatus.ACTIVE)
    assert statuses(partner)[made.reference] == SHOWN["first_session_agreed"]
    set_status(coach, person.id, ClientStatus.CLOSED)
    assert statuses(partner)[made.reference] == SHOWN["closed"]

    # They change their mind: hidden again, whatever happens next.
    my_choice(phone, STATUS, "withdrawn")
    assert statuses(partner)[made.reference] == SHOWN["not_shared"]
    set_status(coach, person.id, ClientStatus.ACTIVE)
    assert statuses(partner)[made.reference] == SHOWN["not_shared"]


def test_deleting_everything_hides_the_status_and_the_link_stays_used(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    partner = auth.sign_in("partner")
    made = refer(partner)
    phone = Phone(app)
    arrive(phone, made.token)
    begin_referred(phone, "yes")
    assert statuses(partner)[made.reference] == SHOWN["started"]
    phone.get("/delete-everything")
    assert phone.post("/delete-everything", {}).headers["Location"] == "/deleted"
    assert statuses(partner)[made.reference] == SHOWN["not_shared"]
    # Used, and nothing says so: it still answers as an unused link would.
    assert Phone(app).get(f"/r/{made.token}", status=302).headers["Location"] == "/referred"
    assert referral_row(app, made.reference).used_at is not None


def test_saying_yes_at_the_start_shows_started_at_once(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    partner = auth.sign_in("partner")
    made = refer(partner)
    phone = Phone(app)
    arrive(phone, made.token)
    begin_referred(phone, "yes")
    assert statuses(partner)[made.reference] == SHOWN["started"]
    receipts = text_of(phone.get("/receipts"))
    assert "Updates to the organisation that referred: Yes" in receipts, "no receipt for it"


def test_an_unused_referral_is_invited_withdrawn_or_expired(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    partner = auth.sign_in("partner")
    waiting, stopped, old = refer(partner), refer(partner), refer(partner)
    response = withdraw_on_page(partner, stopped.reference)
    assert response.status_code == 302
    assert response.headers["Location"] == "/partner/"
    expire(app, old.reference)

    assert statuses(partner) == {
        waiting.reference: SHOWN["invited"],
        stopped.reference: SHOWN["withdrawn"],
        old.reference: SHOWN["expired"],
    }
    page = partner.get("/partner/").get_data(as_text=True)
    assert f"/partner/referrals/{waiting.reference}/withdraw" in page
    assert f"/partner/referrals/{stopped.reference}/withdraw" not in page
    assert f"/partner/referrals/{old.reference}/withdraw" not in page
    assert withdraw_on_page(partner, stopped.reference).status_code == 400, "withdrawn twice"


# --- a link works once ------------------------------------------------------------------------


def assert_kind_closed_page(response: TestResponse, reason: str) -> None:
    assert response.status_code == 410
    words = text_of(response)
    assert CLOSED_PAGE in words
    assert reason in words
    assert START_WITHOUT in words
    page = Page(response.get_data(as_text=True))
    assert "/welcome" in page.hrefs, "no way to start without it"


def test_a_link_and_its_code_work_once(app: Flask, team: Team, auth: StaffBrowser) -> None:
    partner = auth.sign_in("partner")
    made = refer(partner)
    first = Phone(app)
    arrive(first, made.token)
    begin_referred(first, "yes")
    first_client = client_of(app, made.reference)
    assert first_client is not None

    # Whoever opens it next is told nothing new: the link and the code answer as an unused
    # one would (the card already names who made it), so the card never says that someone
    # started. Starting with it gives them no referral: the first person keeps it.
    second = Phone(app)
    assert second.get(f"/r/{made.token}", status=302).headers["Location"] == "/referred"
    assert ORG in text_of(second.get("/referred"))
    typist = Phone(app)
    typist.get("/referral-code")
    assert typist.post("/referral-code", {"code": made.code}).headers["Location"] == "/referred"
    second.get("/welcome")
    second.get("/agree")
    second.post("/agree", {"store_answers": "yes", "share_with_coach": "yes", STATUS: "yes"})
    assert client_of(app, made.reference).id == first_client.id  # type: ignore[union-attr]
    with app.app_context():
        newest = db_session().scalars(select(Client).order_by(Client.created_at.desc())).first()
        assert newest is not None
        assert newest.id != first_client.id
        assert newest.referral_id is None
        assert newest.status_shared_at is None, "no status goes to a referrer they do not have"


def test_a_used_card_answers_as_an_unused_one_would(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    """Someone who finds the card cannot learn from Groundwork whether the person started."""
    partner = auth.sign_in("partner")
    used, unused = refer(partner), refer(partner)
    person = Phone(app)
    arrive(person, used.token)
    begin_referred(person, "no")
    pages = {}
    for name, made in (("used", used), ("unused", unused)):
        finder = Phone(app)
        link = finder.get(f"/r/{made.token}", status=302)
        landing = finder.get("/referred")
        typed = Phone(app)
        typed.get("/referral-code")
        by_code = typed.post("/referral-code", {"code": made.code})
        pages[name] = (
            link.status_code,
            link.headers["Location"],
            without_csrf_tokens(landing.get_data(as_text=True)),
            by_code.status_code,
            by_code.headers["Location"],
        )
    assert pages["used"] == pages["unused"]
    assert client_of(app, used.reference) is not None


def test_opening_a_link_without_agreeing_leaves_it_for_the_person_it_is_for(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    partner = auth.sign_in("partner")
    made = refer(partner)

    # Someone opens it, reads as far as the consent page, and leaves with quick exit.
    glance = Phone(app)
    arrive(glance, made.token)
    glance.get("/welcome")
    glance.get("/agree")
    glance.client.get("/exit")
    # Someone else goes as far as saying "no, do not keep my answers".
    declines = Phone(app)
    arrive(declines, made.token)
    declines.get("/welcome")
    declines.get("/agree")
    no = declines.post("/agree", {"store_answers": "no", STATUS: "yes"})
    assert no.headers["Location"] == "/this-visit-only"
    # Someone types the code and goes no further.
    typist = Phone(app)
    typist.get("/referral-code")
    assert typist.post("/referral-code", {"code": made.code}).headers["Location"] == "/referred"

    assert statuses(partner)[made.reference] == SHOWN["invited"]
    assert referral_row(app, made.reference).used_at is None
    assert client_of(app, made.reference) is None

    person = Phone(app)
    arrive(person, made.token)
    begin_referred(person, "yes")
    assert statuses(partner)[made.reference] == SHOWN["started"]
    started = client_of(app, made.reference)
    assert started is not None
    # Now it is used. The typist who comes back to it sees what an unused card shows (so the
    # card tells nobody that someone started); agreeing gives them no referral.
    typist.get("/welcome")
    agree = typist.get("/agree")
    assert STATUS in {i.get("name") for i in typist.page(agree).inputs}
    typist.post("/agree", {"store_answers": "yes", "share_with_coach": "yes", STATUS: "yes"})
    assert client_of(app, made.reference).id == started.id  # type: ignore[union-attr]


@pytest.mark.parametrize("how", ["link", "code"])
@pytest.mark.parametrize(
    ("what", "reason"),
    [
        ("withdrawn", "The people who gave it to you have stopped it."),
        ("expired", "It is too old."),
    ],
)
def test_a_withdrawn_or_expired_referral_gets_the_kind_page(
    app: Flask, team: Team, how: str, what: str, reason: str, auth: StaffBrowser
) -> None:
    partner = auth.sign_in("partner")
    made = refer(partner)
    if what == "withdrawn":
        assert withdraw_on_page(partner, made.reference).status_code == 302
    else:
        expire(app, made.reference)
    phone = Phone(app)
    if how == "link":
        response = phone.get(f"/r/{made.token}", status=410)
    else:
        phone.get("/referral-code")
        response = phone.post("/referral-code", {"code": made.code}, status=410)
    assert_kind_closed_page(response, reason)
    assert ORG not in text_of(response)
    assert phone.get("/referred", status=302).headers["Location"] == "/"


def test_a_link_nobody_made_gets_the_kind_page(app: Flask) -> None:
    phone = Phone(app)
    response = phone.get(f"/r/{crypto.new_secret_token()}", status=410)
    assert_kind_closed_page(response, "We could not find it.")


def test_a_code_is_typed_the_way_people_type(app: Flask, team: Team, auth: StaffBrowser) -> None:
    made = refer(auth.sign_in("partner"))
    phone = Phone(app)
    phone.get("/referral-code")
    typed = f" {made.code.lower().replace('-', ' ')} "
    assert phone.post("/referral-code", {"code": typed}).headers["Location"] == "/referred"
    assert ORG in text_of(phone.get("/referred"))


# --- guessing codes ---------------------------------------------------------------------------


def wrong_code(right: str) -> str:
    while (code := crypto.generate_referral_code()) == right:
        continue
    return code


@with_settings(REFERRAL_CODE_LIMIT_PER_ADDRESS="3 per hour")
def test_guessing_codes_is_throttled_and_mistypes_cost_nothing(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    made = refer(auth.sign_in("partner"))
    phone = Phone(app)
    phone.get("/referral-code")
    # Empty and misshapen codes are mistakes, not guesses: they never count.
    for typed in ["", "   ", "K7QM", "K7QM-3PXT-2", "O0O0-1I1I", "!!!!-????", ""]:
        response = phone.post("/referral-code", {"code": typed}, status=400)
        assert TOO_MANY_CODES not in text_of(response)
    # Three well-formed codes that open nothing, then even the right code is refused, kindly.
    for _ in range(3):
        response = phone.post("/referral-code", {"code": wrong_code(made.code)}, status=400)
        assert CODE_NOT_FOUND in text_of(response)
    refused = phone.post("/referral-code", {"code": made.code}, status=429)
    assert TOO_MANY_CODES in text_of(refused)
    assert phone.get("/referred", status=302).headers["Location"] == "/"
    assert referral_row(app, made.reference).used_at is None

    # Someone at another address is not held back by it.
    other_address = app.test_client()
    other_address.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    elsewhere = Phone(app, other_address)
    elsewhere.get("/referral-code")
    arrived = elsewhere.post("/referral-code", {"code": made.code})
    assert arrived.headers["Location"] == "/referred"


# --- who sent them, in their language ---------------------------------------------------------


def translated(app: Flask, locale: str, message: str, **values: object) -> str:
    """A message as the catalog of `locale` gives it, its spaces as `text_of` reads them."""
    with app.test_request_context(), force_locale(locale):
        return " ".join(gettext(message, **values).split())


def test_the_person_is_told_who_sent_them_in_the_language_the_partner_chose(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    made = refer(auth.sign_in("partner"), locale="fa")
    sent_by = translated(app, "fa", "You were sent here by %(org)s.", org=ORG)
    phone = Phone(app)
    referred = arrive(phone, made.token)
    assert '<html lang="fa" dir="rtl">' in referred.get_data(as_text=True)
    assert sent_by in text_of(referred)
    welcome = phone.get("/welcome").get_data(as_text=True)
    assert '<html lang="fa" dir="rtl">' in welcome
    agree = phone.get("/agree")
    assert '<html lang="fa" dir="rtl">' in agree.get_data(as_text=True)
    assert sent_by in text_of(agree)
    phone.post("/agree", {"store_answers": "yes", "share_with_coach": "yes", STATUS: "yes"})
    person = client_of(app, made.reference)
    assert person is not None
    assert person.locale == "fa"

    # Someone who already chose their language keeps it.
    chose = Phone(app)
    chose.get("/?lang=es")
    other = refer(auth.sign_in("partner"), locale="ar")
    response = chose.get(f"/r/{other.token}", status=302)
    assert response.headers["Location"] == "/referred"
    page = chose.get("/referred")
    assert '<html lang="es" dir="ltr">' in page.get_data(as_text=True)
    assert translated(app, "es", "You were sent here by %(org)s.", org=ORG) in text_of(page)


CARD_TEXTS = (
    "An invitation to coaching",
    "What happens next",
    "Scan the square with your phone's camera, or open the link.",
    "Fill in some short forms, at your own pace. You can skip any question.",
    "A coach reads your answers and gets in touch in the way you choose.",
    "Or open the website and type this code:",
)


def card_of(made: NewReferral) -> tuple[dict[str, str], str]:
    found = re.search(r"<section class=\"referral-card\"([^>]*)>(.*?)</section>", made.page, re.S)
    assert found, "no card on the page"
    attributes = dict(re.findall(r'(\w+)="([^"]*)"', found.group(1)))
    return attributes, found.group(2)


@pytest.mark.parametrize("locale", ["ar", "fa", "uk", "fr", "es", "ps", "ti", "so", "ckb", "en"])
def test_the_printable_card_is_in_the_persons_language(
    app: Flask, team: Team, locale: str, auth: StaffBrowser
) -> None:
    made = refer(auth.sign_in("partner"), locale=locale)
    attributes, card = card_of(made)
    assert attributes["lang"] == locale
    assert attributes["dir"] == ("rtl" if locale in ("ar", "fa", "ps", "ckb") else "ltr")
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", card)).split())
    for message in CARD_TEXTS:
        shown = translated(app, locale, message)
        assert shown in words, (locale, message)
        if shown != message:
            assert message not in words, f"{message!r} left in English on the {locale} card"
    if locale != "en":
        assert any(translated(app, locale, m) != m for m in CARD_TEXTS), "an English card"
    invitation = "%(org)s thinks coaching could help you. It is free, and it is your choice."
    assert translated(app, locale, invitation, org=ORG) in words
    expires = referral_row(app, made.reference).expires_at
    until = format_date(expires, "d MMMM yyyy", locale=locale)
    assert translated(app, locale, "It works once, until %(date)s.", date=until) in words
    # The code to type, and a QR code of the very link shown above it.
    assert f"<bdi>{made.code}</bdi>" in card
    qr = segno.make(made.link, error="m").svg_inline(
        scale=4, dark="#0b0c0c", light="#ffffff", omitsize=True
    )
    assert qr in card
    assert card.count("<svg") == 1
    # The caseworker's own page around the card stays in their language.
    outside = made.page.replace(card, "")
    assert "Referral made" in outside


def test_a_referral_for_a_language_we_do_not_ship_is_refused(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    partner = auth.sign_in("partner")
    response = partner.post(
        "/partner/referrals/new",
        data={"locale": "de", "csrf_token": csrf(partner, "/partner/referrals/new")},
    )
    assert response.status_code == 400
    assert statuses(partner) == {}


def test_a_too_long_note_is_refused_and_nothing_is_made(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    partner = auth.sign_in("partner")
    response = partner.post(
        "/partner/referrals/new",
        data={
            "locale": "en",
            "note": "x" * 2001,
            "csrf_token": csrf(partner, "/partner/referrals/new"),
        },
    )
    assert response.status_code == 400
    assert "/r/" not in response.get_data(as_text=True)
    assert statuses(partner) == {}


def test_a_page_number_past_the_end_or_in_another_script_shows_the_list(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    partner = auth.sign_in("partner")
    made = refer(partner)
    far = partner.get(f"/partner/?page={10**30}")
    assert far.status_code == 200
    assert "Your organisation's referrals, newest first" in text_of(far)
    for odd in ("%C2%B2", "%D9%A2", "-1", "x"):  # a superscript 2, an Arabic-Indic 2
        response = partner.get(f"/partner/?page={odd}")
        assert response.status_code == 200, odd
        assert made.reference in response.get_data(as_text=True), odd
