"""`make screenshots`: every client page in English and Arabic at 360 × 740, in screenshots/.

Not collected by `make test` (its name does not start with test_); `make screenshots` names it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from .harness import Backstage
from .tours import ClientTour, Visitor


class Photographer(Visitor):
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: list[Path] = []

    def visit(self, label: str, page: Any) -> None:
        name = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "start"
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)


@pytest.mark.parametrize("locale", ["en", "ar"])
def test_screenshots(
    locale: str, new_context: Any, backstage: Backstage, screenshot_folder: Path
) -> None:
    folder = screenshot_folder / locale
    folder.mkdir()
    photographer = Photographer(folder)
    ClientTour(lambda: new_context(locale, width=360, height=740), backstage, photographer).run()
    assert len(photographer.taken) >= 40
    print(f"\n{len(photographer.taken)} screenshots in {folder}")
