"""Another site cannot plant answers in someone's record (the security issue, point 1).

A page on another site (here `http://localhost:<its own port>`, a different site from the
Groundwork server at `http://127.0.0.1:<port>`) holds a form that posts a phone number and
"yes, leave a message" to Groundwork's contact page. The person, in the middle of their own
visit, presses it. Their browser sends no session cookie with a cross-site POST (SameSite=Lax),
so the post must be kept nowhere: whatever page they then see, and even after they type their
return code, their answers hold nothing the other site chose.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from intake.questionnaire import DEFAULT_FORM

from .harness import Backstage, LiveServer
from .tours import CONTINUE, SUBMIT, open_page, path_of, press

CONTACT_PAGE = next(n for n, s in enumerate(DEFAULT_FORM.sections, start=1) if s.key == "contact")
PLANTED_NUMBER = "+44 7700 900999"


def other_site_page(target: str) -> bytes:
    return f"""<!doctype html><html lang="en"><meta charset="utf-8"><title>Win a prize</title>
<form method="post" action="{target}">
<input type="hidden" name="details" value="{PLANTED_NUMBER}">
<input type="hidden" name="channels" value="phone_call">
<input type="hidden" name="leave_message" value="yes">
<input type="hidden" name="action" value="continue">
<button type="submit">Claim your prize</button>
</form></html>""".encode()


@pytest.fixture
def other_site(live_server: LiveServer) -> Iterator[str]:
    """A server of another site on loopback, reached as http://localhost:<port>."""
    body = other_site_page(f"{live_server.url}/page/{CONTACT_PAGE}")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_port}/"
    server.shutdown()
    thread.join()
    server.server_close()


@pytest.mark.parametrize("visit", ["open", "closed"])
def test_a_form_on_another_site_plants_nothing_in_the_persons_answers(
    new_context: Any, backstage: Backstage, other_site: str, visit: str
) -> None:
    page = new_context("en", width=360, height=740).new_page()
    open_page(page, "/agree")
    page.check("input[name=store_answers][value=yes]")
    page.check("input[name=share_with_coach][value=yes]")
    press(page, SUBMIT)
    code = " ".join(page.locator(".return-code bdi").inner_text().split())
    page.check("#saved")
    press(page, SUBMIT)
    page.fill("[name=name]", "Hana")
    press(page, CONTINUE)
    if visit == "closed":
        page.context.clear_cookies()  # as if the visit had timed out in the meantime

    # The other site's page, and its button.
    page.goto(other_site)
    with page.expect_navigation():
        page.click("button")
    assert path_of(page).startswith(("/page/", "/come-back", "/ended")) or page.url

    # The person carries on: if a code box is in front of them, they type their code there;
    # otherwise they come back the usual way.
    if page.locator("[name=code]").count() == 0:
        open_page(page, "/come-back")
    page.fill("[name=code]", code)
    press(page, SUBMIT)

    answers = backstage.answers_of(code)
    assert answers.get("name") == {"name": "Hana"}, "their own answers are untouched"
    contact = answers.get("contact", {})
    assert PLANTED_NUMBER not in str(contact), contact
    assert contact.get("leave_message") != "yes", contact
