"""Recordings per question (docs/forms.md, "Recordings"): a form names a recording of a
question's words and of its "why we ask", per language, and the files come from the folder
beside it. A person reading in that language sees a player that loads nothing until tapped; a
person reading in another language sees none. A recording is served like a static file, by its
hash. A form whose recordings are missing, not audio, or too big for a phone is refused."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from flask import Flask
from support.app import invoke
from support.journey import Phone
from support.recordings import FILES, FORM_ID, spoken, write_form
from support.referrals import arrive, begin_referred, make_referral
from support.staff import StaffBrowser
from support.team import Team

from intake import recordings
from intake.form_definition import FormProblems, read_form_text

PLAYER = re.compile(r"<audio ([^>]*)></audio>")


def _published(app: Flask, folder: Path) -> None:
    result = invoke(app, "forms", "publish", str(write_form(folder)))
    assert result.exit_code == 0, result.output
    assert "4 recordings published with it." in result.output


def _first_page(app: Flask, locale: str) -> str:
    made = make_referral(app, "partner", locale=locale, form_id=FORM_ID)
    phone = Phone(app)
    phone.get(f"/?lang={locale}")
    arrive(phone, made.link_token)
    begin_referred(phone)
    return phone.get("/page/1").get_data(as_text=True)


def _players(page: str) -> list[dict[str, str]]:
    return [dict(re.findall(r'([\w-]+)(?:="([^"]*)")?', attrs)) for attrs in PLAYER.findall(page)]


def test_each_question_is_heard_in_the_readers_language_and_nothing_loads_before_a_tap(
    app: Flask, team: Team, tmp_path: Path
) -> None:
    _published(app, tmp_path)
    arabic = _players(_first_page(app, "ar"))
    assert [p["aria-label"] for p in arabic] == [
        "استمع إلى السؤال",
        "استمع إلى سبب سؤالنا",
        "استمع إلى السؤال",
    ], "the question, why we ask, the second question: named in Arabic"
    for player in arabic:
        assert "controls" in player
        assert player["preload"] == "none", "nothing is downloaded until it is tapped"
    english = _players(_first_page(app, "en"))
    assert [p["aria-label"] for p in english] == ["Hear the question"]
    assert _players(_first_page(app, "fr")) == [], "no recording in French: no player"


def test_a_recording_is_served_like_a_static_file(app: Flask, team: Team, tmp_path: Path) -> None:
    _published(app, tmp_path)
    (player, *_rest) = _players(_first_page(app, "en"))
    browser = Phone(app).client
    heard = browser.get(player["src"])
    assert heard.status_code == 200
    assert heard.mimetype == "audio/wav"
    assert heard.get_data() == spoken(FILES["name-en.wav"])
    assert player["src"].endswith(hashlib.sha256(heard.get_data()).hexdigest() + ".wav")
    cache = heard.headers["Cache-Control"]
    assert "no-store" not in cache
    assert "max-age=86400" in cache
    assert "Set-Cookie" not in heard.headers
    assert "media-src 'self'" in heard.headers["Content-Security-Policy"]
    part = browser.get(player["src"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206, "a player can ask for part of it"
    assert part.get_data() == heard.get_data()[:100]
    assert browser.get(player["src"].replace(".wav", ".mp3")).status_code == 404
    assert browser.get("/recordings/" + "0" * 64 + ".wav").status_code == 404


def test_an_admin_sees_which_questions_can_be_heard_in_which_language(
    app: Flask, team: Team, auth: StaffBrowser, tmp_path: Path
) -> None:
    _published(app, tmp_path)
    admin = auth.sign_in("admin")
    forms = admin.get("/forms").get_data(as_text=True)
    link = f"/forms/{FORM_ID}/1/recordings"
    assert f'href="{link}"' in forms
    page = admin.get(link).get_data(as_text=True)
    rows = {
        key: re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        for key, row in re.findall(r'<tr id="q-([\w.]+)">(.*?)</tr>', page, re.S)
    }
    words = {
        key: [re.sub(r"<[^>]+>|\s+", " ", cell).strip() for cell in cells]
        for key, cells in rows.items()
    }
    assert words["name.name"] == [
        "Question: recorded. Why we ask: none.",
        "Question: recorded. Why we ask: recorded.",
        "Question: none. Why we ask: none.",
    ], "English, Arabic, French"
    assert words["name.mood"][1] == "Question: recorded. Why we ask: none."
    assert auth.sign_in("coach").get(link).status_code == 404, "admins only"


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        ({}, "the recording 'mood-ar.wav' is named in the form but was not sent with it"),
        ({"mood-ar.wav": b"<html>not a recording</html>"}, "'mood-ar.wav' is not audio/wav audio"),
        ({"mood-ar.wav": spoken(70)}, "'mood-ar.wav' is 1120 KB; make it smaller than 1000 KB"),
    ],
)
def test_a_form_whose_recordings_cannot_be_heard_is_not_published(
    app: Flask, team: Team, tmp_path: Path, files: dict[str, bytes], problem: str
) -> None:
    others = {n: spoken(s) for n, s in FILES.items() if n != "mood-ar.wav"}
    definition = write_form(tmp_path, {**others, **files})
    checked = invoke(app, "forms", "check", str(definition))
    assert checked.exit_code == 1
    assert problem in checked.output
    published = invoke(app, "forms", "publish", str(definition))
    assert published.exit_code == 1
    assert problem in published.output
    assert _first_page(app, "ar").count("<audio") == 0, "Groundwork's own form is still live"


@pytest.mark.parametrize(
    ("audio", "problem"),
    [
        ('label = { de = "x.wav" }', "audio, label: 'de' is not one of the form's languages"),
        ('label = { en = "../x.wav" }', "audio, label, en: '../x.wav' is not a file name"),
        ('label = { en = "x.exe" }', "audio, label, en: 'x.exe' must end in one of .ogg"),
        ('words = { en = "x.wav" }', "audio: 'words' is not part of a audio"),
    ],
)
def test_a_recording_named_wrongly_is_refused_with_where(audio: str, problem: str) -> None:
    text = (
        'format = 1\nid = "t"\nversion = 1\nlanguages = ["en"]\n[[pages]]\nkey = "p"\n'
        'heading = { en = "P" }\n[[pages.questions]]\nkey = "q"\nkind = "short_text"\n'
        f'label = {{ en = "Q" }}\nwhy = {{ en = "W" }}\n[pages.questions.audio]\n{audio}\n'
    )
    with pytest.raises(FormProblems) as refused:
        read_form_text(text, "t.toml")
    assert any(problem in found for found in refused.value.problems), refused.value.problems


def test_every_audio_kind_a_phone_plays_is_told_apart_from_other_files() -> None:
    assert recordings.is_audio("a.wav", spoken(0.1))
    assert recordings.is_audio("a.ogg", b"OggS\x00\x02" + b"\x00" * 20)
    assert recordings.is_audio("a.mp3", b"ID3\x04\x00" + b"\x00" * 20)
    assert recordings.is_audio("a.m4a", b"\x00\x00\x00\x20ftypM4A " + b"\x00" * 20)
    assert recordings.is_audio("a.webm", b"\x1a\x45\xdf\xa3" + b"\x00" * 20)
    assert not recordings.is_audio("a.ogg", spoken(0.1))
    assert not recordings.is_audio("a.mp3", b"<script>alert(1)</script>")
