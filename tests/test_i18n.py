"""Ten languages, four of them right to left: complete catalogs, pages that really change
language, and the whole journey in Arabic and in Farsi with the code typed in their digits."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask import Flask
from support.app import need
from support.database import read_as_coach
from support.journey import Phone, fill, section_at

from intake.consent import Purpose, read_text_files
from intake.form_definition import FORMS_FOLDER
from intake.i18n import language_name, text_direction
from tools import languages

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
LANGUAGES_TABLE = ROOT / "intake" / "data" / "languages.json"
LOCALES = ("ar", "fa", "uk", "fr", "es", "ps", "ti", "so", "ckb")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"


def catalog(locale: str):
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle)


def template():
    with TEMPLATE.open("rb") as handle:
        return read_po(handle)


def test_every_shipped_locale_has_a_name_in_itself(app: Flask) -> None:
    """Names and directions come from CLDR, as a chooser shows them."""
    assert app.config["SHIPPED_LOCALES"] == ["en", *LOCALES]
    named = {code: language_name(code) for code in app.config["SHIPPED_LOCALES"]}
    assert named == {
        "en": "English",
        "ar": "العربية",
        "fa": "فارسی",
        "uk": "Українська",
        "fr": "Français",
        "es": "Español",
        "ps": "پښتو",
        "ti": "ትግርኛ",
        "so": "Soomaali",
        "ckb": "کوردیی ناوەندی",
    }
    assert [c for c in named if text_direction(c) == "rtl"] == ["ar", "fa", "ps", "ckb"]


def test_the_copied_names_and_directions_are_cldrs_own(app: Flask) -> None:
    """`intake/data/languages.json` (written by `make translations`) says exactly what Babel's
    CLDR says, for every shipped locale, and a language it lacks is still named by CLDR."""
    copied = json.loads(LANGUAGES_TABLE.read_text(encoding="utf-8"))
    assert set(app.config["SHIPPED_LOCALES"]) <= set(copied), "run `make translations`"
    assert copied == languages.table(), "run `make translations`"
    assert language_name("de") == "Deutsch"
    assert text_direction("he") == "rtl"


def test_a_worker_does_not_load_every_languages_cldr_data_to_name_them() -> None:
    """Naming the shipped languages (the chooser on every page) loads no locale's CLDR data."""
    script = (
        "import babel.localedata as data\n"
        "from intake import i18n\n"
        "names = [i18n.language_name(c) for c in ('en', 'ar', 'fa', 'uk', 'fr', 'es')]\n"
        "ways = [i18n.text_direction(c) for c in ('en', 'ar', 'fa', 'uk', 'fr', 'es')]\n"
        "assert ways[1] == 'rtl', ways\n"
        "print(sorted(data._cache))\n"
    )
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert ran.stdout.strip() == "[]", ran.stdout


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated_with_its_placeholders(locale: str) -> None:
    wanted = {m.id for m in template() if m.id}
    translated = {m.id: m for m in catalog(locale) if m.id}
    assert wanted <= set(translated), f"{locale} lacks {sorted(wanted - set(translated))[:5]}"
    problems = []
    for msgid in wanted:
        message = translated[msgid]
        if message.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        # A plural message (ngettext) has one English id for each form and one string for
        # each of the language's plural forms; each form may leave out the count (%(num)d).
        ids = (msgid,) if isinstance(msgid, str) else msgid
        strings = (message.string,) if isinstance(message.string, str) else message.string
        english = sorted(PLACEHOLDER.findall(ids[-1]))
        if not all(strings):
            problems.append(f"empty: {msgid!r}")
        elif any(
            sorted(PLACEHOLDER.findall(string)) not in (english, _without_count(english))
            for string in strings
        ):
            problems.append(f"placeholders differ: {msgid!r}")
        elif any("<" in string for string in strings) and "<" not in ids[0]:
            problems.append(f"HTML in the translation: {msgid!r}")
    assert not problems, problems[:10]


def _without_count(placeholders: list[str]) -> list[str]:
    return [p for p in placeholders if p != "%(num)d"]


@pytest.mark.parametrize("locale", LOCALES)
def test_msgfmt_accepts_each_catalog(locale: str) -> None:
    if shutil.which("msgfmt") is None:
        need("msgfmt (Debian's gettext) checks the catalogs")
    path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"
    result = subprocess.run(
        ["msgfmt", "--check", "-o", "/dev/null", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_no_html_inside_translatable_strings() -> None:
    assert [m.id for m in template() if m.id and re.search(r"<[a-z/]", str(m.id))] == []


def test_the_template_is_not_stale() -> None:
    """Extracting the strings again finds exactly the ones in messages.pot."""
    method_map = [("intake/**.py", "python"), ("templates/**.html", "jinja2")]
    found = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT),
            method_map,
            keywords={
                "_": None,
                "gettext": None,
                "_l": None,
                "lazy_gettext": None,
                "N_": None,  # sentences of the domain modules (intake/wording.py)
                "ngettext": (1, 2),
            },
        )
    }
    found = {m if isinstance(m, str) else m[0] for m in found}
    stored = {m.id if isinstance(m.id, str) else m.id[0] for m in template() if m.id}
    new, gone = sorted(found - stored)[:5], sorted(stored - found)[:5]
    assert found == stored, f"run `make translations`: new {new}, gone {gone}"


def test_every_consent_text_exists_in_every_locale(app: Flask) -> None:
    texts = {(t.purpose, t.locale) for t in read_text_files()}
    for locale in app.config["SHIPPED_LOCALES"]:
        for purpose in Purpose:
            assert (purpose.value, locale) in texts, f"{locale} lacks {purpose.value}"


def test_the_words_groundwork_adds_to_every_form_are_in_every_locale(app: Flask) -> None:
    """ "I'd rather not say" ends every list of choices, in any form: in the person's language."""
    common = tomllib.loads((FORMS_FOLDER / "common.toml").read_text(encoding="utf-8"))
    for key, words in common.items():
        missing = [code for code in app.config["SHIPPED_LOCALES"] if not words.get(code)]
        assert not missing, f"{key} is not written in {missing}"


def test_the_stylesheets_use_logical_properties_only() -> None:
    physical = re.compile(
        r"(margin|padding|border)-(left|right)|text-align:\s*(left|right)|"
        r"float:\s*(left|right)|[;{]\s*(left|right)\s*:"
    )
    for path in (ROOT / "static").glob("*.css"):
        assert not physical.search(path.read_text()), path.name


# --- pages in every language --------------------------------------------------------------


def _visible_text(markup: str) -> str:
    """The page's text in its own language: English shown on purpose (the checked words beside
    a draft translation) is marked `lang="en"` and left out."""
    markup = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", markup, flags=re.S)
    markup = re.sub(r'<div lang="en" dir="ltr">.*?</div>', " ", markup, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", markup)
    return re.sub(r"\s+", " ", text)


def _english_sentences(locale: str) -> list[str]:
    """English message ids of three words or more whose translation says something else."""
    translated = {m.id: m.string for m in catalog(locale) if m.id}
    return [
        msgid
        for msgid, string in translated.items()
        if isinstance(msgid, str)
        and len(msgid.split()) >= 3
        and not PLACEHOLDER.search(msgid)
        and string
        and string != msgid
    ]


CLIENT_PAGES_BEFORE_CONSENT = (
    "/",
    "/welcome",
    "/agree",
    "/come-back",
    "/ended",
)


@pytest.mark.parametrize("locale", ["en", *LOCALES])
def test_every_client_page_speaks_the_chosen_language(app: Flask, team, locale: str) -> None:
    phone = Phone(app)
    phone.get(f"/?lang={locale}")
    pages = {}
    for path in CLIENT_PAGES_BEFORE_CONSENT:
        pages[path] = phone.get(path).get_data(as_text=True)
    pages["/agree (nothing chosen)"] = phone.post("/agree", {}, status=400).get_data(as_text=True)
    phone.post("/agree", {"store_answers": "no"})
    pages["/this-visit-only"] = phone.get("/this-visit-only").get_data(as_text=True)
    pages["/page/1 (this visit only)"] = phone.get("/page/1").get_data(as_text=True)
    pages["/check (this visit only)"] = phone.get("/check").get_data(as_text=True)
    phone.get("/agree")
    phone.post("/agree", {"store_answers": "yes", "share_with_coach": "yes"})
    pages["/your-code"] = phone.get("/your-code").get_data(as_text=True)
    phone.post("/your-code", {"saved": "y"})
    for number in range(1, 15):
        pages[f"/page/{number}"] = phone.get(f"/page/{number}").get_data(as_text=True)
        phone.post(f"/page/{number}", {"action": "continue"})
    for path in (
        "/before-the-agreement",
        "/check",
        "/saved",
        "/your-space",
        "/receipts",
        "/my-choices",
        "/who-looked",
        "/my-data",
        "/agreement",
        "/before-a-session",
        "/delete-everything",
    ):
        pages[path] = phone.get(path).get_data(as_text=True)
    phone.post("/send", {})
    pages["/sent"] = phone.get("/sent").get_data(as_text=True)
    direction = "rtl" if locale in ("ar", "fa", "ps", "ckb") else "ltr"
    english = _english_sentences(locale) if locale != "en" else []
    for path, markup in pages.items():
        assert f'<html lang="{locale}" dir="{direction}">' in markup, path
        if locale == "en":
            continue
        text = _visible_text(markup)
        left = [sentence for sentence in english if sentence in text]
        assert not left, f"{path} in {locale} still shows English: {left[:3]}"
        # The return code and other digits read left to right inside right-to-left text.
        for code in re.findall(r'class="return-code"[^>]*>', markup):
            assert 'dir="ltr"' in code


@pytest.mark.parametrize(("locale", "digits"), [("ar", ARABIC_DIGITS), ("fa", PERSIAN_DIGITS)])
def test_the_whole_journey_in_a_right_to_left_language(
    app: Flask, team, locale: str, digits: str
) -> None:
    first = Phone(app)
    first.get(f"/?lang={locale}")
    code = first.begin()
    sent = {}
    for number in range(1, 6):
        sent[section_at(number).key] = fill(section_at(number))
        first.save_page(number, sent[section_at(number).key])
    # Another phone, the code typed in the script's own digits, with spaces.
    second = Phone(app)
    second.get(f"/?lang={locale}")
    typed = "".join(digits[int(c)] if c.isdigit() else c for c in code)
    assert second.come_back(typed).headers["Location"] == "/your-space"
    for number in range(6, 15):
        sent[section_at(number).key] = fill(section_at(number))
        second.save_page(number, sent[section_at(number).key])
    check = second.get("/check").get_data(as_text=True)
    assert f'<html lang="{locale}" dir="rtl">' in check
    second.post("/send", {})
    assert f'lang="{locale}"' in second.get("/sent").get_data(as_text=True)
    assert read_as_coach(app, team.org_private_key) == sent
