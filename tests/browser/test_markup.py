"""Every client page (in English and Arabic) and every staff page (in English) is valid HTML
by the Nu Html Checker (vnu): not one error.

The checker is vnu.jar from npm (`vnu-jar`, installed by `npm ci`), run on Debian's Java
(`default-jre-headless`). It never downloads anything: the jar is run directly with `java`,
never through the package's Node wrapper (which fetches a Java runtime when it finds none).

What is checked is the HTML exactly as the server sent it. The tours (tours.py) walk the pages
in Chromium, and a `Recorder` listens to the tab's responses: each main-frame document response
(never a redirect) is kept as it arrives, and when the tour hands over a page, the body of the
last one is read from the browser, once it has arrived whole, while it is still the tab's
document. These are the bytes Chromium received for that very request (gzip undone), written to
a file as they are; the page the person saw, whether it answered a GET or a POST.

Not `page.content()`: that is the DOM serialised after the parser repaired the markup (closing
what was left open, dropping stray end tags, moving misplaced elements) and after scripts ran,
so it hides exactly the errors the checker looks for. Not `page.request.get(page.url)`: a
second request gets an answer of its own (a receipt or an invitation link is shown once, a
form's errors answer the POST before it, a page can change what the next visit shows), so it
is not the page the person saw, and it could change the state the tour goes on from. Not a
route (`context.route`) that fetches and fulfils each request: the browser would no longer be
the one making the requests, and the tour would not run as every other browser test runs it.
Listening is passive, and no page is requested twice.

All pages are written to one folder and vnu runs once for all of them (it is slow to start).
The run includes a page with known errors, served through the same recording, whose script
removes one of them from the DOM: the test that it is reported proves the checker ran, and saw
the markup as sent rather than as the browser left it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Response, Route
from support.app import need

from intake.referrals import NICKNAME_LIMIT

from .harness import PROJECT_ROOT, Backstage, LiveServer
from .tours import SUBMIT, ClientTour, StaffTour, Visitor, open_page, path_of, press

VNU = PROJECT_ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
# The markup is the same in every language but for words, `lang` and `dir`: the client pages
# are checked left to right and right to left, the staff pages in English.
CLIENT_LOCALES = ("en", "ar")
STAFF_LOCALES = ("en",)
EXTRACT = 80  # characters of vnu's extract of the markup shown with each error

# A page with two markup errors: a duplicate id, and a <div> inside a <span>. Its script removes
# the second id, so only the HTML as sent still has both.
KNOWN_FAULTS_PATH = "/known-markup-faults"
KNOWN_FAULTS_LABEL = "known markup faults"
KNOWN_FAULTS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Known faults</title></head>
<body><main>
<p id="note">One</p>
<p id="note">Two</p>
<span><div>A block inside a span</div></span>
<script>document.querySelectorAll("#note")[1].remove()</script>
</main></body></html>
"""


@dataclass
class Problem:
    label: str
    line: int | None
    message: str
    extract: str = ""

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "(no line)"
        extract = " ".join(self.extract.split())[:EXTRACT]
        return f"{self.label}: {where}: {self.message}" + (f"  [{extract}]" if extract else "")


class Recorder(Visitor):
    """Keeps the HTML as sent of each page a tour visits: the body of the last main-frame
    document response the tab received."""

    def __init__(self, group: str) -> None:
        self.group = group
        self.pages: list[tuple[str, bytes]] = []
        self.last_document: dict[Page, Response] = {}

    def new_page(self, context: BrowserContext) -> Page:
        page = context.new_page()
        page.on("response", lambda response: self._arrived(page, response))
        return page

    def _arrived(self, page: Page, response: Response) -> None:
        request = response.request
        if not (request.is_navigation_request() and request.frame == page.main_frame):
            return
        if 300 <= response.status < 400:
            return  # a redirect has no page of its own: the document it leads to follows
        self.last_document[page] = response

    def visit(self, label: str, page: Page) -> None:
        assert page in self.last_document, f"{label}: no document recorded"
        response = self.last_document[page]
        assert response.url == page.url, f"{label}: recorded {response.url}, shown {page.url}"
        assert response.finished() is None, f"{label}: the document did not arrive whole"
        body = response.body()
        assert body.strip(), f"{label}: the document is empty"
        self.pages.append((f"{self.group} {label}", body))


class KnownFaults:
    """The page of known faults, served by the browser context itself, through the same
    recording as every other page."""

    def __init__(
        self, new_context: Callable[[], BrowserContext], backstage: Backstage, visitor: Visitor
    ) -> None:
        self.new_context = new_context
        self.visitor = visitor

    def run(self) -> None:
        context = self.new_context()
        context.route(f"**{KNOWN_FAULTS_PATH}", self.serve)
        page = self.visitor.new_page(context)
        open_page(page, KNOWN_FAULTS_PATH)
        # Its script ran: the DOM has one "note" left, the HTML as sent still two.
        assert page.locator("#note").count() == 1
        self.visitor.visit(KNOWN_FAULTS_LABEL, page)
        page.close()

    @staticmethod
    def serve(route: Route) -> None:
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=KNOWN_FAULTS)


class EveryStaffPage(StaffTour):
    """The staff tour, then the staff pages it does not reach: an admin's invitation and the
    page that accepts it, and the partner's referral form (refused and accepted, with the
    card to print in Arabic) and API tokens. (They could move into StaffTour, so that the
    accessibility checks see them too.)"""

    def run(self) -> None:
        super().run()
        page = self.visitor.new_page(self.new_context())
        self.backstage.team.forget_used_codes("admin")
        self.sign_in(page, "admin")
        self.type_code(page, "admin")
        open_page(page, "/team")
        invite = "main form[action='/team']"
        page.fill(f"{invite} [name=display_name]", "Rosa Newcomer")
        press(page, f"{invite} button[type=submit]")
        self.at(page, "/team (an invitation made)")
        link = page.locator(".notice .code bdi").inner_text().strip()
        page.close()

        page = self.visitor.new_page(self.new_context())
        open_page(page, link)
        assert path_of(page) == "/staff/join", page.url
        self.at(page)
        page.fill("[name=username]", "rosa")
        page.fill("[name=password]", "one password")
        page.fill("[name=password_again]", "another password")
        press(page, SUBMIT)
        self.at(page, "/staff/join (the passwords differ)")
        page.close()

        page = self.visitor.new_page(self.new_context())
        self.backstage.team.forget_used_codes("partner")
        self.sign_in(page, "partner")
        self.type_code(page, "partner")
        self.go(page, "/partner/referrals/new")
        page.fill("[name=nickname]", "x" * (NICKNAME_LIMIT + 1))
        press(page, SUBMIT)
        self.at(page, "/partner/referrals/new (a nickname too long)")
        page.fill("[name=nickname]", "Sam")
        page.select_option("[name=locale]", "ar")
        press(page, SUBMIT)
        self.at(page, "/partner/referrals/new (the card, in Arabic)")
        self.go(page, "/partner/", "/partner/ (with a referral)")
        self.go(page, "/partner/api-tokens")
        page.fill("[name=label]", "Case notes")
        press(page, SUBMIT)
        self.at(page, "/partner/api-tokens (a token made)")
        page.close()


@dataclass
class Verdict:
    """What one run of vnu said about every page."""

    labels: list[str]
    broken: dict[str, str]  # the tours that did not reach their end, and why
    problems: dict[str, list[Problem]] = field(default_factory=dict)

    def __repr__(self) -> str:
        errors = sum(len(problems) for problems in self.problems.values())
        return f"<vnu: {errors} errors on {len(self.labels)} pages, broken: {list(self.broken)}>"

    def of(self, group: str) -> tuple[list[str], list[Problem]]:
        """The labels of one tour's pages, and the errors on them; a broken tour fails, with
        the errors on the pages it reached."""
        labels = [label for label in self.labels if label.startswith(group + " ")]
        problems = [p for label in labels for p in self.problems.get(label, [])]
        if group in self.broken:
            pytest.fail(
                f"the {group} tour broke, so not every page was checked:\n{self.broken[group]}\n"
                + report(labels, problems)
            )
        return labels, problems


def file_name(index: int, label: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    return f"{index:03d}-{slug[:60]}.html"


def run_vnu(pages: list[tuple[str, bytes]], folder: Path, broken: dict[str, str]) -> Verdict:
    """Writes each page to a file and runs vnu once over them all."""
    by_file: dict[str, str] = {}
    for index, (label, body) in enumerate(pages, start=1):
        name = file_name(index, label)
        (folder / name).write_bytes(body)
        by_file[name] = label
    java = shutil.which("java")
    assert java is not None
    result = subprocess.run(
        [java, "-jar", str(VNU), "--errors-only", "--format", "json", "--stdout"]
        + [str(folder / name) for name in by_file],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 1), f"vnu failed ({result.returncode}):\n{result.stderr}"
    report = json.loads(result.stdout)
    verdict = Verdict([label for label, _ in pages], broken)
    for message in report["messages"]:
        # "error", and "non-document-error" (a file vnu could not read or parse at all).
        if message["type"] not in ("error", "non-document-error"):
            continue
        name = str(message.get("url", "")).rsplit("/", 1)[-1]
        assert name in by_file, f"vnu said something of no page it was given: {message}"
        label = by_file[name]
        line = message.get("firstLine", message.get("lastLine"))
        problem = Problem(label, line, message["message"], message.get("extract", ""))
        verdict.problems.setdefault(label, []).append(problem)
    return verdict


def report(labels: list[str], problems: list[Problem]) -> str:
    return f"{len(problems)} markup errors on {len(labels)} pages:\n" + "\n".join(
        str(problem) for problem in problems
    )


@pytest.fixture(scope="module")
def verdict(
    browser: Any,
    live_server: LiveServer,
    backstage: Backstage,
    tmp_path_factory: pytest.TempPathFactory,
) -> Verdict:
    """Every page of the tours and the page of known faults, checked by one run of vnu."""
    if shutil.which("java") is None:
        need("Java is not installed: apt-get install default-jre-headless")
    if not VNU.exists():
        need(f"the Nu Html Checker is not installed ({VNU}): run `npm ci` (make install does)")
    contexts: list[BrowserContext] = []

    def new_context(locale: str) -> BrowserContext:
        # As the `new_context` fixture makes them, for a whole module of tests.
        context = browser.new_context(
            base_url=live_server.url, locale=locale, viewport={"width": 320, "height": 640}
        )
        context.set_default_timeout(60_000)
        context.set_default_navigation_timeout(60_000)
        contexts.append(context)
        return context

    pages: list[tuple[str, bytes]] = []
    broken: dict[str, str] = {}
    walks = [(f"client {locale}", locale, ClientTour) for locale in CLIENT_LOCALES]
    walks += [(f"staff {locale}", locale, EveryStaffPage) for locale in STAFF_LOCALES]
    walks += [("test", "en", KnownFaults)]
    try:
        for group, locale, walk in walks:
            recorder = Recorder(group)
            try:
                walk(lambda locale=locale: new_context(locale), backstage, recorder).run()
            except Exception:
                # A tour that breaks fails its own test only; the pages it reached are checked
                # all the same, and the other tours still run.
                broken[group] = traceback.format_exc(limit=-3)
            pages += recorder.pages
    finally:
        for context in contexts:
            context.close()
    return run_vnu(pages, tmp_path_factory.mktemp("markup"), broken)


def test_the_checker_reports_known_errors(verdict: Verdict) -> None:
    """The page of known faults: both errors are reported, with their lines, including the
    duplicate id that the page's script removed from the DOM."""
    labels, problems = verdict.of("test")
    assert labels == [f"test {KNOWN_FAULTS_LABEL}"]
    said = "\n".join(str(problem) for problem in problems)
    assert "line 5: Duplicate ID “note”." in said, said
    assert "line 6: Element “div” not allowed as child of element “span”" in said, said


@pytest.mark.parametrize("locale", CLIENT_LOCALES)
def test_every_client_page_is_valid_html(locale: str, verdict: Verdict) -> None:
    labels, problems = verdict.of(f"client {locale}")
    assert len(labels) >= 40, labels
    assert not problems, report(labels, problems)


@pytest.mark.parametrize("locale", STAFF_LOCALES)
def test_every_staff_page_is_valid_html(locale: str, verdict: Verdict) -> None:
    labels, problems = verdict.of(f"staff {locale}")
    assert len(labels) >= 14, labels
    assert not problems, report(labels, problems)
