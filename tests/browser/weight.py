"""Page weight from the browser's own network log (DESIGN.md §9: 14 KB per client page).

Each page is loaded with the browser's cache turned off (Chrome DevTools Protocol,
`Network.setCacheDisabled`), so its stylesheet and script travel with it as on a first visit.
Playwright's `request.sizes()` gives the bytes as they came over the network: the response
headers and the body as sent, compressed by the app (Flask-Compress; Chromium offers gzip on
plain http). The budget counts both, as both fill the first round trip.
"""

from __future__ import annotations

from dataclasses import dataclass

from playwright.sync_api import BrowserContext, Page, Request

from .tours import Visitor

BUDGET = 14 * 1024


@dataclass(frozen=True)
class Weight:
    page: str
    locale: str
    html: int
    css: int
    js: int
    encodings: tuple[str, ...]  # the page's, then each stylesheet's and script's
    status: int

    @property
    def total(self) -> int:
        return self.html + self.css + self.js

    @property
    def within_budget(self) -> bool:
        return self.total < BUDGET


# Every page weighed in this pytest session, for the table at its end.
WEIGHTS: list[Weight] = []


def transferred(request: Request) -> int:
    sizes = request.sizes()
    return int(sizes["responseHeadersSize"]) + int(sizes["responseBodySize"])


class WeighingVisitor(Visitor):
    """Weighs each page of a tour: the last document the tab loaded, and the stylesheets and
    scripts it loaded after it."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.weights: list[Weight] = []
        self.loads: dict[Page, list[list[Request]]] = {}

    def new_page(self, context: BrowserContext) -> Page:
        page = context.new_page()
        devtools = context.new_cdp_session(page)
        devtools.send("Network.enable")
        devtools.send("Network.setCacheDisabled", {"cacheDisabled": True})
        self.loads[page] = [[]]
        page.on("request", lambda request: self._started(page, request))
        return page

    def _started(self, page: Page, request: Request) -> None:
        loads = self.loads[page]
        if request.is_navigation_request() and request.frame == page.main_frame:
            loads.append([])
        loads[-1].append(request)

    def visit(self, label: str, page: Page) -> None:
        page.wait_for_load_state("load")
        requests = self.loads[page][-1]
        document = requests[0]
        assert document.is_navigation_request(), label
        response = document.response()
        assert response is not None, label
        encodings = [response.header_value("content-encoding") or "none"]
        css = js = 0
        for request in requests[1:]:
            if request.resource_type == "stylesheet":
                css += transferred(request)
            elif request.resource_type == "script":
                js += transferred(request)
            else:
                continue
            sub = request.response()
            encodings.append((sub.header_value("content-encoding") if sub else None) or "none")
        weight = Weight(
            label, self.locale, transferred(document), css, js, tuple(encodings), response.status
        )
        self.weights.append(weight)
        WEIGHTS.append(weight)


def weight_summary(weights: list[Weight]) -> str:
    """The heaviest page in each language (what `make test` prints)."""
    by_locale: dict[str, list[Weight]] = {}
    for weight in weights:
        by_locale.setdefault(weight.locale, []).append(weight)
    lines = [f"Heaviest client page in each language (budget {BUDGET} B; `make weight` for all):"]
    for locale, items in by_locale.items():
        heaviest = max(items, key=lambda w: w.total)
        lines.append(f"  {locale}: {heaviest.total} B ({heaviest.page})")
    return "\n".join(lines)


def weight_table(weights: list[Weight]) -> str:
    """The table `make weight` prints: English, then the heaviest other language."""
    by_locale: dict[str, list[Weight]] = {}
    for weight in weights:
        by_locale.setdefault(weight.locale, []).append(weight)
    shown = [locale for locale in ("en",) if locale in by_locale]
    others = [locale for locale in by_locale if locale != "en"]
    if others:
        shown.append(max(others, key=lambda loc: sum(w.total for w in by_locale[loc])))
    width = max(len(w.page) for w in weights)
    lines = [
        "Bytes as transferred (headers + compressed body), with CSS and script loaded cold.",
        f"{'page':<{width}}  locale   HTML    CSS     JS   total  budget {BUDGET} B",
    ]
    for locale in shown:
        for w in by_locale[locale]:
            verdict = "OK" if w.within_budget else "OVER"
            lines.append(
                f"{w.page:<{width}}  {w.locale:<6} {w.html:>6} {w.css:>6} {w.js:>6} "
                f"{w.total:>7}  {verdict}"
            )
    return "\n".join([*lines, weight_summary(weights)])
