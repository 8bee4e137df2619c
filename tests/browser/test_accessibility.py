"""Every client page in every shipped language, with JavaScript on and off, and every staff
page in English and Arabic, passes the checks of `checks.py` in Chromium at 320 CSS px wide:
axe-core's WCAG 2.2 AA rules, no sideways scrolling, targets of 24 × 24 px (or room around
them), and a visible focus.

The checks run under the app's real Content Security Policy: axe-core is added to each page
by the browser itself (an init script), not by the page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from intake.security import CONTENT_SECURITY_POLICY

from .checks import audit
from .harness import LOCALES, STAFF_LOCALES, Backstage
from .tours import ClientTour, StaffTour, Visitor, open_page


class Auditor(Visitor):
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.pages: list[str] = []

    def visit(self, label: str, page: Any) -> None:
        self.pages.append(label)
        self.problems += audit(page, label)


class AuditorWithoutScripts(Auditor):
    """The tour walks with JavaScript off. Each page, exactly as that person got it (after the
    form they sent, too), is checked in a second browser that runs no script of the site's:
    axe-core is the browser's own addition there, and every focus and target check sees the
    page without the site's scripts."""

    def __init__(self, checking: Any) -> None:
        super().__init__()
        checking.route(lambda url: "/static/" in url and ".js" in url, lambda r: r.abort())
        self.checker = checking.new_page()

    def visit(self, label: str, page: Any) -> None:
        self.pages.append(label)
        markup, address = page.content(), page.url

        def as_it_was(route: Any) -> None:
            route.fulfill(
                status=200,
                content_type="text/html; charset=utf-8",
                headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY},
                body=markup,
            )

        self.checker.route(address, as_it_was)
        open_page(self.checker, address)
        shown = self.checker.locator("main").inner_text()
        assert shown == page.locator("main").inner_text(), f"{label}: not the page walked"
        self.problems += audit(self.checker, f"{label} (without JavaScript)")
        self.checker.unroute(address)


def report(auditor: Auditor) -> str:
    return f"{len(auditor.problems)} problems on {len(auditor.pages)} pages:\n" + "\n".join(
        auditor.problems
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_every_client_page_passes_the_checks(
    locale: str, new_context: Any, backstage: Backstage, axe_script: Path
) -> None:
    auditor = Auditor()
    ClientTour(lambda: new_context(locale, axe=axe_script), backstage, auditor).run()
    assert len(auditor.pages) >= 40, auditor.pages
    assert not auditor.problems, report(auditor)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_client_page_passes_the_checks_without_javascript(
    locale: str, new_context: Any, backstage: Backstage, axe_script: Path
) -> None:
    auditor = AuditorWithoutScripts(new_context(locale, axe=axe_script))
    ClientTour(lambda: new_context(locale, javascript=False), backstage, auditor).run()
    assert len(auditor.pages) >= 40, auditor.pages
    assert not auditor.problems, report(auditor)


@pytest.mark.parametrize("locale", STAFF_LOCALES)
def test_every_staff_page_passes_the_checks(
    locale: str, new_context: Any, backstage: Backstage, axe_script: Path
) -> None:
    auditor = Auditor()
    StaffTour(lambda: new_context(locale, axe=axe_script), backstage, auditor).run()
    assert len(auditor.pages) >= 18, auditor.pages
    assert not auditor.problems, report(auditor)


def test_the_checks_find_faults(new_context: Any, axe_script: Path) -> None:
    """A page with one fault of each kind: each check names its fault (so a pass above means
    the checks ran, not that they could not see)."""
    page = new_context("en", axe=axe_script).new_page()
    open_page(page, "/faulty-page")
    problems = "\n".join(audit(page, "faulty page"))
    for expected in (
        "axe color-contrast",
        "axe image-alt",
        "scrolls sideways at 320 px",
        'target size: <a> "1"',
        'focus not visible on <a> "No focus ring"',
        'Tab never reaches <a> "Out of the Tab order"',
    ):
        assert expected in problems, problems
