"""Recordings per question, heard in Chromium: a form with recordings in English and Arabic.

The player is the browser's own (`<audio controls preload="none">`): it works with JavaScript
off, loads nothing until it is tapped, is named in the page's language, is big enough to tap,
is reached by Tab, and passes the accessibility checks; asked to play, it loads the recording
and knows how long it is.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from support.recordings import DEFINITION, FILES, FORM_ID, spoken
from support.referrals import make_referral

from intake import recordings
from intake.context import form_library
from intake.db import db_session

from .checks import audit
from .harness import Backstage
from .tours import NEXT_LINK, SUBMIT, open_page, path_of, press

# name-en.wav, then in Arabic: the question, why we ask, the second question
HEARD = {"en": ["name-en.wav"], "ar": ["name-ar.wav", "name-why-ar.wav", "mood-ar.wav"]}
NAMES = {
    "en": ["Hear the question"],
    "ar": ["استمع إلى السؤال", "استمع إلى سبب سؤالنا", "استمع إلى السؤال"],
}
FOCUSED_PLAYER = """() =>
  [...document.querySelectorAll("audio.hear")].indexOf(document.activeElement)"""
LOAD_AND_MEASURE = """async (player) => {
  player.load();
  if (player.readyState < 1) {
    await new Promise((done, failed) => {
      player.addEventListener("loadedmetadata", done, {once: true});
      player.addEventListener("error", () => failed(new Error("not loaded")), {once: true});
    });
  }
  return player.duration;
}"""


def _publish_once(backstage: Backstage) -> None:
    with backstage.app.app_context():
        db = db_session()
        if recordings.find(db, hashlib.sha256(spoken(FILES["name-en.wav"])).hexdigest()):
            return
        sent = {name: spoken(seconds) for name, seconds in FILES.items()}
        form_library().publish(db, DEFINITION, f"{FORM_ID}.toml", None, sent)
        db.commit()


def _first_page(page: Any, backstage: Backstage, locale: str) -> None:
    """Referred to the form with recordings: keep the answers, take the code, page 1."""
    made = make_referral(backstage.app, "partner", locale=locale, form_id=FORM_ID)
    open_page(page, f"/r/{made.link_token}")
    press(page, NEXT_LINK)
    press(page, NEXT_LINK)
    assert path_of(page) == "/agree", page.url
    page.check("input[name=store_answers][value=yes]")
    page.check("input[name=share_with_coach][value=yes]")
    page.check("input[name=status_to_referrer][value=yes]")
    press(page, SUBMIT)
    page.check("#saved")
    press(page, SUBMIT)
    assert path_of(page) == "/page/1", page.url


@pytest.mark.parametrize("locale", ["ar", "en"])
def test_each_recording_plays_and_nothing_loads_before_it_is_asked_for(
    new_context: Any, backstage: Backstage, axe_script: Path, locale: str
) -> None:
    _publish_once(backstage)
    page = new_context(locale, axe=axe_script).new_page()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    _first_page(page, backstage, locale)
    players = page.locator("audio.hear")
    assert players.count() == len(HEARD[locale])
    assert not [url for url in asked if "/recordings/" in url], "nothing loads before a tap"
    assert [players.nth(i).get_attribute("aria-label") for i in range(players.count())] == (
        NAMES[locale]
    )
    problems = audit(page, f"/page/1 in {locale}, with recordings")
    assert not problems, "\n".join(problems)
    reached = set()
    for _press in range(60):
        page.keyboard.press("Tab")
        reached.add(page.evaluate(FOCUSED_PLAYER))
    assert reached >= set(range(players.count())), "Tab reaches every player"
    for number, name in enumerate(HEARD[locale]):
        player = players.nth(number)
        box = player.bounding_box()
        assert box is not None
        assert box["height"] >= 44, f"{name}: {box['height']} px tall, under 44"
        duration = player.evaluate(LOAD_AND_MEASURE)
        assert duration == pytest.approx(FILES[name], abs=0.05), name
    assert len([url for url in asked if "/recordings/" in url]) >= len(HEARD[locale])


def test_the_players_are_there_without_javascript(new_context: Any, backstage: Backstage) -> None:
    _publish_once(backstage)
    page = new_context("ar", javascript=False).new_page()
    _first_page(page, backstage, "ar")
    players = page.locator("audio.hear[controls][preload=none]")
    assert players.count() == len(HEARD["ar"])
