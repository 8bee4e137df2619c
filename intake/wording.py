"""Sentences the domain modules say to people, marked for translation without importing Flask.

A domain module returns or raises a `Sentence` made by `N_`; `pybabel extract` finds it by that
keyword (Makefile `translations`). A page shows it in the reader's language through
`intake.i18n.say`; the command line, which speaks English to operators, prints `str(sentence)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Sentence:
    """An English sentence (the catalog's msgid) and the values it names, as `%(name)s`."""

    text: str
    params: Mapping[str, str | int] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.text % self.params if self.params else self.text


def N_(text: str, **params: str | int) -> Sentence:  # noqa: N802 (the gettext convention)
    """Mark `text` for translation; it is translated where it is shown."""
    return Sentence(text, params)
