"""Trust at every step, in Chromium, in English and in Arabic, with JavaScript on and off.

What a frightened person on a phone meets: a missed tap is not a "no"; a "no" still lets them
fill in the pages for this visit only; the code comes only after a yes, never breaks inside a
group, and reads in order in a right-to-left page; coming back lands on a short page of their
own; every target is big enough for a shaking thumb, and "Delete everything" stands apart.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest

from .checks import distance_to_nearest_target, touch_problems
from .harness import Backstage
from .tours import CONTINUE, NEXT_LINK, SUBMIT, ClientTour, Visitor, open_page, path_of, press

LOCALES = ("en", "ar")
JAVASCRIPT = pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
ARABIC_INDIC = "٠١٢٣٤٥٦٧٨٩"


def begin(page: Any) -> str:
    """Choose to keep the answers, and read the code given after that. Returns the code."""
    open_page(page, "/agree")
    page.check("input[name=store_answers][value=yes]")
    page.check("input[name=share_with_coach][value=yes]")
    press(page, SUBMIT)
    assert path_of(page) == "/your-code", page.url
    code = " ".join(page.locator(".return-code bdi").inner_text().split())
    page.check("#saved")
    press(page, SUBMIT)
    assert path_of(page) == "/page/1", page.url
    return code


def coming_back(new_context: Any, locale: str, *, javascript: bool) -> tuple[Any, str]:
    """Someone who started on one phone, on the come-back page of another. (page, code)"""
    first = new_context(locale, width=360, height=740).new_page()
    code = begin(first)
    first.context.close()
    page = new_context(locale, javascript=javascript, width=360, height=740).new_page()
    open_page(page, "/come-back")
    return page, code


# --- choices -----------------------------------------------------------------------------------


@JAVASCRIPT
@pytest.mark.parametrize("locale", LOCALES)
def test_a_missed_tap_is_asked_again_and_a_no_opens_the_pages_for_this_visit_only(
    new_context: Any, locale: str, javascript: bool
) -> None:
    page = new_context(locale, javascript=javascript, width=360, height=740).new_page()
    open_page(page, "/agree")
    page.check("input[name=share_with_coach][value=yes]")
    press(page, SUBMIT)  # the first question left unanswered
    assert path_of(page) == "/agree", "asked again, not taken as a no"
    assert page.locator(".error-summary").count() == 1
    assert page.locator("input[name=share_with_coach][value=yes]").is_checked()
    assert page.locator(".return-code").count() == 0
    if javascript:
        # The note takes focus, so a screen reader says it first.
        assert page.evaluate("document.activeElement.id") == "error-summary"

    page.check("input[name=store_answers][value=no]")
    press(page, SUBMIT)
    assert path_of(page) == "/this-visit-only", page.url
    assert page.locator(".return-code").count() == 0, "no code for someone who keeps nothing"
    press(page, NEXT_LINK)
    assert path_of(page) == "/page/1", page.url
    page.fill("[name=name]", "Nour")
    press(page, CONTINUE)
    open_page(page, "/check")
    assert "Nour" in page.locator("main").inner_text()
    assert page.locator("form[action='/send']").count() == 0, "nothing to send: nothing is kept"

    press(page, "#quick-exit")
    open_page(page, "/check")
    assert path_of(page) in ("/ended", "/come-back"), "gone with the visit"


@pytest.mark.parametrize("locale", LOCALES)
def test_changing_ones_mind_keeps_what_was_written_and_only_then_gives_a_code(
    new_context: Any, locale: str
) -> None:
    page = new_context(locale, width=360, height=740).new_page()
    open_page(page, "/agree")
    page.check("input[name=store_answers][value=no]")
    press(page, SUBMIT)
    press(page, NEXT_LINK)
    page.fill("[name=name]", "Hana")
    press(page, CONTINUE)
    open_page(page, "/check")
    press(page, "main a.button[href='/agree']")
    page.check("input[name=store_answers][value=yes]")
    press(page, SUBMIT)
    assert path_of(page) == "/your-code"
    # The choices are confirmed on this page, each with its receipt number: no page in between.
    numbers = page.locator(".notice .receipt-number").all_inner_texts()
    assert len(numbers) == 1, numbers
    assert page.locator(".notice a[href='/receipts']").count() == 1
    page.check("#saved")
    press(page, SUBMIT)
    assert path_of(page) == "/page/2", "page 1 was kept from the visit"
    open_page(page, "/page/1")
    assert page.locator("[name=name]").input_value() == "Hana"
    # All receipts, readable: a date in words, a short number, no hash, no "fingerprint".
    open_page(page, "/receipts")
    shown = page.locator("main").inner_text()
    assert numbers[0] in shown
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", shown), shown
    assert not re.search(r"[0-9a-f]{64}", shown)
    assert "fingerprint" not in shown.lower()
    if locale == "ar":
        assert re.search(r"[\u0600-\u06ff]{3,}", shown), "the month and words in Arabic"


# --- the code --------------------------------------------------------------------------------


GROUP_LINES = """() => [...document.querySelectorAll('.return-code span')].map((span) => {
  const rects = span.getClientRects();
  return {lines: rects.length, left: rects[0].left, top: rects[0].top};
})"""


@pytest.mark.parametrize("locale", LOCALES)
def test_the_code_never_breaks_inside_a_group_and_reads_left_to_right_at_320_px(
    new_context: Any, locale: str
) -> None:
    page = new_context(locale, width=320, height=640).new_page()
    open_page(page, "/agree")
    page.check("input[name=store_answers][value=yes]")
    press(page, SUBMIT)
    groups = page.evaluate(GROUP_LINES)
    assert len(groups) == 4
    assert all(group["lines"] == 1 for group in groups), groups
    # In reading order: each group is to the right of the one before, or on a later line.
    for before, after in itertools.pairwise(groups):
        assert after["top"] > before["top"] or after["left"] > before["left"], groups
    assert "screenshot" not in page.locator("main").inner_text().lower()


EXAMPLE_ORDER = """() => {
  const walker = document.createTreeWalker(document.querySelector('main'), NodeFilter.SHOW_TEXT);
  const found = [];
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent;
    const at = text.indexOf('4827');
    if (at < 0 || text.indexOf('2204') !== at + 15) continue;
    const place = (start) => {
      const range = document.createRange();
      range.setStart(walker.currentNode, start);
      range.setEnd(walker.currentNode, start + 4);
      const box = range.getBoundingClientRect();
      return {left: box.left, top: box.top};
    };
    found.push({first: place(at), last: place(at + 15)});
  }
  return found;
}"""


@JAVASCRIPT
@pytest.mark.parametrize("locale", LOCALES)
def test_a_code_typed_in_its_own_digits_reads_in_order_and_opens_the_answers(
    new_context: Any, locale: str, javascript: bool
) -> None:
    page, code = coming_back(new_context, locale, javascript=javascript)
    box = page.locator("[name=code]")
    assert box.evaluate("(el) => getComputedStyle(el).direction") == "ltr"
    assert box.get_attribute("inputmode") == "numeric"
    # The example code in the hint is isolated: its first group is on the left, even in Arabic.
    examples = page.evaluate(EXAMPLE_ORDER)
    assert examples, "no example code on the page"
    for example in examples:
        assert example["first"]["top"] < example["last"]["top"] or (
            example["first"]["left"] < example["last"]["left"]
        ), example
    typed = "".join(ARABIC_INDIC[int(c)] for c in code if c.isdigit())
    box.click()
    page.keyboard.type(typed)
    shown = box.input_value()
    if javascript:
        # Grouped in fours as it is typed, as on the card; the digits stay as typed.
        assert shown.split() == [typed[i : i + 4] for i in range(0, 16, 4)], shown
    else:
        assert shown == typed
    press(page, SUBMIT)
    assert path_of(page) == "/your-space", page.url


# --- coming back -----------------------------------------------------------------------------


@JAVASCRIPT
@pytest.mark.parametrize("locale", LOCALES)
def test_coming_back_lands_on_your_space_and_back_from_page_one_goes_there(
    new_context: Any, locale: str, javascript: bool
) -> None:
    page, code = coming_back(new_context, locale, javascript=javascript)
    page.fill("[name=code]", code)
    press(page, SUBMIT)
    assert path_of(page) == "/your-space", page.url
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 2000, f"your space is {height} px tall"
    assert page.locator("main a.button[href='/page/1']").count() == 1, "what is left, first"
    press(page, "main a.button[href='/page/1']")
    press(page, "main a.back")
    assert path_of(page) == "/your-space", "back goes where the person came from"


def test_delete_everything_stands_apart_from_the_other_links(new_context: Any) -> None:
    for locale in LOCALES:
        page = new_context(locale, width=360, height=740).new_page()
        begin(page)
        open_page(page, "/your-space")
        distance = distance_to_nearest_target(page, "a.danger[href='/delete-everything']")
        assert distance is not None
        assert distance >= 40, f"{locale}: only {distance:.0f} px from another target"


# --- touch ---------------------------------------------------------------------------------


class Thumb(Visitor):
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.pages: list[str] = []

    def visit(self, label: str, page: Any) -> None:
        page.wait_for_load_state("load")
        self.pages.append(label)
        self.problems += [f"{label}: {problem}" for problem in touch_problems(page)]


@pytest.mark.parametrize("locale", LOCALES)
def test_every_target_on_every_client_page_fits_a_shaking_thumb(
    new_context: Any, backstage: Backstage, locale: str
) -> None:
    thumb = Thumb()
    ClientTour(lambda: new_context(locale, width=360, height=740), backstage, thumb).run()
    assert len(thumb.pages) >= 40, thumb.pages
    assert not thumb.problems, "\n".join(thumb.problems[:60])


def test_the_touch_check_finds_small_and_crowded_targets(new_context: Any) -> None:
    page = new_context("en").new_page()
    open_page(page, "/faulty-page")
    problems = "\n".join(touch_problems(page))
    assert '<a> "1" is' in problems, problems
    assert "px apart" in problems, problems
