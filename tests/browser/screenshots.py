"""`make screenshots`: every client page in every shipped language at 360 × 740, in
screenshots/<locale>/, with the checks of `test_scripts_render.py` (a letter without a font,
text cut off) printed beside them.

Not collected by `make test` (its name does not start with test_); `make screenshots` names it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .harness import LOCALES, Backstage
from .test_scripts_render import report, walk


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
