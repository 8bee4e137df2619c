"""The workspace a signed-in coach lands on. It lists their clients once intakes arrive."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user, login_required

from intake.coach import bp


@bp.route("/workspace")
@login_required
def workspace() -> str:
    return render_template("coach/workspace.html", member=current_user)
