"""A folder for a volunteer who reviews one language: `make review LANG=xx` (STATUS.md).

`review/<xx>/index.html` shows every client page in English beside the same page in that
language, then the words of the language's catalog seen on that page, in the order they appear,
with what translators were told and where each comes from; then the consent texts and the
form's questions in full, and the catalog's words seen on no page. It opens offline in any
browser: plain HTML, no script, nothing fetched.

The browser part (tests/browser/review.py) walks the client pages in both languages and saves,
for each page, its picture and its words in document order (`pages.json`); this module finds
each text of the language in those words and writes the page. It knows nothing of browsers.

    python -m tools.review check xx   # is xx a language there is to review?
    python -m tools.review write xx   # index.html from the pages already walked
"""

from __future__ import annotations

import datetime
import json
import re
import struct
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

from babel import Locale
from babel.messages.pofile import read_po

from intake.consent import TextFile, read_text_files
from intake.form_definition import FORMS_FOLDER, SOURCE_LANGUAGE, read_form
from intake.form_review import wordings
from intake.i18n import language_name, text_direction
from intake.translation_reviews import REVIEWS_FILE, catalog_sha256
from tools.languages import LOCALES
from tools.plain import CLIENT_SOURCES

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
CONSENT_TEXTS = ROOT / "consent_texts"
REVIEW_FOLDER = ROOT / "review"
FORM = FORMS_FOLDER / "groundwork.toml"
REVIEWABLE = tuple(code for code in LOCALES if code != SOURCE_LANGUAGE)
PAGES_FILE = "pages.json"

_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")
_FORM_PAGE = re.compile(r"page (\d+) ")
_SPACES = re.compile(r"[^\S\n]+")
_LINE_BREAKS = re.compile(r"\s*\n\s*")
PLACEHOLDER_SPAN = r"[\s\S]{1,200}?"  # what a placeholder became: a name, a date, a link


@dataclass(frozen=True)
class Words:
    """One text a reviewer checks: its English, its translation (each counted form of a
    plural), what translators were told, and where it comes from."""

    ref: str  # how the reviewer names it when they ask for a change
    english: tuple[str, ...]
    translated: tuple[str, ...]
    note: str = ""
    sources: tuple[str, ...] = ()
    fuzzy: bool = False
    home: str = ""  # the page it belongs on, if it has one ("/page/3" for a form's question)

    @property
    def untranslated(self) -> bool:
        return not all(self.translated)

    @property
    def shown(self) -> tuple[str, ...]:
        """The words a page shows: the English while the translation is missing or unsure."""
        if self.fuzzy or self.untranslated:
            return self.english
        return self.translated


@dataclass(frozen=True)
class Page:
    """One client page as walked: its label, its pictures in both languages, and the words of
    the translated page in document order (text and attributes such as alt and aria-label)."""

    label: str
    english_picture: str
    picture: str
    text: str


@dataclass(frozen=True)
class Seen:
    words: Words
    position: int  # where on its page it first appears
    also_on: tuple[int, ...]  # the other pages (0-based) it appears on


@dataclass(frozen=True)
class Placed:
    pages: list[list[Seen]]  # for each page, the words first met there, in page order
    unseen: list[Words]


def catalog_words(translations: Path, locale: str) -> list[Words]:
    """Every message of a locale's catalog, numbered in the catalog's order."""
    with (translations / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    found: list[Words] = []
    for message in catalog:
        if not message.id:
            continue
        english = _forms(message.id)
        translated = _forms(message.string)
        note = " ".join(message.auto_comments).strip()
        found.append(
            Words(
                ref=str(len(found) + 1),
                english=english,
                translated=translated,
                note=note.removeprefix("Translators:").strip(),
                sources=tuple(f"{path}:{line}" for path, line in message.locations),
                fuzzy=message.fuzzy,
            )
        )
    return found


def _forms(text: object) -> tuple[str, ...]:
    """A message's text, or each counted form of a plural one."""
    texts = text if isinstance(text, tuple | list) else (text,)
    return tuple(str(form or "") for form in texts)


def consent_files(consent_texts: Path, locale: str) -> dict[str, TextFile]:
    """The newest text of each purpose in a locale, as Groundwork publishes them."""
    newest: dict[str, TextFile] = {}
    for text in read_text_files(consent_texts):
        if text.locale == locale and text.version > getattr(newest.get(text.purpose), "version", 0):
            newest[text.purpose] = text
    return {purpose: newest[purpose] for purpose in sorted(newest)}


def paragraphs(text: TextFile | None) -> list[str]:
    return [] if text is None else [part.strip() for part in text.body.strip().split("\n\n")]


def consent_words(consent_texts: Path, locale: str) -> dict[str, list[Words]]:
    """Each consent text, paragraph by paragraph (the first is its question), beside its
    English."""
    english = consent_files(consent_texts, SOURCE_LANGUAGE)
    translated = consent_files(consent_texts, locale)
    texts = {}
    for purpose in sorted(set(english) | set(translated)):
        source = translated.get(purpose) or english[purpose]
        theirs, ours = paragraphs(translated.get(purpose)), paragraphs(english.get(purpose))
        texts[purpose] = [
            Words(
                ref=f"{purpose} ¶{number}",
                english=(ours[number - 1] if number <= len(ours) else "",),
                translated=(theirs[number - 1] if number <= len(theirs) else "",),
                note="the question" if number == 1 else "",
                sources=(f"{consent_texts.name}/{source.locale}/{purpose}.v{source.version}.txt",),
            )
            for number in range(1, max(len(ours), len(theirs)) + 1)
        ]
    return texts


def form_words(form_file: Path, locale: str) -> list[Words]:
    """Every text of the form a person reads (questions, "why we ask", choices), beside its
    English."""
    source = str(form_file.relative_to(ROOT)) if form_file.is_relative_to(ROOT) else str(form_file)
    return [
        Words(
            ref=where,
            english=(wording.texts.get(SOURCE_LANGUAGE, ""),),
            translated=(wording.texts.get(locale, ""),),
            sources=(source,),
            home=f"/page/{number[1]}" if (number := _FORM_PAGE.match(where)) else "",
        )
        for where, wording in wordings(read_form(form_file))
        if wording.texts.get(SOURCE_LANGUAGE)
    ]


def tidy(text: str) -> str:
    """A page's words with runs of spaces made one and blank lines dropped."""
    return _LINE_BREAKS.sub("\n", _SPACES.sub(" ", text)).strip()


def _pattern(text: str) -> str | None:
    """A text as a page shows it: placeholders filled, spaces and line breaks free. None when
    it has too little of its own (two letters) to be found."""
    literal = _PLACEHOLDER.sub("", text)
    if sum(character.isalnum() for character in literal) < 2:
        return None
    parts = []
    for piece in re.split(f"({_PLACEHOLDER.pattern})", text.strip()):
        if _PLACEHOLDER.fullmatch(piece):
            parts.append(PLACEHOLDER_SPAN)
        else:
            parts.extend(
                r"\s+" if chunk.isspace() else re.escape(chunk)
                for chunk in re.split(r"(\s+)", piece)
                if chunk
            )
    return "".join(parts)


def _first(patterns: Sequence[re.Pattern[str]], text: str) -> int | None:
    starts = [found.start() for pattern in patterns if (found := pattern.search(text))]
    return min(starts) if starts else None


def _at_home(item: Words, label: str) -> bool:
    return bool(item.home) and (label == item.home or label.startswith(f"{item.home} ("))


def place(words: Iterable[Words], pages: Sequence[Page]) -> Placed:
    """Finds each text on the pages. It belongs to its own page if it has one and is seen
    there (a form's question, not the summary that repeats it), else to the first page where
    it is a whole line (a heading, a button, a paragraph), else to the first where it is part
    of a line. On its page, it is ordered by where it first appears."""
    placed: list[list[Seen]] = [[] for _ in pages]
    unseen = []
    for item in words:
        found = {text: p for text in item.shown if (p := _pattern(text))}
        whole = {text: re.compile(rf"(?m)^[^\S\n]*{p}[^\S\n]*$") for text, p in found.items()}
        # One word alone ("Words", "Yes") is found only as a line of its own: inside a
        # sentence it is most often another message's word.
        loose = [
            re.compile(rf"(?<!\w){p}(?!\w)")
            if len(text.split()) > 1 or _PLACEHOLDER.search(text)
            else whole[text]
            for text, p in found.items()
        ]
        anywhere = [_first(loose, page.text) for page in pages]
        lines = [
            None if at is None else _first(list(whole.values()), page.text)
            for at, page in zip(anywhere, pages, strict=True)
        ]
        chosen = next(
            (
                i
                for i, at in enumerate(anywhere)
                if at is not None and _at_home(item, pages[i].label)
            ),
            None,
        )
        if chosen is None:
            chosen = next((i for i, at in enumerate(lines) if at is not None), None)
        if chosen is None:
            chosen = next((i for i, at in enumerate(anywhere) if at is not None), None)
        if chosen is None:
            unseen.append(item)
            continue
        position = lines[chosen] if lines[chosen] is not None else anywhere[chosen]
        others = tuple(i for i, at in enumerate(anywhere) if at is not None and i != chosen)
        placed[chosen].append(Seen(item, position or 0, others))
    for seen in placed:
        seen.sort(key=lambda s: s.position)
    return Placed(placed, unseen)


def save_pages(folder: Path, pages: Sequence[dict[str, str]]) -> None:
    """What the browser saw, for `write` (tests/browser/review.py)."""
    (folder / PAGES_FILE).write_text(
        json.dumps(list(pages), ensure_ascii=False, indent=1), encoding="utf-8"
    )


def walked_pages(folder: Path, locale: str) -> list[Page]:
    """The pages of both walks, paired: they are the same pages in the same order."""
    english = json.loads((folder / SOURCE_LANGUAGE / PAGES_FILE).read_text(encoding="utf-8"))
    theirs = json.loads((folder / locale / PAGES_FILE).read_text(encoding="utf-8"))
    if [page["label"] for page in english] != [page["label"] for page in theirs]:
        raise ValueError("the two walks did not see the same pages: run `make review` again")
    return [
        Page(
            label=ours["label"],
            english_picture=f"{SOURCE_LANGUAGE}/{ours['picture']}",
            picture=f"{locale}/{page['picture']}",
            text=tidy(page["text"]),
        )
        for ours, page in zip(english, theirs, strict=True)
    ]


# The page itself. Every text from a catalog, a page or a file passes through escape().


def english_name(locale: str) -> str:
    return Locale.parse(locale).get_display_name(SOURCE_LANGUAGE) or locale


def _in(locale: str, text: str, tag: str = "p") -> str:
    # A placeholder keeps its own direction: in Arabic, %(count)s would read s(count)%.
    words = _PLACEHOLDER.sub(r'<code dir="ltr">\g<0></code>', escape(text))
    return f'<{tag} lang="{escape(locale)}" dir="{text_direction(locale)}">{words}</{tag}>'


def _texts(locale: str, texts: tuple[str, ...]) -> str:
    if len(texts) == 1:
        return _in(locale, texts[0])
    return "".join(
        f'<p class="form">{"One" if n == 1 and locale == SOURCE_LANGUAGE else f"Form {n}"}:</p>'
        + _in(locale, text)
        for n, text in enumerate(texts, start=1)
    )


def _mark(words: Words) -> str:
    if words.fuzzy:
        return (
            '<p class="mark"><strong>Unsure (marked fuzzy):</strong> pages show the English '
            "until it is checked.</p>"
        )
    if words.untranslated:
        return '<p class="mark"><strong>Not translated yet:</strong> pages show the English.</p>'
    return ""


def _row(words: Words, locale: str, also_on: tuple[int, ...] = (), *, whole: bool = False) -> str:
    """One text as a row. A consent text or a form's text is also in its own section, in
    full (`whole`): only that row is named for links, so no name is used twice."""
    about = f"<p>{escape(words.note)}</p>" if words.note else ""
    if words.sources:
        sources = ", ".join(f"<code>{escape(source)}</code>" for source in words.sources)
        about += f'<p class="from">From {sources}</p>'
    shown = any(words.translated)
    if also_on:
        links = ", ".join(f'<a href="#page-{i + 1}">{i + 1}</a>' for i in also_on)
        about += f'<p class="from">Also on page{"s" if len(also_on) > 1 else ""} {links}</p>'
    return (
        f'<tr id="{escape(anchor(words.ref, whole))}"><th scope="row">{escape(words.ref)}</th>'
        f'<td data-label="English">{_texts(SOURCE_LANGUAGE, words.english)}</td>'
        f'<td data-label="{escape(english_name(locale))}">'
        f"{_mark(words)}{_texts(locale, words.translated) if shown else ''}</td>"
        f'<td data-label="For the translator">{about}</td></tr>'
    )


def anchor(ref: str, whole: bool = False) -> str:
    return ("whole-" if whole else "words-") + re.sub(r"\W+", "-", ref).strip("-")


def _table(caption: str, rows: Iterable[str], locale: str, first: str = "Number") -> str:
    return (
        f"<table><caption>{escape(caption)}</caption><thead><tr>"
        f'<th scope="col">{first}</th><th scope="col">English</th>'
        f'<th scope="col">{escape(english_name(locale))}</th>'
        '<th scope="col">For the translator, and where it comes from</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


STYLE = """
body{font:1rem/1.5 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:1rem;color:#111;
background:#fff}
h1,h2,h3{line-height:1.25}
section{border-top:2px solid #555;margin-top:2rem}
.pictures{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}
figure{margin:0;max-width:360px}
figure img{width:100%;height:auto;border:1px solid #555}
figcaption{font-weight:bold}
table{border-collapse:collapse;width:100%;margin:1rem 0}
caption{text-align:start;font-weight:bold;padding:.5rem 0}
th,td{border:1px solid #777;padding:.25rem .5rem;vertical-align:top;text-align:start}
th[scope=row]{width:8%}td{width:34%}td:last-child{width:24%}
td p{margin:.25rem 0;white-space:pre-wrap}
.from{font-size:.9rem;color:#333}
.form{font-size:.9rem;color:#333;margin-bottom:0}
.mark{background:#fff3c4;border-inline-start:4px solid #8a6100;padding:.25rem}
pre{white-space:pre-wrap;background:#f3f3f3;padding:.5rem;border:1px solid #777}
code{overflow-wrap:anywhere}
@media (max-width:40rem){table,tbody,tr,th,td,th[scope=row],td:last-child{display:block;
width:auto}thead{position:absolute;left:-9999px}
td::before{content:attr(data-label);display:block;font-size:.9rem;color:#333}}
"""


def write(
    folder: Path,
    locale: str,
    pages: Sequence[Page],
    catalog: Sequence[Words],
    consent: dict[str, list[Words]],
    form: Sequence[Words],
    sha256: str,
    today: datetime.date | None = None,
) -> Path:
    """Writes `index.html` into `folder` (beside the pictures the pages name)."""
    everything = [*catalog, *(w for texts in consent.values() for w in texts), *form]
    placed = place(everything, pages)
    in_catalog = set(catalog)
    unseen = [words for words in placed.unseen if words in in_catalog]
    name, own = english_name(locale), language_name(locale)
    today = today or datetime.date.today()
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Groundwork in {escape(name)}: for the reviewer</title>",
        f"<style>{STYLE}</style></head><body><main>",
        f"<h1>Groundwork in {_in(locale, own, 'span')} ({escape(name)}): for the reviewer</h1>",
        _introduction(locale, name, len(pages), sha256, today),
        '<nav aria-labelledby="contents"><h2 id="contents">Contents</h2><ol>',
        *(
            f'<li><a href="#page-{n}">{escape(page.label)}</a></li>'
            for n, page in enumerate(pages, start=1)
        ),
        '<li><a href="#consent">The consent texts, in full</a></li>',
        '<li><a href="#form">The form\'s questions and "why we ask"</a></li>',
        f'<li><a href="#unseen">Not seen on these pages ({len(unseen)})</a></li></ol></nav>',
    ]
    for n, (page, seen) in enumerate(zip(pages, placed.pages, strict=True), start=1):
        parts.append(_page_section(folder, n, len(pages), page, seen, locale))
    parts.append(_consent_section(consent, locale))
    parts.append(
        '<section aria-labelledby="form"><h2 id="form">The form\'s questions and '
        '"why we ask"</h2><p>Every text of Groundwork\'s own form, in the order of its pages. '
        "They live in <code>intake/data/forms/groundwork.toml</code>, each with its ten "
        "languages side by side.</p>"
        + _table("The form's texts", (_row(w, locale, whole=True) for w in form), locale, "Where")
        + "</section>"
    )
    parts.append(_unseen_section(unseen, locale))
    parts.append("</main></body></html>\n")
    index = folder / "index.html"
    index.write_text("\n".join(parts), encoding="utf-8")
    return index


def _introduction(locale: str, name: str, count: int, sha256: str, today: datetime.date) -> str:
    catalog = f"translations/{locale}/LC_MESSAGES/messages.po"
    return f"""<p>Thank you for reading Groundwork's {escape(name)}. Every page a client can see
is shown below ({count} pages, in the order a person meets them), as a phone shows it, in
English and in {escape(name)}. Under the pictures are the words first seen on that page, in the
order they appear: the English, the {escape(name)}, what translators were told, and where the
words come from.</p>
<h2>What to look for</h2>
<ul>
<li>Does each sentence say what the English means, in words a person who has just arrived
would use? Calm, short sentences, "you", no blame (Groundwork's voice).</li>
<li>Words marked "Not translated yet" or "Unsure" show in English on the pages for now.</li>
<li>The consent texts are the exact words people agree to: they are in full near the end,
then the form's questions and "why we ask", then the words that were not seen on these pages
(most are for staff).</li>
</ul>
<h2>How to tell us about a change</h2>
<p>For each change, write the number in the first column (for a consent text, its name and
paragraph, like "contact ¶2"), the words now, the words you suggest, and why if it helps.
Send the list to the person who asked you to review. Once your changes are in, a new folder is
made, and you can check them in it.</p>
<h2>How your review is recorded</h2>
<p>You are reviewing the catalog <code>{escape(catalog)}</code> whose SHA-256 is
<code>{escape(sha256)}</code> (<code>sha256sum {escape(catalog)}</code>), made on
{today.isoformat()}. When you have read it all and the consent texts, and any changes you asked
for are in, your review is written down in <code>translations/{REVIEWS_FILE}</code>, like
this:</p>
<pre>[[review]]
locale = "{escape(locale)}"
reviewer = "Your name, and how to reach you or the organisation you read it for"
date = {today.isoformat()}
catalog_sha256 = "{escape(sha256)}"</pre>
<p>From then on, {escape(name)} is no longer marked as a draft on Groundwork's pages. The
review counts only for the words you read: when the catalog changes, its SHA-256 changes, and
the language is a draft again until someone reads the changes.</p>"""


def _size(picture: Path) -> str:
    """A PNG's width and height as attributes, so that the page keeps their room while they
    load and a link to a page further down lands on it."""
    try:
        header = picture.read_bytes()[:24]
    except OSError:
        return ""
    if header[:8] != b"\x89PNG\r\n\x1a\n":
        return ""
    width, height = struct.unpack(">II", header[16:24])
    return f' width="{width}" height="{height}"'


def _picture(folder: Path, path: str, alt: str, caption: str) -> str:
    return (
        f'<figure><img src="{escape(path)}"{_size(folder / path)} loading="lazy" '
        f'alt="{escape(alt)}"><figcaption>{escape(caption)}</figcaption></figure>'
    )


def _page_section(
    folder: Path, number: int, count: int, page: Page, seen: Sequence[Seen], locale: str
) -> str:
    label, name = page.label, english_name(locale)
    pictures = (
        '<div class="pictures">'
        + _picture(
            folder,
            page.english_picture,
            f"Page {number}, {label}, in English, as a phone shows it",
            "English",
        )
        + _picture(
            folder,
            page.picture,
            f"Page {number}, {label}, in {name}, as a phone shows it",
            name,
        )
        + "</div>"
    )
    if seen:
        words = _table(
            f"Words first seen on page {number}, in the order they appear",
            (_row(s.words, locale, s.also_on) for s in seen),
            locale,
        )
    else:
        words = "<p>No words on this page that were not on an earlier page.</p>"
    return (
        f'<section aria-labelledby="page-{number}"><h2 id="page-{number}">'
        f"Page {number} of {count}: {escape(label)}</h2>{pictures}{words}</section>"
    )


def _consent_section(consent: dict[str, list[Words]], locale: str) -> str:
    parts = [
        '<section aria-labelledby="consent"><h2 id="consent">The consent texts, in full</h2>',
        "<p>The exact words people agree to, paragraph by paragraph; the first paragraph is the "
        "question. Published words never change: a change is published as a new version "
        "(<code>consent_texts/README.md</code>), and people who said yes are asked again.</p>",
    ]
    for purpose, texts in consent.items():
        rows = (_row(words, locale, whole=True) for words in texts)
        parts.append(_table(f"Consent text: {purpose}", rows, locale, "Paragraph"))
    parts.append("</section>")
    return "".join(parts)


def _unseen_section(unseen: Sequence[Words], locale: str) -> str:
    client = [w for w in unseen if any(s.startswith(CLIENT_SOURCES) for s in w.sources)]
    staff = [w for w in unseen if w not in client]
    return (
        '<section aria-labelledby="unseen"><h2 id="unseen">Not seen on these pages</h2>'
        "<p>Words of the catalog that this walk through the pages did not show, so that none is "
        "missed. Some appear only at rare moments; most are for staff.</p>"
        + _table(
            f"On client pages, at moments the walk did not reach ({len(client)})",
            (_row(w, locale) for w in client),
            locale,
        )
        + _table(
            f"On staff pages, and elsewhere ({len(staff)})",
            (_row(w, locale) for w in staff),
            locale,
        )
        + "</section>"
    )


def refusal(locale: str) -> str | None:
    """Why there is nothing to review in `locale`, kindly; None when there is."""
    choices = ", ".join(f"{code} ({english_name(code)})" for code in REVIEWABLE)
    if locale in REVIEWABLE:
        return None
    if not locale:
        first = "Which language would you like to review?"
    elif locale == SOURCE_LANGUAGE:
        first = "English is the source that every language is checked against."
    else:
        first = f"Groundwork has no language called {locale!r}."
    return f"{first} Choose one of: {choices}. For example: make review LANG=ar"


def build(locale: str) -> Path:
    folder = REVIEW_FOLDER / locale
    return write(
        folder,
        locale,
        walked_pages(folder, locale),
        catalog_words(TRANSLATIONS, locale),
        consent_words(CONSENT_TEXTS, locale),
        form_words(FORM, locale),
        catalog_sha256(TRANSLATIONS, locale),
    )


def main(arguments: Sequence[str]) -> int:
    command, locale = [*arguments, "", ""][:2]
    if command not in ("check", "write"):
        print("\n".join((__doc__ or "").strip().splitlines()[-2:]), file=sys.stderr)
        return 2
    refused = refusal(locale)
    if refused:
        print(refused, file=sys.stderr)
        return 2
    if command == "write":
        index = build(locale)
        print(f"Open {index.relative_to(ROOT)} in a browser.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
