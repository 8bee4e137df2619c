"""Writes `intake/data/languages.json`: each language's name in itself and its direction, from
Babel's copy of CLDR.

A worker that asked Babel for these at start loaded every shipped locale's whole CLDR data
(about 1.5 MiB each) only to read two words from each. The file holds just those two words, is
written again by `make translations`, and `tests/test_i18n.py` checks it against CLDR.

    python -m tools.languages
"""

from __future__ import annotations

import json
from pathlib import Path

from intake.i18n import from_cldr

TABLE = Path(__file__).resolve().parents[1] / "intake" / "data" / "languages.json"
# Every locale Groundwork ships, and those being prepared for it.
LOCALES = ("en", "ar", "fa", "uk", "fr", "es", "ps", "ti", "so", "ckb")


def table() -> dict[str, dict[str, str]]:
    return {code: from_cldr(code) for code in LOCALES}


def main() -> None:
    TABLE.write_text(json.dumps(table(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
