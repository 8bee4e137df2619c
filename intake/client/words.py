"""Words that client pages compute rather than hold: who reads the answers, when unsent answers
are deleted, and the return code split into groups. Offered to every client template."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app, g
from flask_babel import format_date, format_time, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from intake import consent, readers
from intake.client import bp, receipts
from intake.client.referral import pending_referral
from intake.client.visit import Visit, is_visit_only
from intake.models import Client, ConsentEvent

# Example codes in sentences are wrapped in Unicode isolates (LEFT-TO-RIGHT ISOLATE … POP
# DIRECTIONAL ISOLATE): in Arabic or Persian the groups would otherwise be reordered. No-break
# spaces keep the example on one line, as on the code card.
EXAMPLE_RETURN_CODE = "\u20664827\u00a01930\u00a05561\u00a02204\u2069"
EXAMPLE_REFERRAL_CODE = "\u2066K7QM-3PXT-9WRX\u2069"

READERS = {
    readers.Readers.NOT_KEPT: _l(
        "We are not keeping these answers. Nobody else can read them, "
        "and they are gone when you leave."
    ),
    readers.Readers.NOBODY_UNTIL_SENT: _l(
        "Nobody reads your answers until you send them. "
        "Then the person who finds you a coach, and your coach, can read them."
    ),
    readers.Readers.WHOEVER_FINDS_A_COACH: _l(
        "The person who finds you a coach can read your answers. "
        "Your coach will read them too. Nobody else can."
    ),
    readers.Readers.COACH: _l(
        "Your coach, and the person who found you your coach, can read your answers. "
        "Nobody else can."
    ),
    readers.Readers.NOBODY_SHARING_STOPPED: _l(
        "Nobody can read your answers now, because you said no to a coach reading them."
    ),
}
REFERRER = {
    readers.Referrer.NOTHING: _l("The people who sent you here cannot see your answers."),
    readers.Referrer.HOW_IT_IS_GOING: _l(
        "The people who sent you here only hear how it is going, never your answers."
    ),
}


def who_reads() -> str:
    """One sentence for this person's situation, the same on every page they see."""
    visit: Visit | None = g.get("visit")
    if visit is not None:
        situation = readers.situation_of(visit.client)
    else:
        situation = readers.situation_of(None, referred=pending_referral() is not None)
    said = readers.statement(situation, visit_only=visit is None and is_visit_only())
    words = [str(READERS[said.readers])]
    if said.referrer is not None:
        words.append(str(REFERRER[said.referrer]))
    return " ".join(words)


def deleted_on(client: Client) -> datetime:
    """When answers that are never sent are deleted: RETENTION_DRAFT_DAYS after the last
    change (`flask retention run` does it)."""
    return client.updated_at + timedelta(days=int(current_app.config["RETENTION_DRAFT_DAYS"]))


def unsent_deleted_on() -> str | None:
    """That date in the person's language, or None when the answers are sent or not kept."""
    visit: Visit | None = g.get("visit")
    if visit is None or visit.sent:
        return None
    return day(deleted_on(visit.client))


def day(moment: datetime) -> str:
    """A date as a person writes it in their language: "7 December 2026", "7 décembre 2026",
    "٧ ديسمبر ٢٠٢٦". English is written day first, as where Groundwork is used."""
    locale = get_locale()
    english = locale is None or locale.language == "en"
    return str(format_date(moment, "d MMMM y" if english else "long"))


def when(moment: datetime | str) -> str:
    """A date and time as a person reads it, in their language: "7 December 2026, 04:30"."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    # Translators: a date and a time, such as "7 December 2026, 04:30". Change the order or the
    # comma if your language writes it another way.
    locale = get_locale()
    english = locale is None or locale.language == "en"
    time = format_time(moment, "HH:mm" if english else "short")
    return str(_("%(date)s, %(time)s", date=day(moment), time=time))


@bp.app_template_filter("receipt_number")
def _receipt_number(event: ConsentEvent) -> str:
    return consent.receipt_number(event)


bp.add_app_template_filter(when, "when")
bp.add_app_template_filter(day, "day")


@bp.app_context_processor
def _client_words() -> dict[str, object]:
    return {
        "who_reads": who_reads,
        "unsent_deleted_on": unsent_deleted_on,
        "just_decided": receipts.just_decided,
        "example_code": EXAMPLE_RETURN_CODE,
        "example_referral_code": EXAMPLE_REFERRAL_CODE,
        "retention_days": current_app.config["RETENTION_DRAFT_DAYS"],
        "idle_minutes": current_app.config["SESSION_IDLE_MINUTES"],
    }
