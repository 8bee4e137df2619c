"""Every letter on every client page, in every shipped language, can be drawn by the page's
own fonts, and none is cut off (DESIGN.md §8, §9).

Groundwork sends no web font: the pages name the fonts a cheap Android phone has (Noto), and
this machine has Debian's (`fonts-noto-core`). At 360 CSS px wide, at each page of the client
tour:

- every character a person can see (the text, the words in buttons and fields, the choices of
  a list) is in the character map of at least one font of the `font-family` stack of the
  element that holds it (`fonts.py`); white space, joiners and bidi marks need no glyph. A
  letter no font of the stack has is drawn from whatever font the phone falls back to, or as
  a box;
- no box that hides its overflow holds more text than it shows, and no line's ink (the
  tallest mark above an Arabic letter, the dots below a Pashto one, measured by the
  browser's own text metrics) reaches past the edge of a box that clips it.

A page with a problem is photographed into pytest's temporary folder, so that a person can
see it; `make screenshots` walks the same tour and photographs every page of every language
into screenshots/. `test_the_checks_find_faults` and `test_the_old_stack_lacks_tigrinya`
show that the checks see what they look for.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page
from support.app import need

from .fonts import describe, families, font_file, missing
from .harness import LOCALES, PROJECT_ROOT, Backstage
from .tours import ClientTour, Visitor

PAGE_STACK = re.search(
    r"html\{font-family:([^;]+);", (PROJECT_ROOT / "static" / "site.css").read_text()
).group(1)
NOTO = [family for family in families(PAGE_STACK) if family.startswith("Noto ")]
WIDTH = 360
HEIGHT = 740
# How many letters without a font a report names (for each font stack), the rest counted.
LISTED = 40
# A subpixel of anti-aliasing past an edge is not a cut.
TOLERANCE = 1


@pytest.fixture(autouse=True)
def noto_fonts() -> None:
    """Debian's Noto fonts, and fontconfig to find them (as Chromium does)."""
    if shutil.which("fc-match") is None:
        need("fontconfig's fc-match is not installed: apt-get install fontconfig")
    if not any(font_file(family) for family in NOTO):
        need(f"none of {', '.join(NOTO)} is installed: apt-get install fonts-noto-core")


# For each font-family stack on the page, every character that elements set in it show.
SEEN_CHARACTERS = """() => {
  const seen = new Map();
  const add = (el, text) => {
    if (!text) return;
    const stack = getComputedStyle(el).fontFamily;
    if (!seen.has(stack)) seen.set(stack, new Set());
    for (const c of text) seen.get(stack).add(c);
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    // A field's words are its value (below); a script's are never shown.
    if (node.parentElement.closest("script,style,template,noscript,textarea,select")) continue;
    add(node.parentElement, node.data);
  }
  for (const el of document.querySelectorAll("input:not([type=hidden]),textarea")) {
    // A password shows dots; a file field, the browser's own words.
    if (!["checkbox", "radio", "file", "password"].includes(el.type)) add(el, el.value);
    add(el, el.placeholder);
  }
  for (const option of document.querySelectorAll("select option")) {
    add(option.closest("select"), option.label);
  }
  return [...seen].map(([stack, chars]) => ({stack, chars: [...chars].join("")}));
}"""

# Text a box hides: a box with overflow hidden or clip whose text is larger than the box,
# and lines whose ink (not only their line box) reaches past an edge that clips them.
CUT_TEXT = """(tolerance) => {
  const clipping = ["hidden", "clip"];
  const clips = (el) => {
    const style = getComputedStyle(el);
    return clipping.includes(style.overflowX) || clipping.includes(style.overflowY);
  };
  // The visually-hidden pattern: words for screen readers, a 1 px box on purpose.
  const hiddenOnPurpose = (el) => el.clientWidth <= 1 && el.clientHeight <= 1;
  const name = (el) => {
    const id = el.id ? "#" + el.id : "";
    const classes = [...el.classList].map((c) => "." + c).join("");
    return `<${el.tagName.toLowerCase()}${id}${classes}>`;
  };
  const words = (text) => text.replace(/\\s+/g, " ").trim().slice(0, 50);
  const paddingBox = (el) => {
    const r = el.getBoundingClientRect();
    const left = r.left + el.clientLeft, top = r.top + el.clientTop;
    return {left, top, right: left + el.clientWidth, bottom: top + el.clientHeight};
  };
  const canvas = document.createElement("canvas").getContext("2d");
  // How far the ink of a run of text reaches above and below its baseline, and the font's
  // ascent and descent (where the baseline sits in its line box): the browser's own metrics
  // for this font stack, with the same fallback fonts as the page.
  const ink = (el, text) => {
    const style = getComputedStyle(el);
    canvas.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    canvas.direction = style.direction;
    const m = canvas.measureText(text);
    return {above: m.actualBoundingBoxAscent, below: m.actualBoundingBoxDescent,
            ascent: m.fontBoundingBoxAscent, descent: m.fontBoundingBoxDescent};
  };
  const beyond = (top, bottom, left, right, box) =>
    top < box.top - tolerance || bottom > box.bottom + tolerance
    || left < box.left - tolerance || right > box.right + tolerance;
  const problems = [];

  for (const el of document.body.querySelectorAll("*")) {
    if (!clips(el) || hiddenOnPurpose(el) || el.matches("input,textarea,select")) continue;
    if (!el.textContent.trim() || el.getClientRects().length === 0) continue;
    const tall = el.scrollHeight > el.clientHeight + tolerance;
    if (tall || el.scrollWidth > el.clientWidth + tolerance) {
      problems.push(`${name(el)} hides part of its text (${el.scrollWidth} × ${el.scrollHeight}`
        + ` px in a box of ${el.clientWidth} × ${el.clientHeight}): "${words(el.innerText)}"`);
    }
  }

  const notShown = "script,style,template,noscript,textarea,select";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const holder = node.parentElement;
    if (!node.data.trim() || holder.closest(notShown)) continue;
    const cutters = [];
    for (let el = holder; el && el !== document.documentElement; el = el.parentElement) {
      if (clips(el)) cutters.push(el);
    }
    if (cutters.length === 0 || cutters.some(hiddenOnPurpose)) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const m = ink(holder, node.data);
    for (const line of range.getClientRects()) {
      const baseline = line.top + m.ascent;
      const [top, bottom] = [baseline - m.above, baseline + m.below];
      for (const el of cutters) {
        if (beyond(top, bottom, line.left, line.right, paddingBox(el))) {
          problems.push(`${name(el)} cuts off the ink of "${words(node.data)}"`);
        }
      }
    }
  }

  // A field clips its words to its padding box; its line sits in the middle of its content
  // box (a textarea's first line at the top).
  for (const el of document.querySelectorAll("input:not([type=hidden]),textarea,select")) {
    if (["checkbox", "radio", "file"].includes(el.type)) continue;
    const option = el.matches("select") ? el.selectedOptions[0] : null;
    const text = option ? option.label : el.value || el.placeholder;
    if (!text || el.getClientRects().length === 0) continue;
    const style = getComputedStyle(el);
    const m = ink(el, text);
    const box = paddingBox(el);
    const fontHeight = m.ascent + m.descent;
    const lineHeight = style.lineHeight === "normal" ? fontHeight : parseFloat(style.lineHeight);
    const contentTop = box.top + parseFloat(style.paddingTop);
    const contentHeight = box.bottom - parseFloat(style.paddingBottom) - contentTop;
    const lineTop = contentTop + (el.matches("textarea") ? 0 : (contentHeight - lineHeight) / 2);
    const baseline = lineTop + (lineHeight - fontHeight) / 2 + m.ascent;
    if (beyond(baseline - m.above, baseline + m.below, box.left, box.right, box)) {
      problems.push(`${name(el)} cuts off the ink of "${words(text)}"`);
    }
  }
  return problems;
}"""


def label_to_file(number: int, label: str) -> str:
    return f"{number:02d}-{re.sub(r'[^a-z0-9]+', '-', label.lower()).strip('-') or 'start'}.png"


class RenderChecker(Visitor):
    """At each page: letters without a font in their stack, and cut-off text. Pages with a
    problem are photographed, or every page when `every_page` (`make screenshots`): a
    photograph takes longer than the checks."""

    def __init__(self, locale: str, folder: Path, every_page: bool = False) -> None:
        self.locale = locale
        self.folder = folder
        self.every_page = every_page
        self.pages: list[str] = []
        # Each problem once, with the pages it is on: most are on every page or none.
        self.problems: dict[str, list[str]] = {}
        # For each font stack, the letters it lacks on any page (in the order first seen).
        self.lacking: dict[str, dict[str, None]] = {}

    def visit(self, label: str, page: Page) -> None:
        self.pages.append(label)
        problems = page.evaluate(CUT_TEXT, TOLERANCE)
        for seen in page.evaluate(SEEN_CHARACTERS):
            stack = seen["stack"]
            if lacking := missing(seen["chars"], stack):
                self.lacking.setdefault(stack, {}).update(dict.fromkeys(lacking))
                problems.append(f"some letters have no font in font-family: {stack}")
        for problem in problems:
            self.problems.setdefault(problem, []).append(label)
        if problems or self.every_page:
            path = self.folder / label_to_file(len(self.pages), label)
            page.screenshot(path=str(path), full_page=True)


def report(checker: RenderChecker, folder: Path) -> str:
    lines = [f"screenshots of these pages in {folder}"]
    for stack, letters in checker.lacking.items():
        shown = list(letters)[:LISTED]
        more = f" and {len(letters) - len(shown)} more" if len(letters) > len(shown) else ""
        lines.append(
            f"{checker.locale}: no font for {describe(''.join(shown))}{more} "
            f"in font-family: {stack}"
        )
    for problem, pages in checker.problems.items():
        lines.append(
            f"{checker.locale}: {problem}\n    on {len(pages)} of {len(checker.pages)} pages: "
            + ", ".join(pages)
        )
    return "\n".join(lines)


def walk(
    locale: str, new_context: Any, backstage: Backstage, folder: Path, every_page: bool = False
) -> RenderChecker:
    checker = RenderChecker(locale, folder, every_page)
    ClientTour(lambda: new_context(locale, width=WIDTH, height=HEIGHT), backstage, checker).run()
    return checker


@pytest.mark.parametrize("locale", LOCALES)
def test_every_letter_has_a_font_and_nothing_is_cut_off(
    locale: str, new_context: Any, backstage: Backstage, tmp_path: Path
) -> None:
    checker = walk(locale, new_context, backstage, tmp_path)
    assert len(checker.pages) >= 40, checker.pages
    assert not checker.problems, report(checker, tmp_path)


# A page with one fault of each kind, as a page of Groundwork could have them.
FAULTS = """<!doctype html><html lang="ps" dir="rtl"><meta charset="utf-8"><title>Faults</title>
<style>
html{font-family:"Noto Naskh Arabic",sans-serif;font-size:16px;line-height:1.5}
.tight{overflow:hidden;block-size:1em;line-height:1}
.short{overflow:hidden;block-size:3em}
input{block-size:1em;padding:0;border:0;line-height:1;font:inherit}
.no-ethiopic{font-family:Tahoma,sans-serif}
.roomy{overflow:hidden;padding-block:.5em}
</style>
<p class="roomy">ښځې ډېرې</p>
<p class="tight">ښځې ډېرې</p>
<div class="short">یو<br>دوه<br>درې<br>څلور<br>پنځه</div>
<input value="ښځې ډېرې">
<p class="no-ethiopic" lang="ti">ትግርኛ\u200d</p>"""


def test_the_checks_find_faults(new_context: Any, tmp_path: Path) -> None:
    """Each check names its fault (so a pass above means the checks ran, not that they could
    not see): Ge'ez in a stack without an Ethiopic font, a box too short for its lines, and
    Pashto letters whose dots hang below a box or a field that clips them."""
    page = new_context("ps", width=WIDTH, height=HEIGHT).new_page()
    page.set_content(FAULTS)
    checker = RenderChecker("ps", tmp_path)
    checker.visit("faulty page", page)
    problems = report(checker, tmp_path)
    for expected in (
        "ps: no font for U+1275 ት, U+130D ግ, U+122D ር, U+129B ኛ in font-family: Tahoma, sans-serif",
        "<div.short> hides part of its text",
        '<p.tight> cuts off the ink of "ښځې ډېرې"',
        '<input> cuts off the ink of "ښځې ډېرې"',
    ):
        assert expected in problems, problems
    assert "roomy" not in problems, problems


def test_the_old_stack_lacks_tigrinya() -> None:
    """The font check on its own: the stack before the Noto families were named had no font
    for Tigrinya; the page's stack has every script's letters."""
    words = "ትግርኛ پښتو ډېر ځای کوردیی ناوەندی ڵ ڕ ۆ ێ العربية فارسی Українська"
    assert missing(words, PAGE_STACK) == ""
    old = 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans Arabic", Tahoma'
    assert describe(missing(words, old)) == "U+1275 ት, U+130D ግ, U+122D ር, U+129B ኛ"
