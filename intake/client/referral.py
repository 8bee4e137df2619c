"""Arriving by referral: a link or a typed code from a partner organisation.

The referral is held in the session until the person agrees that we may keep their answers;
only then is it used (a link works once). A link or code that cannot be used any more gets a
kind page that offers to start without it.
"""

from __future__ import annotations

from flask import redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from intake import crypto, i18n, referrals
from intake.client import bp, code_tries
from intake.client.forms import ReferralCodeForm
from intake.client.visit import REFERRAL
from intake.context import key_settings
from intake.db import db_session
from intake.models import Client, PartnerOrg, Referral, utcnow
from intake.sessions import current_session


def pending_referral() -> tuple[Referral, str] | None:
    """The referral this visitor arrived with, if it can still be used, and who made it."""
    referral_id = current_session().get(REFERRAL)
    if referral_id is None:
        return None
    db = db_session()
    referral = db.get(Referral, referral_id)
    if referral is None or referrals.why_closed(referral, utcnow()) is not None:
        return None
    org = db.get(PartnerOrg, referral.partner_org_id)
    return referral, org.name if org else ""


def _arrive(referral: Referral | None) -> ResponseReturnValue:
    why = referrals.why_closed(referral, utcnow())
    if why is not None or referral is None:
        return render_template("client/referral_closed.html", why=why), 410
    session = current_session()
    session[REFERRAL] = referral.id
    if session.get(i18n.SESSION_KEY) is None:
        i18n.choose_locale(referral.locale)
    return redirect(url_for("client.referred"))


def mark_pending_used(referral: Referral, client: Client) -> bool:
    """The person agreed to keep their answers: the referral is theirs, and used up. False
    when someone else started with it first (then they start without it)."""
    current_session().pop(REFERRAL, None)
    return referrals.mark_used(db_session(), referral, client)


@bp.route("/r/<token>")
def referral_link(token: str) -> ResponseReturnValue:
    """A referral link: its token leaves the address bar at once."""
    return _arrive(referrals.by_token(db_session(), token))


@bp.route("/referral-code", methods=["GET", "POST"])
def referral_code() -> ResponseReturnValue:
    form = ReferralCodeForm()
    not_found = False
    if form.validate_on_submit():
        code_tries.count_a_try(code_tries.REFERRAL_CODES)
        typed = form.code.data or ""
        if crypto.normalise_referral_code(typed) is not None:
            # Only a well-formed code costs a lookup, and only one that finds nothing counts.
            reservation = code_tries.reserve_a_lookup(code_tries.REFERRAL_CODES)
            referral = referrals.by_code(db_session(), typed, key_settings())
            if referral is not None:
                code_tries.it_opened(code_tries.REFERRAL_CODES, reservation)
                return _arrive(referral)
        not_found = True
    return render_template(
        "client/referral_code.html", form=form, not_found=not_found, error=not_found
    ), (400 if not_found else 200)


@bp.route("/referred")
def referred() -> ResponseReturnValue:
    pending = pending_referral()
    if pending is None:
        return redirect(url_for("client.start"))
    return render_template("client/referred.html", org_name=pending[1])


def too_many_codes() -> tuple[str, int]:
    return render_template(
        "client/referral_code.html", form=ReferralCodeForm(), too_many=True, error=True
    ), 429
