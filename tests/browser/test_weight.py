"""Every client page, HTML, CSS and script together, as transferred with compression on, is
under 14 KB in every shipped language (DESIGN.md §9). `make weight` prints the table.

The bytes come from the browser's own network log, with its cache off (see weight.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from .harness import LOCALES, Backstage
from .tours import ClientTour
from .weight import BUDGET, WeighingVisitor


def gzip_only(context: Any) -> Any:
    """Chromium offers Brotli too (on loopback, as on HTTPS), which is smaller: the budget is
    kept with gzip, which every browser has."""
    context.set_extra_http_headers({"Accept-Encoding": "gzip"})
    return context


@pytest.mark.parametrize("locale", LOCALES)
def test_every_client_page_fits_in_14_kb(
    locale: str, new_context: Any, backstage: Backstage
) -> None:
    weigher = WeighingVisitor(locale)
    ClientTour(lambda: gzip_only(new_context(locale)), backstage, weigher).run()
    assert len(weigher.weights) >= 40
    for weight in weigher.weights:
        assert weight.css > 0, f"{weight.page}: no stylesheet in the network log"
        # Flask-Compress leaves out responses with an error status (a form with a problem,
        # a page not found): those pages are weighed as they are sent, uncompressed.
        page, *static = weight.encodings
        assert page == ("gzip" if weight.status == 200 else "none"), (weight.page, page)
        assert set(static) == {"gzip"}, (weight.page, static)
    over = [w for w in weigher.weights if not w.within_budget]
    assert not over, "\n".join(f"{w.page}: {w.total} B (budget {BUDGET} B)" for w in over)
