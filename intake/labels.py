"""Words for the states Groundwork stores as codes: client statuses, consent purposes and
decisions, the choices of an "are we on track?" review, and the kinds of notice and of webhook
message. Templates use them through filters of the same names."""

from __future__ import annotations

from flask import Flask
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

STATUS = {
    "draft": _l("Not sent yet"),
    "submitted": _l("Sent"),
    "active": _l("In coaching"),
    "closed": _l("Closed"),
    "erased": _l("Erased"),
}
PURPOSE = {
    "store_answers": _l("Keeping the answers"),
    "share_with_coach": _l("A coach reading the answers"),
    "status_to_referrer": _l("Updates to the organisation that referred"),
    "contact": _l("Being contacted"),
    "anonymous_statistics": _l("Being counted in anonymous numbers"),
}
DECISION = {
    "granted": _l("Yes"),
    "declined": _l("No"),
    "withdrawn": _l("Withdrawn"),
}
ACTION = {
    "viewed": _l("read the answers"),
    "printed": _l("printed the answers"),
    "exported": _l("saved a copy of the answers"),
    "assigned": _l("chose the coach"),
    # Translators: in the access log, someone on the team saw the person's chosen name in their
    # list of clients (the name is one of the person's answers).
    "listed": _l("saw the name in a list"),
}
AGREEMENT = {"relationship": _l("How we work together"), "plan": _l("Your coaching plan")}
# Translators: the status of one referral, as the caseworker at the partner organisation who
# made it reads it in their list. "You" is that partner organisation.
REFERRAL_STATUS = {
    "invited": _l("Not used yet"),
    "started": _l("Started"),
    "sent": _l("Answers sent"),
    # Translators: the person and a coach have agreed when their first meeting will be.
    "first_session_agreed": _l("First session agreed"),
    "closed": _l("Closed"),
    # Translators: the partner organisation took this referral back; its link no longer works.
    "withdrawn": _l("Withdrawn by you"),
    "expired": _l("Not used in time"),
    "not_shared": _l("Status not shared"),
}
ACTOR = {"client": _l("by them"), "coach": _l("recorded by a coach")}
RATHER_NOT = _l("I’d rather not say")
# The choices of an "are we on track?" review (intake/reviews.py), as the person and their
# coach read them.
REVIEW_CHOICE = {
    "goals": {
        "still_fit": _l("They still fit"),
        "change": _l("They should change"),
        "not_sure": _l("I am not sure"),
        "rather_not_say": RATHER_NOT,
    },
    "safe": {
        "safe": _l("Safe"),
        "mostly_safe": _l("Mostly safe"),
        "not_always_safe": _l("Not always safe"),
        "not_safe": _l("Not safe"),
        "rather_not_say": RATHER_NOT,
    },
    "agreement": {
        "keep": _l("Keep it as it is"),
        "change": _l("Change it"),
        "not_sure": _l("I am not sure"),
        "rather_not_say": RATHER_NOT,
    },
}


def _label(table: dict[str, LazyString]) -> object:
    def lookup(code: str | None) -> str:
        return str(table.get(code or "", code or ""))

    return lookup


NOTICE_KIND = {
    "intake_waiting": _l("Answers sent, waiting for a coach"),
    "assigned": _l("Someone was given to a coach"),
    "check_in": _l("A check-in before a session"),
    "change_asked": _l("A change asked for in an agreement"),
    "review_sent": _l("An “are we on track?” review"),
    "review_due": _l("A review has come due"),
    "voice_waiting": _l("Consent recorded by voice is still waiting"),
}

# What a webhook message to a partner's system was about (intake/webhooks.py).
WEBHOOK_EVENT = {
    # Translators: a webhook message to a partner's system: a referral's status changed.
    "referral.status_changed": _l("A status changed"),
    # Translators: a webhook message to a partner's system: a test message someone asked for.
    "webhook.test": _l("Test"),
}


def review_choice(code: str | None, question: str) -> str:
    """A review's answer to a choice question, in words."""
    return str(REVIEW_CHOICE.get(question, {}).get(code or "", code or ""))


def init_app(app: Flask) -> None:
    app.jinja_env.filters["review_choice"] = review_choice
    app.jinja_env.filters["status_label"] = _label(STATUS)
    app.jinja_env.filters["purpose_label"] = _label(PURPOSE)
    app.jinja_env.filters["decision_label"] = _label(DECISION)
    app.jinja_env.filters["actor_label"] = _label(ACTOR)
    app.jinja_env.filters["agreement_label"] = _label(AGREEMENT)
    app.jinja_env.filters["action_label"] = _label(ACTION)
    app.jinja_env.filters["referral_status_label"] = _label(REFERRAL_STATUS)
    app.jinja_env.filters["notice_kind_label"] = _label(NOTICE_KIND)
    app.jinja_env.filters["webhook_event_label"] = _label(WEBHOOK_EVENT)
