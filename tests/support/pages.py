"""Reading a page the way a person or a browser reads it: the CSRF token of its form, the
messages in its error summary, its words, and its elements with the text inside each."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

VOID_ELEMENTS = frozenset(
    ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr")
)
# Characters that change the direction of the text after them until they are closed.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def csrf(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form on `path`, read from the page like a browser would."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def error_summary(response: TestResponse) -> list[str]:
    """The messages in the page's error summary, as a person reads them."""
    page = response.get_data(as_text=True)
    block = re.search(r'<div class="error-summary".*?</div>', page, re.DOTALL)
    if block is None:
        return []
    items = re.findall(r"<li>(.*?)</li>", block.group(0), re.DOTALL)
    return [re.sub(r"<[^>]+>", "", item).strip() for item in items]


def enrolment_secret(response: TestResponse) -> str:
    """The set-up key shown as text under the QR code on the first sign-in."""
    page = response.get_data(as_text=True)
    block = re.search(r'<p class="code"[^>]*>(.*?)</p>', page, re.DOTALL)
    assert block, "no set-up key shown"
    return "".join(re.findall(r"<span>([A-Z2-7]+)</span>", block.group(1)))


def without_csrf_tokens(body: str) -> str:
    """A page with its CSRF token values blanked: they differ on every request by design."""
    return re.sub(r'(name="csrf_token"[^>]*?value=")[^"]*(")', r"\1\2", body)


def page_text(response: TestResponse) -> str:
    """The words of a page as a person reads them: tags dropped, entities decoded."""
    return " ".join(Words(response.get_data(as_text=True)).words.split())


class Words(HTMLParser):
    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.feed(markup)
        self.close()

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)

    @property
    def words(self) -> str:
        return " ".join(self.chunks)


class Page(HTMLParser):
    """What a browser would make of a page: title, links, forms, fields and scripts."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.markup = markup
        self.title = ""
        self.hrefs: list[str] = []
        self.form_actions: list[str] = []
        self.form_methods: list[str] = []
        self.scripts: list[tuple[str | None, str]] = []  # (src, inline body)
        self.stylesheets: list[str] = []
        self.inputs: list[dict[str, str | None]] = []
        self.textareas: dict[str, str] = {}
        self.legends: list[str] = []
        self.consent_paragraphs: list[list[str]] = []
        self.summary_links: list[tuple[str, str]] = []  # (href, text) in the error summary
        self.event_handlers: list[str] = []
        self.buttons: list[dict[str, str | None]] = []
        self._title = False
        self._textarea: str | None = None
        self._script: list[str] | None = None
        self._legend: list[str] | None = None
        self._consent_depth = 0
        self._paragraph: list[str] | None = None
        self._summary = False
        self._summary_link: list[str] | None = None
        self._summary_href = ""
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.event_handlers += [name for name, _ in attrs if name.startswith("on")]
        for name in ("href", "action", "src", "formaction"):
            value = found.get(name)
            if value and value.lower().startswith("javascript:"):
                self.event_handlers.append(f"{name}=javascript:")
        classes = (found.get("class") or "").split()
        if tag == "title":
            self._title = True
        elif tag == "a" and found.get("href") is not None:
            self.hrefs.append(found["href"] or "")
            if self._summary:
                self._summary_link, self._summary_href = [], found["href"] or ""
        elif tag == "form":
            self.form_actions.append(found.get("action") or "")
            self.form_methods.append((found.get("method") or "get").lower())
        elif tag == "script":
            self._script = []
            self.scripts.append((found.get("src"), ""))
        elif tag == "link" and found.get("rel") == "stylesheet":
            self.stylesheets.append(found.get("href") or "")
        elif tag == "input":
            self.inputs.append(found)
        elif tag == "button":
            self.buttons.append(found)
        elif tag == "textarea":
            self._textarea = found.get("name") or ""
            self.textareas[self._textarea] = ""
        elif tag == "legend":
            self._legend = []
        elif tag == "div" and "consent" in classes:
            self._consent_depth = 1
            self.consent_paragraphs.append([])
        elif tag == "div" and self._consent_depth:
            self._consent_depth += 1
        elif tag == "div" and "error-summary" in classes:
            self._summary = True
        elif tag == "p" and self._consent_depth:
            self._paragraph = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._title = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "script" and self._script is not None:
            src, _ = self.scripts[-1]
            self.scripts[-1] = (src, "".join(self._script))
            self._script = None
        elif tag == "legend" and self._legend is not None:
            self.legends.append("".join(self._legend).strip())
            self._legend = None
        elif tag == "p" and self._paragraph is not None:
            self.consent_paragraphs[-1].append("".join(self._paragraph))
            self._paragraph = None
        elif tag == "div" and self._consent_depth:
            self._consent_depth -= 1
        elif tag == "div" and self._summary:
            self._summary = False
        elif tag == "a" and self._summary_link is not None:
            self.summary_links.append((self._summary_href, "".join(self._summary_link).strip()))
            self._summary_link = None

    def handle_data(self, data: str) -> None:
        if self._title:
            self.title += data
        if self._textarea is not None:
            self.textareas[self._textarea] += data
        if self._script is not None:
            self._script.append(data)
        if self._legend is not None:
            self._legend.append(data)
        if self._paragraph is not None:
            self._paragraph.append(data)
        if self._summary_link is not None:
            self._summary_link.append(data)

    # what a field shows

    def value(self, name: str) -> str | None:
        """The text a text box or text area shows, as the person would see it."""
        if name in self.textareas:
            shown = self.textareas[name]
            # WTForms writes a newline after <textarea>; browsers drop that first newline.
            for newline in ("\r\n", "\n"):
                if shown.startswith(newline):
                    return shown[len(newline) :]
            return shown
        for found in self.inputs:
            if found.get("name") == name and found.get("type") in (None, "text"):
                return found.get("value") or ""
        return None

    def hidden(self, name: str) -> str | None:
        for found in self.inputs:
            if found.get("name") == name and found.get("type") == "hidden":
                return found.get("value")
        return None

    def checked(self, name: str) -> list[str]:
        return [
            found.get("value") or ""
            for found in self.inputs
            if found.get("name") == name and "checked" in found
        ]

    def urls(self) -> list[str]:
        return [*self.hrefs, *self.form_actions, *(src for src, _ in self.scripts if src)]

    def bdi(self) -> list[str]:
        return [html.unescape(m) for m in re.findall(r"<bdi>([^<]*)</bdi>", self.markup)]


@dataclass(frozen=True)
class Text:
    """One run of text and the elements it sits in, outermost first."""

    text: str
    stack: tuple[str, ...]

    @property
    def parent(self) -> str:
        return self.stack[-1] if self.stack else ""


class Tree(HTMLParser):
    """A page as a browser builds it: every element, and every run of text with its parents.

    `pairs` lists each <dt> with the text runs of the <dd> after it (as a definition list
    shows a question and its answer)."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.markup = markup
        self.texts: list[Text] = []
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.pairs: list[tuple[str, list[Text]]] = []
        self._stack: list[str] = []
        self._pending: list[str] = []
        self._dt: list[str] | None = None
        self._dd: list[Text] | None = None
        self._dd_depth = 0
        self._last_dt = ""
        self.feed(markup)
        self.close()
        self._flush()

    def _flush(self) -> None:
        """One run of text ends where an element starts or ends."""
        data, self._pending = "".join(self._pending), []
        if self._dt is not None:
            self._dt.append(data)
        if not data.strip():
            return
        stack = tuple(self._stack)
        self.texts.append(Text(data, stack))
        if self._dd is not None:
            self._dd.append(Text(data, stack[self._dd_depth :]))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._flush()
        self.elements.append((tag, dict(attrs)))
        if tag in VOID_ELEMENTS:
            return
        self._stack.append(tag)
        if tag == "dt":
            self._dt = []
        elif tag == "dd":
            self._dd, self._dd_depth = [], len(self._stack)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._flush()
        self.elements.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        self._flush()
        if tag in VOID_ELEMENTS:
            return
        assert tag in self._stack, f"</{tag}> closes nothing: the page is not well formed"
        while self._stack:
            if self._stack.pop() == tag:
                break
        if tag == "dt" and self._dt is not None:
            self._last_dt = " ".join("".join(self._dt).split())
            self._dt = None
        elif tag == "dd" and self._dd is not None:
            self.pairs.append((self._last_dt, self._dd))
            self._dd = None

    def handle_data(self, data: str) -> None:
        self._pending.append(data)

    # what a test asks

    def tags(self) -> set[str]:
        return {tag for tag, _attrs in self.elements}

    def event_handler_attributes(self) -> list[str]:
        """on* attributes, and javascript: addresses a browser would follow, anywhere."""
        found = []
        for tag, attrs in self.elements:
            for name, value in attrs.items():
                if name.startswith("on"):
                    found.append(f"<{tag} {name}>")
                followed = name in ("href", "src", "action", "formaction", "data", "srcdoc")
                if followed and value and value.strip().lower().startswith("javascript:"):
                    found.append(f"<{tag} {name}=javascript:>")
        return found

    def inline_scripts(self) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.elements if tag == "script" and not attrs.get("src")]

    def stylesheets(self) -> list[str]:
        return [
            attrs.get("href") or ""
            for tag, attrs in self.elements
            if tag == "link" and attrs.get("rel") == "stylesheet"
        ]

    def answers_to(self, label: str) -> list[list[Text]]:
        """The <dd> text runs of every <dt> that reads `label`."""
        return [runs for dt, runs in self.pairs if dt == label]

    def texts_with(self, fragment: str) -> list[Text]:
        return [t for t in self.texts if fragment in t.text]
