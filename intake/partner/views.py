"""Where partner staff land after signing in."""

from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user, login_required

from intake.models import Role
from intake.partner import bp


@bp.route("/")
@login_required
def home() -> str:
    if current_user.role != Role.PARTNER:
        abort(404)
    return render_template("partner/home.html", member=current_user)
