"""Arriving by referral: a link or a typed code from a partner organisation.

The referral is held in the session until the person agrees that we may keep their answers;
only then is it used (a link works once). A link or code that cannot be used any more gets a
kind page that offers to start without it.
"""

from __future__ import annotations

from flask import Response, current_app, g, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from wtforms import StringField

from intake import crypto, i18n, referrals
from intake.client import bp
from intake.client.forms import FitsIn
from intake.context import key_settings
from intake.db import db_session
from intake.extensions import limiter
from intake.form_base import GroundworkForm
from intake.models import Client, PartnerOrg, Referral, utcnow
from intake.security import address_key, global_key
from intake.sessions import current_session

REFERRAL = "referral_id"


class ReferralCodeForm(GroundworkForm):
    code = StringField(_l("Your referral code"), validators=[FitsIn(40)])


def pending_referral() -> tuple[Referral, str] | None:
    """The referral this visitor arrived with, if it can still be used, and who made it."""
    referral_id = current_session().get(REFERRAL)
    if referral_id is None:
        return None
    db = db_session()
    referral = db.get(Referral, referral_id)
    if referral is None or referrals.why_unusable(referral, utcnow()) is not None:
        return None
    org = db.get(PartnerOrg, referral.partner_org_id)
    return referral, org.name if org else ""


def _arrive(referral: Referral | None) -> Response | tuple[str, int]:
    why = referrals.why_unusable(referral, utcnow())
    if why is not None or referral is None:
        return render_template("client/referral_closed.html", why=why), 410
    session = current_session()
    session[REFERRAL] = referral.id
    if session.get(i18n.SESSION_KEY) is None:
        i18n.choose_locale(referral.locale)
    return redirect(url_for("client.referred"))


def mark_pending_used(referral: Referral, client: Client) -> None:
    """The person agreed to keep their answers: the referral is theirs, and used up."""
    referrals.mark_used(db_session(), referral, client)  # if someone was first: no referral
    current_session().pop(REFERRAL, None)


@bp.route("/r/<token>")
def referral_link(token: str) -> Response | tuple[str, int]:
    """A referral link: its token leaves the address bar at once."""
    return _arrive(referrals.by_token(db_session(), token))


def _code_not_found(_response: Response) -> bool:
    return bool(g.get("referral_code_missed"))


@bp.route("/referral-code", methods=["GET", "POST"])
@limiter.limit(
    lambda: str(current_app.config["RETURN_CODE_LIMIT_GLOBAL"]),
    key_func=global_key,
    methods=["POST"],
    deduct_when=_code_not_found,
)
@limiter.limit(
    lambda: str(current_app.config["REFERRAL_CODE_LIMIT_PER_ADDRESS"]),
    key_func=address_key,
    methods=["POST"],
    deduct_when=_code_not_found,
)
def referral_code() -> Response | str | tuple[str, int]:
    form = ReferralCodeForm()
    not_found = False
    if form.validate_on_submit():
        referral = referrals.by_code(db_session(), form.code.data or "", key_settings().pepper)
        if referral is not None:
            return _arrive(referral)
        not_found = True
        # Only a well-formed code that opens nothing counts towards the limit: an empty or
        # mistyped box costs a person nothing, and tells a guesser nothing.
        g.referral_code_missed = crypto.normalise_referral_code(form.code.data or "") is not None
    return render_template(
        "client/referral_code.html", form=form, not_found=not_found, error=not_found
    ), (400 if not_found else 200)


@bp.route("/referred")
def referred() -> Response | str:
    pending = pending_referral()
    if pending is None:
        return redirect(url_for("client.start"))
    return render_template("client/referred.html", org_name=pending[1])


def too_many_codes() -> tuple[str, int]:
    return render_template(
        "client/referral_code.html", form=ReferralCodeForm(), too_many=True, error=True
    ), 429
