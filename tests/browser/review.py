"""`make review LANG=xx`: every client page in English and in one language, photographed at
360 × 740 and read, for the reviewer's folder that `tools/review.py` writes (review/xx/).

Not collected by `make test` (its name does not start with test_); `make review` names it and
gives the language in REVIEW_LOCALE (Arabic without it).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tools import review

from .harness import Backstage
from .tours import ClientTour, Photographer

LOCALE = os.environ.get("REVIEW_LOCALE") or "ar"

# A page's words in document order: its text, and the words of its attributes a person meets
# (alt, title, aria-label, placeholder, a button's value), the title included. Words inside an
# inline element stay on their line, so a sentence with a link in it is still one line; words
# a person cannot see yet (a closed <details>) are read too.
READ_WORDS = """() => {
  const words = [];
  const skipped = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE"]);
  const attributes = ["alt", "title", "aria-label", "aria-description", "placeholder"];
  const read = (node) => {
    if (node.nodeType === Node.TEXT_NODE) { words.push(node.data); return; }
    if (node.nodeType !== Node.ELEMENT_NODE || skipped.has(node.tagName)) return;
    const inline = getComputedStyle(node).display.startsWith("inline");
    if (!inline) words.push("\\n");
    for (const name of attributes) {
      const value = node.getAttribute(name);
      if (value) words.push("\\n" + value + "\\n");
    }
    if (node.tagName === "INPUT" && ["submit", "button"].includes(node.type) && node.value) {
      words.push("\\n" + node.value + "\\n");
    }
    node.childNodes.forEach(read);
    if (!inline) words.push("\\n");
  };
  read(document.documentElement);
  return words.join("");
}"""


class Reader(Photographer):
    """Photographs each page and keeps its words."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.pages: list[dict[str, str]] = []

    def visit(self, label: str, page: Any) -> None:
        super().visit(label, page)
        words = page.evaluate(READ_WORDS)
        self.pages.append({"label": label, "picture": self.taken[-1].name, "text": words})


@pytest.mark.parametrize("locale", ["en", LOCALE])
def test_review_pages(locale: str, new_context: Any, backstage: Backstage) -> None:
    refused = review.refusal(LOCALE)
    assert refused is None, refused
    folder = review.REVIEW_FOLDER / LOCALE / locale
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    reader = Reader(folder)
    ClientTour(lambda: new_context(locale, width=360, height=740), backstage, reader).run()
    assert len(reader.pages) >= 40
    review.save_pages(folder, reader.pages)
