"""`make screenshots`: every client page in every shipped language at 360 × 740, in
screenshots/<locale>/, with the checks of `test_scripts_render.py` (a letter without a font,
text cut off) printed beside them; and the staff tour (coach, admin, partner) at 360 px, in
screenshots/staff/.

Not collected by `make test` (its name does not start with test_); `make screenshots` names it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .harness import LOCALES, Backstage
from .test_scripts_render import report, walk
from .tours import Photographer, StaffTour


@pytest.mark.parametrize("locale", LOCALES)
def test_screenshots(
    locale: str, new_context: Any, backstage: Backstage, screenshot_folder: Path
) -> None:
    folder = screenshot_folder / locale
    folder.mkdir()
    checker = walk(locale, new_context, backstage, folder, every_page=True)
    assert len(checker.pages) >= 40
    print(f"\n{len(checker.pages)} screenshots in {folder}")
    if checker.problems:
        print(report(checker, folder))


def test_staff_screenshots(new_context: Any, backstage: Backstage, screenshot_folder: Path) -> None:
    folder = screenshot_folder / "staff"
    folder.mkdir()
    photographer = Photographer(folder)
    StaffTour(lambda: new_context("en", width=360, height=740), backstage, photographer).run()
    assert len(photographer.taken) >= 20
    print(f"\n{len(photographer.taken)} screenshots in {folder}")
