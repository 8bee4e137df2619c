"""Walks through every page a client sees, and every staff page, in one language.

A tour drives the browser through the pages in the order a person reaches them (so each page
is in a real state: a code shown, answers kept, a coach's agreement written) and hands each
page to a `Visitor`, which checks it, weighs it or photographs it. The words on buttons are
translated, so the tour finds them by their place in the page, never by their words.

Staff do their part (assign, read, agree, record consent by voice) through `Backstage`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from tempfile import mkdtemp
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Page
from support.xlsforms import kobo_form

from .harness import NEWCOMER, Backstage, password_of

SUBMIT = "main form button[type=submit]"
CONTINUE = "main form button[name=action][value=continue]"
NEXT_LINK = "main a.button"
SHORT_TEXT_LIMIT = 200
WRONG_CODE = "1111 2222 3333 4444"


class Visitor:
    """What a tour does at each page. The base visitor only looks."""

    def new_page(self, context: BrowserContext) -> Page:
        return context.new_page()

    def visit(self, label: str, page: Page) -> None:
        return


class Photographer(Visitor):
    """Photographs every page, whole, into a folder: 01-start.png, 02-welcome.png, …"""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: list[Path] = []

    def visit(self, label: str, page: Page) -> None:
        name = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "start"
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)


def path_of(page: Page) -> str:
    parts = urlsplit(page.url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def press(page: Page, selector: str) -> None:
    """Click the first element that matches, and wait for the page it leads to."""
    found = page.locator(selector)
    assert found.count() >= 1, f"nothing matches {selector!r} on {page.url}"
    with page.expect_navigation():
        found.first.click()


def open_page(page: Page, path: str, status: int = 200) -> None:
    response = page.goto(path)
    assert response is not None, path
    assert response.status == status, (path, response.status)


def read_return_code(page: Page) -> str:
    shown = page.locator(".return-code bdi")
    assert shown.count() == 1, f"no return code on {page.url}"
    return " ".join(shown.inner_text().split())


class ClientTour:
    """Every client page (DESIGN.md §9), in the language of the context."""

    def __init__(
        self,
        new_context: Callable[[], BrowserContext],
        backstage: Backstage,
        visitor: Visitor,
    ) -> None:
        self.new_context = new_context
        self.backstage = backstage
        self.visitor = visitor

    def run(self) -> None:
        page = self.visitor.new_page(self.new_context())
        code = self.start(page)
        self.every_page(page)
        self.my_pages(page)
        self.send(page)
        self.after_a_coach(page, self.backstage.client_id(code))
        self.come_back(code)
        self.delete_everything(page)

    def at(self, page: Page, label: str | None = None) -> None:
        self.visitor.visit(label or path_of(page), page)

    def go(self, page: Page, path: str, label: str | None = None, status: int = 200) -> None:
        open_page(page, path, status)
        self.at(page, label or path)

    def start(self, page: Page) -> str:
        """Start, a missed tap on the choices, a no (this visit only), a change of mind, and
        the code. Returns the code."""
        self.go(page, "/")
        self.go(page, "/welcome")
        self.go(page, "/agree")
        press(page, SUBMIT)  # nothing chosen: asked again, calmly
        self.at(page, "/agree (nothing chosen)")
        page.check("input[name=store_answers][value=no]")
        press(page, SUBMIT)
        assert path_of(page) == "/this-visit-only", page.url
        self.at(page)
        press(page, NEXT_LINK)
        assert path_of(page) == "/page/1", page.url
        self.at(page, "/page/1 (this visit only)")
        page.fill("[name=name]", "Sam")
        press(page, CONTINUE)
        self.go(page, "/check", "/check (this visit only)")
        press(page, "main a.button[href='/agree']")  # "keep my answers" after all
        page.check("input[name=store_answers][value=yes]")
        page.check("input[name=share_with_coach][value=yes]")
        press(page, SUBMIT)
        assert path_of(page) == "/your-code", page.url
        self.at(page, "/your-code (choices just saved)")
        code = read_return_code(page)
        press(page, SUBMIT)  # without ticking "I have written down my code": a reminder
        self.at(page, "/your-code (code not written down yet)")
        page.check("#saved")
        press(page, SUBMIT)
        assert path_of(page) == "/page/2", page.url  # page 1 was kept from the visit
        return code

    def every_page(self, page: Page) -> None:
        open_page(page, "/page/1")
        self.at(page)
        page.fill("[name=name]", "x" * (SHORT_TEXT_LIMIT + 1))
        press(page, CONTINUE)
        self.at(page, "/page/1 (an answer too long)")
        page.fill("[name=name]", "Sam")
        press(page, CONTINUE)
        while path_of(page) != "/check":
            self.at(page)
            if path_of(page) == "/before-the-agreement":
                press(page, NEXT_LINK)
            else:
                press(page, CONTINUE)
        self.at(page)

    def my_pages(self, page: Page) -> None:
        for path in (
            "/saved",
            "/your-space",
            "/receipts",
            "/my-choices",
            "/who-looked",
            "/my-data",
            "/delete-everything",
            "/agreement",
            "/before-a-session",
        ):
            self.go(page, path)

    def send(self, page: Page) -> None:
        open_page(page, "/check")
        press(page, "main form[action='/send'] button[type=submit]")
        assert path_of(page) == "/sent", page.url
        self.at(page)

    def after_a_coach(self, page: Page, client_id: str) -> None:
        """The client says how they are before a session; a coach takes them on."""
        open_page(page, "/before-a-session")
        page.fill("[name=goal]", "Talk about finding work")
        press(page, SUBMIT)
        self.at(page, "/before-a-session (sent to the coach)")
        self.backstage.take_on(client_id)
        self.go(page, "/agreement", "/agreement (written with the coach)")
        self.go(page, "/review")
        page.fill("[name=working]", "The walks")
        page.check("input[name=safe][value=mostly_safe]")
        press(page, SUBMIT)
        self.at(page, "/review (sent to the coach)")
        self.go(page, "/who-looked", "/who-looked (the coach read the answers)")
        self.go(page, "/my-data", "/my-data (with an agreement and a check-in)")
        self.go(page, "/decide-again", "/decide-again (consent recorded by the coach)")

    def come_back(self, code: str) -> None:
        page = self.visitor.new_page(self.new_context())
        self.go(page, "/come-back")
        page.fill("[name=code]", WRONG_CODE)
        press(page, SUBMIT)
        self.at(page, "/come-back (code not found)")
        page.fill("[name=code]", code)
        press(page, SUBMIT)
        assert path_of(page) in ("/your-space", "/decide-again"), page.url
        self.go(page, "/ended")
        self.go(page, "/no-such-page", "error page (404)", status=404)
        page.close()

    def delete_everything(self, page: Page) -> None:
        open_page(page, "/delete-everything")
        press(page, SUBMIT)
        assert path_of(page) == "/deleted", page.url
        self.at(page)
        page.close()


class StaffTour:
    """Every staff page: signing in (with the set-up of 6-digit codes), the workspace with
    clients, a client's record and its print view, the admin pages and the partner's page."""

    def __init__(
        self,
        new_context: Callable[[], BrowserContext],
        backstage: Backstage,
        visitor: Visitor,
    ) -> None:
        self.new_context = new_context
        self.backstage = backstage
        self.visitor = visitor

    def at(self, page: Page, label: str | None = None) -> None:
        self.visitor.visit(label or path_of(page), page)

    def go(self, page: Page, path: str, label: str | None = None, status: int = 200) -> None:
        open_page(page, path, status)
        self.at(page, label or path)

    def sign_in(self, page: Page, username: str) -> None:
        open_page(page, "/staff/sign-in")
        page.fill("[name=username]", username)
        page.fill("[name=password]", password_of(username))
        press(page, SUBMIT)
        assert path_of(page) == "/staff/two-factor", page.url

    def type_code(self, page: Page, username: str) -> None:
        page.fill("[name=code]", self.backstage.team.code(username))
        press(page, SUBMIT)

    def forms(self, page: Page) -> None:
        """The forms page, which questions of Groundwork's own form can be heard; an XLSForm
        uploaded, its draft, and its preview in Arabic."""
        self.go(page, "/forms")
        page.set_input_files("[name=definition]", str(kobo_form(Path(mkdtemp()))))
        press(page, SUBMIT)
        assert path_of(page).startswith("/forms/drafts/"), page.url
        self.at(page, "/forms/drafts/<id>")
        self.go(page, path_of(page) + "/preview/ar", "/forms/drafts/<id>/preview/ar")
        self.go(page, "/forms/groundwork/1/recordings")

    def run(self) -> None:
        client_id = self.backstage.staff_world()["client"]
        page = self.visitor.new_page(self.new_context())
        self.go(page, "/staff/sign-in")
        press(page, SUBMIT)
        self.at(page, "/staff/sign-in (refused)")
        self.sign_in(page, NEWCOMER)
        self.at(page, "/staff/two-factor (setting up 6-digit codes)")
        self.backstage.team.forget_used_codes("admin")
        self.sign_in(page, "admin")
        self.at(page)
        self.type_code(page, "admin")
        assert path_of(page) == "/workspace", page.url
        self.at(page)
        self.go(page, f"/clients/{client_id}", "/clients/<id>")
        self.go(page, f"/clients/{client_id}/print", "/clients/<id>/print")
        for path in (
            "/team",
            "/access-log",
            "/consent-texts",
            "/account/password",
            "/account/notices",
            "/notices/queue",
            "/account/my-side",
        ):
            self.go(page, path)
        self.forms(page)
        self.go(page, "/staff/join", "/staff/join (invitation closed)", status=404)
        self.go(page, "/clients/no-such-client", "staff error page (404)", status=404)
        page.close()

        page = self.visitor.new_page(self.new_context())
        self.backstage.team.forget_used_codes("partner")
        self.sign_in(page, "partner")
        self.type_code(page, "partner")
        assert path_of(page).startswith("/partner/"), page.url
        self.at(page, "/partner/")
        # Webhooks: an address refused, then one added (a public address: nothing is sent to it,
        # since no timer runs here) with its secret shown once, and the list with it.
        add = "main form[action='/partner/webhooks'] button[type=submit]"
        self.go(page, "/partner/webhooks")
        page.fill("[name=url]", "http://cases.example.org/hooks")
        press(page, add)
        self.at(page, "/partner/webhooks (an address refused)")
        page.fill("[name=url]", "https://93.184.215.14/hooks")
        press(page, add)
        self.at(page, "/partner/webhooks (an address added)")
        press(page, "main form[action$='/secret'] button[type=submit]")
        self.at(page, "/partner/webhooks (a new secret, the old one still signing)")
        page.close()
