"""Field validators and filters shared by every form that takes a person's text: the client's
pages, a partner's referral note, staff forms. Each message is kind, plain and translated."""

from __future__ import annotations

from typing import Any

from flask_babel import format_number
from flask_babel import gettext as _
from wtforms import Field, Form
from wtforms.validators import ValidationError


def without_nul(value: Any) -> Any:
    """Drop NUL characters, which no database keeps and nobody types on purpose."""
    return value.replace("\x00", "") if isinstance(value, str) else value


class FitsIn:
    """Text no longer than the limit; the message says the limit in the reader's numbers."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, form: Form, field: Field) -> None:
        if field.data and len(field.data) > self.limit:
            raise ValidationError(
                # Translators: %(limit)s is a number such as 10,000. "Letters" means characters.
                _(
                    "Please make this shorter. You can write up to %(limit)s letters here.",
                    limit=format_number(self.limit),
                )
            )


def readable(form: Form, field: Field) -> None:
    """Text that arrived with broken letters (bytes that are not UTF-8) is shown back to fix."""
    if isinstance(field.data, str) and "\ufffd" in field.data:
        raise ValidationError(
            _("Some letters here could not be read. Please check them and type them again.")
        )


class OneOf:
    """A choice from the list, or no choice at all."""

    def __init__(self, keys: list[str]) -> None:
        self.keys = set(keys)

    def __call__(self, form: Form, field: Field) -> None:
        values = field.data if isinstance(field.data, list) else [field.data]
        if any(value not in self.keys for value in values if value):
            raise ValidationError(_("Please choose from the list."))
