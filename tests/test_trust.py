"""What a frightened person meets, kept true at every step (the trust issue): who reads the
answers is one true sentence; "everything we hold" means everything; shared Wi-Fi lets a room
of people in while a guesser stays slow; the site's neutral name speaks their language.

The choices, the visit-only path and the code page are in test_client_journey.py; receipts
in test_consent_ledger.py; the access log in test_who_looked.py; the browser's view (touch
targets, right-to-left codes, JavaScript on and off) in tests/browser/test_trust.py.
"""

from __future__ import annotations

import re
import secrets

import pytest
from flask import Flask
from flask.testing import FlaskClient
from support.app import with_settings
from support.clients import client_id_of, client_row
from support.consent import my_data
from support.journey import PAGES, Phone, fill, section_at
from support.pages import page_text
from support.referrals import arrive, begin_referred, my_choice, refer
from support.staff import StaffBrowser, assign
from support.team import Team

from intake import crypto, vault
from intake.db import db_session

WHO_READS = re.compile(r'<p class="[^"]*\bwho-reads\b[^"]*">(.*?)</p>', re.DOTALL)
# Sentences that once said something untrue, or said it differently on one page. (The consent
# texts say what a yes means, in words the person agrees to and that are kept with their
# decision; they are not this sentence, and they change only as a new version.)
OLD_WORDS = (
    "Only your coach will read this",
    "Only your coach, and the person who finds you a coach, will read your answers",
    "Your coach will read this before meeting you",
    "your coach can read them. The person who finds you a coach may read them too",
)


# --- one sentence says who reads the answers, and it is true ------------------------------


def who_reads(phone: Phone, path: str) -> str:
    """The page's one "who reads this" sentence (and no old, different one)."""
    markup = phone.get(path).get_data(as_text=True)
    found = [" ".join(m.split()) for m in WHO_READS.findall(markup)]
    assert len(found) == 1, (path, found)
    for old in OLD_WORDS:
        assert old not in markup, (path, old)
    return found[0]


def said_on(phone: Phone, paths: list[str]) -> set[str]:
    return {who_reads(phone, path) for path in paths}


ANSWER_PAGES = ["/check", "/before-the-agreement", *[f"/page/{n}" for n in range(1, PAGES + 1)]]
KEPT_PAGES = [*ANSWER_PAGES, "/your-space", "/saved"]


def test_one_true_sentence_says_who_reads_the_answers_in_each_situation(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    seen: dict[str, set[str]] = {}

    # Before any choice: nobody, until they send.
    phone = Phone(app)
    seen["not decided"] = said_on(phone, ["/welcome", "/agree"])

    # This visit only: nobody else, and gone when they leave.
    phone.agree(store="no", share=None)
    seen["this visit only"] = said_on(phone, ["/this-visit-only", *ANSWER_PAGES])

    # Kept, not sent: nobody until they send.
    person = Phone(app)
    code = person.begin()
    person.get("/your-code")
    seen["kept, not sent"] = said_on(person, ["/your-code", *KEPT_PAGES])

    # Sent, no coach yet: whoever finds a coach.
    for number in range(1, PAGES + 1):
        person.save_page(number, {})
    person.get("/check")
    person.post("/send", {})
    seen["sent, no coach"] = said_on(person, ["/sent", *KEPT_PAGES])

    # A coach is chosen: the coach, and whoever found them.
    admin = auth.sign_in("admin")
    assign(admin, client_id_of(app, code), team.ids["coach"])
    seen["sent, a coach"] = said_on(person, ["/sent", *KEPT_PAGES])

    # "A coach can read" withdrawn after sending: nobody.
    my_choice(person, "share_with_coach", "withdrawn")
    seen["sharing stopped"] = said_on(person, KEPT_PAGES)

    for situation, sentences in seen.items():
        assert len(sentences) == 1, (situation, sentences)
    said = {situation: next(iter(sentences)) for situation, sentences in seen.items()}
    assert said["not decided"] == said["kept, not sent"]
    assert said["not decided"].startswith("Nobody reads your answers until you send them.")
    assert "Nobody else can read them" in said["this visit only"]
    assert said["sent, no coach"].startswith("The person who finds you a coach can read")
    assert said["sent, a coach"].startswith("Your coach, and the person who found you your coach")
    assert said["sharing stopped"].startswith("Nobody can read your answers now")
    assert len(set(said.values())) == len(said) - 1  # only "not decided" = "kept, not sent"


@pytest.mark.parametrize("told", ["yes", "no"])
def test_someone_referred_is_also_told_what_the_referrer_sees(
    app: Flask, team: Team, told: str, auth: StaffBrowser
) -> None:
    made = refer(auth.sign_in("partner"))
    phone = Phone(app)
    arrive(phone, made.token)
    before = said_on(phone, ["/welcome", "/agree"])
    assert before == {
        "Nobody reads your answers until you send them. Then the person who finds you a "
        "coach, and your coach, can read them. The people who sent you here cannot see "
        "your answers."
    }
    begin_referred(phone, told)
    (kept,) = said_on(phone, KEPT_PAGES)
    if told == "yes":
        assert kept.endswith(
            "The people who sent you here only hear how it is going, never your answers."
        )
    else:
        assert kept.endswith("The people who sent you here cannot see your answers.")


# --- everything we hold about you ---------------------------------------------------------


def test_everything_we_hold_includes_the_referrers_note_the_coach_and_the_dates(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    note = "Prefers mornings " + secrets.token_hex(4)
    made = refer(auth.sign_in("partner"), nickname="Sami", note=note)
    phone = Phone(app)
    arrive(phone, made.token)
    code = begin_referred(phone, "yes")
    phone.save_page(1, fill(section_at(1)))
    phone.get("/check")
    phone.post("/send", {})

    # Before anyone on the team opened it, the note is sealed to the team: the page says so.
    page = page_text(phone.get("/my-data"))
    assert "Test charity" in page
    assert "wrote a note for your coach" in page
    assert note not in page
    assert my_data(phone)["referrer_wrote"] == {
        "name_they_used": None,
        "note_for_your_coach": None,
        "not_opened_yet": True,
    }

    # A coach opens the record: from then on the person can read what was written about them.
    client_id = client_id_of(app, code)
    admin = auth.sign_in("admin")
    assign(admin, client_id, team.ids["coach"])
    coach = auth.sign_in("coach")
    assert coach.get(f"/clients/{client_id}").status_code == 200
    page = page_text(phone.get("/my-data"))
    assert f"Their note for your coach {note}" in page
    assert "The name they used for you Sami" in page
    document = my_data(phone)
    assert document["referrer_wrote"] == {
        "name_they_used": "Sami",
        "note_for_your_coach": note,
        "not_opened_yet": False,
    }
    assert document["referred_by"] == "Test charity"
    assert document["your_coach"] == staff_display_name(app, team.ids["coach"])
    assert document["sent"] is not None
    # Their copy opens only with their own key: a stolen database shows no note.
    with app.app_context():
        row = client_row(app, client_id)
        assert row.referral_copy_ct is not None
        assert note.encode() not in row.referral_copy_ct


def staff_display_name(app: Flask, staff_id: int) -> str:
    from intake.models import StaffUser

    with app.app_context():
        member = db_session().get(StaffUser, staff_id)
        assert member is not None
        return member.display_name


def test_deleting_everything_deletes_the_persons_copy_of_the_note_too(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    made = refer(auth.sign_in("partner"), note="about housing")
    phone = Phone(app)
    arrive(phone, made.token)
    code = begin_referred(phone, "no")
    phone.get("/check")
    phone.post("/send", {})
    client_id = client_id_of(app, code)
    assign(auth.sign_in("admin"), client_id, team.ids["coach"])
    auth.sign_in("coach").get(f"/clients/{client_id}")
    assert client_row(app, client_id).referral_copy_ct is not None
    phone.get("/delete-everything")
    phone.post("/delete-everything", {})
    assert client_row(app, client_id).referral_copy_ct is None


# --- shared Wi-Fi: a room of people gets in, a guesser stays slow --------------------------


def _clients_with_codes(app: Flask, count: int) -> list[str]:
    """`count` people with records, made the way `agree` makes them; their codes."""
    from intake.staff import organisation

    codes = []
    with app.app_context():
        db = db_session()
        org = organisation(db)
        assert org is not None
        keys = vault.KeySettings.from_config(app.config)
        for _ in range(count):
            digits = crypto.normalise_return_code(crypto.generate_return_code())
            assert digits is not None
            vault.create_client(db, org, digits, keys, locale="en")
            codes.append(digits)
        db.commit()
    return codes


def _wrong_code() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(16))


def from_address(app: Flask, address: str) -> Phone:
    browser: FlaskClient = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    return Phone(app, browser)


def test_twenty_people_on_one_wi_fi_each_mistyping_twice_all_get_in(app: Flask, team: Team) -> None:
    codes = _clients_with_codes(app, 20)
    for code in codes:
        person = from_address(app, "192.0.2.10")  # the shelter's one address
        person.keep_private(code)
        for _mistake in range(2):
            person.come_back(_wrong_code(), status=400)
        assert person.come_back(code).headers["Location"] == "/your-space"


def test_a_guesser_at_full_speed_gets_about_sixty_tries_an_hour_from_one_address(
    app: Flask, team: Team
) -> None:
    (code,) = _clients_with_codes(app, 1)
    guesser = from_address(app, "192.0.2.66")
    guesser.keep_private(code)
    for _guess in range(60):
        guesser.come_back(_wrong_code(), status=400)
    assert guesser.come_back(_wrong_code(), status=429).status_code == 429
    # Even the right code waits now, from that address; another address is not held up.
    assert guesser.come_back(code, status=429).status_code == 429
    assert from_address(app, "192.0.2.67").come_back(code).status_code == 302


@with_settings(RETURN_CODE_LIMIT_GLOBAL="10 per hour")
def test_malformed_codes_from_one_address_never_lock_everyone_out(app: Flask, team: Team) -> None:
    """The limit across the service counts only well-formed codes that find nothing: junk
    from one address, however much, costs nobody else their way in."""
    (code,) = _clients_with_codes(app, 1)
    flood = from_address(app, "192.0.2.99")
    for junk in ["", "1234", "abcd efgh", "1" * 15, "x" * 100] * 40:
        flood.come_back(junk, status=400)
    person = from_address(app, "192.0.2.100")
    person.keep_private(code)
    assert person.come_back(code).headers["Location"] == "/your-space"


@with_settings(RETURN_CODE_LIMIT_GLOBAL="10 per hour", RETURN_CODE_LIMIT_PER_ADDRESS="60 per hour")
def test_guesses_spread_over_many_addresses_stop_at_the_limit_for_the_service(
    app: Flask, team: Team
) -> None:
    guessers = [from_address(app, f"198.51.100.{number}") for number in range(10)]
    for guesser in guessers:
        guesser.come_back(_wrong_code(), status=400)
    # The budget for the service is spent: each of them now waits...
    for guesser in guessers:
        guesser.come_back(_wrong_code(), status=429)
    # ...and a new address gets one try, not more.
    late = from_address(app, "198.51.100.200")
    late.come_back(_wrong_code(), status=400)
    late.come_back(_wrong_code(), status=429)


@with_settings(RETURN_CODE_LIMIT_GLOBAL="10 per hour")
def test_with_the_service_budget_spent_a_person_with_their_own_code_still_gets_in(
    app: Flask, team: Team
) -> None:
    """Someone coming back to withdraw or delete everything is never locked out by guessers."""
    (code,) = _clients_with_codes(app, 1)
    for number in range(12):
        from_address(app, f"198.51.100.{number}").come_back(_wrong_code(), status=400)
    person = from_address(app, "192.0.2.55")
    person.keep_private(code)
    assert person.come_back(code).headers["Location"] == "/your-space"
    person.get("/delete-everything")
    assert person.post("/delete-everything", {}).headers["Location"] == "/deleted"


# --- the site's neutral name, in the person's language -------------------------------------


def test_the_neutral_site_name_is_in_the_persons_language(app: Flask, team: Team) -> None:
    phone = Phone(app)
    english = phone.get("/").get_data(as_text=True)
    assert re.search(r"<title>[^<]*Forms</title>", english)
    arabic = phone.client.get("/?lang=ar").get_data(as_text=True)
    title = re.search(r"<title>([^<]*)</title>", arabic)
    assert title is not None
    assert "Forms" not in title.group(1), title.group(1)


@with_settings(CLIENT_SITE_NAME="Ravenstone")
def test_a_name_the_organisation_chose_is_shown_as_it_is(app: Flask, team: Team) -> None:
    arabic = Phone(app).client.get("/?lang=ar").get_data(as_text=True)
    assert re.search(r"<title>[^<]*Ravenstone</title>", arabic)


# --- example codes cannot be reordered in a right-to-left page -----------------------------


ISOLATED_RETURN_CODE = "\u20664827\u00a01930\u00a05561\u00a02204\u2069"
ISOLATED_REFERRAL_CODE = "\u2066K7QM-3PXT-9WRX\u2069"


@pytest.mark.parametrize("locale", ["en", "ar", "fa", "uk", "fr", "es", "ps", "ti", "so", "ckb"])
def test_every_example_code_in_every_language_is_isolated(
    app: Flask, team: Team, locale: str
) -> None:
    phone = Phone(app)
    phone.client.get(f"/?lang={locale}")
    pages = [
        phone.get("/come-back").get_data(as_text=True),
        phone.come_back("1111 2222 3333 4444", status=400).get_data(as_text=True),
    ]
    for markup in pages:
        assert markup.count("4827") == markup.count(ISOLATED_RETURN_CODE) >= 1, locale
    referral = phone.get("/referral-code").get_data(as_text=True)
    assert referral.count("K7QM") == referral.count(ISOLATED_REFERRAL_CODE) == 1, locale
    # The code box itself is left to right in every language.
    assert 'dir="ltr" id="code"' in pages[0]
