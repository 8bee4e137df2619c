"""A staff member's own account: changing their password, where notices reach them, and a
coach's own words on their side of the relationship agreement."""

from __future__ import annotations

from flask import abort, current_app, render_template
from flask_babel import gettext as _
from flask_login import login_required

from intake import agreements, i18n, notices, staff
from intake.coach import bp
from intake.coach.access import signed_in_staff, staff_only
from intake.coach.forms import PasswordChangeForm, notice_form, own_words_form
from intake.context import form_library, sign_in_policy, staff_crypto
from intake.db import db_session
from intake.sessions import PERSONAL_KEY, current_session


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> str | tuple[str, int]:
    """A new password re-wraps the personal key (and so the organisation key) and signs the
    person out everywhere else."""
    form = PasswordChangeForm()
    error = None
    done = False
    if form.validate_on_submit():
        member = signed_in_staff()
        db = db_session()
        session = current_session()
        checked = staff.check_password(
            db, member.username, form.current.data or "", staff_crypto(), sign_in_policy()
        )
        personal_key = session.get_secret(PERSONAL_KEY)
        if checked is None or personal_key is None:
            db.commit()  # a wrong current password counts towards the pause
            error = _("Your current password is not right. Please try again.")
        elif form.new.data != form.new_again.data:
            error = _("The two new passwords are different. Please type them again.")
        else:
            try:
                staff.change_password(db, member, personal_key, form.new.data or "", staff_crypto())
            except staff.StaffError as problem:
                db.rollback()
                error = i18n.say(problem.sentence)
            else:
                staff.end_sessions(db, member.id, keep_id_hash=session.id_hash)
                db.commit()
                done = True
                form = PasswordChangeForm(formdata=None)
    return render_template("coach/password.html", form=form, error=error, done=done), (
        400 if error else 200
    )


@bp.route("/account/notices", methods=["GET", "POST"])
@staff_only
def notice_email() -> str | tuple[str, int]:
    """Where notices reach them (intake/notices.py), an email that says only that there is
    something in Groundwork for them (empty: no notices), and how each kind comes."""
    member = signed_in_staff()
    db = db_session()
    kinds = tuple(
        kind for kind in notices.Kind if kind != notices.Kind.INTAKE_WAITING or member.is_admin
    )
    chosen = notices.choices_of(db, member.id, current_app.config["NOTICE_DEFAULTS"])
    form = notice_form(kinds)(
        data={"email": member.email or "", **{kind: str(chosen[kind]) for kind in kinds}}
    )
    saved = False
    if form.validate_on_submit():
        member.email = form.email.data or None
        notices.choose(
            db,
            member.id,
            {kind: notices.When(form[kind].data) for kind in kinds if form[kind].data},
        )
        db.commit()
        saved = True
    return render_template("coach/notices.html", form=form, kinds=kinds, saved=saved), (
        400 if form.errors else 200
    )


@bp.route("/account/my-side", methods=["GET", "POST"])
@staff_only
def own_words() -> str | tuple[str, int]:
    """The coach's side of the relationship agreement: what every coach here promises (from
    the form), and the coach's own words under each part, which go into every agreement they
    accept from now on."""
    member = signed_in_staff()
    personal_key = current_session().get_secret(PERSONAL_KEY)
    if personal_key is None:
        abort(404)
    parts = form_library().live(db_session()).coach_side
    form_class = own_words_form(tuple(part.key for part in parts))
    saved = False
    if (form := form_class()).validate_on_submit():
        agreements.set_own_words(member, {part.key: form[part.key].data or "" for part in parts})
        db_session().commit()
        saved = True
    elif not form.errors:
        form = form_class(data=agreements.own_words(member, personal_key))
    return render_template("coach/my_side.html", form=form, parts=parts, saved=saved), (
        400 if form.errors else 200
    )
