"""The client's own consent pages: "My choices", their receipts, deleting everything, deciding
again on new words or on a choice a coach recorded for them, and a copy of everything we hold.

Withdrawing is as easy as agreeing: every choice changes with one press, and "delete
everything" takes two (the button, then the plain confirmation).
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, fields

from flask import Response, abort, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response as WerkzeugResponse

from intake import (
    agreements,
    audit,
    consent,
    consent_texts,
    i18n,
    referrals,
    vault,
    webhooks,
)
from intake.agreements import OpenedAgreement, OpenedCheckIn, Signature
from intake.audit import Entry as AccessEntry
from intake.client import bp, receipts
from intake.client.forms import ChoiceForm
from intake.client.visit import (
    CONSENT_CHECKED,
    client_required,
    current_visit,
)
from intake.consent_texts import explanation_of, question_of, text_for
from intake.db import db_session, forget_deleted_pages
from intake.models import Client, ConsentEvent, ConsentText, PartnerOrg, Referral, StaffUser
from intake.review import ReviewedSection, review_sections
from intake.sessions import current_session
from intake.vault import OpenedSection

SHOWN_PURPOSES = (
    consent.Purpose.STORE_ANSWERS,
    consent.Purpose.SHARE_WITH_COACH,
    consent.Purpose.CONTACT,
    consent.Purpose.STATUS_TO_REFERRER,
    consent.Purpose.ANONYMOUS_STATISTICS,
)


def _purposes_for(client_referred: bool) -> list[str]:
    return [p for p in SHOWN_PURPOSES if p != consent.Purpose.STATUS_TO_REFERRER or client_referred]


def _decide(purpose: str, decision: str) -> WerkzeugResponse:
    visit = g.visit
    db = db_session()
    event = consent_texts.decide(visit.client, purpose, decision)
    db.commit()
    receipts.note([event])
    return redirect(url_for("client.my_choices"))


@bp.route("/my-choices", methods=["GET", "POST"])
@client_required
def my_choices() -> ResponseReturnValue:
    visit = g.visit
    db = db_session()
    form = ChoiceForm()
    if form.validate_on_submit():
        purpose = request.form.get("purpose", "")
        decision = request.form.get("decision", "")
        if purpose not in _purposes_for(visit.client.referral_id is not None) or decision not in (
            consent.Decision.GRANTED,
            consent.Decision.WITHDRAWN,
        ):
            abort(400)
        if purpose == consent.Purpose.STORE_ANSWERS and decision == consent.Decision.WITHDRAWN:
            return redirect(url_for("client.delete_everything"))
        return _decide(purpose, decision)
    state = consent.effective_state(db, visit.client.id)
    history = consent.history(db, visit.client.id)
    texts = consent.texts_of(db, history)
    rows = []
    for purpose in _purposes_for(visit.client.referral_id is not None):
        text = text_for(purpose)
        rows.append(
            {
                "purpose": purpose,
                "question": question_of(text),
                "explanation": explanation_of(text),
                "event": state.get(purpose),
            }
        )
    return render_template(
        "client/my_choices.html", rows=rows, history=history, texts=texts, form=form
    )


@bp.route("/receipts", endpoint="receipts")
@client_required
def receipts_page() -> str:
    """Every decision the person made, each with its receipt number and a copy to save."""
    db = db_session()
    history = consent.history(db, g.visit.client.id)
    return render_template(
        "client/receipts.html",
        history=history,
        texts=consent.texts_of(db, history),
    )


@bp.route("/receipts/<int:event_id>.json")
@client_required
def receipt_download(event_id: int) -> Response:
    """One receipt as JSON: what, which words (with their hash), when, and its number."""
    db = db_session()
    event = next((e for e in consent.history(db, g.visit.client.id) if e.id == event_id), None)
    if event is None:
        abort(404)
    return _json_download(
        consent.receipt(event, consent.texts_of(db, [event])), "consent-receipt.json"
    )


@bp.route("/deleted")
def deleted() -> ResponseReturnValue:
    """After deleting everything: what was deleted, and the receipt of that choice."""
    items = receipts.erased()
    if not items:
        return redirect(url_for("client.start"))
    return render_template("client/deleted.html", items=items)


@bp.route("/receipt.json")
def receipt_json() -> Response:
    """The receipt of deleting everything, as JSON (`?n=` picks one, when there are several)."""
    items = receipts.erased()
    number = request.args.get("n", "0")
    if number not in [str(index) for index in range(len(items))]:
        abort(404)
    return _json_download(items[int(number)], "consent-receipt.json")


def _json_download(document: object, filename: str) -> Response:
    response = Response(
        json.dumps(document, ensure_ascii=False, indent=2), mimetype="application/json"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/delete-everything", methods=["GET", "POST"])
@client_required
def delete_everything() -> ResponseReturnValue:
    """Withdraw "keep my answers": after one plain confirmation, everything is erased."""
    form = ChoiceForm()
    if not form.validate_on_submit():
        return render_template("client/delete_everything.html", form=form)
    visit = g.visit
    db = db_session()
    event = consent_texts.decide(
        visit.client, consent.Purpose.STORE_ANSWERS, consent.Decision.WITHDRAWN
    )
    vault.erase_client(db, visit.client)
    webhooks.status_changed(db, visit.client)
    db.commit()
    forget_deleted_pages(db)
    current_session().restart()
    return receipts.give_erased([event], consent.texts_of(db, [event]))


def _word_changes(old: str, new: str) -> list[tuple[str, str]]:
    """What changed between two versions of a text, sentence by sentence: ('-', removed),
    ('+', added), (' ', kept)."""
    # A sentence ends at . ? ! (or the Arabic question mark), keeping its mark, or at a
    # paragraph's end.
    sentence_end = r"(?<=[.!?\u061f])\s+|\n\s*\n"
    split = [s.strip() for s in re.split(sentence_end, old.strip()) if s.strip()]
    split_new = [s.strip() for s in re.split(sentence_end, new.strip()) if s.strip()]
    changes = []
    for line in difflib.ndiff(split, split_new):
        mark, sentence = line[:1], line[2:]
        if mark in ("-", "+", " "):
            changes.append((mark, sentence))
    return changes


@bp.route("/decide-again", methods=["GET", "POST"])
@client_required
def decide_again() -> ResponseReturnValue:
    """New words for something they agreed to, or a choice their coach recorded for them:
    they decide, one at a time, before carrying on."""
    visit = g.visit
    db = db_session()
    form = ChoiceForm()
    if request.args.get("later") == "1":
        current_session()[CONSENT_CHECKED] = True  # asked again at their next visit
        return redirect(url_for("client.your_space"))
    stale = consent.needs_asking_again(db, visit.client.id, i18n.select_locale())
    by_coach = consent.recorded_by_coach(db, visit.client.id)
    if form.validate_on_submit():
        purpose = request.form.get("purpose", "")
        yes = request.form.get("decision") == consent.Decision.GRANTED
        waiting = {e.purpose for e, _old, _new in stale} | {e.purpose for e in by_coach}
        if purpose not in waiting:
            abort(400)
        current = consent.effective_state(db, visit.client.id).get(purpose)
        decision = consent.decision_for(yes, current)
        event = consent_texts.decide(visit.client, purpose, decision)
        db.commit()
        receipts.note([event])
        return redirect(url_for("client.decide_again"))
    if not stale and not by_coach:
        current_session()[CONSENT_CHECKED] = True
        return redirect(url_for("client.your_space"))
    reasons = {}
    for event in by_coach:
        if event.reason_ct is not None:
            opened = vault.open_json(
                visit.data_key, event.reason_ct, consent.reason_aad(visit.client.id, event.purpose)
            )
            reasons[event.id] = opened if isinstance(opened, str) else None
    # The words their answer here will be recorded against: the ones in use now.
    texts: dict[str, ConsentText] = {e.purpose: text_for(e.purpose) for e in by_coach}
    return render_template(
        "client/decide_again.html",
        form=form,
        stale=[
            {
                "purpose": event.purpose,
                "question": question_of(new),
                "changes": _word_changes(old.body, new.body),
                "new": new,
            }
            for event, old, new in stale
        ],
        by_coach=[
            {
                "event": event,
                "question": question_of(texts[event.purpose]),
                "explanation": explanation_of(texts[event.purpose]),
                "reason": reasons.get(event.id),
            }
            for event in by_coach
        ],
    )


@bp.route("/my-data")
@client_required
def my_data() -> str:
    return render_template("client/my_data.html", **_everything().for_template())


@bp.route("/my-data.json")
@client_required
def my_data_json() -> Response:
    data = _everything()
    client = g.visit.client
    document = {
        "record": client.id,
        "status": client.status,
        "language": client.locale,
        "started": client.created_at.isoformat(),
        "sent": client.submitted_at.isoformat() if client.submitted_at else None,
        "your_coach": data.coach_name,
        "referred_by": data.referred_by,
        "referrer_wrote": None
        if data.referred_by is None
        else {
            "name_they_used": data.referral_nickname,
            "note_for_your_coach": data.referral_note,
            "not_opened_yet": data.referral_note_waiting,
        },
        "answers": {key: opened.fields for key, opened in data.opened.items()},
        "consent": [consent.receipt(e, data.texts) for e in data.history],
        "agreements": [
            {
                "kind": a.record.kind,
                "version": a.record.version,
                "content": a.content,
                "your_response": a.record.client_response,
                "your_note": a.note,
                "signatures": [
                    {
                        "by": "your coach" if s.by_coach else "you",
                        "at": s.at.isoformat(),
                        "typed_name": s.typed_name,
                        "receipt_number": s.receipt,
                    }
                    for s in data.signed.get(a.record.id, [])
                ],
            }
            for a in data.agreements
        ],
        "check_ins": [
            {"at": c.record.created_at.isoformat(), "you_said": c.brought, "agreed": c.agreed}
            for c in data.check_ins
        ],
        "who_looked": [
            {"who": e.staff_name, "what": e.action, "at": e.at.isoformat()} for e in data.looked
        ],
    }
    response = Response(
        json.dumps(document, ensure_ascii=False, indent=2), mimetype="application/json"
    )
    response.headers["Content-Disposition"] = 'attachment; filename="my-answers.json"'
    return response


@dataclass(frozen=True)
class Everything:
    """Everything Groundwork holds about the person, opened with their own key."""

    client: Client
    language: str
    coach_name: str | None
    referred_by: str | None
    referral_nickname: str | None
    referral_note: str | None
    # The referrer wrote something that nobody on the team has opened yet: it is sealed to
    # the organisation, and the person's copy is made at the first look.
    referral_note_waiting: bool
    opened: dict[str, OpenedSection]
    sections: list[ReviewedSection]
    history: list[ConsentEvent]
    texts: dict[int, ConsentText]
    agreements: list[OpenedAgreement]
    signed: dict[int, list[Signature]]  # by agreement version id
    check_ins: list[OpenedCheckIn]
    looked: list[AccessEntry]

    def for_template(self) -> dict[str, object]:
        """The fields by name, not copied (they hold database rows)."""
        return {item.name: getattr(self, item.name) for item in fields(self)}


def _everything() -> Everything:
    visit = current_visit()
    assert visit is not None
    db = db_session()
    client = visit.client
    opened = vault.read_sections(db, client, visit.data_key)
    history = consent.history(db, client.id)
    opened_agreements = [
        agreements.open_agreement(a, visit.data_key)
        for kind in ("relationship", "plan")
        for a in agreements.versions(db, client.id, kind)
    ]
    referral = db.get(Referral, client.referral_id) if client.referral_id else None
    partner = db.get(PartnerOrg, referral.partner_org_id) if referral else None
    coach = db.get(StaffUser, client.assigned_coach_id) if client.assigned_coach_id else None
    copy = referrals.open_client_copy(client, visit.data_key)
    return Everything(
        client=client,
        language=i18n.language_name(client.locale),
        coach_name=coach.display_name if coach else None,
        referred_by=partner.name if partner else None,
        referral_nickname=copy[0] if copy else None,
        referral_note=copy[1] if copy else None,
        referral_note_waiting=copy is None
        and referral is not None
        and referrals.wrote_something(referral),
        opened=opened,
        sections=review_sections(visit.form, opened),
        history=history,
        texts=consent.texts_of(db, history),
        agreements=opened_agreements,
        signed=agreements.signatures(db, client.id, visit.data_key),
        check_ins=[
            agreements.open_check_in(c, visit.data_key) for c in agreements.check_ins(db, client.id)
        ],
        looked=audit.entries_for_client(db, client.id),
    )
