"""Words for the states Groundwork stores as codes: client statuses, consent purposes and
decisions. Templates use them through filters of the same names."""

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
    "store_answers": _l("Keep the answers"),
    "share_with_coach": _l("A coach can read the answers"),
    "status_to_referrer": _l("Tell the referring organisation how it is going"),
    "contact": _l("Contact them"),
    "anonymous_statistics": _l("Count them in anonymous statistics"),
}
DECISION = {
    "granted": _l("Yes"),
    "declined": _l("No"),
    "withdrawn": _l("Withdrawn"),
}
ACTOR = {"client": _l("by them"), "coach": _l("recorded by a coach")}


def _label(table: dict[str, LazyString]) -> object:
    def lookup(code: str | None) -> str:
        return str(table.get(code or "", code or ""))

    return lookup


def init_app(app: Flask) -> None:
    app.jinja_env.filters["status_label"] = _label(STATUS)
    app.jinja_env.filters["purpose_label"] = _label(PURPOSE)
    app.jinja_env.filters["decision_label"] = _label(DECISION)
    app.jinja_env.filters["actor_label"] = _label(ACTOR)
