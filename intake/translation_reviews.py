"""Which translations a native speaker has reviewed: `translations/reviews.toml`.

A locale is a draft until a person who reads it as their own language has reviewed its
catalog, and that review is written down: who, when, and which catalog (the SHA-256 of its
`messages.po` as they read it). Nothing else makes a locale reviewed: not a default, not a
setting, and not an older review once the catalog has changed since. This module knows
nothing of Flask.
"""

from __future__ import annotations

import datetime
import hashlib
import tomllib
from dataclasses import dataclass
from pathlib import Path

SOURCE_LOCALE = "en"  # the words everything is translated from: never a draft
REVIEWS_FILE = "reviews.toml"


class ReviewNotRecorded(ValueError):
    """An entry of reviews.toml that does not say who reviewed what, and when."""


@dataclass(frozen=True)
class Review:
    locale: str
    reviewer: str
    reviewed_on: datetime.date
    catalog_sha256: str


def catalog_sha256(translations: Path, locale: str) -> str:
    """The SHA-256 of a locale's catalog as it is now (the words a reviewer read)."""
    catalog = translations / locale / "LC_MESSAGES" / "messages.po"
    return hashlib.sha256(catalog.read_bytes()).hexdigest()


def recorded(reviews_file: Path) -> list[Review]:
    """Every review written down in `reviews_file` (`translations/reviews.toml`)."""
    if not reviews_file.exists():
        return []
    entries = tomllib.loads(reviews_file.read_text(encoding="utf-8")).get("review", [])
    return [_review(entry) for entry in entries]


def _review(entry: dict[str, object]) -> Review:
    locale, reviewer = entry.get("locale"), entry.get("reviewer")
    reviewed_on, catalog = entry.get("date"), entry.get("catalog_sha256")
    if not (isinstance(locale, str) and locale and isinstance(reviewer, str) and reviewer.strip()):
        raise ReviewNotRecorded(f"a review must name its locale and its reviewer: {entry!r}")
    if not isinstance(reviewed_on, datetime.date) or isinstance(reviewed_on, datetime.datetime):
        raise ReviewNotRecorded(f"a review of {locale} must give its date (2027-01-15)")
    if not (isinstance(catalog, str) and len(catalog) == 64):
        raise ReviewNotRecorded(f"a review of {locale} must give the SHA-256 of the catalog read")
    return Review(locale, reviewer.strip(), reviewed_on, catalog)


def reviewed_locales(reviews_file: Path, translations: Path) -> frozenset[str]:
    """The locales whose catalog, as it is now in `translations`, a native speaker reviewed
    (and English, the source)."""
    reviewed = {SOURCE_LOCALE}
    for review in recorded(reviews_file):
        catalog = translations / review.locale / "LC_MESSAGES" / "messages.po"
        if (
            catalog.exists()
            and catalog_sha256(translations, review.locale) == review.catalog_sha256
        ):
            reviewed.add(review.locale)
    return frozenset(reviewed)
