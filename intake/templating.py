"""What every template can use: titles, language and direction, versioned static URLs."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from flask import Flask, current_app, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from intake import agreements, consent_texts, i18n, labels, passwords
from intake.agreements import Response as AgreementResponse
from intake.audit import Action as AccessAction
from intake.consent import Actor, Decision, Purpose
from intake.models import AgreementKind, ClientStatus
from intake.questionnaire import Kind as QuestionKind
from intake.referrals import Status as ReferralStatus
from intake.referrals import Unusable as ReferralClosed

# The enums templates compare with, by these names, instead of their values as strings.
TEMPLATE_ENUMS = {
    "AccessAction": AccessAction,
    "Actor": Actor,
    "AgreementKind": AgreementKind,
    "AgreementResponse": AgreementResponse,
    "ClientStatus": ClientStatus,
    "Decision": Decision,
    "Purpose": Purpose,
    "QuestionKind": QuestionKind,
    "ReferralClosed": ReferralClosed,
    "ReferralStatus": ReferralStatus,
}

# Translators: the name of the site in every client page's title and top bar. Keep it plain and
# neutral: someone looking over the person's shoulder should learn nothing from it.
NEUTRAL_SITE_NAME = _l("Forms")


def init_app(app: Flask) -> None:
    app.jinja_env.trim_blocks = True  # smaller pages: every byte counts on a metered phone
    app.jinja_env.lstrip_blocks = True
    app.context_processor(_page_context)
    labels.init_app(app)
    app.jinja_env.globals["static_url"] = static_url
    app.jinja_env.globals["password_min_length"] = passwords.MIN_LENGTH
    app.jinja_env.globals["coach_side_in"] = agreements.coach_side_in
    app.jinja_env.globals["english_beside"] = consent_texts.english_beside
    app.jinja_env.globals.update(TEMPLATE_ENUMS)


def _page_context() -> dict[str, object]:
    locale = str(get_locale() or current_app.config["DEFAULT_LOCALE"])
    return {
        "page_locale": locale,
        "page_dir": i18n.text_direction(locale),
        "language_choices": i18n.language_choices(),
        "draft_marks": i18n.draft_marks(i18n.shipped_locales()),
        "client_site_name": current_app.config["CLIENT_SITE_NAME"] or NEUTRAL_SITE_NAME,
        "staff_site_name": current_app.config["STAFF_SITE_NAME"],
    }


@cache
def _fingerprint(path: str, mtime: float) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:10]


def static_url(filename: str) -> str:
    """A static file's URL with a content hash, so it can be cached for a day and still change."""
    folder = Path(current_app.static_folder or "static")
    path = folder / filename
    # While developing, a changed file gets a new URL at once; a running release's files do not
    # change, so it does not look at the disk again.
    changed_at = path.stat().st_mtime if current_app.debug else 0.0
    return url_for("static", filename=filename, v=_fingerprint(str(path), changed_at))
