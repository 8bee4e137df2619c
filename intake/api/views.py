"""The partner API: make referrals and read their status with a per-organisation token.

The same rules as the partner pages: no answer ever leaves, a note is sealed at once, and a
status is shown only where the person agreed. Tokens are bearer tokens, stored as digests,
revocable; every request is throttled per token. Errors are JSON: {"error": "<code>"}.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from intake import i18n, referrals, staff
from intake.api import bp
from intake.context import form_library, key_settings
from intake.db import db_session
from intake.errors import json_error
from intake.extensions import csrf, limiter
from intake.links import public_url
from intake.models import ApiToken, PartnerOrg, Referral, utcnow
from intake.paging import page_count, page_number
from intake.questionnaire import DEFAULT_FORM_ID

OPENAPI = Path(__file__).resolve().parent.parent.parent / "docs" / "openapi.json"

csrf.exempt(bp)  # bearer tokens, no cookies: nothing for a cross-site form to ride on


class ApiError(HTTPException):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(description=error)
        self.code = status
        self.error = error


def _token_key() -> str:
    token: ApiToken | None = g.get("api_token")
    return f"api:{token.id}" if token else "api:anonymous"


@bp.before_request
def _authenticate() -> None:
    if request.endpoint == "api.openapi":
        return
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    token = referrals.token_owner(db_session(), value.strip()) if scheme == "Bearer" else None
    if token is None:
        raise ApiError(401, "unauthorized")
    token.last_used_at = utcnow()
    db_session().commit()
    g.api_token = token


bp.register_error_handler(HTTPException, json_error)


def _org() -> PartnerOrg:
    org = db_session().get(PartnerOrg, g.api_token.partner_org_id)
    assert org is not None
    return org


def _as_json(row: referrals.ReferralRow) -> dict[str, Any]:
    return {
        "reference": row.reference,
        "created_at": row.created_at.isoformat(),
        "expires_at": row.expires_at.isoformat(),
        "status": row.status.value,
    }


def _limit() -> str:
    return str(current_app.config["API_LIMIT_PER_TOKEN"])


# One budget per token across every route (a per-route limit would multiply it).
_per_token = limiter.shared_limit(_limit, scope="api", key_func=_token_key)


@bp.route("/openapi.json")
def openapi() -> Response:
    """The API's description, naming the forms this organisation publishes."""
    document = json.loads(OPENAPI.read_bytes())
    asked = document["paths"]["/referrals"]["post"]["requestBody"]["content"]
    asked["application/json"]["schema"]["properties"]["form"]["enum"] = form_library().form_ids(
        db_session()
    )
    return Response(
        json.dumps(document, ensure_ascii=False, indent=2) + "\n", mimetype="application/json"
    )


@bp.route("/referrals", methods=["GET"])
@_per_token
def list_referrals() -> Response:
    page = page_number(request.args.get("page", "1"))
    if page is None:
        raise ApiError(400, "bad_page")
    rows, total = referrals.rows_for(db_session(), g.api_token.partner_org_id, page)
    return jsonify(
        referrals=[_as_json(row) for row in rows],
        page=page,
        pages=page_count(total, referrals.PER_PAGE),
    )


def _text(body: dict[str, Any], name: str, limit: int) -> str:
    value = body.get(name, "")
    if value is None:
        return ""
    if (
        not isinstance(value, str)
        or len(value) > limit
        or "\x00" in value
        or any("\ud800" <= c <= "\udfff" for c in value)  # an unpaired surrogate: not text
    ):
        raise ApiError(400, f"bad_{name}")
    return value


@bp.route("/referrals", methods=["POST"])
@_per_token
def create_referral() -> tuple[Response, int]:
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # JSON nested too deep to read
        body = None
    if not isinstance(body, dict) or not set(body) <= {"locale", "nickname", "note", "form"}:
        raise ApiError(400, "bad_body")
    locale = body.get("locale", "en")
    if locale not in i18n.shipped_locales():
        raise ApiError(400, "bad_locale")
    form_id = body.get("form", DEFAULT_FORM_ID)
    if form_id not in form_library().form_ids(db_session()):
        raise ApiError(400, "bad_form")
    org = staff.organisation(db_session())
    if org is None:
        raise ApiError(503, "not_ready")
    made = referrals.create(
        db_session(),
        partner_org=_org(),
        created_by=None,
        locale=locale,
        nickname=_text(body, "nickname", referrals.NICKNAME_LIMIT),
        note=_text(body, "note", referrals.NOTE_LIMIT),
        org_public_key=org.public_key,
        keys=key_settings(),
        days=int(current_app.config["REFERRAL_DAYS"]),
        form_id=form_id if form_id != DEFAULT_FORM_ID else None,
    )
    db_session().commit()
    row = referrals.row_for(db_session(), made.referral)
    return jsonify(
        **_as_json(row),
        link=public_url("client.referral_link", token=made.link_token),
        code=made.code,
    ), 201


def _own(reference: str) -> Referral:
    referral = referrals.one_for(db_session(), g.api_token.partner_org_id, reference)
    if referral is None:
        raise ApiError(404, "not_found")
    return referral


@bp.route("/referrals/<reference>", methods=["GET"])
@_per_token
def read_referral(reference: str) -> Response:
    return jsonify(**_as_json(referrals.row_for(db_session(), _own(reference))))


@bp.route("/referrals/<reference>/withdraw", methods=["POST"])
@_per_token
def withdraw_referral(reference: str) -> Response:
    referral = _own(reference)
    if not referrals.withdraw(referral):
        raise ApiError(409, "already_used_or_withdrawn")
    db_session().commit()
    return jsonify(**_as_json(referrals.row_for(db_session(), referral)))
