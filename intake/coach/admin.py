"""Admin pages: the team (invite, deactivate, reset two-step codes), the access log and the
notices waiting to be sent."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from intake import audit, consent, i18n, notices, staff, webhooks
from intake.coach import bp
from intake.coach.access import admin_only, org_key, signed_in_staff
from intake.coach.forms import InviteForm, PublishForm
from intake.context import staff_crypto
from intake.db import db_session
from intake.form_base import ConfirmForm
from intake.links import public_url
from intake.models import Role, StaffUser, utcnow
from intake.paging import page_count, page_or_first

LOG_PER_PAGE = 50


def _team_page(form: InviteForm, link: str | None = None, error: str | None = None) -> str:
    return render_template(
        "coach/team.html",
        team=staff.team(db_session()),
        form=form,
        confirm=ConfirmForm(),
        link=link,
        error=error,
        me=signed_in_staff(),
    )


@bp.route("/team", methods=["GET", "POST"])
@admin_only
def team() -> str:
    form = InviteForm()
    if not form.validate_on_submit():
        return _team_page(form)
    db = db_session()
    role = form.role.data or Role.COACH
    try:
        partner_org = (
            staff.partner_org_named(db, form.partner_org.data or "")
            if role == Role.PARTNER
            else None
        )
        secret = staff.create_invite(
            db,
            role=role,
            display_name=form.display_name.data or "",
            keys=staff_crypto(),
            days=int(current_app.config["INVITE_DAYS"]),
            org_private_key=None if role == Role.PARTNER else org_key().raw,
            partner_org=partner_org,
            invited_by=signed_in_staff(),
        )
    except staff.StaffError as problem:
        db.rollback()
        return _team_page(form, error=i18n.say(problem.sentence))
    db.commit()
    # Shown once, in this response only; the secret is never stored.
    link = public_url("auth.join_link", secret=secret)
    return _team_page(InviteForm(formdata=None), link=link)


def _member_or_404(staff_id: int) -> StaffUser:
    member = db_session().get(StaffUser, staff_id)
    if member is None:
        abort(404)
    return member


@bp.route("/team/<int:staff_id>/deactivate", methods=["POST"])
@admin_only
def deactivate(staff_id: int) -> Response:
    member = _member_or_404(staff_id)
    if member.id == signed_in_staff().id or not ConfirmForm().validate_on_submit():
        abort(400)
    db = db_session()
    staff.deactivate(db, member)
    db.commit()
    return redirect(url_for("coach.team"))


@bp.route("/team/<int:staff_id>/reset-two-step", methods=["POST"])
@admin_only
def reset_two_step(staff_id: int) -> Response:
    member = _member_or_404(staff_id)
    if member.id == signed_in_staff().id or not ConfirmForm().validate_on_submit():
        abort(400)  # resetting your own codes would lock you out: ask another admin
    db = db_session()
    staff.reset_two_factor(db, member)
    db.commit()
    return redirect(url_for("coach.team"))


@bp.route("/access-log")
@admin_only
def access_log() -> str:
    db = db_session()
    page = page_or_first(request.args.get("page"))
    entries, total = audit.entries_page(db, page, LOG_PER_PAGE)
    broken_at = audit.verify(db)
    return render_template(
        "coach/access_log.html",
        entries=entries,
        page=page,
        pages=page_count(total, LOG_PER_PAGE),
        broken_at=broken_at,
        intact_message=_("The log is complete: no entry has been changed or removed."),
    )


@bp.route("/consent-texts", methods=["GET", "POST"])
@admin_only
def consent_texts() -> str:
    """The words clients are shown for each consent, and publishing a new version of them.
    Everyone who said yes to the old words is asked again at their next visit."""
    db = db_session()
    form = PublishForm()
    form.locale.choices = [SelectChoice(code, name) for code, name in i18n.language_choices()]
    published = None
    if form.validate_on_submit():
        published = consent.publish(
            db, form.purpose.data or "", form.locale.data or "", form.body.data or ""
        )
        db.commit()
        form = PublishForm(formdata=None)
        form.locale.choices = [SelectChoice(code, name) for code, name in i18n.language_choices()]
    current = []
    for purpose in consent.Purpose:
        for code, name in i18n.language_choices():
            try:
                text = consent.current_text(db, purpose, code, fallback=code)
            except LookupError:
                text = None
            current.append({"purpose": purpose, "language": name, "text": text})
    return render_template(
        "coach/consent_texts.html", form=form, current=current, published=published
    )


@bp.route("/notices/queue")
@admin_only
def notice_queue() -> str:
    """The notices and partners' webhook messages waiting to be sent, and why any of them is
    late (for the operators)."""
    db = db_session()
    return render_template(
        "coach/notice_queue.html",
        waiting=notices.queue(db),
        sent_this_week=notices.sent_since(db, utcnow() - timedelta(days=7)),
        mail_server_named=bool(current_app.config.get("SMTP_URL")),
        webhook_messages=webhooks.queue(db),
    )
