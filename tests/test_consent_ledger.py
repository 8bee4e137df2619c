"""The consent ledger, as the client, the coach, the admin and an attacker with the database see it.

Every decision has a receipt (a page and a download after a choice on "Your choices"; for every
decision, in the person's copy of everything we hold) whose fingerprint is the SHA-256 of the
very words they were shown on the page where they decided. A changed, removed or re-pointed
decision is caught by `flask consent verify`, which names the client. "No: delete everything"
erases the answers and both copies of the data key (nothing of them is left in the database
file), keeps a tombstone and the decisions, and leaves the person a receipt. New words ask
everyone who said yes to decide again; a choice a coach recorded by voice is shown to the
client, with the coach's reason, to confirm or withdraw. Contact details stay hidden from the
coach until the person agrees to be contacted. Every consent text exists in every shipped
language, and published words never change.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select
from sqlalchemy.exc import DBAPIError
from support.app import invoke, need
from support.clients import MadeClient, client_id_of, client_row, come_back, make_client
from support.consent import (
    CONTACT_PAGE,
    block_for,
    consent_blocks,
    consent_events,
    drop_append_only_triggers,
    label,
    receipts_for,
    restore_append_only_triggers,
    sha256,
)
from support.database import assert_not_stored, count_rows, database_bytes, raw_sql
from support.journey import Phone, fill, marker, section_at
from support.pages import page_text
from support.referrals import SHOWN, arrive, begin_referred, refer, statuses
from support.staff import StaffBrowser, assign, staff_post
from support.team import Team
from werkzeug.test import TestResponse

from intake import consent
from intake.db import db_session
from intake.models import Agreement, Answer, CheckIn, ConsentText, SessionRecord

INTACT = "Every consent record is complete"
HIDDEN_NOTICE = "Their phone number or email is hidden: they have not agreed to be contacted."
SHARE_V1 = (consent.TEXTS_FOLDER / "en" / "share_with_coach.v1.txt").read_text(encoding="utf-8")
NEW_SENTENCE = "Your coach may ask a more experienced coach for advice, without saying your name."


# --- helpers ------------------------------------------------------------------------------


ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _words(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", markup)).split())


def receipts_shown(response: TestResponse) -> list[dict[str, str]]:
    """The receipts page as a person reads it, newest first: each receipt's heading, each
    <dt> and its <dd>, and the address of its copy to save."""
    found = []
    markup = response.get_data(as_text=True)
    for block in re.findall(r'<section class="receipt">(.*?)</section>', markup, re.DOTALL):
        fields = {
            _words(dt): _words(dd)
            for dt, dd in re.findall(r"<dt>(.*?)</dt>\s*<dd[^>]*>(.*?)</dd>", block, re.DOTALL)
        }
        fields["heading"] = _words(re.search(r"<h2>(.*?)</h2>", block, re.DOTALL).group(1))  # type: ignore[union-attr]
        fields["download"] = re.search(r'<a href="([^"]+\.json)" download>', block).group(1)  # type: ignore[union-attr]
        found.append(fields)
    return found


def receipt_json(phone: Phone, path: str) -> dict[str, object]:
    response = phone.get(path)
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="consent-receipt.json"'
    )
    document = json.loads(response.get_data(as_text=True))
    assert isinstance(document, dict)
    return document


def newest_receipt(phone: Phone) -> tuple[dict[str, str], dict[str, object]]:
    """The newest receipt on the receipts page, and its copy to save."""
    shown = receipts_shown(phone.get("/receipts"))[0]
    return shown, receipt_json(phone, shown["download"])


def assert_receipt_page_matches_download(
    app: Flask, page: dict[str, str], document: dict[str, object]
) -> None:
    """What the receipts page shows is what the download holds, in words a person reads:
    a date in words (never a raw timestamp) and a short receipt number."""
    purpose = label(app, "PURPOSE", str(document["purpose"]))
    assert page["heading"] == f"{purpose}: {label(app, 'DECISION', str(document['decision']))}"
    at = datetime.fromisoformat(str(document["at"]))
    assert page["When"] == f"{at.day} {at:%B %Y}, {at:%H:%M}"
    assert not ISO_TIME.search(" ".join(page.values()))
    text = document["text"]
    assert isinstance(text, dict)
    assert page["The words you were shown"] == f"Version {text['version']}"
    assert page["Receipt number"] == document["receipt_number"]
    assert re.fullmatch(r"[0-9A-F]{4}-[0-9A-F]{4}", page["Receipt number"])
    assert str(document["entry_hash"]).upper().startswith(page["Receipt number"].replace("-", ""))
    assert sha256(str(text["words"])) == text["sha256"]


def shown_words_fingerprint(receipt: dict[str, object]) -> str:
    text = receipt["text"]
    assert isinstance(text, dict)
    return str(text["sha256"])


def verify(app: Flask) -> tuple[int, str]:
    result = invoke(app, "consent", "verify")
    return result.exit_code, result.output


def sent_and_assigned(app: Flask, team: Team, admin: FlaskClient, **kwargs: object) -> MadeClient:
    person = make_client(app, **kwargs)  # type: ignore[arg-type]
    assign(admin, person.id, team.ids["coach"])
    return person


def workspace_text(browser: FlaskClient) -> str:
    response = browser.get("/workspace")
    assert response.status_code == 200
    return response.get_data(as_text=True)


# --- receipts: the fingerprint is of the words on the page --------------------------------


def test_the_receipts_of_the_first_two_choices_fingerprint_the_words_on_the_agree_page(
    app: Flask, team: Team
) -> None:
    phone = Phone(app)
    phone.start()
    page = phone.get("/agree")
    blocks = consent_blocks(page)
    assert len(blocks) == 2
    shown = {"store_answers": blocks[0].words(), "share_with_coach": blocks[1].words()}
    assert 'name="store_answers"' in page.get_data(as_text=True)
    assert shown["store_answers"].startswith("Can we keep your answers?")
    assert shown["share_with_coach"].startswith("Can a coach read your answers?")
    assert (
        phone.post("/agree", {"store_answers": "yes", "share_with_coach": "no"}).headers["Location"]
        == "/your-code"
    )

    for purpose, decision in (("store_answers", "granted"), ("share_with_coach", "declined")):
        (receipt,) = receipts_for(phone, purpose)
        assert receipt["decision"] == decision
        assert receipt["recorded_by"] == "client"
        assert shown_words_fingerprint(receipt) == sha256(shown[purpose])
        assert receipt["text"]["words"] == shown[purpose]  # type: ignore[index]


def test_the_receipt_of_the_contact_question_fingerprints_the_words_on_page_three(
    app: Flask, team: Team
) -> None:
    person = make_client(app, pages=CONTACT_PAGE - 1, send=False)
    page = person.phone.get(f"/page/{CONTACT_PAGE}")
    (block,) = consent_blocks(page)
    assert block.question == "Can we contact you in the ways you chose?"
    answers = {**fill(section_at(CONTACT_PAGE)), "consent_choice": "yes"}
    person.phone.post(f"/page/{CONTACT_PAGE}", {**answers, "action": "continue"})

    (receipt,) = receipts_for(person.phone, "contact")
    assert receipt["decision"] == "granted"
    assert shown_words_fingerprint(receipt) == sha256(block.words())
    with app.app_context():
        (event,) = [e for e in consent_events(app, person.id) if e.purpose == "contact"]
        text = db_session().get(ConsentText, event.consent_text_id)
        assert text is not None
        assert text.sha256 == sha256(block.words())
        assert event.hash == receipt["entry_hash"]


def test_a_choice_on_my_choices_is_confirmed_and_its_receipt_reads_and_downloads_the_same(
    app: Flask, team: Team
) -> None:
    person = make_client(app, pages=1, send=False)
    phone = person.phone
    page = phone.get("/my-choices")
    block = block_for(page, "anonymous_statistics")
    assert "Not asked yet" in page_text(page)
    shown = block.words()
    assert shown.startswith("Can we count you in our numbers?")

    response = phone.post("/my-choices", {"purpose": "anonymous_statistics", "decision": "granted"})
    assert response.headers["Location"] == "/my-choices", "no page of receipts in the way"
    confirmed = page_text(phone.get("/my-choices"))
    assert "We saved your choice. Being counted in anonymous numbers: Yes." in confirmed
    fields, document = newest_receipt(phone)
    assert f"Receipt number {fields['Receipt number']}" in confirmed
    assert shown_words_fingerprint(document) == sha256(shown)
    assert_receipt_page_matches_download(app, fields, document)
    assert document["purpose"] == "anonymous_statistics"
    assert document["record"] == person.id
    assert document["text"]["words"] == shown  # type: ignore[index]
    (event,) = [e for e in consent_events(app, person.id) if e.purpose == "anonymous_statistics"]
    assert document["entry_hash"] == event.hash

    # Changing back to no is one press too, with its own receipt on the same words.
    page = phone.get("/my-choices")
    assert "Change to no" in page_text(page)
    phone.post("/my-choices", {"purpose": "anonymous_statistics", "decision": "withdrawn"})
    fields, document = newest_receipt(phone)
    assert fields["heading"].endswith(label(app, "DECISION", "withdrawn"))
    assert shown_words_fingerprint(document) == sha256(
        block_for(page, "anonymous_statistics").words()
    )
    assert_receipt_page_matches_download(app, fields, document)
    assert [r["decision"] for r in receipts_for(phone, "anonymous_statistics")] == [
        "withdrawn",
        "granted",
    ]


# --- tampering with the ledger ------------------------------------------------------------


@pytest.fixture
def attacker(app: Flask, database_kind: str) -> Iterator[Callable[[], None]]:
    """Drops the append-only triggers when called; puts them back on PostgreSQL afterwards."""
    dropped = False

    def _drop() -> None:
        nonlocal dropped
        drop_append_only_triggers(app, database_kind)
        dropped = True

    yield _drop
    if dropped:
        restore_append_only_triggers(app, database_kind)


def _middle_event(app: Flask, person: MadeClient) -> int:
    events = consent_events(app, person.id)
    assert [e.purpose for e in events] == ["store_answers", "share_with_coach", "contact"]
    return events[1].id


def _change_decision(app: Flask, person: MadeClient) -> None:
    """Turn their "yes, a coach can read my answers" into a "no" after the fact."""
    raw_sql(
        app,
        "UPDATE consent_event SET decision = 'declined' WHERE id = :id",
        id=_middle_event(app, person),
    )


def _delete_middle(app: Flask, person: MadeClient) -> None:
    raw_sql(app, "DELETE FROM consent_event WHERE id = :id", id=_middle_event(app, person))


def _swap_text(app: Flask, person: MadeClient) -> None:
    """Make the decision point at other words than the ones they were shown."""
    with app.app_context():
        other = db_session().scalar(
            select(ConsentText.id).where(ConsentText.purpose == "contact").limit(1)
        )
    raw_sql(
        app,
        "UPDATE consent_event SET consent_text_id = :text WHERE id = :id",
        text=other,
        id=_middle_event(app, person),
    )


def _change_time(app: Flask, person: MadeClient) -> None:
    events = consent_events(app, person.id)
    raw_sql(
        app,
        "UPDATE consent_event SET at = :at WHERE id = :id",
        at=events[1].at.replace(tzinfo=None, year=events[1].at.year - 1),
        id=_middle_event(app, person),
    )


def _change_actor(app: Flask, person: MadeClient) -> None:
    raw_sql(
        app,
        "UPDATE consent_event SET actor = 'coach' WHERE id = :id",
        id=_middle_event(app, person),
    )


@pytest.mark.parametrize(
    "tamper",
    [_change_decision, _delete_middle, _swap_text, _change_time, _change_actor],
    ids=["change-a-decision", "delete-a-middle-event", "swap-a-text-id", "change-when", "actor"],
)
def test_flask_consent_verify_names_the_client_whose_ledger_was_changed(
    app: Flask,
    team: Team,
    attacker: Callable[[], None],
    tamper: Callable[[Flask, MadeClient], None],
) -> None:
    victim = make_client(
        app, pages=CONTACT_PAGE, send=False, extra={CONTACT_PAGE: {"consent_choice": "yes"}}
    )
    bystander = make_client(app, pages=1, send=False)
    code, output = verify(app)
    assert code == 0, output
    assert INTACT in output

    # With the triggers in place, the database itself refuses the change.
    with pytest.raises(DBAPIError):
        raw_sql(app, "UPDATE consent_event SET decision = 'declined'")
    with pytest.raises(DBAPIError):
        raw_sql(app, "DELETE FROM consent_event")

    attacker()
    tamper(app, victim)
    code, output = verify(app)
    assert code != 0
    assert victim.id in output
    assert bystander.id not in output
    assert INTACT not in output
    with app.app_context():
        assert consent.broken_chains(db_session()) == [victim.id]


# --- anchors: a rebuilt or shortened ledger, found from a line kept elsewhere ---------------

ANCHOR_LINE = re.compile(r"^Anchor: (\d+:[0-9a-f]{64})$", re.MULTILINE)


def anchor_now(app: Flask) -> str:
    code, output = verify(app)
    assert code == 0, output
    found = ANCHOR_LINE.findall(output)
    assert len(found) == 1, output
    return found[0]


def verify_against(app: Flask, anchor: str) -> tuple[int, str]:
    result = invoke(app, "consent", "verify", "--anchor", anchor)
    return result.exit_code, result.output


def rebuild_chain(app: Flask, person: MadeClient, decision: str) -> None:
    """Change the person's first decision and recompute their whole chain, as someone with
    write access and this code could: the chain is whole again."""
    events = consent_events(app, person.id)
    with app.app_context():
        shas = {t.id: t.sha256 for t in db_session().scalars(select(ConsentText))}
    previous = consent.GENESIS_HASH
    for number, event in enumerate(events):
        if number == 0:
            event.decision = decision
        event.prev_hash = previous
        event.hash = consent._event_hash(
            event, shas.get(event.consent_text_id) if event.consent_text_id else None
        )
        raw_sql(
            app,
            "UPDATE consent_event SET decision = :decision, prev_hash = :prev, hash = :hash "
            "WHERE id = :id",
            decision=event.decision,
            prev=event.prev_hash,
            hash=event.hash,
            id=event.id,
        )
        previous = event.hash


def test_consent_verify_prints_an_anchor_that_later_decisions_keep(app: Flask, team: Team) -> None:
    make_client(app, pages=1, send=False)
    anchor = anchor_now(app)

    make_client(app, pages=1, send=False)
    code, output = verify_against(app, anchor)
    assert code == 0, output
    assert f"entry {anchor.split(':')[0]} is as it was" in output
    assert anchor_now(app) != anchor, "the newest anchor moves on with the ledger"


def test_a_rebuilt_consent_chain_passes_alone_but_not_against_an_anchor(
    app: Flask, team: Team, attacker: Callable[[], None]
) -> None:
    victim = make_client(app, pages=1, send=False)
    make_client(app, pages=1, send=False)
    anchor = anchor_now(app)
    attacker()
    rebuild_chain(app, victim, "declined")  # "they never agreed to keep their answers"

    assert verify(app)[0] == 0, "a rebuilt chain is whole: this is the limit anchors cover"
    code, output = verify_against(app, anchor)
    assert code != 0
    assert "was rewritten" in output
    assert INTACT not in output


@pytest.mark.parametrize("whose", ["newest", "another"])
def test_a_consent_chain_cut_short_fails_against_an_anchor(
    app: Flask, team: Team, attacker: Callable[[], None], whose: str
) -> None:
    first = make_client(app, pages=1, send=False)
    second = make_client(app, pages=1, send=False)
    anchor = anchor_now(app)
    attacker()
    cut = consent_events(app, (second if whose == "newest" else first).id)[-1]
    raw_sql(app, "DELETE FROM consent_event WHERE id = :id", id=cut.id)

    assert verify(app)[0] == 0, "a chain without its end is whole"
    code, output = verify_against(app, anchor)
    assert code != 0
    assert ("is missing" if whose == "newest" else "was rewritten") in output


# --- withdrawal: "No: delete everything" ---------------------------------------------------


def _coach_everything(
    app: Flask, team: Team, person: MadeClient, coach: FlaskClient
) -> dict[str, str]:
    """A relationship agreement, a plan with a note from the client, a check-in and what was
    agreed: every kind of record Groundwork keeps about a person, each with a marker."""
    words = {name: marker() for name in ("goal", "note", "today", "arriving", "agreed")}
    assert staff_post(coach, f"/clients/{person.id}/relationship", {}).status_code == 302
    response = staff_post(coach, f"/clients/{person.id}/plan", {"goals": words["goal"]})
    assert response.status_code == 302
    person.phone.get("/agreement")
    response = person.phone.post(
        "/agreement",
        {"kind": "plan", "version": "1", "response": "change_requested", "note": words["note"]},
    )
    assert response.status_code == 302
    person.phone.get("/before-a-session")
    response = person.phone.post(
        "/before-a-session",
        {"goal": words["today"], "off_limits": "", "arriving": words["arriving"]},
    )
    assert response.status_code == 302
    page = coach.get(f"/clients/{person.id}").get_data(as_text=True)
    (check_in,) = re.findall(rf"/clients/{person.id}/check-ins/([0-9]+)/agreed", page)
    response = staff_post(
        coach, f"/clients/{person.id}/check-ins/{check_in}/agreed", {"agreed": words["agreed"]}
    )
    assert response.status_code == 302
    return words


def _envelopes_of(app: Flask, client_id: str) -> list[bytes]:
    """Every ciphertext and key envelope the database holds for one client."""
    with app.app_context():
        db = db_session()
        client = client_row(app, client_id)
        found: list[bytes] = [client.dek_by_code or b"", client.dek_by_org or b""]
        found += list(db.scalars(select(Answer.ciphertext).where(Answer.client_id == client_id)))
        for agreement in db.scalars(select(Agreement).where(Agreement.client_id == client_id)):
            found += [agreement.content_ct, agreement.client_note_ct or b""]
        for check_in in db.scalars(select(CheckIn).where(CheckIn.client_id == client_id)):
            found += [check_in.content_ct, check_in.agreed_ct or b""]
        return [envelope for envelope in found if envelope]


def _rows_of(app: Flask, client_id: str) -> dict[str, int]:
    with app.app_context():
        db = db_session()
        return {
            model.__tablename__: int(
                db.scalar(
                    select(func.count()).select_from(model).where(model.client_id == client_id)
                )
                or 0
            )
            for model in (Answer, Agreement, CheckIn, SessionRecord)
        }


def test_no_delete_everything_erases_every_trace_and_leaves_a_receipt(
    app: Flask, team: Team, database_kind: str, instance_path: Path, auth: StaffBrowser
) -> None:
    admin = auth.sign_in("admin")
    coach = auth.sign_in("coach")
    person = sent_and_assigned(app, team, admin)
    other = sent_and_assigned(app, team, admin)
    written = _coach_everything(app, team, person, coach)
    # The same person, signed in on a second device too.
    laptop = Phone(app)
    assert laptop.come_back(person.code).status_code == 302
    laptop.get("/check")

    envelopes = _envelopes_of(app, person.id)
    assert len(envelopes) >= 2 + len(person.answers) + 2 + 2
    rows = _rows_of(app, person.id)
    assert all(rows.values()), rows
    decisions_before = len(consent_events(app, person.id))

    # The first press only asks: nothing is deleted yet.
    phone = person.phone
    page = phone.get("/my-choices")
    assert "No: delete everything I have told you" in page_text(page)
    response = phone.post("/my-choices", {"purpose": "store_answers", "decision": "withdrawn"})
    assert response.headers["Location"] == "/delete-everything"
    confirmation = page_text(phone.get("/delete-everything"))
    assert "Delete everything you have told us?" in confirmation
    assert "Your return code will stop working." in confirmation
    assert "No, keep my answers" in confirmation
    assert _rows_of(app, person.id) == rows
    assert len(consent_events(app, person.id)) == decisions_before

    response = phone.post("/delete-everything", {})
    assert response.headers["Location"] == "/deleted"

    # Nothing of theirs is left: no answer, no key, no agreement, no check-in, no session.
    assert _rows_of(app, person.id) == {
        "answer": 0,
        "agreement": 0,
        "check_in": 0,
        "session_record": 0,
    }
    tombstone = client_row(app, person.id)
    assert tombstone.status == "erased"
    assert tombstone.erased_at is not None
    assert tombstone.dek_by_code is None
    assert tombstone.dek_by_org is None
    assert tombstone.lookup_hash is None

    # A copy of the database holds none of their envelopes and none of their words.
    stored = database_bytes(app, database_kind, instance_path)
    for envelope in envelopes:
        assert envelope not in stored, "an envelope of the erased client is still stored"
    assert_not_stored(stored, [*person.typed, *written.values()])
    # Someone else's answers are untouched.
    assert all(envelope in stored for envelope in _envelopes_of(app, other.id))

    # The receipt says so, and stays downloadable in that browser.
    receipt_page = phone.get("/deleted")
    words = page_text(receipt_page)
    assert "We have deleted everything you told us." in words
    assert "Nobody can open your answers now, not even us." in words
    document = receipt_json(phone, "/receipt.json")
    assert document["erased"] is True
    assert document["decision"] == "withdrawn"
    assert document["purpose"] == "store_answers"
    assert f"Receipt number {document['receipt_number']}" in words
    assert not ISO_TIME.search(words)

    # The code finds nothing, on any device; the other device's visit has ended.
    assert phone.get("/check", status=302).headers["Location"] in ("/come-back", "/ended")
    assert laptop.get("/check", status=302).headers["Location"] in ("/come-back", "/ended")
    stranger = Phone(app)
    response = stranger.come_back(person.code, status=400)
    assert "We could not find answers for that code." in page_text(response)
    assert coach.get(f"/clients/{person.id}").status_code == 404

    # The decisions stay, with the withdrawal last, and the ledger still verifies.
    events = consent_events(app, person.id)
    assert len(events) == decisions_before + 1
    assert (events[-1].purpose, events[-1].decision) == ("store_answers", "withdrawn")
    code, output = verify(app)
    assert code == 0, output


# --- new words: deciding again ------------------------------------------------------------


def _publish_share_v2(admin: FlaskClient, body: str) -> TestResponse:
    page = admin.get("/consent-texts")
    assert page.status_code == 200
    assert html.escape(SHARE_V1.strip().split("\n")[0], quote=True) in page.get_data(as_text=True)
    return staff_post(
        admin, "/consent-texts", {"purpose": "share_with_coach", "locale": "en", "body": body}
    )


def test_new_words_ask_those_who_said_yes_and_a_no_there_stops_sharing(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    admin = auth.sign_in("admin")
    coach = auth.sign_in("coach")
    stays = sent_and_assigned(app, team, admin)
    leaves = sent_and_assigned(app, team, admin)
    said_no = make_client(app, share="no", pages=2, send=False)
    names = {p.id: str(p.answers[1]["name"]) for p in (stays, leaves)}
    before = workspace_text(coach)
    assert all(name in before for name in names.values())

    new_body = SHARE_V1.strip() + "\n\n" + NEW_SENTENCE + "\n"
    published = _publish_share_v2(admin, new_body)
    assert published.status_code == 200
    assert "Published version 2." in page_text(published)
    with app.app_context():
        v2 = consent.current_text(db_session(), "share_with_coach", "en")
        assert (v2.version, v2.sha256) == (2, sha256(new_body))
        v2_id = v2.id

    # Someone who said no is not asked again.
    come_back(app, said_no)
    said_no.phone.get("/check")
    assert said_no.phone.get("/page/1").status_code == 200

    # Someone who said yes is asked at their next visit, before anything else.
    for person in (stays, leaves):
        come_back(app, person)
        assert person.phone.get("/check", status=302).headers["Location"] == "/decide-again"
        assert person.phone.get("/page/1", status=302).headers["Location"] == "/decide-again"
        page = person.phone.get("/decide-again")
        block = block_for(page, "share_with_coach")
        assert block.question == "Can a coach read your answers?"
        assert ("added", f"New: {NEW_SENTENCE}") in block.items
        marked = [text for kind, text in block.items if kind]
        assert marked == [f"New: {NEW_SENTENCE}"], "only the new sentence is marked as new"
        shown = " ".join(
            text.removeprefix("New: ") for kind, text in block.items if kind != "removed"
        )
        assert shown == " ".join(new_body.split()), "the page shows all of the new words"

    stays.phone.post("/decide-again", {"purpose": "share_with_coach", "decision": "granted"})
    assert stays.phone.get("/decide-again", status=302).headers["Location"] == "/your-space"
    stays.phone.get("/check")
    latest = consent_events(app, stays.id)[-1]
    assert (latest.purpose, latest.decision, latest.actor) == (
        "share_with_coach",
        "granted",
        "client",
    )
    assert latest.consent_text_id == v2_id
    receipt = receipts_for(stays.phone, "share_with_coach")[0]
    assert receipt["text"]["version"] == 2  # type: ignore[index]
    assert shown_words_fingerprint(receipt) == sha256(new_body)

    leaves.phone.post("/decide-again", {"purpose": "share_with_coach", "decision": "declined"})
    leaves.phone.get("/check")
    latest = consent_events(app, leaves.id)[-1]
    assert (latest.decision, latest.consent_text_id) == ("withdrawn", v2_id)
    assert client_row(app, leaves.id).shared_at is None

    # The coach (and the admin) no longer see the one who said no.
    after = workspace_text(coach)
    assert names[stays.id] in after
    assert names[leaves.id] not in after
    assert leaves.id not in after
    assert names[leaves.id] not in workspace_text(admin)
    assert coach.get(f"/clients/{leaves.id}").status_code == 404
    assert coach.get(f"/clients/{leaves.id}/export").status_code == 404
    assert coach.get(f"/clients/{stays.id}").status_code == 200

    # Their next visits go straight on.
    for person in (stays, leaves):
        come_back(app, person)
        assert person.phone.get("/check").status_code == 200


def test_changed_words_mark_only_what_changed(app: Flask, team: Team, auth: StaffBrowser) -> None:
    admin = auth.sign_in("admin")
    person = make_client(app, pages=1, send=False)
    lines = SHARE_V1.strip().split("\n\n")
    new_question = "May a coach read your answers?"
    new_body = "\n\n".join([new_question, *lines[1:]]) + "\n"
    assert _publish_share_v2(admin, new_body).status_code == 200

    come_back(app, person)
    page = person.phone.get("/decide-again")
    block = block_for(page, "share_with_coach")
    assert block.question == new_question
    changed = [(kind, text) for kind, text in block.items if kind]
    assert changed == [
        ("removed", "Removed: Can a coach read your answers?"),
        ("added", f"New: {new_question}"),
    ]


def test_the_same_new_words_in_two_languages_are_the_same_version(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    if "fr" not in app.config["SHIPPED_LOCALES"]:
        need("French to ship, as a second language to publish in")
    admin = auth.sign_in("admin")
    english = SHARE_V1.strip() + "\n\n" + NEW_SENTENCE + "\n"
    french_v1 = (consent.TEXTS_FOLDER / "fr" / "share_with_coach.v1.txt").read_text("utf-8")
    french = (
        french_v1.strip() + "\n\n" + "Votre coach peut demander conseil, sans dire votre nom.\n"
    )
    assert "Published version 2." in page_text(_publish_share_v2(admin, english))
    response = staff_post(
        admin, "/consent-texts", {"purpose": "share_with_coach", "locale": "fr", "body": french}
    )
    assert "Published version 2." in page_text(response)
    with app.app_context():
        db = db_session()
        for locale, body in (("en", english), ("fr", french)):
            text = consent.current_text(db, "share_with_coach", locale, fallback=locale)
            assert (text.version, text.body) == (2, body)


# --- consent recorded by voice ------------------------------------------------------------


@pytest.mark.parametrize("answer", ["granted", "declined"])
def test_a_choice_recorded_by_voice_is_shown_to_the_client_to_confirm_or_withdraw(
    app: Flask, team: Team, database_kind: str, instance_path: Path, answer: str, auth: StaffBrowser
) -> None:
    admin = auth.sign_in("admin")
    coach = auth.sign_in("coach")
    other_coach = auth.sign_in("coach2")
    details = marker()
    person = sent_and_assigned(app, team, admin, extra={CONTACT_PAGE: {"details": details}})
    reason = f"They said yes on the phone on Tuesday {marker()}"
    voice = {"purpose": "contact", "decision": "granted", "reason": reason}

    # A reason is needed; another coach cannot record anything.
    empty = staff_post(coach, f"/clients/{person.id}/consent", {**voice, "reason": ""})
    assert empty.status_code == 400
    assert staff_post(other_coach, f"/clients/{person.id}/consent", voice).status_code == 404
    assert [e.purpose for e in consent_events(app, person.id)] == [
        "store_answers",
        "share_with_coach",
    ]

    assert staff_post(coach, f"/clients/{person.id}/consent", voice).status_code == 302
    recorded = consent_events(app, person.id)[-1]
    assert (recorded.purpose, recorded.decision, recorded.actor) == ("contact", "granted", "coach")
    assert recorded.actor_staff_id == team.ids["coach"]
    record = page_text(coach.get(f"/clients/{person.id}"))
    contact, yes = label(app, "PURPOSE", "contact"), label(app, "DECISION", "granted")
    assert f"{contact} – {yes} ({label(app, 'ACTOR', 'coach')})" in record
    assert details in record  # now they may be contacted
    assert_not_stored(database_bytes(app, database_kind, instance_path), [reason])

    # At their next visit the client sees it, with the reason, before anything else.
    come_back(app, person)
    assert person.phone.get("/check", status=302).headers["Location"] == "/decide-again"
    page = person.phone.get("/decide-again")
    block = block_for(page, "contact")
    words = page_text(page)
    assert "your coach wrote down that you said yes to this" in words.lower()
    assert reason in words
    assert block.question == "Can we contact you in the ways you chose?"
    shown = block.words(stop=("Your coach wrote down",))
    assert shown.count("\n\n") >= 1, "the whole text is shown, not only its question"

    person.phone.post("/decide-again", {"purpose": "contact", "decision": answer})
    assert person.phone.get("/decide-again", status=302).headers["Location"] == "/your-space"
    confirmed = consent_events(app, person.id)[-1]
    expected = "granted" if answer == "granted" else "withdrawn"
    assert (confirmed.purpose, confirmed.decision, confirmed.actor) == (
        "contact",
        expected,
        "client",
    )
    assert confirmed.actor_staff_id is None
    receipt = receipts_for(person.phone, "contact")[0]
    assert shown_words_fingerprint(receipt) == sha256(shown)
    assert [r["recorded_by"] for r in receipts_for(person.phone, "contact")] == ["client", "coach"]

    record = page_text(coach.get(f"/clients/{person.id}"))
    if answer == "granted":
        assert details in record
        assert HIDDEN_NOTICE not in record
    else:
        assert details not in record
        assert HIDDEN_NOTICE in record

    # The next visit goes straight on.
    come_back(app, person)
    assert person.phone.get("/check").status_code == 200
    code, output = verify(app)
    assert code == 0, output


# --- consent gates: contact details -------------------------------------------------------


def test_contact_details_stay_hidden_from_the_coach_until_the_client_says_yes(
    app: Flask, team: Team, database_kind: str, instance_path: Path, auth: StaffBrowser
) -> None:
    admin = auth.sign_in("admin")
    coach = auth.sign_in("coach")
    details = marker()
    safe_times = marker()
    contact = {"details": details, "safe_times": safe_times}
    person = sent_and_assigned(app, team, admin, extra={CONTACT_PAGE: contact})

    record = page_text(coach.get(f"/clients/{person.id}"))
    assert details not in record
    assert safe_times in record  # when it is safe to call is safety, not a way to reach them
    assert HIDDEN_NOTICE in record
    export = coach.get(f"/clients/{person.id}/export")
    assert details not in export.get_data(as_text=True)
    document = json.loads(export.get_data(as_text=True))
    assert "details" not in document["answers"]["contact"]
    assert document["contact_details_hidden"] is True
    assert details not in coach.get(f"/clients/{person.id}/print").get_data(as_text=True)
    assert_not_stored(database_bytes(app, database_kind, instance_path), [details])

    # They say yes on page 3.
    come_back(app, person)
    answers = {**person.answers[CONTACT_PAGE], "consent_choice": "yes"}
    person.phone.save_page(CONTACT_PAGE, answers)
    record = page_text(coach.get(f"/clients/{person.id}"))
    assert details in record
    assert HIDDEN_NOTICE not in record
    document = json.loads(coach.get(f"/clients/{person.id}/export").get_data(as_text=True))
    assert document["answers"]["contact"]["details"] == details
    assert document["contact_details_hidden"] is False

    # And they can take it back just as easily.
    person.phone.save_page(CONTACT_PAGE, {**answers, "consent_choice": "no"})
    assert details not in coach.get(f"/clients/{person.id}").get_data(as_text=True)
    assert [(e.purpose, e.decision) for e in consent_events(app, person.id)][-2:] == [
        ("contact", "granted"),
        ("contact", "withdrawn"),
    ]


# --- the texts themselves -----------------------------------------------------------------


def test_every_consent_text_exists_in_every_shipped_language(app: Flask) -> None:
    files = consent.read_text_files()
    locales = list(app.config["SHIPPED_LOCALES"])
    assert locales
    for purpose in consent.Purpose:
        versions = {
            locale: sorted(t.version for t in files if t.purpose == purpose and t.locale == locale)
            for locale in locales
        }
        for locale in locales:
            assert versions[locale], f"consent_texts/{locale}/{purpose}.v1.txt is missing"
            assert versions[locale] == versions[locales[0]], (
                f"{purpose}: {locale} has versions {versions[locale]}, "
                f"{locales[0]} has {versions[locales[0]]}"
            )
    # Loaded, each language reads its own words, never a fallback.
    with app.app_context():
        db = db_session()
        consent.sync_texts(db)
        for purpose in consent.Purpose:
            for locale in locales:
                text = consent.current_text(db, purpose, locale, fallback=locale)
                assert text.locale == locale
                question, _, rest = text.body.partition("\n\n")
                assert question.strip(), f"{locale}/{purpose}: the question comes first"
                assert rest.strip(), f"{locale}/{purpose}: then why we ask"
        db.rollback()


@pytest.fixture
def texts_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of consent_texts/ that Groundwork reads instead of the repository's."""
    folder = tmp_path / "consent_texts"
    shutil.copytree(consent.TEXTS_FOLDER, folder)
    monkeypatch.setattr(consent.sync_texts, "__defaults__", (folder,))
    monkeypatch.setattr(consent.read_text_files, "__defaults__", (folder,))
    return folder


def test_published_words_never_change(app: Flask, texts_folder: Path) -> None:
    # `flask db upgrade` published every shipped text; loading again publishes nothing new.
    shipped = len(list(texts_folder.glob("*/*.txt")))
    with app.app_context():
        assert db_session().scalar(select(func.count()).select_from(ConsentText)) == shipped
    result = invoke(app, "consent", "load")
    assert result.exit_code == 0, result.output
    assert "Published 0 new consent texts." in result.output
    with app.app_context():
        before = {
            (t.purpose, t.locale, t.version): t.sha256
            for t in db_session().scalars(select(ConsentText))
        }

    # Someone edits the words of a published file.
    path = texts_folder / "en" / "contact.v1.txt"
    path.write_text(
        path.read_text(encoding="utf-8").replace("only use", "also use"), encoding="utf-8"
    )
    result = invoke(app, "consent", "load")
    assert result.exit_code != 0
    assert "en/contact.v1 was published with other words" in result.output
    assert "add a new version instead" in result.output
    with app.app_context():
        after = {
            (t.purpose, t.locale, t.version): t.sha256
            for t in db_session().scalars(select(ConsentText))
        }
    assert after == before

    # A new version is the way to change words.
    shutil.copyfile(consent.TEXTS_FOLDER / "en" / "contact.v1.txt", path)
    (texts_folder / "en" / "contact.v2.txt").write_text(
        "Can we contact you in the ways you chose?\n\nYour coach may also send a letter.\n",
        encoding="utf-8",
    )
    result = invoke(app, "consent", "load")
    assert result.exit_code == 0, result.output
    assert "Published 1 new consent texts." in result.output
    assert count_rows(app, "consent_text")["consent_text"] == shipped + 1


# --- a choice recorded by voice never overrides the person's own ---------------------------


def _voice(coach: FlaskClient, client_id: str, purpose: str, decision: str) -> None:
    reason = f"Said so on the phone {marker()}"
    data = {"purpose": purpose, "decision": decision, "reason": reason}
    assert staff_post(coach, f"/clients/{client_id}/consent", data).status_code == 302


def test_a_choice_recorded_by_voice_never_overrides_the_persons_own_withdrawal(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    admin = auth.sign_in("admin")
    coach = auth.sign_in("coach")
    details = marker()
    person = sent_and_assigned(app, team, admin, extra={CONTACT_PAGE: {"details": details}})
    # The person says yes to being contacted, then takes it back.
    come_back(app, person)
    answers = {**person.answers[CONTACT_PAGE], "consent_choice": "yes"}
    person.phone.save_page(CONTACT_PAGE, answers)
    person.phone.save_page(CONTACT_PAGE, {**answers, "consent_choice": "no"})
    assert details not in page_text(coach.get(f"/clients/{person.id}"))

    # A coach records a yes "by voice": it waits for the person, and changes nothing meanwhile.
    _voice(coach, person.id, "contact", "granted")
    assert details not in page_text(coach.get(f"/clients/{person.id}"))
    document = json.loads(coach.get(f"/clients/{person.id}/export").get_data(as_text=True))
    assert document["consent"]["contact"]["decision"] == "withdrawn"
    assert document["contact_details_hidden"] is True

    # The person is asked; a no keeps it hidden, and only their own yes would show it.
    come_back(app, person)
    assert person.phone.get("/your-space", status=302).headers["Location"] == "/decide-again"
    person.phone.get("/decide-again")
    person.phone.post("/decide-again", {"purpose": "contact", "decision": "declined"})
    assert details not in page_text(coach.get(f"/clients/{person.id}"))
    _voice(coach, person.id, "contact", "granted")
    come_back(app, person)
    person.phone.get("/decide-again")
    person.phone.post("/decide-again", {"purpose": "contact", "decision": "granted"})
    assert details in page_text(coach.get(f"/clients/{person.id}"))


def test_a_status_recorded_by_voice_never_reaches_a_referrer_the_person_said_no_to(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    partner = auth.sign_in("partner")
    made = refer(partner)
    phone = Phone(app)
    arrive(phone, made.token)
    code = begin_referred(phone, "no")
    phone.get("/check")
    phone.post("/send", {})
    client_id = client_id_of(app, code)
    assign(auth.sign_in("admin"), client_id, team.ids["coach"])
    coach = auth.sign_in("coach")
    assert statuses(partner)[made.reference] == SHOWN["not_shared"]
    _voice(coach, client_id, "status_to_referrer", "granted")
    assert statuses(partner)[made.reference] == SHOWN["not_shared"]
    assert client_row(app, client_id).status_shared_at is None


def test_where_the_person_never_decided_a_choice_recorded_by_voice_applies_until_they_do(
    app: Flask, team: Team, auth: StaffBrowser
) -> None:
    """docs/decisions.md: the coach's record stands in for a choice the person never made, and
    the person is asked at their next visit; their own answer then replaces it."""
    admin = auth.sign_in("admin")
    coach = auth.sign_in("coach")
    details = marker()
    person = sent_and_assigned(app, team, admin, extra={CONTACT_PAGE: {"details": details}})
    assert details not in page_text(coach.get(f"/clients/{person.id}"))
    _voice(coach, person.id, "contact", "granted")
    assert details in page_text(coach.get(f"/clients/{person.id}"))
    come_back(app, person)
    person.phone.get("/decide-again")
    person.phone.post("/decide-again", {"purpose": "contact", "decision": "declined"})
    assert details not in page_text(coach.get(f"/clients/{person.id}"))
    # From now on the person has decided: a later record by voice waits for them.
    _voice(coach, person.id, "contact", "granted")
    assert details not in page_text(coach.get(f"/clients/{person.id}"))


def test_reading_a_page_never_publishes_a_text_and_a_missing_one_fails_loudly(
    app: Flask, client: FlaskClient
) -> None:
    """Texts are published by `flask db upgrade` (or `consent load`), not by the first GET: a
    deployment that lost its texts shows the error page, and writes nothing."""
    with app.app_context():
        db = db_session()
        db.execute(delete(ConsentText))
        db.commit()
    client.get("/")
    client.get("/welcome")
    response = client.get("/agree")
    assert response.status_code == 500
    with app.app_context():
        assert db_session().scalar(select(func.count()).select_from(ConsentText)) == 0
