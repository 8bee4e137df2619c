"""The client's side of the coaching agreement: confirming the relationship agreement and the
coaching plan (or asking for a change), and saying what they bring to a session."""

from __future__ import annotations

from flask import abort, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _

from intake import agreements
from intake.client import bp
from intake.client.forms import CheckInForm, ResponseForm, StrengthForm
from intake.client.visit import client_required
from intake.db import db_session
from intake.models import AgreementKind, CheckIn, utcnow
from intake.questionnaire import Part
from intake.review import review_sections, strengths_in
from intake.vault import OpenedSection


def _latest_opened(kind: str) -> agreements.OpenedAgreement | None:
    record = agreements.latest(db_session(), g.visit.client.id, kind)
    return agreements.open_agreement(record, g.visit.data_key) if record else None


@bp.route("/agreement", methods=["GET", "POST"])
@client_required
def agreement() -> ResponseReturnValue:
    form = ResponseForm()
    if form.validate_on_submit():
        kind = request.form.get("kind", "")
        response = request.form.get("response", "")
        record = agreements.latest(db_session(), g.visit.client.id, kind)
        if record is None or response not in set(agreements.Response):
            abort(400)
        if str(record.version) != request.form.get("version"):
            return redirect(url_for("client.agreement"))  # a newer version arrived meanwhile
        agreements.respond(db_session(), record, g.visit.data_key, response, form.note.data or "")
        db_session().commit()
        return redirect(url_for("client.agreement"))
    return _agreement_page(form)


@bp.route("/agreement/strengths", methods=["POST"])
@client_required
def add_strength() -> ResponseReturnValue:
    """Something the person managed, added to their strengths; what they typed is kept on the
    page if it cannot be added."""
    form = StrengthForm()
    if not form.validate_on_submit():
        return _agreement_page(ResponseForm(formdata=None), strength_form=form, status=400)
    agreements.add_strength(db_session(), g.visit.client, g.visit.data_key, form.text.data or "")
    db_session().commit()
    return redirect(url_for("client.agreement"))


def _agreement_page(
    form: ResponseForm, strength_form: StrengthForm | None = None, status: int = 200
) -> ResponseReturnValue:
    relationship = _latest_opened(AgreementKind.RELATIONSHIP)
    followed = g.visit.form
    answered = {  # the pages that hold their strengths, opened
        key: g.answers.read(section)
        for key in {page for page, _question in followed.strengths}
        if (section := followed.section(key)) is not None
    }
    promises = None
    if relationship and relationship.content:
        stored = relationship.content.get("promises")
        if isinstance(stored, dict):
            record = relationship.record
            promises = review_sections(
                g.visit.form,
                {
                    key: OpenedSection(
                        key,
                        record.version,
                        record.created_at,
                        value if isinstance(value, dict) else None,
                    )
                    for key, value in stored.items()
                },
            )
    return render_template(
        "client/agreement.html",
        form=form,
        relationship=relationship,
        promises=[s for s in promises or [] if s.part == Part.AGREEMENT],
        coach_side=agreements.coach_side_in(relationship.content, str(get_locale()))
        if relationship and relationship.content
        else [],
        plan=_latest_opened(AgreementKind.PLAN),
        strengths=strengths_in(followed, answered),
        added=agreements.strengths_added(db_session(), g.visit.client.id, g.visit.data_key),
        strength_form=strength_form or StrengthForm(formdata=None),
    ), status


@bp.route("/before-a-session/<int:check_in_id>", methods=["POST"])
@client_required
def respond_to_session(check_in_id: int) -> ResponseReturnValue:
    """The person confirms what was agreed at a session, or adds a comment for their coach."""
    db = db_session()
    check_in = db.get(CheckIn, check_in_id)
    if check_in is None or check_in.client_id != g.visit.client.id or check_in.agreed_ct is None:
        abort(404)
    form = ResponseForm()
    response = request.form.get("response", "")
    if not form.validate_on_submit() or response not in set(agreements.Response):
        abort(400)
    agreements.respond_to_session(db, check_in, g.visit.data_key, response, form.note.data or "")
    db.commit()
    return redirect(url_for("client.check_in"))


@bp.route("/before-a-session", methods=["GET", "POST"])
@client_required
def check_in() -> ResponseReturnValue:
    form = CheckInForm()
    db = db_session()
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    limit = int(current_app.config["CHECK_INS_PER_DAY"])
    full = agreements.check_ins_since(db, g.visit.client.id, today) >= limit
    if form.validate_on_submit() and full:
        # What they typed stays on the page; nothing is lost, nothing is sent.
        form.goal.errors = [
            _(
                "You have sent %(count)s check-ins today. Your coach will read them all. "
                "You can send another tomorrow.",
                count=limit,
            )
        ]
    elif form.validate_on_submit():
        agreements.add_check_in(
            db,
            g.visit.client,
            g.visit.data_key,
            {key: form[key].data or "" for key in agreements.CHECK_IN_FIELDS},
        )
        db.commit()
        return redirect(url_for("client.check_in", sent="1"))
    past = [
        agreements.open_check_in(c, g.visit.data_key)
        for c in agreements.check_ins(db, g.visit.client.id)
    ]
    return render_template(
        "client/check_in.html",
        form=form,
        response_form=ResponseForm(formdata=None),
        past=past,
        sent=request.args.get("sent") == "1",
    ), (400 if form.errors else 200)
