"""The whole client journey in Chromium, with JavaScript on and with it off: start, agreeing,
the return code, every page filled in, checking, sending; then coming back with the code in a
new browser, landing on "your space", and finding every answer again.

With JavaScript on, the app's real Content Security Policy is in force and the browser reports
no violation of it and no script error.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from support.journey import fill, section_at

from intake.questionnaire import DEFAULT_FORM, Kind

from .harness import LiveServer
from .tours import CONTINUE, NEXT_LINK, SUBMIT, open_page, path_of, press, read_return_code

PAGES = len(DEFAULT_FORM.sections)


def fill_in(page: Any, number: int) -> list[str]:
    """Answer every question of page N as a person would; returns the words typed."""
    section = section_at(number)
    answers = fill(section)
    typed = []
    for question in section.questions:
        value = answers[question.key]
        if question.kind in (Kind.SHORT_TEXT, Kind.LONG_TEXT):
            page.fill(f"[name={question.key}]", str(value))
            typed.append(str(value))
        else:
            for choice in value if isinstance(value, list) else [value]:
                page.check(f"input[name={question.key}][value={choice}]")
    return typed


def watch_for_trouble(page: Any, trouble: list[str]) -> None:
    page.on("pageerror", lambda error: trouble.append(f"script error: {error}"))
    page.on(
        "response",
        lambda response: (
            trouble.append(f"{response.status} for {response.url}")
            if response.status >= 400
            else None
        ),
    )
    page.on(
        "console",
        lambda message: (
            trouble.append(f"console: {message.text} ({message.location})")
            if message.type in ("error", "warning")
            else None
        ),
    )


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript-on", "javascript-off"])
def test_the_whole_journey_and_coming_back(
    javascript: bool, new_context: Any, live_server: LiveServer
) -> None:
    trouble: list[str] = []
    page = new_context("en", javascript=javascript, width=360, height=740).new_page()
    watch_for_trouble(page, trouble)

    open_page(page, "/")
    response = page.request.get("/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    press(page, NEXT_LINK)
    assert path_of(page) == "/welcome"
    press(page, NEXT_LINK)
    assert path_of(page) == "/agree"
    page.check("input[name=store_answers][value=yes]")
    page.check("input[name=share_with_coach][value=yes]")
    press(page, SUBMIT)
    assert path_of(page) == "/your-code"
    code = read_return_code(page)
    assert re.fullmatch(r"\d{4} \d{4} \d{4} \d{4}", code), code
    page.check("#saved")
    press(page, SUBMIT)

    typed: list[str] = []
    for number in range(1, PAGES + 1):
        if path_of(page) == "/before-the-agreement":
            press(page, NEXT_LINK)
        assert path_of(page) == f"/page/{number}", page.url
        typed += fill_in(page, number)
        press(page, CONTINUE)
    assert path_of(page) == "/check", page.url
    shown = page.locator("main").inner_text()
    missing = [word for word in typed if word not in shown]
    assert not missing, f"the check page does not show {missing}"
    assert code.replace(" ", "") not in page.url

    press(page, "main form[action='/send'] button[type=submit]")
    assert path_of(page) == "/sent", page.url
    page.context.close()

    # Another day, another browser: the return code opens everything again.
    again = new_context("en", javascript=javascript, width=360, height=740).new_page()
    watch_for_trouble(again, trouble)
    open_page(again, "/")
    press(again, "main a[href='/come-back']")
    again.fill("[name=code]", code)
    press(again, SUBMIT)
    assert path_of(again) == "/your-space", again.url
    press(again, "main a[href='/check']")
    shown = again.locator("main").inner_text()
    missing = [word for word in typed if word not in shown]
    assert not missing, f"after coming back, the check page does not show {missing}"
    assert not trouble, trouble
