"""Webhooks to partners (docs/webhooks.md), against a real HTTPS receiver on loopback with a
certificate made for the test: a caseworker's system hears when a referral's status changes,
signed per Standard Webhooks (checked with the `standardwebhooks` package, the specification's
own verifier), and only the statuses the person agreed to share. Nothing goes before they agree
or after they stop; a receiver that fails is tried again later; one that is gone is left alone;
an address inside a private network is refused when registered and when sent to.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema_rs
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from standardwebhooks import Webhook
from support.app import invoke
from support.journey import Phone, fill, section_at
from support.pages import csrf
from support.referrals import arrive, begin_referred, client_of, my_choice, refer
from support.staff import StaffBrowser, assign
from support.team import Team
from support.tls import free_port, localhost_certificate
from test_referrals import set_status
from werkzeug.test import TestResponse

from intake import outbound
from intake.db import db_session
from intake.models import ClientStatus, WebhookDelivery, WebhookEndpoint, utcnow

DOCS = Path(__file__).resolve().parent.parent / "docs"
OPENAPI = json.loads((Path(__file__).resolve().parent.parent / "docs" / "openapi.json").read_text())
SECRET_SHOWN = re.compile(r"<bdi>(whsec_[A-Za-z0-9+/=]+)</bdi>")
NICKNAME = "Zeynep Quillfeather"
NOTE = "Lives with her aunt near the station"
TYPED_NAME = "Mariam Oakhollow"
STATUS = "status_to_referrer"


# --- a partner's receiver -------------------------------------------------------------------------


@dataclass
class Heard:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A partner's HTTPS receiver: it writes down every request and answers each with the next
    of `answers` (200 once they run out)."""

    port: int
    heard: list[Heard] = field(default_factory=list)
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}/groundwork/hooks"

    def answer(self, status: int, **headers: str) -> None:
        self.answers.append((status, headers))

    def bodies(self) -> list[dict[str, object]]:
        return [json.loads(each.body) for each in self.heard]


def serve(receiver: Receiver, certificate: tuple[Path, Path]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.heard.append(Heard(self.path, dict(self.headers.items()), body))
            status, headers = receiver.answers.pop(0) if receiver.answers else (200, {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(certificate[0]), str(certificate[1]))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    return localhost_certificate(tmp_path, "receiver")


@pytest.fixture
def receiver(app: Flask, certificate: tuple[Path, Path]) -> Iterator[Receiver]:
    """A receiver on loopback that the app trusts (its certificate) and may send to (tests
    allow a loopback address; production never does)."""
    app.config.update(WEBHOOK_CA_FILE=str(certificate[0]), WEBHOOKS_ALLOW_PRIVATE=True)
    listening = Receiver(free_port())
    server = serve(listening, certificate)
    yield listening
    server.shutdown()
    server.server_close()


# --- helpers --------------------------------------------------------------------------------------


def add_address(partner: FlaskClient, url: str, status: int = 200) -> str:
    """Add an address on the partner's page; the secret it shows once (or the page, refused)."""
    response = partner.post(
        "/partner/webhooks",
        data={"url": url, "csrf_token": csrf(partner, "/partner/webhooks")},
    )
    page = response.get_data(as_text=True)
    assert response.status_code == status, page
    if status != 200:
        return page
    shown = SECRET_SHOWN.search(page)
    assert shown, page
    return shown.group(1)


def press(partner: FlaskClient, action: str) -> TestResponse:
    """Press one of the Webhooks page's buttons (a form with only its CSRF token)."""
    return partner.post(action, data={"csrf_token": csrf(partner, "/partner/webhooks")})


def press_on_address(app: Flask, partner: FlaskClient, action: str) -> TestResponse:
    """Press a button beside the organisation's one address: test, secret or remove."""
    with app.app_context():
        endpoint_id = db_session().scalars(select(WebhookEndpoint.id)).one()
    return press(partner, f"/partner/webhooks/{endpoint_id}/{action}")


def send(app: Flask, exit_code: int = 0) -> str:
    result = invoke(app, "notices", "send")
    assert result.exit_code == exit_code, result.output
    return result.output


def verified(receiver: Receiver, secret: str) -> list[dict[str, object]]:
    """Every message heard, each checked as Standard Webhooks says a receiver should."""
    return [Webhook(secret).verify(each.body, each.headers) for each in receiver.heard]


def as_documented(receiver: Receiver) -> None:
    """Each message is what docs/openapi.json's `webhooks` say: its body, and its headers."""
    schemas = OPENAPI["components"]["schemas"]
    named = {"referral.status_changed": "StatusChanged", "webhook.test": "WebhookTest"}
    documented = OPENAPI["webhooks"]["referralStatusChanged"]["post"]["parameters"]
    for each in receiver.heard:
        body = json.loads(each.body)
        jsonschema_rs.Draft202012Validator(schemas[named[body["type"]]]).validate(body)
        assert each.headers["Content-Type"] == "application/json"
        for header in documented:
            pattern = header["schema"]["pattern"]
            assert re.fullmatch(pattern, each.headers[header["name"]]), header["name"]


def statuses_heard(receiver: Receiver) -> list[object]:
    return [body["data"]["status"] for body in receiver.bodies()]  # type: ignore[index]


def waiting(app: Flask) -> list[WebhookDelivery]:
    with app.app_context():
        return list(
            db_session().scalars(
                select(WebhookDelivery).where(
                    WebhookDelivery.delivered_at.is_(None), WebhookDelivery.given_up_at.is_(None)
                )
            )
        )


def bring_forward(app: Flask) -> None:
    """Make every waiting message due now (the clock is not turned; the rows are)."""
    with app.app_context():
        db = db_session()
        db.execute(update(WebhookDelivery).values(send_after=utcnow() - timedelta(seconds=1)))
        db.commit()


def referred_person(app: Flask, partner: FlaskClient, agrees: str | None) -> tuple[Phone, str]:
    """Someone the partner refers, who opens the link and answers the first choices."""
    made = refer(partner, nickname=NICKNAME, note=NOTE)
    phone = Phone(app)
    arrive(phone, made.token)
    begin_referred(phone, agrees)
    return phone, made.reference


def send_answers(phone: Phone) -> None:
    phone.save_page(1, {**fill(section_at(1)), "name": TYPED_NAME})
    phone.get("/check")
    assert phone.post("/send", {}).headers["Location"] == "/sent"


def coach_of(app: Flask, auth: StaffBrowser, team: Team, reference: str) -> tuple[FlaskClient, str]:
    person = client_of(app, reference)
    assert person is not None
    assign(auth.sign_in("admin"), person.id, team.ids["coach"])
    return auth.sign_in("coach"), person.id


# --- the partner's page ---------------------------------------------------------------------------


def test_a_partner_adds_an_address_and_sees_its_secret_once(
    app: Flask, auth: StaffBrowser, receiver: Receiver
) -> None:
    partner = auth.sign_in("partner")
    secret = add_address(partner, receiver.url)
    assert secret.startswith("whsec_")

    again = partner.get("/partner/webhooks").get_data(as_text=True)
    assert receiver.url in again
    assert secret not in again, "the secret is shown once only"
    with app.app_context():
        stored = db_session().scalars(select(WebhookEndpoint.secret_ct)).one()
    assert secret.encode() not in stored
    assert Webhook(secret)._whsecret not in stored, "kept encrypted, never as it is"

    twice = add_address(partner, receiver.url, status=400)
    assert "This address is already on your list." in twice


def test_a_status_the_person_shares_arrives_signed_and_says_nothing_about_them(
    app: Flask, team: Team, auth: StaffBrowser, receiver: Receiver
) -> None:
    partner = auth.sign_in("partner")
    secret = add_address(partner, receiver.url)
    phone, reference = referred_person(app, partner, agrees="yes")
    send_answers(phone)
    assert receiver.heard == [], "a page only queues a message; it never waits for a partner"

    output = send(app)
    assert "2 delivered" in output
    messages = verified(receiver, secret)
    assert [m["type"] for m in messages] == ["referral.status_changed"] * 2
    assert [m["data"] for m in messages] == [
        {"reference": reference, "status": "started"},
        {"reference": reference, "status": "sent"},
    ]
    assert all(set(m) == {"type", "timestamp", "data"} for m in messages)
    assert {each.path for each in receiver.heard} == {"/groundwork/hooks"}
    assert len({each.headers["webhook-id"] for each in receiver.heard}) == 2
    as_documented(receiver)

    coach, client_id = coach_of(app, auth, team, reference)
    set_status(coach, client_id, ClientStatus.ACTIVE)
    send(app)
    assert statuses_heard(receiver) == ["started", "sent", "first_session_agreed"]
    verified(receiver, secret)

    everything = b"".join(
        each.body + json.dumps(each.headers).encode() for each in receiver.heard
    ).lower()
    for private in (NICKNAME, NOTE, TYPED_NAME, client_id, "english", '"en"'):
        assert private.lower().encode() not in everything, private
    assert send(app).count("0 delivered") == 1, "each status is told once"


def test_the_verification_example_in_the_docs_checks_a_real_message(
    app: Flask, auth: StaffBrowser, receiver: Receiver
) -> None:
    """docs/webhooks.md shows a partner how to check a signature without a library: it must say
    yes to what Groundwork sends, and no to the same message changed."""
    example = re.search(r"```python\n(.*?)```", (DOCS / "webhooks.md").read_text(), re.S)
    assert example, "no Python example in docs/webhooks.md"
    namespace: dict[str, object] = {}
    exec(compile(example.group(1), "docs/webhooks.md", "exec"), namespace)  # noqa: S102
    verify = namespace["verify"]
    assert callable(verify)

    partner = auth.sign_in("partner")
    secret = add_address(partner, receiver.url)
    referred_person(app, partner, agrees="yes")
    send(app)
    (heard,) = receiver.heard
    headers = {name.lower(): value for name, value in heard.headers.items()}
    assert verify(secret, headers, heard.body) is True
    assert verify(secret, headers, heard.body.replace(b"started", b"closed!")) is False
    assert verify("whsec_" + "A" * 43 + "=", headers, heard.body) is False
    old = {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) - 600)}
    assert verify(secret, old, heard.body) is False


def test_a_tampered_or_old_message_does_not_verify(
    app: Flask, auth: StaffBrowser, receiver: Receiver
) -> None:
    """What a partner's check catches: the signature covers the id, the time and the body."""
    partner = auth.sign_in("partner")
    secret = add_address(partner, receiver.url)
    referred_person(app, partner, agrees="yes")
    send(app)
    (heard,) = receiver.heard
    assert Webhook(secret).verify(heard.body, heard.headers)
    wrong_secret = "whsec_" + "A" * 43 + "="
    changed_body = heard.body.replace(b"started", b"closed!")
    old = {**heard.headers, "webhook-timestamp": str(int(heard.headers["webhook-timestamp"]) - 600)}
    other_id = {**heard.headers, "webhook-id": "msg_someone-else"}
    for body, headers, secret_used in (
        (heard.body, heard.headers, wrong_secret),
        (changed_body, heard.headers, secret),
        (heard.body, old, secret),
        (heard.body, other_id, secret),
    ):
        with pytest.raises(Exception, match=r"signature|timestamp"):
            Webhook(secret_used).verify(body, headers)


# --- only what the person agreed to ---------------------------------------------------------------


def test_no_status_goes_before_the_person_agrees_nor_after_they_stop(
    app: Flask, team: Team, auth: StaffBrowser, receiver: Receiver
) -> None:
    partner = auth.sign_in("partner")
    secret = add_address(partner, receiver.url)
    phone, reference = referred_person(app, partner, agrees="no")
    send_answers(phone)
    send(app)
    assert receiver.heard == [], "they said no: nothing, not even that they started"
    assert waiting(app) == []

    # On "Your choices" they say yes: the partner hears where things stand now, once.
    my_choice(phone, STATUS, "granted")
    send(app)
    assert statuses_heard(receiver) == ["sent"]
    verified(receiver, secret)

    # A status is queued, then they stop sharing before it goes: it is never sent.
    coach, client_id = coach_of(app, auth, team, reference)
    set_status(coach, client_id, ClientStatus.ACTIVE)
    assert len(waiting(app)) == 1
    my_choice(phone, STATUS, "withdrawn")
    assert waiting(app) == [], "what waited is deleted when they stop"
    send(app)
    set_status(coach, client_id, ClientStatus.CLOSED)
    send(app)
    assert statuses_heard(receiver) == ["sent"], "nothing after they stopped"


def test_a_message_checks_the_persons_choice_again_just_before_it_goes(
    app: Flask, team: Team, auth: StaffBrowser, receiver: Receiver
) -> None:
    """However the choice changed (here: straight in the database, as a consent recorded some
    other way would), a message whose person no longer shares is withheld at sending time."""
    partner = auth.sign_in("partner")
    add_address(partner, receiver.url)
    _phone, reference = referred_person(app, partner, agrees="yes")
    person = client_of(app, reference)
    assert person is not None
    with app.app_context():
        db = db_session()
        db.execute(
            update(type(person)).where(type(person).id == person.id).values(status_shared_at=None)
        )
        db.commit()
    assert "1 withheld" in send(app)
    assert receiver.heard == []
    assert waiting(app) == []


# --- when the receiver fails ----------------------------------------------------------------------


def test_a_receiver_that_fails_is_tried_again_later_with_the_same_id(
    app: Flask, auth: StaffBrowser, receiver: Receiver
) -> None:
    partner = auth.sign_in("partner")
    secret = add_address(partner, receiver.url)
    receiver.answer(500)
    referred_person(app, partner, agrees="yes")

    assert "1 to try again later" in send(app, exit_code=1)
    (message,) = waiting(app)
    assert message.tries == 1
    assert message.last_error == "HTTP 500"
    assert message.send_after >= utcnow() + timedelta(seconds=50), "not before a minute"
    assert "HTTP 500" in partner.get("/partner/webhooks").get_data(as_text=True)

    send(app)  # not due yet: nothing is tried
    assert len(receiver.heard) == 1
    bring_forward(app)
    assert "1 delivered" in send(app)
    first, second = receiver.heard
    assert first.headers["webhook-id"] == second.headers["webhook-id"], "one message, two tries"
    assert [m["data"] for m in verified(receiver, secret)] == [
        {"reference": m["data"]["reference"], "status": "started"}  # type: ignore[index]
        for m in receiver.bodies()
    ]
    assert waiting(app) == []
    assert "Arrived" in partner.get("/partner/webhooks").get_data(as_text=True)


def test_a_receiver_asking_for_a_pause_gets_it(
    app: Flask, auth: StaffBrowser, receiver: Receiver
) -> None:
    partner = auth.sign_in("partner")
    add_address(partner, receiver.url)
    receiver.answer(503, **{"Retry-After": "7200"})
    referred_person(app, partner, agrees="yes")
    send(app, exit_code=1)
    (message,) = waiting(app)
    assert message.send_after >= utcnow() + timedelta(hours=1, minutes=59)


def test_statuses_keep_their_order_when_the_first_is_late(
    app: Flask, team: Team, auth: StaffBrowser, receiver: Receiver
) -> None:
    partner = auth.sign_in("partner")
    secret = add_address(partner, receiver.url)
    receiver.answer(500)
    phone, _reference = referred_person(app, partner, agrees="yes")
    send(app, exit_code=1)  # "started" failed
    send_answers(phone)  # "sent" is queued behind it
    bring_forward(app)
    with app.app_context():
        db = db_session()
        db.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.tries == 1)
            .values(send_after=utcnow() + timedelta(hours=1))
        )
        db.commit()
    send(app)
    assert len(receiver.heard) == 1, "'sent' waits while 'started' has not arrived"
    bring_forward(app)
    send(app)
    assert statuses_heard(receiver) == ["started", "started", "sent"]
    verified(receiver, secret)


def test_a_receiver_that_is_down_delays_the_message_and_never_loses_it(
    app: Flask, auth: StaffBrowser, certificate: tuple[Path, Path]
) -> None:
    app.config.update(WEBHOOK_CA_FILE=str(certificate[0]), WEBHOOKS_ALLOW_PRIVATE=True)
    down = Receiver(free_port())
    partner = auth.sign_in("partner")
    secret = add_address(partner, down.url)
    referred_person(app, partner, agrees="yes")  # the person's pages work as ever

    send(app, exit_code=1)
    (message,) = waiting(app)
    assert message.last_error == "Could not connect (ConnectionRefusedError)"

    server = serve(down, certificate)  # the partner's system is back
    try:
        bring_forward(app)
        send(app)
    finally:
        server.shutdown()
        server.server_close()
    assert statuses_heard(down) == ["started"]
    verified(down, secret)


def test_a_receiver_that_is_gone_is_not_sent_to_again(
    app: Flask, auth: StaffBrowser, receiver: Receiver
) -> None:
    partner = auth.sign_in("partner")
    add_address(partner, receiver.url)
    receiver.answer(410)
    phone, _reference = referred_person(app, partner, agrees="yes")
    send(app)
    send_answers(phone)
    send(app)
    assert len(receiver.heard) == 1
    assert waiting(app) == []
    page = partner.get("/partner/webhooks").get_data(as_text=True)
    assert "no longer wants messages (410 Gone)" in page


def test_a_redirect_is_not_followed(
    app: Flask, auth: StaffBrowser, receiver: Receiver, certificate: tuple[Path, Path]
) -> None:
    elsewhere = Receiver(free_port())
    server = serve(elsewhere, certificate)
    try:
        partner = auth.sign_in("partner")
        add_address(partner, receiver.url)
        receiver.answer(307, Location=elsewhere.url)
        referred_person(app, partner, agrees="yes")
        send(app, exit_code=1)
    finally:
        server.shutdown()
        server.server_close()
    assert elsewhere.heard == []
    (message,) = waiting(app)
    assert message.last_error == "HTTP 307"


def test_the_test_button_sends_a_signed_message_with_nothing_in_it(
    app: Flask, auth: StaffBrowser, receiver: Receiver
) -> None:
    partner = auth.sign_in("partner")
    secret = add_address(partner, receiver.url)
    response = press_on_address(app, partner, "test")
    assert response.status_code == 302
    shown = partner.get(response.headers["Location"]).get_data(as_text=True)
    assert "A test message is on its way." in shown
    send(app)
    (message,) = verified(receiver, secret)
    assert message["type"] == "webhook.test"
    assert message["data"] == {}
    as_documented(receiver)


def test_a_new_secret_signs_beside_the_old_one_for_a_day(
    app: Flask, auth: StaffBrowser, receiver: Receiver
) -> None:
    """Standard Webhooks' rotation: while the partner's system changes over, each message is
    signed with both secrets, so either checks it; after a day, only the new one does."""
    partner = auth.sign_in("partner")
    old_secret = add_address(partner, receiver.url)
    response = press_on_address(app, partner, "secret")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert "Your old secret keeps working for 24 hours." in page
    shown = SECRET_SHOWN.search(page)
    assert shown
    new_secret = shown.group(1)
    assert new_secret != old_secret
    assert new_secret not in partner.get("/partner/webhooks").get_data(as_text=True)

    phone, _reference = referred_person(app, partner, agrees="yes")
    send(app)
    (heard,) = receiver.heard
    assert len(heard.headers["webhook-signature"].split()) == 2
    assert Webhook(new_secret).verify(heard.body, heard.headers)
    assert Webhook(old_secret).verify(heard.body, heard.headers)

    with app.app_context():
        db = db_session()
        db.execute(update(WebhookEndpoint).values(previous_until=utcnow()))
        db.commit()
    send_answers(phone)
    send(app)
    latest = receiver.heard[-1]
    assert len(latest.headers["webhook-signature"].split()) == 1
    assert Webhook(new_secret).verify(latest.body, latest.headers)
    with pytest.raises(Exception, match=r"signature"):
        Webhook(old_secret).verify(latest.body, latest.headers)


def test_a_given_up_message_can_be_sent_again(
    app: Flask, auth: StaffBrowser, receiver: Receiver
) -> None:
    partner = auth.sign_in("partner")
    secret = add_address(partner, receiver.url)
    for _ in range(10):
        receiver.answer(500)
    referred_person(app, partner, agrees="yes")
    for _ in range(10):
        send(app, exit_code=1 if len(receiver.heard) < 9 else 0)
        bring_forward(app)
    assert len(receiver.heard) == 10
    assert waiting(app) == []
    page = partner.get("/partner/webhooks").get_data(as_text=True)
    assert "Given up" in page
    with app.app_context():
        message_id = db_session().scalars(select(WebhookDelivery.id)).one()
    response = press(partner, f"/partner/webhooks/messages/{message_id}/again")
    assert response.status_code == 302
    assert "1 delivered" in send(app)
    assert statuses_heard(receiver)[-1] == "started"
    assert Webhook(secret).verify(receiver.heard[-1].body, receiver.heard[-1].headers)
    assert "Arrived" in partner.get("/partner/webhooks").get_data(as_text=True)


def test_a_removed_address_hears_nothing_more(
    app: Flask, auth: StaffBrowser, receiver: Receiver
) -> None:
    partner = auth.sign_in("partner")
    add_address(partner, receiver.url)
    receiver.answer(500)
    phone, _reference = referred_person(app, partner, agrees="yes")
    send(app, exit_code=1)
    response = press_on_address(app, partner, "remove")
    assert response.status_code == 302
    assert waiting(app) == []
    bring_forward(app)
    send_answers(phone)
    send(app)
    assert len(receiver.heard) == 1
    assert "Removed" in partner.get("/partner/webhooks").get_data(as_text=True)


def test_operators_see_a_failing_message_without_anything_about_the_person(
    app: Flask, team: Team, auth: StaffBrowser, receiver: Receiver
) -> None:
    partner = auth.sign_in("partner")
    add_address(partner, receiver.url)
    for _ in range(3):
        receiver.answer(500)
    _phone, reference = referred_person(app, partner, agrees="yes")
    for _ in range(3):
        send(app, exit_code=1)
        bring_forward(app)
    page = auth.sign_in("admin").get("/notices/queue").get_data(as_text=True)
    section = page[page.index("Messages to partners") :]
    assert "HTTP 500" in section
    assert "failing" in section
    assert receiver.url in section
    assert reference not in page
    assert NICKNAME not in page


# --- never into a private network (SSRF) ----------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "https://127.0.0.1/hooks",
        "https://localhost/hooks",
        "https://10.1.2.3/hooks",
        "https://172.16.0.9/hooks",
        "https://192.168.1.20/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/hooks",
        "https://0.0.0.0/hooks",
        "https://[::1]/hooks",
        "https://[fd00::5]/hooks",
        "https://[fe80::1]/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://[::ffff:10.0.0.1]/hooks",
        "https://[2002:a00:1::]/hooks",
        "https://224.0.0.1/hooks",
    ],
)
def test_an_address_inside_a_private_network_is_refused(address: str) -> None:
    with pytest.raises(outbound.Refused) as refused:
        outbound.check(address)
    assert refused.value.reason == outbound.Reason.PRIVATE


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("http://93.184.215.14/hooks", outbound.Reason.NOT_HTTPS),
        ("https://user:pw@93.184.215.14/hooks", outbound.Reason.CREDENTIALS),
        ("https:///hooks", outbound.Reason.NO_HOST),
        ("https://93.184.215.14/hooks#part", outbound.Reason.FRAGMENT),
        ("https://93.184.215.14/ho oks", outbound.Reason.SPACES),
        ("https://93.184.215.14:99999/hooks", outbound.Reason.NOT_AN_ADDRESS),
        ("https://93.184.215.14/" + "a" * 500, outbound.Reason.TOO_LONG),
        ("gopher://93.184.215.14/", outbound.Reason.NOT_HTTPS),
    ],
)
def test_an_address_we_cannot_use_says_why(address: str, reason: outbound.Reason) -> None:
    with pytest.raises(outbound.Refused) as refused:
        outbound.check(address)
    assert refused.value.reason == reason


@pytest.mark.parametrize(
    "address", ["https://93.184.215.14/hooks", "https://[2606:4700:4700::1111]:8443/hooks?a=1"]
)
def test_a_public_address_is_taken(address: str) -> None:
    assert outbound.check(address).target.startswith("/hooks")


def test_the_page_refuses_a_private_address_in_production_settings(
    app: Flask, auth: StaffBrowser, receiver: Receiver
) -> None:
    app.config.update(WEBHOOKS_ALLOW_PRIVATE=False)
    partner = auth.sign_in("partner")
    page = add_address(partner, receiver.url, status=400)
    assert "This address leads inside a private network." in page
    with app.app_context():
        assert db_session().scalars(select(WebhookEndpoint)).all() == []


def test_a_secret_that_no_longer_opens_delays_the_message_and_says_why(
    app: Flask, auth: StaffBrowser, receiver: Receiver
) -> None:
    """A changed pepper (the key the secrets are kept under comes from it) is an operator's
    mistake to mend, never a message sent unsigned or a run that stops."""
    partner = auth.sign_in("partner")
    add_address(partner, receiver.url)
    referred_person(app, partner, agrees="yes")
    with app.app_context():
        db = db_session()
        db.execute(update(WebhookEndpoint).values(secret_ct=b"\x01" * 60))
        db.commit()
    send(app, exit_code=1)
    assert receiver.heard == []
    (message,) = waiting(app)
    assert message.last_error == "The signing secret does not open: was LOOKUP_PEPPER changed?"


def test_sending_refuses_an_address_that_leads_inside_now(
    app: Flask, auth: StaffBrowser, receiver: Receiver
) -> None:
    """An address checked when it was added is checked again at every try (DNS can change)."""
    partner = auth.sign_in("partner")
    add_address(partner, receiver.url)
    referred_person(app, partner, agrees="yes")
    app.config.update(WEBHOOKS_ALLOW_PRIVATE=False)
    send(app, exit_code=1)
    assert receiver.heard == []
    (message,) = waiting(app)
    assert (message.last_error or "").startswith("Refused")
