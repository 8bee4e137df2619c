"""The client's own consent pages: "My choices", receipts, deleting everything, deciding again
on new words or on a choice a coach recorded for them, and a copy of everything we hold.

Withdrawing is as easy as agreeing: every choice changes with one press, and "delete
everything" takes two (the button, then the plain confirmation).
"""

from __future__ import annotations

import difflib
import json
import re

from flask import Response, abort, g, redirect, render_template, request, url_for

from intake import agreements, audit, consent, i18n, vault
from intake.client import bp, receipts
from intake.client.review import review_sections
from intake.client.texts import explanation_of, question_of, text_for
from intake.client.visit import CONSENT_CHECKED, client_required, current_visit
from intake.db import db_session, forget_deleted_pages
from intake.form_base import GroundworkForm
from intake.models import ConsentText
from intake.sessions import current_session

SHOWN_PURPOSES = (
    consent.Purpose.STORE_ANSWERS,
    consent.Purpose.SHARE_WITH_COACH,
    consent.Purpose.CONTACT,
    consent.Purpose.STATUS_TO_REFERRER,
    consent.Purpose.ANONYMOUS_STATISTICS,
)


class ChoiceForm(GroundworkForm):
    """One press: the purpose and the new decision travel as the button's values."""


def _purposes_for(client_referred: bool) -> list[str]:
    return [p for p in SHOWN_PURPOSES if p != consent.Purpose.STATUS_TO_REFERRER or client_referred]


def _decide(purpose: str, decision: str) -> Response:
    visit = g.visit
    db = db_session()
    text = text_for(purpose)
    event = consent.decide(db, visit.client, purpose, decision, text)
    db.commit()
    return receipts.give([(event, text)])


@bp.route("/my-choices", methods=["GET", "POST"])
@client_required
def my_choices() -> Response | str:
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
    state = consent.current_state(db, visit.client.id)
    history = consent.history(db, visit.client.id)
    texts = consent.texts_by_id(db, {e.consent_text_id for e in history if e.consent_text_id})
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


@bp.route("/receipt")
def receipt() -> Response | str:
    kept = receipts.kept()
    if kept is None:
        return redirect(url_for("client.my_choices"))
    items = kept["items"]
    assert isinstance(items, list)
    return render_template(
        "client/receipt.html",
        items=items,
        then=kept.get("next"),
        erased=any(item.get("erased") for item in items),
    )


@bp.route("/receipt.json")
def receipt_json() -> Response:
    """One receipt as JSON: `?n=` picks which, when a page gave several."""
    kept = receipts.kept()
    number = request.args.get("n", "0")
    items = kept["items"] if kept else []
    assert isinstance(items, list)
    if number not in [str(index) for index in range(len(items))]:
        abort(404)
    response = Response(
        json.dumps(items[int(number)], ensure_ascii=False, indent=2), mimetype="application/json"
    )
    response.headers["Content-Disposition"] = 'attachment; filename="consent-receipt.json"'
    return response


@bp.route("/delete-everything", methods=["GET", "POST"])
@client_required
def delete_everything() -> Response | str:
    """Withdraw "keep my answers": after one plain confirmation, everything is erased."""
    form = ChoiceForm()
    if not form.validate_on_submit():
        return render_template("client/delete_everything.html", form=form)
    visit = g.visit
    db = db_session()
    text = text_for(consent.Purpose.STORE_ANSWERS)
    event = consent.decide(
        db, visit.client, consent.Purpose.STORE_ANSWERS, consent.Decision.WITHDRAWN, text
    )
    vault.erase_client(db, visit.client)
    db.commit()
    forget_deleted_pages(db)
    session = current_session()
    locale = session.get("locale")
    session.clear()
    session.secrets.clear()
    session.kind, session.client_id = "visitor", None
    if locale:
        session["locale"] = locale
    session.regenerate()
    return receipts.give([(event, text)], erased=True)


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
def decide_again() -> Response | str:
    """New words for something they agreed to, or a choice their coach recorded for them:
    they decide, one at a time, before carrying on."""
    visit = g.visit
    db = db_session()
    form = ChoiceForm()
    if request.args.get("later") == "1":
        current_session()[CONSENT_CHECKED] = True  # asked again at their next visit
        return redirect(url_for("client.check"))
    stale = consent.needs_asking_again(db, visit.client.id, i18n.select_locale())
    by_coach = consent.recorded_by_coach(db, visit.client.id)
    if form.validate_on_submit():
        purpose = request.form.get("purpose", "")
        yes = request.form.get("decision") == consent.Decision.GRANTED
        waiting = {e.purpose for e, _old, _new in stale} | {e.purpose for e in by_coach}
        if purpose not in waiting:
            abort(400)
        text = text_for(purpose)
        current = consent.current_state(db, visit.client.id)[purpose]
        decision = (
            consent.Decision.GRANTED
            if yes
            else (
                consent.Decision.WITHDRAWN
                if current.decision == consent.Decision.GRANTED
                else consent.Decision.DECLINED
            )
        )
        event = consent.decide(db, visit.client, purpose, decision, text)
        db.commit()
        return receipts.give([(event, text)], then=url_for("client.decide_again"))
    if not stale and not by_coach:
        current_session()[CONSENT_CHECKED] = True
        return redirect(url_for("client.check"))
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
    return render_template("client/my_data.html", **_everything())


@bp.route("/my-data.json")
@client_required
def my_data_json() -> Response:
    data = _everything()
    document = {
        "record": g.visit.client.id,
        "status": g.visit.client.status,
        "answers": {
            key: opened.fields
            for key, opened in data["opened"].items()  # type: ignore[attr-defined]
        },
        "consent": [
            consent.receipt(e, data["texts"].get(e.consent_text_id))  # type: ignore[attr-defined]
            for e in data["history"]  # type: ignore[attr-defined]
        ],
        "agreements": [
            {
                "kind": a.record.kind,
                "version": a.record.version,
                "content": a.content,
                "your_response": a.record.client_response,
                "your_note": a.note,
            }
            for a in data["agreements"]  # type: ignore[attr-defined]
        ],
        "check_ins": [
            {"at": c.record.created_at.isoformat(), "you_said": c.brought, "agreed": c.agreed}
            for c in data["check_ins"]  # type: ignore[attr-defined]
        ],
        "who_looked": [
            {"who": e.staff_name, "what": e.action, "at": e.at.isoformat()}
            for e in data["looked"]  # type: ignore[attr-defined]
        ],
    }
    response = Response(
        json.dumps(document, ensure_ascii=False, indent=2), mimetype="application/json"
    )
    response.headers["Content-Disposition"] = 'attachment; filename="my-answers.json"'
    return response


def _everything() -> dict[str, object]:
    """Everything Groundwork holds about the person, opened with their own key."""
    visit = current_visit()
    assert visit is not None
    db = db_session()
    opened = vault.read_sections(db, visit.client, visit.data_key)
    history = consent.history(db, visit.client.id)
    opened_agreements = [
        agreements.open_agreement(a, visit.data_key)
        for kind in ("relationship", "plan")
        for a in agreements.versions(db, visit.client.id, kind)
    ]
    return {
        "client": visit.client,
        "opened": opened,
        "sections": review_sections(opened),
        "history": history,
        "texts": consent.texts_by_id(db, {e.consent_text_id for e in history if e.consent_text_id}),
        "agreements": opened_agreements,
        "check_ins": [
            agreements.open_check_in(c, visit.data_key)
            for c in agreements.check_ins(db, visit.client.id)
        ],
        "looked": audit.entries_for_client(db, visit.client.id),
    }
