"""Quick exit in a real browser (DESIGN.md §2): the button, and Escape pressed three times,
land on the configured QUICK_EXIT_URL; the session has ended on the server; and the back
button does not bring back the form with what was typed.

The test server's QUICK_EXIT_URL is a page of its own on loopback (the sandbox has no
internet); see harness.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.journey import marker

from .harness import LANDING_TEXT, LiveServer
from .tours import SUBMIT, open_page, path_of, press


def half_way_through_page_one(page: Any) -> str:
    """Start, agree, and type a name on the first page without saving it. Returns the name."""
    open_page(page, "/agree")
    page.check("input[name=store_answers][value=yes]")
    page.check("input[name=share_with_coach][value=yes]")
    press(page, SUBMIT)
    page.check("#saved")
    press(page, SUBMIT)
    assert path_of(page) == "/page/1"
    # Something saved on the way (the first page), then something typed and not saved yet.
    page.fill("[name=name]", marker())
    press(page, "main form button[name=action][value=continue]")
    assert path_of(page) == "/page/2"
    typed = marker()
    page.fill("[name=languages]", typed)
    return typed


def assert_left(page: Any, live_server: LiveServer) -> None:
    assert page.url == live_server.exit_url, page.url
    assert LANDING_TEXT in page.locator("h1").inner_text()


def assert_nothing_to_go_back_to(page: Any, typed: str, live_server: LiveServer) -> None:
    """Back, after leaving: whatever shows is not the form with the answers."""
    page.go_back()
    page.wait_for_load_state("load")
    if page.url != live_server.exit_url:
        shown = page.content()
        values = page.locator("input, textarea").evaluate_all(
            "(fields) => fields.map((field) => field.value)"
        )
        assert typed not in shown, f"going back shows what was typed ({page.url})"
        assert typed not in values, f"going back fills the form in again ({page.url})"
        assert not path_of(page).startswith("/page/"), f"going back shows a form: {page.url}"
    # And the session is over: a page of answers sends the person to the start again.
    open_page(page, "/check")
    assert path_of(page) in ("/ended", "/come-back"), page.url


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript-on", "javascript-off"])
def test_the_quick_exit_button_leaves_and_cannot_be_undone(
    javascript: bool, new_context: Any, live_server: LiveServer
) -> None:
    page = new_context("en", javascript=javascript).new_page()
    typed = half_way_through_page_one(page)
    exit_link = page.locator("#quick-exit")
    assert exit_link.get_attribute("href") == "/exit"
    history = page.evaluate("() => history.length") if javascript else None
    with page.expect_navigation(url=live_server.exit_url):
        exit_link.click()
    assert_left(page, live_server)
    if javascript:  # the form's entry in the history is replaced, not added to
        assert page.evaluate("() => history.length") == history
    assert_nothing_to_go_back_to(page, typed, live_server)


def test_escape_three_times_leaves(new_context: Any, live_server: LiveServer) -> None:
    page = new_context("en").new_page()
    typed = half_way_through_page_one(page)
    page.focus("[name=languages]")
    history = page.evaluate("() => history.length")
    with page.expect_navigation(url=live_server.exit_url):
        for _press in range(3):
            page.keyboard.press("Escape")
    assert_left(page, live_server)
    assert page.evaluate("() => history.length") == history
    assert_nothing_to_go_back_to(page, typed, live_server)


def test_one_or_two_escapes_do_not_leave(new_context: Any) -> None:
    """Escape also closes things (a keyboard, a picker): only three in a row leave."""
    page = new_context("en").new_page()
    open_page(page, "/welcome")
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    # Leaving hides the page at once, before it goes: after two presses it is still shown.
    assert page.evaluate("() => getComputedStyle(document.body).visibility") == "visible"
    assert path_of(page) == "/welcome"
