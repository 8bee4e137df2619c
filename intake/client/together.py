"""The client's side of the coaching agreement: signing the relationship agreement and the
coaching plan (or asking for a change), saying what they bring to a session, and saying
whether coaching is on track."""

from __future__ import annotations

from flask import abort, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _

from intake import agreements, notices, reviews
from intake.client import bp
from intake.client.forms import (
    CheckInForm,
    ResponseForm,
    ReviewForm,
    SignForm,
    StrengthForm,
)
from intake.client.visit import client_required
from intake.db import db_session
from intake.models import AgreementKind, CheckIn, utcnow
from intake.review import promises_in, strengths_in
from intake.tell import tell

REVIEW_FIELDS = ("working", "not_working", "goals", "safe", "agreement")


def _latest_opened(kind: str) -> agreements.OpenedAgreement | None:
    record = agreements.latest(db_session(), g.visit.client.id, kind)
    return agreements.open_agreement(record, g.visit.data_key) if record else None


@bp.route("/agreement", methods=["GET", "POST"])
@client_required
def agreement() -> ResponseReturnValue:
    """Sign a version (typed name or a tick), or ask for a change with a note. What was typed
    stays on the page when it cannot be taken."""
    if request.method == "GET":
        return _agreement_page()
    kind = request.form.get("kind", "")
    response = request.form.get("response", "")
    record = agreements.latest(db_session(), g.visit.client.id, kind)
    if record is None or response not in set(agreements.Response):
        abort(400)
    signing = response == agreements.Response.CONFIRMED
    form: SignForm | ResponseForm = SignForm() if signing else ResponseForm()
    if not form.validate_on_submit():
        return _agreement_page(**{"sign_form" if signing else "form": form}, failed=kind), 400
    if str(record.version) != request.form.get("version"):
        return redirect(url_for("client.agreement"))  # a newer version arrived meanwhile
    if isinstance(form, SignForm):
        agreements.sign_as_client(
            db_session(), record, g.visit.data_key, form.signed_name.data or ""
        )
    else:
        agreements.respond(db_session(), record, g.visit.data_key, response, form.note.data or "")
        if response == agreements.Response.CHANGE:
            tell(db_session(), [g.visit.client.assigned_coach_id], notices.Kind.CHANGE_ASKED)
    db_session().commit()
    return redirect(url_for("client.agreement") + f"#{kind}")


@bp.route("/agreement/strengths", methods=["POST"])
@client_required
def add_strength() -> ResponseReturnValue:
    """Something the person managed, added to their strengths; what they typed is kept on the
    page if it cannot be added."""
    form = StrengthForm()
    if not form.validate_on_submit():
        return _agreement_page(strength_form=form), 400
    agreements.add_strength(db_session(), g.visit.client, g.visit.data_key, form.text.data or "")
    db_session().commit()
    return redirect(url_for("client.agreement"))


def _agreement_page(
    form: ResponseForm | None = None,
    sign_form: SignForm | None = None,
    strength_form: StrengthForm | None = None,
    failed: str = "",
) -> str:
    """The agreement page; a form that was refused (for the version of `failed` kind) is
    shown with its message and what was typed."""
    relationship = _latest_opened(AgreementKind.RELATIONSHIP)
    opened_reviews = [
        reviews.open_review(r, g.visit.data_key)
        for r in reviews.reviews(db_session(), g.visit.client.id)
    ]
    return render_template(
        "client/agreement.html",
        open_for_change=reviews.open_for_change(db_session(), opened_reviews),
        review_dates={r.record.id: r.record.created_at for r in opened_reviews},
        form=form or ResponseForm(formdata=None),
        sign_form=sign_form or SignForm(formdata=None),
        failed=failed,
        today=utcnow(),
        signed=agreements.signatures(db_session(), g.visit.client.id, g.visit.data_key),
        relationship=relationship,
        promises=promises_in(g.visit.form, relationship.content if relationship else None),
        coach_side=agreements.coach_side_in(relationship.content, str(get_locale()))
        if relationship and relationship.content
        else [],
        plan=_latest_opened(AgreementKind.PLAN),
        **_strengths(),
        strength_form=strength_form or StrengthForm(formdata=None),
    )


def _strengths() -> dict[str, object]:
    """The person's strengths, for the top of their plan and of each review: their answers
    about them, then what they and their coach added since."""
    followed = g.visit.form
    answered = {  # the pages that hold their strengths, opened
        key: g.answers.read(section)
        for key in {page for page, _question in followed.strengths}
        if (section := followed.section(key)) is not None
    }
    return {
        "strengths": strengths_in(followed, answered),
        "added": agreements.strengths_added(db_session(), g.visit.client.id, g.visit.data_key),
    }


@bp.route("/review", methods=["GET", "POST"])
@client_required
def review() -> ResponseReturnValue:
    """ "Are we on track?": the person says how coaching is going, whenever they like (their
    space invites them when a review is due). What was typed stays when it cannot be taken."""
    form = ReviewForm()
    db = db_session()
    client = g.visit.client
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    limit = int(current_app.config["REVIEWS_PER_DAY"])
    if form.validate_on_submit() and reviews.sent_since(db, client.id, today) >= limit:
        form.working.errors = [
            _(
                "You have sent %(count)s reviews today. Your coach will read them all. "
                "You can send another tomorrow.",
                count=limit,
            )
        ]
    elif form.validate_on_submit():
        fields = {name: form[name].data or "" for name in REVIEW_FIELDS}
        reviews.add_review(db, client, g.visit.data_key, fields)
        tell(db, [client.assigned_coach_id], notices.Kind.REVIEW_SENT)
        db.commit()
        return redirect(url_for("client.review", sent="1"))
    return render_template(
        "client/review.html",
        form=form,
        past=[reviews.open_review(r, g.visit.data_key) for r in reviews.reviews(db, client.id)],
        sent=request.args.get("sent") == "1",
        **_strengths(),
    ), (400 if form.errors else 200)


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
        tell(db, [g.visit.client.assigned_coach_id], notices.Kind.CHECK_IN)
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
