"""Page numbers from addresses: what `?page=` means, whatever someone types there."""

from __future__ import annotations

LAST_PAGE_ASKED = 10**9  # beyond any real list: an empty page, never an overflow


def page_number(value: str | None) -> int | None:
    """A page number from text: None unless it is ASCII digits naming a page of 1 or more.

    Very long numbers become a page past the end, so a database never sees an overflow.
    """
    if value is None or not (value.isascii() and value.isdigit()) or not value.strip("0"):
        return None
    return int(value) if len(value) <= 9 else LAST_PAGE_ASKED


def page_or_first(value: str | None) -> int:
    """For pages people click through: anything that is not a page number means the first."""
    return page_number(value) or 1


def page_count(total: int, per_page: int) -> int:
    """How many pages `total` rows fill, `per_page` to a page; an empty list is one page."""
    return max(1, -(-total // per_page))
