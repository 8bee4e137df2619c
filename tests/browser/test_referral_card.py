"""The referral card in a real browser: a caseworker makes a referral, reads the card on a
phone 360 px wide without scrolling sideways (the page with no axe-core violations), and
prints it on one A6 sheet (105 x 148 mm) with nothing else from the page.

The partner signs in through the real pages, as StaffTour does; the card is tested in English
and in Arabic (right to left, with its key lines in English under it), and every shipped
language is printed once to see that the longest translations still fit one sheet.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from .checks import axe_violations
from .harness import LOCALES, Backstage, password_of
from .tours import SUBMIT, open_page, path_of, press

PHONE_WIDTH = 360
# A6 in PDF points (1/72 inch): 105 mm x 148 mm.
A6_POINTS = (105 / 25.4 * 72, 148 / 25.4 * 72)
PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
MEDIA_BOX = re.compile(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]")


def signed_in_partner(page: Any, backstage: Backstage) -> None:
    backstage.team.forget_used_codes("partner")
    open_page(page, "/staff/sign-in")
    page.fill("[name=username]", "partner")
    page.fill("[name=password]", password_of("partner"))
    press(page, SUBMIT)
    assert path_of(page) == "/staff/two-factor", page.url
    page.fill("[name=code]", backstage.team.code("partner"))
    press(page, SUBMIT)
    assert path_of(page).startswith("/partner/"), page.url


def make_referral(page: Any, locale: str) -> None:
    open_page(page, "/partner/referrals/new")
    page.select_option("[name=locale]", locale)
    page.fill("[name=note]", "Prefers mornings.")
    press(page, SUBMIT)
    assert path_of(page) == "/partner/referrals/new", page.url
    assert page.locator(".referral-sheet").count() == 1


def pages_in(pdf: bytes) -> int:
    return len(PAGE.findall(pdf))


def overflowing(page: Any) -> list[str]:
    """Parts of the card that stick out of it, or out of the screen."""
    return page.evaluate(
        """() => {
          const sheet = document.querySelector('.referral-sheet').getBoundingClientRect();
          const out = [];
          if (sheet.left < 0 || sheet.right > document.documentElement.clientWidth + 0.5)
            out.push('the card itself');
          for (const part of document.querySelectorAll('.referral-sheet *')) {
            const box = part.getBoundingClientRect();
            if (box.width === 0 && box.height === 0) continue;
            if (box.left < sheet.left - 0.5 || box.right > sheet.right + 0.5)
              out.push(part.tagName + '.' + part.className + ': ' + part.textContent.trim());
          }
          return out;
        }"""
    )


@pytest.mark.parametrize("locale", ["en", "ar"])
def test_the_card_reads_on_a_phone_and_prints_on_one_a6_sheet(
    new_context: Any, backstage: Backstage, axe_script: Path, locale: str
) -> None:
    page = new_context(width=PHONE_WIDTH, height=740, axe=axe_script).new_page()
    signed_in_partner(page, backstage)
    make_referral(page, locale)
    sheet = page.locator(".referral-sheet")
    assert axe_violations(page) == []

    # On a phone: no sideways scrolling, and the whole card, its square too, in view.
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1] == PHONE_WIDTH, widths
    assert overflowing(page) == []
    square = sheet.locator(".qr svg").bounding_box()
    assert square is not None
    assert abs(square["width"] - square["height"]) < 1, square  # drawn whole, not cut off
    assert sheet.locator(".address").first.is_visible()
    assert sheet.locator(".code").first.is_visible()
    card = sheet.locator(".referral-card")
    assert card.get_attribute("lang") == locale
    english = sheet.locator(".in-english")
    if locale == "en":
        assert english.count() == 0
    else:
        assert english.count() == 1
        assert english.get_attribute("lang") == "en"
        assert english.is_visible()
        assert english.evaluate("e => getComputedStyle(e).direction") == "ltr"
        assert card.evaluate("e => getComputedStyle(e).direction") == "rtl"
        address = card.locator(".address")
        assert address.evaluate("e => getComputedStyle(e).direction") == "ltr"
        assert "/referral-code" in address.inner_text()

    # Printed: only the card, on one A6 sheet.
    page.emulate_media(media="print")
    assert sheet.is_visible()
    for elsewhere in ("main h1", "header.bar", "main .no-print"):
        assert not page.locator(elsewhere).first.is_visible(), f"{elsewhere} is printed"
    assert pages_in(page.pdf(format="A6", print_background=True)) == 1
    # The browser's own print dialog takes the sheet size from the card's stylesheet.
    own_size = page.pdf(prefer_css_page_size=True, print_background=True)
    assert pages_in(own_size) == 1
    boxes = MEDIA_BOX.findall(own_size)
    assert boxes, "no page size in the PDF"
    x0, y0, x1, y1 = (float(value) for value in boxes[0])
    assert abs((x1 - x0) - A6_POINTS[0]) < 1.5, boxes[0]
    assert abs((y1 - y0) - A6_POINTS[1]) < 1.5, boxes[0]


def test_the_card_fits_one_a6_sheet_in_every_language(
    new_context: Any, backstage: Backstage
) -> None:
    page = new_context(width=PHONE_WIDTH, height=740).new_page()
    signed_in_partner(page, backstage)
    sheets = {}
    for locale in LOCALES:
        make_referral(page, locale)
        page.emulate_media(media="print")
        sheets[locale] = pages_in(page.pdf(format="A6", print_background=True))
        page.emulate_media(media="screen")
    assert sheets == dict.fromkeys(LOCALES, 1)
