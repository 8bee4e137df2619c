"""Listening to a question, in Chromium, in English and in Arabic (DESIGN.md §9).

Headless Chromium has no voices, so each test gives the page a list of voices of its own (an
init script standing in for `speechSynthesis`) and reads back what the page asked it to say,
in which voice. A "Listen" button appears only where the phone has a voice of its own
(`localService`) for the question's language; it reads the question and why we ask it, never
what the person typed or chose.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from babel.support import Translations
from support.journey import TRANSLATIONS, section_at

from .checks import audit, touch_problems
from .test_journey import watch_for_trouble
from .tours import NEXT_LINK, SUBMIT, open_page, path_of, press

LOCALES = ("en", "ar")
LISTEN = "main button.listen"
TYPED = "Marigold Quietwater 5531"

# The page's speechSynthesis, as a phone with these voices would have it: every utterance it is
# asked to speak and every cancel are kept on window.__speech. `null`: no speech at all.
FAKE_SPEECH = """(() => {
  const given = %s;
  if (given === null) {
    Object.defineProperty(window, "speechSynthesis", {value: undefined, configurable: true});
    return;
  }
  let voices = given;
  const speech = window.__speech = {spoken: [], cancels: 0, last: null};
  const synth = new EventTarget();
  synth.getVoices = () => voices.slice();
  synth.speak = (utterance) => {
    speech.spoken.push({
      text: utterance.text,
      voice: utterance.voice && utterance.voice.name,
      lang: utterance.lang,
    });
    speech.last = utterance;
  };
  synth.cancel = () => { speech.cancels += 1; };
  speech.arrive = (more) => {
    voices = more;
    synth.dispatchEvent(new Event("voiceschanged"));
  };
  speech.finish = () => speech.last && speech.last.onend && speech.last.onend(new Event("end"));
  Object.defineProperty(window, "speechSynthesis", {value: synth, configurable: true});
  window.SpeechSynthesisUtterance = function (text) {
    this.text = text;
    this.voice = null;
    this.lang = "";
  };
})();"""


def voice(name: str, lang: str, *, local: bool = True) -> dict[str, object]:
    return {"name": name, "lang": lang, "localService": local, "default": False, "voiceURI": name}


def on_the_phone(language: str) -> list[dict[str, object]]:
    """A phone's usual list: a voice in the cloud first, another language, then its own."""
    return [
        voice("Cloud voice", language, local=False),
        voice("Phone voice (other)", "fr-FR" if language != "fr" else "de-DE"),
        voice("Phone voice", language),
    ]


REGION = {"en": "en-GB", "ar": "ar-EG"}


@cache
def listen_label(locale: str) -> str:
    return Translations.load(str(TRANSLATIONS), [locale]).gettext("Listen to this question")


def with_voices(context: Any, voices: list[dict[str, object]] | None) -> Any:
    context.add_init_script(script=FAKE_SPEECH % json.dumps(voices))
    return context


def first_page(page: Any) -> None:
    """Straight to the first page of questions, keeping nothing (for this visit only)."""
    open_page(page, "/agree")
    page.check("input[name=store_answers][value=no]")
    press(page, SUBMIT)
    press(page, NEXT_LINK)
    assert path_of(page) == "/page/1", page.url


def spoken(page: Any) -> list[dict[str, str]]:
    return list(page.evaluate("() => window.__speech.spoken"))


def pressed(page: Any) -> list[str | None]:
    return [b.get_attribute("aria-pressed") for b in page.locator(LISTEN).all()]


def expected_words(locale: str, number: int) -> str:
    """What reading the question aloud says: its label, then why we ask it."""
    question = section_at(1).questions[number]
    return f"{question.label.in_language(locale)}\n{question.why.in_language(locale)}"


@pytest.mark.parametrize("locale", LOCALES)
def test_a_local_voice_reads_the_question_and_why_we_ask_it_never_the_answer(
    locale: str, new_context: Any
) -> None:
    trouble: list[str] = []
    language = REGION[locale]
    page = with_voices(new_context(locale), on_the_phone(language)).new_page()
    watch_for_trouble(page, trouble)
    first_page(page)
    assert page.locator("html").get_attribute("dir") == ("rtl" if locale == "ar" else "ltr")
    buttons = page.locator(LISTEN)
    buttons.first.wait_for()
    # One for each question: the name, the pronouns, and other pronouns.
    assert buttons.count() == page.locator("main [data-listen]").count() == 3
    assert [b.inner_text().strip() for b in buttons.all()] == [listen_label(locale)] * 3
    for button in buttons.all():
        box = button.bounding_box()
        assert box is not None
        assert box["height"] >= 44, box
        assert box["width"] >= 44, box
        assert button.get_attribute("type") == "button"

    # The person answers first; then listens to the first question, from the keyboard.
    page.fill("[name=name]", TYPED)
    page.check("input[name=pronouns] >> nth=0")
    page.locator("main a.back").focus()
    for _press in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.classList.contains('listen')"):
            break
    else:
        pytest.fail("Tab does not reach the Listen button")
    page.keyboard.press("Enter")
    assert spoken(page) == [
        {"text": expected_words(locale, 0), "voice": "Phone voice", "lang": language}
    ]
    assert pressed(page) == ["true", "false", "false"]

    # The next question's button stops the first and reads its own; the choice stays unsaid.
    buttons.nth(1).click()
    assert [s["text"] for s in spoken(page)][1] == expected_words(locale, 1)
    assert pressed(page) == ["false", "true", "false"]
    said = "\n".join(s["text"] for s in spoken(page))
    chosen = page.locator("input[name=pronouns]:checked").evaluate(
        "(box) => box.closest('label').textContent.trim()"
    )
    assert TYPED not in said, said
    assert chosen not in said, said

    # Pressed again, it stops; the end of the reading lets it go too.
    cancels = page.evaluate("() => window.__speech.cancels")
    buttons.nth(1).click()
    assert page.evaluate("() => window.__speech.cancels") == cancels + 1
    assert pressed(page) == ["false", "false", "false"]
    assert len(spoken(page)) == 2
    buttons.nth(0).click()
    page.evaluate("() => window.__speech.finish()")
    assert pressed(page) == ["false", "false", "false"]

    # Listening sent nothing and left the page where it was.
    assert path_of(page) == "/page/1"
    assert page.input_value("[name=name]") == TYPED
    assert not trouble, trouble


def test_enter_in_a_field_still_saves_the_page_and_listening_never_does(
    new_context: Any,
) -> None:
    page = with_voices(new_context("en"), on_the_phone("en-GB")).new_page()
    first_page(page)
    page.locator(LISTEN).first.wait_for()
    posts: list[str] = []
    page.on("request", lambda sent: posts.append(sent.url) if sent.method == "POST" else None)
    page.locator(LISTEN).first.click()
    page.locator(LISTEN).nth(1).press("Enter")
    page.locator(LISTEN).nth(1).press(" ")
    assert posts == []
    assert path_of(page) == "/page/1"
    page.fill("[name=name]", "Sam")
    with page.expect_navigation():
        page.press("[name=name]", "Enter")
    assert path_of(page) == "/page/2", page.url


def test_leaving_the_page_stops_the_voice(new_context: Any) -> None:
    page = with_voices(new_context("en"), on_the_phone("en-US")).new_page()
    first_page(page)
    page.locator(LISTEN).first.click()
    cancels = page.evaluate("() => window.__speech.cancels")
    page.evaluate("() => window.dispatchEvent(new PageTransitionEvent('pagehide'))")
    assert page.evaluate("() => window.__speech.cancels") == cancels + 1
    assert pressed(page) == ["false", "false", "false"]


@pytest.mark.parametrize(
    ("locale", "voices"),
    [
        ("en", [voice("Cloud voice", "en-US", local=False)]),
        ("ar", [voice("Cloud voice", "ar-SA", local=False)]),
        ("ar", [voice("Phone voice", "en-GB"), voice("Phone voice", "fa-IR")]),
        ("ar", [voice("Phone voice", "arn-CL")]),  # Mapudungun: "arn" is not "ar"
        ("en", []),
        ("ar", None),
    ],
    ids=[
        "only-a-cloud-voice",
        "only-a-cloud-voice-ar",
        "voices-of-other-languages-ar",
        "a-language-that-begins-the-same-ar",
        "no-voices",
        "no-speech-at-all-ar",
    ],
)
def test_no_button_without_a_voice_of_the_phone_in_the_language(
    locale: str, voices: list[dict[str, object]] | None, new_context: Any
) -> None:
    trouble: list[str] = []
    page = with_voices(new_context(locale), voices).new_page()
    watch_for_trouble(page, trouble)
    first_page(page)
    page.wait_for_load_state("load")  # the deferred script has run by now
    assert page.locator("main [data-listen]").count() == 3
    assert page.locator("main button[type=button]").count() == 0
    assert not trouble, trouble


@pytest.mark.parametrize("locale", LOCALES)
def test_no_button_without_javascript(locale: str, new_context: Any) -> None:
    page = new_context(locale, javascript=False).new_page()
    first_page(page)
    assert page.locator("main button[type=button]").count() == 0
    assert page.locator("main button").count() == 1  # Continue (for this visit only)


def test_voices_that_arrive_late_still_bring_the_button(new_context: Any) -> None:
    page = with_voices(new_context("ar"), []).new_page()
    first_page(page)
    page.wait_for_load_state("load")
    assert page.locator(LISTEN).count() == 0
    page.evaluate("(voices) => window.__speech.arrive(voices)", on_the_phone("ar-EG"))
    page.locator(LISTEN).first.wait_for()
    assert page.locator(LISTEN).count() == 3
    page.locator(LISTEN).first.click()
    assert spoken(page)[0]["voice"] == "Phone voice"
    # More voices later add nothing twice.
    page.evaluate("(voices) => window.__speech.arrive(voices)", on_the_phone("ar"))
    assert page.locator(LISTEN).count() == 3


def test_a_question_with_a_recording_gets_no_listen_button(new_context: Any) -> None:
    """Where a question has its own recorded player, the phone's voice is not offered."""
    page = with_voices(new_context("en"), []).new_page()
    first_page(page)
    page.wait_for_load_state("load")
    page.evaluate(
        """() => document.querySelector("[data-listen]")
             .appendChild(document.createElement("audio"))"""
    )
    page.evaluate("(voices) => window.__speech.arrive(voices)", on_the_phone("en-GB"))
    page.locator(LISTEN).first.wait_for()
    assert page.locator("main [data-listen]").nth(0).locator("button.listen").count() == 0
    assert page.locator("main [data-listen]").nth(1).locator("button.listen").count() == 1


@pytest.mark.parametrize("locale", LOCALES)
def test_the_page_with_its_listen_buttons_passes_the_checks(
    locale: str, new_context: Any, axe_script: Any
) -> None:
    context = new_context(locale, axe=axe_script, width=320, height=640)
    page = with_voices(context, on_the_phone(REGION[locale])).new_page()
    first_page(page)
    page.locator(LISTEN).first.wait_for()
    page.locator(LISTEN).first.click()  # one of them pressed, as it looks while it reads
    problems = audit(page, "/page/1 with Listen buttons") + touch_problems(page)
    assert not problems, "\n".join(problems)
