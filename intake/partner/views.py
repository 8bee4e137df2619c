"""Partner staff: their organisation's referrals, making a referral (link, code and a card to
print in the client's language), withdrawing an unused one, API tokens, and webhook addresses."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import force_locale
from markupsafe import Markup
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from intake import i18n, outbound, referrals, staff, webhooks
from intake.context import form_library, key_settings, webhook_settings
from intake.db import db_session
from intake.form_base import ConfirmForm
from intake.links import public_url
from intake.paging import page_count, page_or_first
from intake.partner import bp
from intake.partner.forms import WEBHOOK_REFUSED, ReferralForm, TokenForm, WebhookForm
from intake.qr import qr_svg
from intake.questionnaire import DEFAULT_FORM_ID
from intake.roles import partner_only, signed_in_partner_org_id, signed_in_staff


def _page_arg() -> int:
    return page_or_first(request.args.get("page"))


@bp.route("/")
@partner_only
def home() -> str:
    member = signed_in_staff()
    page = _page_arg()
    rows, total = referrals.rows_for(db_session(), signed_in_partner_org_id(), page)
    return render_template(
        "partner/home.html",
        member=member,
        rows=rows,
        page=page,
        pages=page_count(total, referrals.PER_PAGE),
        confirm=ConfirmForm(),
    )


def _referral_form() -> ReferralForm:
    form = ReferralForm()
    form.locale.choices = [SelectChoice(code, name) for code, name in i18n.language_choices()]
    form.form.choices = [
        SelectChoice(form_id, form_id) for form_id in form_library().form_ids(db_session())
    ]
    return form


def _asked_form(chosen: str | None) -> str | None:
    """The form a referral names: None for the default, or for one this organisation does not
    publish (a stale page)."""
    if chosen == DEFAULT_FORM_ID or chosen not in form_library().form_ids(db_session()):
        return None
    return chosen


def _typed(address: str) -> tuple[str, str]:
    """An address as a person types it: the host (no https://) and the path, apart so the card
    can break the line between them."""
    parts = urlsplit(address)
    return parts.netloc.lower(), parts.path


def _in_english(caller: Callable[[], str]) -> str:
    """`{% call in_english() %}…{% endcall %}` in a template: the lines inside, in English."""
    with force_locale("en"):
        return caller()


@bp.route("/referrals/new", methods=["GET", "POST"])
@partner_only
def new_referral() -> str | tuple[str, int]:
    form = _referral_form()
    if not form.validate_on_submit():
        return render_template("partner/new.html", form=form), (400 if form.errors else 200)
    db = db_session()
    member = signed_in_staff()
    org = staff.organisation(db)
    if org is None or member.partner_org is None:
        abort(503)
    locale = form.locale.data if form.locale.data in i18n.shipped_locales() else "en"
    made = referrals.create(
        db,
        partner_org=member.partner_org,
        created_by=member,
        locale=locale,
        nickname=form.nickname.data or "",
        note=form.note.data or "",
        org_public_key=org.public_key,
        keys=key_settings(),
        days=int(current_app.config["REFERRAL_DAYS"]),
        form_id=_asked_form(form.form.data),
    )
    db.commit()
    link = public_url("client.referral_link", token=made.link_token)
    host, path = _typed(public_url("client.referral_code"))
    with force_locale(locale):
        card = render_template(
            "partner/card.html",
            link=link,
            code=made.code,
            address_host=host,
            address_path=path,
            in_english=_in_english,
            qr=qr_svg(link, scales=True),
            org_name=member.partner_org.name,
            expires=made.referral.expires_at,
            card_locale=locale,
            card_dir=i18n.text_direction(locale),
        )
    # Shown once, in this response only: the link and code are stored as digests.
    return render_template(
        "partner/created.html",
        referral=made.referral,
        link=link,
        code=made.code,
        card=Markup(card),  # noqa: S704 - our own template, rendered just above
    )


@bp.route("/referrals/<reference>/withdraw", methods=["POST"])
@partner_only
def withdraw(reference: str) -> Response:
    db = db_session()
    referral = referrals.one_for(db, signed_in_partner_org_id(), reference)
    if referral is None:
        abort(404)
    if not ConfirmForm().validate_on_submit() or not referrals.withdraw(referral):
        abort(400)
    db.commit()
    return redirect(url_for("partner.home"))


@bp.route("/api-tokens", methods=["GET", "POST"])
@partner_only
def api_tokens() -> str:
    db = db_session()
    member = signed_in_staff()
    form = TokenForm()
    token = None
    if form.validate_on_submit() and member.partner_org is not None:
        token = referrals.create_token(db, member.partner_org, form.label.data or "", member)
        db.commit()
        form = TokenForm(formdata=None)
    return render_template(
        "partner/api_tokens.html",
        form=form,
        token=token,
        tokens=referrals.tokens_of(db, signed_in_partner_org_id()),
        confirm=ConfirmForm(),
    )


@bp.route("/api-tokens/<int:token_id>/revoke", methods=["POST"])
@partner_only
def revoke_token(token_id: int) -> Response:
    db = db_session()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not referrals.revoke_token(db, signed_in_partner_org_id(), token_id):
        abort(404)
    db.commit()
    return redirect(url_for("partner.api_tokens"))


def _webhooks_page(
    form: WebhookForm, secret: str | None = None, status: int = 200, renewed: bool = False
) -> tuple[str, int]:
    db = db_session()
    org_id = signed_in_partner_org_id()
    return render_template(
        "partner/webhooks.html",
        form=form,
        secret=secret,
        renewed=renewed,
        overlap_hours=int(webhooks.OVERLAP.total_seconds() // 3600),
        tested=request.args.get("tested") == "1",
        endpoints=webhooks.endpoints_of(db, org_id),
        deliveries=webhooks.recent_for(db, org_id),
        max_endpoints=webhooks.MAX_ENDPOINTS,
        gone=webhooks.GONE,
        confirm=ConfirmForm(),
    ), status


@bp.route("/webhooks", methods=["GET", "POST"])
@partner_only
def webhook_endpoints() -> tuple[str, int]:
    db = db_session()
    member = signed_in_staff()
    form = WebhookForm()
    if not form.validate_on_submit() or member.partner_org is None:
        return _webhooks_page(form, status=400 if form.errors else 200)
    try:
        made = webhooks.register(
            db,
            member.partner_org,
            form.url.data or "",
            member,
            key_settings().pepper,
            webhook_settings().allow_private,
        )
    except outbound.Refused as refused:
        form.url.errors = [str(WEBHOOK_REFUSED[refused.reason])]
        return _webhooks_page(form, status=400)
    db.commit()
    # Shown once, in this response only.
    return _webhooks_page(WebhookForm(formdata=None), secret=made.secret)


@bp.route("/webhooks/<int:endpoint_id>/remove", methods=["POST"])
@partner_only
def remove_webhook(endpoint_id: int) -> Response:
    db = db_session()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not webhooks.remove(db, signed_in_partner_org_id(), endpoint_id):
        abort(404)
    db.commit()
    return redirect(url_for("partner.webhook_endpoints"))


@bp.route("/webhooks/<int:endpoint_id>/test", methods=["POST"])
@partner_only
def test_webhook(endpoint_id: int) -> Response:
    db = db_session()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not webhooks.send_test(db, signed_in_partner_org_id(), endpoint_id):
        abort(404)
    db.commit()
    return redirect(url_for("partner.webhook_endpoints", tested=1))


@bp.route("/webhooks/<int:endpoint_id>/secret", methods=["POST"])
@partner_only
def new_webhook_secret(endpoint_id: int) -> tuple[str, int]:
    db = db_session()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    secret = webhooks.new_secret(db, signed_in_partner_org_id(), endpoint_id, key_settings().pepper)
    if secret is None:
        abort(404)
    db.commit()
    # Shown once, in this response only.
    return _webhooks_page(WebhookForm(formdata=None), secret=secret, renewed=True)


@bp.route("/webhooks/messages/<int:delivery_id>/again", methods=["POST"])
@partner_only
def send_webhook_again(delivery_id: int) -> Response:
    db = db_session()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not webhooks.try_again(db, signed_in_partner_org_id(), delivery_id):
        abort(404)
    db.commit()
    return redirect(url_for("partner.webhook_endpoints"))
