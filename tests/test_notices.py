"""Notices to staff by email (docs/deployment.md, "Notices to staff"), against a real SMTP
server on loopback (aiosmtpd): when someone sends their answers every admin is told, when an
admin gives someone to a coach the coach is told, and the email says only that there is
something in Groundwork for them. Nothing about the person is in the whole raw message. The page
never talks to the mail server; a server that is down delays a notice and never loses it; TLS
from the start and STARTTLS both work with a certificate the settings trust. What comes with
time (a review that has come due, consent taken by voice still waiting) tells the coach once,
and the tests pass the moment in (`send_at`) instead of turning the clock.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select, update
from support.app import invoke
from support.clients import (
    MadeClient,
    assign_in_database,
    client_row,
    come_back,
    sent_client,
)
from support.staff import StaffBrowser, assign, staff_post
from support.team import Team
from support.tls import free_port, localhost_certificate

from intake import notices, tell
from intake.cli_notices import mail_server
from intake.db import db_session
from intake.models import Client, Notice, utcnow

NAME = "Zeynep Quillfeather"
ADMIN_EMAIL = "admin@example.org"
COACH_EMAIL = "coach@example.org"
OTHER_COACH_EMAIL = "coach2@example.org"
FROM = "groundwork@example.org"


@dataclass
class Mailbox:
    """What arrived at the server: each message's envelope and raw bytes."""

    received: list[tuple[list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"

    def to(self, address: str) -> list[bytes]:
        return [raw for rcpt, raw in self.received if address in rcpt]


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for localhost, made for this test (openssl), and its key."""
    return localhost_certificate(tmp_path, "mail")


def serve(mailbox: Mailbox, port: int, **options: Any) -> Controller:
    controller = Controller(mailbox, hostname="localhost", port=port, **options)
    controller.start()
    return controller


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    """A plain SMTP server on loopback (a relay on the same machine)."""
    box, port = Mailbox(), free_port()
    controller = serve(box, port)
    yield box, port
    controller.stop()


@pytest.fixture
def relay(app: Flask, mailbox: tuple[Mailbox, int]) -> Mailbox:
    """That plain server, named in the app's settings as the relay notices go through."""
    box, port = mailbox
    notices_to(app, f"smtp://127.0.0.1:{port}")
    return box


def notices_to(app: Flask, url: str, ca_file: Path | None = None) -> None:
    app.config.update(SMTP_URL=url, SMTP_FROM=FROM, SMTP_CA_FILE=str(ca_file) if ca_file else None)


def set_email(auth: StaffBrowser, username: str, email: str) -> None:
    browser = auth.sign_in(username)
    assert browser.get("/account/notices").status_code == 200
    response = staff_post(browser, "/account/notices", {"email": email})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "Saved." in response.get_data(as_text=True)


def waiting(app: Flask) -> list[Notice]:
    with app.app_context():
        return list(db_session().scalars(select(Notice).where(Notice.sent_at.is_(None))))


def change_notices(app: Flask, **values: object) -> None:
    """Move every notice in time (the clock is not turned; the rows are)."""
    with app.app_context():
        db = db_session()
        db.execute(update(Notice).values(**values))
        db.commit()


def send(app: Flask, exit_code: int = 0) -> str:
    result = invoke(app, "notices", "send")
    assert result.exit_code == exit_code, result.output
    return result.output


def says_nothing_about(raw: bytes, person: MadeClient, *also: str) -> None:
    """The whole raw email holds nothing of the person: not their name (or a part of it), their
    record, their code or their language, nor any of `also`."""
    text = raw.decode("utf-8", "replace")
    name = person.name
    for private in (name, *name.split(), person.id, person.code.replace(" ", ""), "English", *also):
        assert private not in text, f"the email carries {private!r}"


def test_a_sent_intake_tells_every_admin_and_says_nothing_about_the_person(
    app: Flask, team: Team, auth: StaffBrowser, relay: Mailbox
) -> None:
    set_email(auth, "admin", ADMIN_EMAIL)
    person = sent_client(app, NAME)
    assert relay.received == [], "the page never talks to the mail server"
    assert len(waiting(app)) == 1, "one notice, for the one admin with an address"
    assert "Sent 1 email(s); 0 notice(s) to try again later." in send(app)
    (raw,) = relay.to(ADMIN_EMAIL)
    text = raw.decode("utf-8", "replace")
    assert "There is something in Groundwork for you." in text
    assert "/staff/sign-in" in text
    says_nothing_about(raw, person)
    assert client_row(app, person.id).status == "submitted"
    assert waiting(app) == []
    send(app)
    assert len(relay.received) == 1, "a notice goes once"


def test_giving_someone_to_a_coach_tells_the_coach(
    app: Flask, team: Team, auth: StaffBrowser, relay: Mailbox
) -> None:
    set_email(auth, "coach", COACH_EMAIL)
    person = sent_client(app, NAME)
    assign(auth.sign_in("admin"), person.id, team.ids["coach"])
    send(app)
    (raw,) = relay.to(COACH_EMAIL)
    assert NAME.encode() not in raw
    assert relay.to(ADMIN_EMAIL) == [], "the admin set no address: nothing for them"


def test_several_things_waiting_make_one_email_that_does_not_count_them(
    app: Flask, team: Team, auth: StaffBrowser, relay: Mailbox
) -> None:
    set_email(auth, "admin", ADMIN_EMAIL)
    for number in range(3):
        sent_client(app, f"{NAME} {number}")
    send(app)
    (raw,) = relay.to(ADMIN_EMAIL)
    words = message_from_bytes(raw).get_payload(decode=True)
    assert isinstance(words, bytes)
    assert b"Sign in to see it" in words
    assert not any(digit in words.decode() for digit in "0123456789"), "no count in the words"


def test_a_mail_server_that_is_down_delays_a_notice_and_never_loses_it(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    port = free_port()  # nothing listens here yet
    notices_to(app, f"smtp://127.0.0.1:{port}")
    set_email(auth, "admin", ADMIN_EMAIL)
    sent_client(app, NAME)
    assert "1 notice(s) to try again later" in send(app, exit_code=1)
    (notice,) = waiting(app)
    assert notice.tries == 1
    assert notice.last_error == "could not reach the mail server (ConnectionRefusedError)"
    assert notice.send_after > utcnow() + timedelta(seconds=50), "not again at once"
    assert "Sent 0 email(s); 0 notice(s)" in send(app), "not due yet: not tried"
    change_notices(app, send_after=utcnow() - timedelta(seconds=1))
    box = Mailbox()
    controller = serve(box, port)
    try:
        send(app)
    finally:
        controller.stop()
    assert len(box.to(ADMIN_EMAIL)) == 1
    assert waiting(app) == []


@pytest.mark.parametrize("security", ["smtp+starttls", "smtps"])
def test_notices_go_over_tls_to_a_server_the_settings_trust(
    app: Flask,
    team: Team,
    auth: StaffBrowser,
    certificate: tuple[Path, Path],
    security: str,
) -> None:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box, port = Mailbox(), free_port()
    options = (
        {"tls_context": context, "require_starttls": True}
        if security == "smtp+starttls"
        else {"ssl_context": context}
    )
    controller = serve(box, port, **options)
    try:
        set_email(auth, "admin", ADMIN_EMAIL)
        notices_to(app, f"{security}://localhost:{port}")  # the system's CAs only
        sent_client(app, NAME)
        send(app, exit_code=1)
        assert box.received == [], "an unknown certificate is not trusted"
        (notice,) = waiting(app)
        assert notice.last_error is not None
        assert "SSLCertVerificationError" in notice.last_error
        notices_to(app, f"{security}://localhost:{port}", ca_file=cert)
        change_notices(app, send_after=utcnow())
        send(app)
        assert len(box.to(ADMIN_EMAIL)) == 1
    finally:
        controller.stop()


def test_without_a_mail_server_nothing_is_queued(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    set_email(auth, "admin", ADMIN_EMAIL)
    sent_client(app, NAME)
    assert waiting(app) == []
    assert "Notices are off" in send(app)


def test_an_address_that_is_not_one_is_refused_kindly(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    browser = auth.sign_in("admin")
    browser.get("/account/notices")
    response = staff_post(browser, "/account/notices", {"email": "not an address"})
    assert response.status_code == 400
    assert "Write an email address like name@example.org" in response.get_data(as_text=True)
    assert 'value="not an address"' in response.get_data(as_text=True), "nothing typed is lost"


@pytest.mark.parametrize(
    "url",
    ["smtp://mail.example.org:25", "http://mail.example.org", "smtps://", "smtp://10.0.0.5"],
)
def test_a_mail_server_setting_that_would_not_protect_the_mail_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="SMTP_URL"):
        notices.MailServer.from_url(url, FROM)


def test_operators_see_what_waits_and_why_and_nothing_about_anyone(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    notices_to(app, f"smtp://127.0.0.1:{free_port()}")  # nothing listens: every try fails
    set_email(auth, "admin", ADMIN_EMAIL)
    person = sent_client(app, NAME)
    admin = auth.sign_in("admin")
    assert "/notices/queue" in admin.get("/account/notices").get_data(as_text=True)
    for _try in range(notices.FAILING_AFTER):
        send(app, exit_code=1)
        change_notices(app, send_after=utcnow())
    page = admin.get("/notices/queue").get_data(as_text=True)
    assert "Answers sent, waiting for a coach" in page
    assert "could not reach the mail server (ConnectionRefusedError)" in page
    assert "failing" in page
    for private in (NAME, person.id):
        assert private not in page
    assert auth.sign_in("coach").get("/notices/queue").status_code == 404, "admins only"


def test_a_sent_notice_is_forgotten_after_thirty_days(
    app: Flask, team: Team, auth: StaffBrowser, relay: Mailbox
) -> None:
    set_email(auth, "admin", ADMIN_EMAIL)
    sent_client(app, NAME)
    send(app)
    assert len(relay.received) == 1
    change_notices(app, sent_at=utcnow() - timedelta(days=31))
    send(app)
    with app.app_context():
        assert db_session().scalars(select(Notice)).all() == []


def choose(auth: StaffBrowser, username: str, email: str, **kinds: str) -> None:
    browser = auth.sign_in(username)
    browser.get("/account/notices")
    response = staff_post(browser, "/account/notices", {"email": email, **kinds})
    assert response.status_code == 200, response.get_data(as_text=True)


def test_never_means_no_notice_of_that_kind(
    app: Flask, team: Team, auth: StaffBrowser, relay: Mailbox
) -> None:
    choose(auth, "admin", ADMIN_EMAIL, intake_waiting="never", assigned="at_once")
    choose(auth, "coach", COACH_EMAIL, assigned="at_once")
    person = sent_client(app, NAME)
    assert waiting(app) == [], "the admin said never for sent answers"
    assign(auth.sign_in("admin"), person.id, team.ids["coach"])
    send(app)
    assert [rcpt for rcpt, _raw in relay.received] == [[COACH_EMAIL]]


def test_once_a_day_waits_for_the_morning_and_comes_as_one_email(
    app: Flask, team: Team, auth: StaffBrowser, relay: Mailbox
) -> None:
    app.config["NOTICE_DIGEST_HOUR"] = 8
    choose(auth, "admin", ADMIN_EMAIL, intake_waiting="daily")
    for number in range(2):
        sent_client(app, f"{NAME} {number}")
    queued = waiting(app)
    assert len(queued) == 2
    morning = notices.next_digest(utcnow(), 8)
    assert {notice.send_after for notice in queued} == {morning}
    assert morning.hour == 8
    assert morning > utcnow()
    send(app)
    assert relay.received == [], "not before the morning"
    change_notices(app, send_after=utcnow() - timedelta(seconds=1))
    send(app)
    assert len(relay.to(ADMIN_EMAIL)) == 1, "the day's notices in one email"


def test_the_organisation_sets_how_notices_come_to_those_who_have_not_chosen(
    app: Flask, team: Team, auth: StaffBrowser, relay: Mailbox
) -> None:
    app.config["NOTICE_DEFAULTS"] = {"intake_waiting": "never", "assigned": "at_once"}
    set_email(auth, "admin", ADMIN_EMAIL)
    page = auth.sign_in("admin").get("/account/notices").get_data(as_text=True)
    assert 'checked id="intake_waiting-2"' in page, "the page shows the default: never"
    sent_client(app, NAME)
    assert waiting(app) == []


def test_what_someone_does_with_their_coach_tells_the_coach_and_only_that(
    app: Flask, team: Team, auth: StaffBrowser, relay: Mailbox
) -> None:
    set_email(auth, "coach", COACH_EMAIL)
    person = sent_client(app, NAME)
    assign_in_database(app, person.id, team.ids["coach"])
    coach = auth.sign_in("coach")
    assert staff_post(coach, f"/clients/{person.id}/relationship", {}).status_code == 302
    phone = person.phone
    phone.get("/before-a-session")
    phone.post("/before-a-session", {"goal": "Talk about the night shifts"})
    phone.get("/agreement")
    phone.post(
        "/agreement",
        {"kind": "relationship", "response": "change_requested", "version": "1",
         "note": "Fewer calls please"},
    )  # fmt: skip
    phone.get("/review")
    phone.post("/review", {"working": "The walks by the river"})
    assert sorted(notice.kind for notice in waiting(app)) == [
        "change_asked",
        "check_in",
        "review_sent",
    ]
    send(app)
    (raw,) = relay.to(COACH_EMAIL)
    for private in (NAME, "night shifts", "Fewer calls", "walks by the river"):
        assert private.encode() not in raw
    (later,) = waiting(app)
    assert later.kind == "review_sent", "reviews come once a day unless the coach chooses"


# --- what comes with time: a review come due, consent by voice still waiting ----------------


def send_at(app: Flask, now: datetime) -> None:
    """What the timer's `flask notices send` does at `now`: queue what has come due by then,
    and send every notice due by then."""
    with app.app_context():
        db = db_session()
        tell.tell_due(db, now)
        db.commit()
        server = mail_server()
        assert server is not None
        notices.send_due(
            db, server, app.config["STAFF_SITE_NAME"], "https://staff.example/sign-in", now=now
        )


def coached(app: Flask, team: Team, coach: str = "coach") -> MadeClient:
    """Someone who sent their answers and whom this coach coaches (set in the database: the
    "given to you" notice is another test's)."""
    person = sent_client(app, NAME)
    assign_in_database(app, person.id, team.ids[coach])
    return person


def session_without_check_in(auth: StaffBrowser, person: MadeClient) -> None:
    coach = auth.sign_in("coach")
    response = staff_post(coach, f"/clients/{person.id}/sessions", {"agreed": "A walk"})
    assert response.status_code == 302, response.get_data(as_text=True)


def by_voice(auth: StaffBrowser, person: MadeClient, reason: str) -> None:
    """The coach writes down that the person said yes to being contacted, on the phone."""
    data = {"purpose": "contact", "decision": "granted", "reason": reason}
    coach = auth.sign_in("coach")
    assert staff_post(coach, f"/clients/{person.id}/consent", data).status_code == 302


def test_a_review_that_comes_due_tells_the_coach_once_until_the_next_one_falls_due(
    app: Flask, team: Team, auth: StaffBrowser, relay: Mailbox
) -> None:
    app.config.update(REVIEW_EVERY_SESSIONS=1, REVIEW_EVERY_DAYS=42)
    choose(auth, "coach", COACH_EMAIL, review_due="at_once", review_sent="never")
    choose(auth, "coach2", OTHER_COACH_EMAIL, review_due="at_once")
    person = coached(app, team)
    send(app)
    assert relay.received == [], "coaching has not begun: no review is due"

    session_without_check_in(auth, person)  # one session: with a review every session, due
    assert "Sent 1 email(s)" in send(app)
    (raw,) = relay.to(COACH_EMAIL)
    assert b"There is something in Groundwork for you." in raw
    says_nothing_about(raw, person, "A walk", "review")
    assert relay.to(OTHER_COACH_EMAIL) == [], "only the person's own coach is told"

    send(app)
    send_at(app, utcnow() + timedelta(days=1))
    send_at(app, utcnow() + timedelta(days=30))
    assert len(relay.to(COACH_EMAIL)) == 1, "still the same review due: told once"

    person.phone.get("/review")
    person.phone.post("/review", {"working": "The walks"})
    send_at(app, utcnow() + timedelta(days=1))
    assert len(relay.to(COACH_EMAIL)) == 1, "the next review is not due yet"
    send_at(app, utcnow() + timedelta(days=43))
    assert len(relay.to(COACH_EMAIL)) == 2, "six weeks after the review, the next one is due"
    send_at(app, utcnow() + timedelta(days=44))
    assert len(relay.to(COACH_EMAIL)) == 2
    assert relay.to(OTHER_COACH_EMAIL) == []


def test_consent_recorded_by_voice_that_waits_two_weeks_tells_the_coach_once(
    app: Flask, team: Team, auth: StaffBrowser, relay: Mailbox
) -> None:
    assert app.config["VOICE_CONFIRM_REMIND_DAYS"] == 14
    choose(auth, "coach", COACH_EMAIL, voice_waiting="at_once")
    choose(auth, "coach2", OTHER_COACH_EMAIL, voice_waiting="at_once")
    person = coached(app, team)
    reason = "They said yes on the phone on Tuesday"
    by_voice(auth, person, reason)
    send_at(app, utcnow() + timedelta(days=13))
    assert relay.received == [], "not yet: they may still come and confirm it"

    send_at(app, utcnow() + timedelta(days=14, minutes=1))
    (raw,) = relay.to(COACH_EMAIL)
    says_nothing_about(raw, person, reason, "contact", "consent")
    assert relay.to(OTHER_COACH_EMAIL) == []
    send_at(app, utcnow() + timedelta(days=15))
    send_at(app, utcnow() + timedelta(days=60))
    assert len(relay.received) == 1, "told once for this decision, not every day"

    by_voice(auth, person, "They said yes again, on Friday")  # a new decision waits afresh
    send_at(app, utcnow() + timedelta(days=14, minutes=1))
    assert len(relay.received) == 2


def test_consent_by_voice_the_person_confirmed_tells_nobody(
    app: Flask, team: Team, auth: StaffBrowser, relay: Mailbox
) -> None:
    choose(auth, "coach", COACH_EMAIL, voice_waiting="at_once")
    person = coached(app, team)
    by_voice(auth, person, "They said yes on the phone")
    come_back(app, person)
    person.phone.get("/decide-again")
    person.phone.post("/decide-again", {"purpose": "contact", "decision": "granted"})
    assert person.phone.get("/decide-again", status=302).headers["Location"] == "/your-space"
    send_at(app, utcnow() + timedelta(days=15))
    assert relay.received == []


def test_a_coach_who_chose_never_hears_nothing_of_what_comes_due(
    app: Flask, team: Team, auth: StaffBrowser, relay: Mailbox
) -> None:
    app.config["REVIEW_EVERY_SESSIONS"] = 1
    page = auth.sign_in("coach").get("/account/notices").get_data(as_text=True)
    assert "When an “are we on track?” review with someone you coach comes due" in page
    assert "When consent you recorded by voice still waits for the person to confirm it" in page
    choose(auth, "coach", COACH_EMAIL, review_due="never", voice_waiting="never")
    person = coached(app, team)
    session_without_check_in(auth, person)
    by_voice(auth, person, "They said yes on the phone")
    send_at(app, utcnow() + timedelta(days=15))
    assert relay.received == []
    assert waiting(app) == []


def test_nobody_hears_of_a_record_that_is_closed_or_no_longer_shared(
    app: Flask, team: Team, auth: StaffBrowser, relay: Mailbox
) -> None:
    app.config["REVIEW_EVERY_SESSIONS"] = 1
    choose(auth, "coach", COACH_EMAIL, review_due="at_once", voice_waiting="at_once")
    closed, withdrawn = coached(app, team), coached(app, team)
    for person in (closed, withdrawn):
        session_without_check_in(auth, person)
        by_voice(auth, person, "They said yes on the phone")
    with app.app_context():
        db = db_session()
        db.execute(update(Client).where(Client.id == closed.id).values(status="closed"))
        db.execute(update(Client).where(Client.id == withdrawn.id).values(shared_at=None))
        db.commit()
    send_at(app, utcnow() + timedelta(days=15))
    assert relay.received == [], "their coach no longer sees them: nothing waits there"
