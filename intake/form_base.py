"""The base of every Groundwork form: Flask-WTF's CSRF protection, and WTForms' own messages
(such as "This field is required.") in the reader's language.

Flask-WTF reads WTForms' catalog from disk once per request; here each language's catalog is
read once per process, which is a tenth of the time of a client's page (docs/performance.md).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from babel.support import Translations
from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms.i18n import messages_path


@cache
def wtforms_translations(locale: str) -> Translations:
    """WTForms' catalog for one language (English when WTForms has none for it)."""
    loaded = Translations.load(messages_path(), [locale], domain="wtforms")
    return loaded if isinstance(loaded, Translations) else Translations()


class GroundworkForm(FlaskForm):
    class Meta:
        def get_translations(self, form: Any) -> Translations:
            return wtforms_translations(str(get_locale() or "en"))


class ConfirmForm(GroundworkForm):
    """A button that only needs its CSRF token."""
