"""A staff member's own account: changing their password."""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _
from flask_login import login_required

from intake import i18n, staff
from intake.coach import bp
from intake.coach.access import signed_in_staff
from intake.coach.forms import PasswordChangeForm
from intake.context import sign_in_policy, staff_crypto
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
