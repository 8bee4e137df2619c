"""Staff sign-in in two steps (password, then a 6-digit code), sign-out, and joining.

Every refusal — wrong password, wrong or reused code, an ended session, too many tries —
shows the same sentence, so nobody learns which part was wrong. The one exception is an account
paused after too many wrong tries: any try at it, right or wrong, says it is paused and until
when (docs/decisions.md, "A paused account says so").
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_time, format_timedelta
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy.orm import Session
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response as WerkzeugResponse

from intake import i18n, staff
from intake.auth import bp, devices, sign_in_tries
from intake.auth.forms import CodeForm, JoinForm, SignInForm
from intake.context import sign_in_policy, staff_crypto
from intake.db import db_session
from intake.extensions import login_manager
from intake.models import StaffUser, utcnow
from intake.qr import qr_svg
from intake.security import forget_on_this_device
from intake.sessions import ORG_KEY, PERSONAL_KEY, STAFF, current_session

PENDING_STAFF = "pending_staff_id"
PENDING_SINCE = "pending_since"
ENROL_SECRET = "enrol_totp_secret"  # noqa: S105 - the name of a session slot
INVITE_SECRET = "invite_secret"  # noqa: S105 - the name of a session slot


def generic_refusal() -> str:
    refusal: str = _("We could not sign you in. Check your details and try again.")
    return refusal


def paused_notice(member: StaffUser) -> str:
    """The calm sentence for a paused account: how long a pause lasts, and when it ends."""
    # Always in minutes, like the setting: "15 minutes", "90 minutes", never "2 hours".
    duration = format_timedelta(sign_in_policy().pause, granularity="minute", threshold=10**6)
    # Translators: %(duration)s is like "15 minutes"; %(time)s is a time of day, like 10:45.
    notice: str = _(
        "This account is paused for %(duration)s after too many tries. "
        "You can try again at %(time)s.",
        duration=duration,
        time=format_time(member.paused_until, "short"),
    )
    return notice


def _paused(db: Session, username: str) -> StaffUser | None:
    """The active account with this name, if it is paused now; else None."""
    member = staff.find_staff(db, username)
    if member is None or not member.active or not staff.is_paused(member, utcnow()):
        return None
    return member


def _known_device() -> devices.Device | None:
    return devices.known_device(current_app, request)


def _password_budget(db: Session, username: str, device: devices.Device | None) -> str:
    """The budget a password try comes from: this known device's, or the account's shared one."""
    if device is not None:
        member = staff.find_staff(db, username)
        if member is not None and member.id == device.staff_id:
            return sign_in_tries.account_of(member.id, device)
    return sign_in_tries.account_by_name(username)


def landing_page(member: StaffUser) -> str:
    """Coaches and admins land on their clients; partner staff on their referrals."""
    return url_for("coach.workspace" if member.reads_answers else "partner.home")


@login_manager.user_loader
def load_staff(user_id: str) -> StaffUser | None:
    """The signed-in person, only while their session row says so and they are active."""
    session = current_session()
    if session.kind != STAFF or str(session.staff_id) != user_id:
        return None
    member = db_session().get(StaffUser, int(user_id))
    if member is None or not member.active:
        return None
    return member


@login_manager.unauthorized_handler
def _sign_in_first() -> WerkzeugResponse:
    """To the sign-in page; if the session just ended after a while, the page says so."""
    ended = current_session().ended in ("idle", "expired")
    values: dict[str, Any] = {"ended": "1"} if ended else {}
    return redirect(url_for("auth.sign_in", **values))


login_manager.login_view = "auth.sign_in"
login_manager.login_message = None
login_manager.session_protection = None  # the split-key session row is the protection


@bp.errorhandler(TooManyRequests)
def _too_many(_error: TooManyRequests) -> tuple[str, int]:
    if request.endpoint == "auth.two_factor":
        return render_template(
            "auth/two_factor.html", form=CodeForm(), error=generic_refusal(), enrol=None
        ), 429
    return render_template("auth/sign_in.html", form=SignInForm(), error=generic_refusal()), 429


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(landing_page(current_user))
    form = SignInForm()
    error = None
    ended = current_session().ended in ("idle", "expired") or request.args.get("ended") == "1"
    if request.method == "GET" and ended:
        error = _("You were signed out after a while without activity. Please sign in again.")
    if form.validate_on_submit():
        db = db_session()
        username, device = form.username.data or "", _known_device()
        # Reserved before the Argon2id check, so a burst cannot all slip past the limit.
        budget = _password_budget(db, username, device)
        reservation = sign_in_tries.reserve(budget)
        result = staff.check_password(
            db,
            username,
            form.password.data or "",
            staff_crypto(),
            sign_in_policy(),
            known_device_of=device.staff_id if device is not None else None,
        )
        db.commit()
        if result is not None:
            sign_in_tries.it_was_right(reservation)
            member, personal_key = result
            session = current_session()
            session.restart()
            session.bind_staff(member.id)
            session[PENDING_STAFF] = member.id
            session[PENDING_SINCE] = utcnow().isoformat()
            session.put_secret(PERSONAL_KEY, personal_key)
            return redirect(url_for("auth.two_factor"))
        # Whether the password was right or not, so the notice tells nobody which it was.
        paused = _paused(db, username)
        if paused is not None and not sign_in_tries.is_known_device(budget):
            error = paused_notice(paused)
        else:
            error = generic_refusal()
    elif request.method == "POST":
        error = generic_refusal()
    notice = None
    if request.args.get("signed-out") == "1":
        notice = _("You have signed out.")
    elif request.args.get("joined") == "1":
        notice = _("Your account is ready. Sign in to set up your 6-digit codes.")
    return render_template("auth/sign_in.html", form=form, error=error, notice=notice)


def _pending() -> tuple[StaffUser, bytes] | None:
    """The person half-way through signing in, if that step is still fresh."""
    session = current_session()
    staff_id, since = session.get(PENDING_STAFF), session.get(PENDING_SINCE)
    personal_key = session.get_secret(PERSONAL_KEY)
    if staff_id is None or since is None or personal_key is None:
        return None
    window = timedelta(minutes=current_app.config["SIGN_IN_STEP_MINUTES"])
    if utcnow() - datetime.fromisoformat(since) > window:
        return None
    member = db_session().get(StaffUser, staff_id)
    if member is None or not member.active:
        return None
    return member, personal_key


def _forget_pending() -> None:
    """Drop a half-finished sign-in, and nothing else the session holds."""
    session = current_session()
    for name in (PENDING_STAFF, PENDING_SINCE):
        session.pop(name, None)
    for secret in (PERSONAL_KEY, ENROL_SECRET):
        session.drop_secret(secret)


@bp.route("/two-factor", methods=["GET", "POST"])
def two_factor() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(landing_page(current_user))
    pending = _pending()
    if pending is None:
        _forget_pending()
        return render_template("auth/sign_in.html", form=SignInForm(), error=generic_refusal())
    member, personal_key = pending
    session = current_session()
    secret = staff.read_totp_secret(member, personal_key)
    enrol = None
    if secret is None:
        enrol_secret = session.get_secret(ENROL_SECRET)
        if enrol_secret is None:
            enrol_secret = staff.new_totp_secret().encode()
            session.put_secret(ENROL_SECRET, enrol_secret)
        secret = enrol_secret.decode()
        enrol = {
            "qr": qr_svg(staff.totp_uri(secret, member.username)),
            "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
        }
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        db = db_session()
        now = utcnow()
        device = _known_device()
        budget = sign_in_tries.account_of(member.id, device)
        from_known_device = sign_in_tries.is_known_device(budget)
        reservation = sign_in_tries.reserve(budget)
        paused = staff.is_paused(member, now) and not from_known_device
        if not paused and staff.accept_totp(db, member, secret, form.code.data or "", now):
            sign_in_tries.it_was_right(reservation)
            if enrol is not None:
                staff.store_totp_secret(member, personal_key, secret)
            staff.register_success(member, now)
            org_key = staff.open_org_key(member, personal_key)
            db.commit()
            session.restart()
            session.bind_staff(member.id)
            session.put_secret(PERSONAL_KEY, personal_key)
            if org_key is not None:
                session.put_secret(ORG_KEY, org_key)
            login_user(member)
            response = redirect(landing_page(member))
            devices.remember(current_app, response, member.id, device)
            return response
        if not from_known_device:
            staff.register_failure(db, member, sign_in_policy(), now)
        db.commit()
        paused = staff.is_paused(member, now) and not from_known_device
        error = paused_notice(member) if paused else generic_refusal()
    elif request.method == "POST":
        error = generic_refusal()
    return render_template("auth/two_factor.html", form=form, error=error, enrol=enrol)


@bp.route("/sign-out", methods=["POST"])
def sign_out() -> WerkzeugResponse:
    logout_user()
    current_session().destroy()
    # Cache and storage go; the session cookie is deleted; a known-device cookie stays.
    values: dict[str, Any] = {"signed-out": "1"}
    return forget_on_this_device(redirect(url_for("auth.sign_in", **values)))


@bp.route("/join/<secret>")
def join_link(secret: str) -> WerkzeugResponse:
    """Move the invite secret out of the address bar into the session, then show the form."""
    session = current_session()
    session.put_secret(INVITE_SECRET, secret.encode())
    return redirect(url_for("auth.join"))


@bp.route("/join", methods=["GET", "POST"])
def join() -> ResponseReturnValue:
    session = current_session()
    raw_secret = session.get_secret(INVITE_SECRET)
    secret = raw_secret.decode() if raw_secret else None
    db = db_session()
    invite = staff.find_invite(db, secret) if secret else None
    if invite is None or secret is None:
        return render_template("auth/join_closed.html"), 404
    form = JoinForm()
    error = None
    if form.validate_on_submit():
        if form.password.data != form.password_again.data:
            error = _("The two passwords are different. Please type them again.")
        else:
            try:
                staff.accept_invite(
                    db,
                    invite,
                    secret,
                    form.username.data or "",
                    form.password.data or "",
                    staff_crypto(),
                )
            except staff.StaffError as problem:
                db.rollback()
                error = i18n.say(problem.sentence)
            else:
                db.commit()
                session.destroy()
                return redirect(url_for("auth.sign_in", joined="1"))
    return render_template("auth/join.html", form=form, invite=invite, error=error)
