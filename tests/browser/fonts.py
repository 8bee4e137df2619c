"""Which fonts a page's CSS font stack stands for on this machine, and which characters none
of them can draw.

A family named in the stack counts only when fontconfig has that very family: Chromium does
not take fontconfig's nearest substitute for a name it asked for, so "Tahoma" on a machine
without Tahoma is no font at all. A generic family (sans-serif, system-ui, monospace, ...) is
whatever fontconfig gives for it. A font's characters are read from its character map (cmap)
with fontTools. Lookups are cached for the process: the tours ask about the same few stacks
hundreds of times.

`FONTCONFIG_FILE` works here as for Chromium (both ask the same fontconfig), so pointing it
at a configuration with fewer fonts shows what a page looks like on a poorer machine.
"""

from __future__ import annotations

import subprocess
import unicodedata
from functools import cache

from fontTools.ttLib import TTFont

# What Chromium on Linux asks fontconfig for when a stack names a generic family.
GENERIC = {
    "serif": "serif",
    "sans-serif": "sans-serif",
    "monospace": "monospace",
    "cursive": "cursive",
    "fantasy": "fantasy",
    "system-ui": "sans-serif",
    "ui-sans-serif": "sans-serif",
    "ui-serif": "serif",
    "ui-monospace": "monospace",
    "ui-rounded": "sans-serif",
    "math": "math",
    "emoji": "emoji",
}

# Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt): joiners, bidi marks,
# variation selectors and the like, which a font need not draw.
DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)


def needs_glyph(char: str) -> bool:
    """Whether a character is drawn: not white space, a control or a default-ignorable."""
    if unicodedata.category(char) in ("Zs", "Zl", "Zp", "Cc"):
        return False
    point = ord(char)
    return not any(low <= point <= high for low, high in DEFAULT_IGNORABLE)


def families(stack: str) -> list[str]:
    """The families of a computed `font-family`, in order, without their quotes."""
    return [name.strip().strip("\"'") for name in stack.split(",") if name.strip()]


def _pattern(family: str) -> str:
    """A fontconfig pattern naming one family (its special characters escaped)."""
    return "".join("\\" + c if c in "\\-:," else c for c in family)


@cache
def font_file(family: str) -> tuple[str, int] | None:
    """The file (and face index) fontconfig uses for a family, or None when this machine does
    not have the family the name asks for."""
    wanted = GENERIC.get(family.lower(), family)
    found = subprocess.run(
        ["fc-match", "--format", "%{family}\n%{file}\n%{index}", _pattern(wanted)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = found.stdout.split("\n")
    if found.returncode != 0 or len(lines) < 3 or not lines[1]:
        return None
    names = {name.strip().lower() for name in lines[0].split(",")}
    if family.lower() not in GENERIC and family.lower() not in names:
        return None
    return lines[1], int(lines[2] or 0)


@cache
def characters_of(file: str, index: int) -> frozenset[int]:
    """Every code point a font's character map gives a glyph."""
    font = TTFont(file, fontNumber=index, lazy=True)
    try:
        return frozenset(font.getBestCmap() or {})
    finally:
        font.close()


@cache
def fonts_of(stack: str) -> tuple[tuple[str, frozenset[int]], ...]:
    """Each font of a stack that this machine has: its file and its characters."""
    found = []
    for family in families(stack):
        where = font_file(family)
        if where is not None:
            found.append((where[0], characters_of(*where)))
    return tuple(found)


def missing(characters: str, stack: str) -> str:
    """The characters (each once, in order) that no font of the stack can draw."""
    fonts = fonts_of(stack)
    lacking = dict.fromkeys(
        c
        for c in characters
        if needs_glyph(c) and not any(ord(c) in covered for _, covered in fonts)
    )
    return "".join(lacking)


def describe(characters: str) -> str:
    """U+1275 ት, U+06BC ڼ, ...: code points a person can look up."""
    return ", ".join(f"U+{ord(c):04X} {c}" for c in characters)
