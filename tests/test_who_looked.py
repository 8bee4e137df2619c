"""The client's "who looked" page reads as a short list, not a wall of repeated lines.

Looks one after the other by the same person, with the same action, on the same day, are one
line: "Rowan read your answers 3 times between 10:02 and 10:40, 7 March 2025". Another person,
another action or another day starts a new line. The newest line is first. The words, the
dates and the number of times are in the language the person chose.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from babel.dates import format_date
from flask import Flask
from support.clients import sent_client
from support.staff import StaffBrowser, assign, rename
from support.team import Team
from werkzeug.test import TestResponse

from intake import audit
from intake.audit import Entry, LookGroup, group_looks

COACH_NAME = "Rowan Ferreira-Quill"
ADMIN_NAME = "Ada Lakeward"
ARABIC_LETTER = re.compile(r"[\u0621-\u064a]")


def at(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, second, tzinfo=UTC)


def look(when: datetime, name: str, action: str = "viewed", staff_id: int | None = 1) -> Entry:
    return Entry(when, name, action, "client-1", staff_id)


# --- group_looks, on entries made by hand ---------------------------------------------------


def test_looks_in_a_row_become_one_group_and_the_newest_group_comes_first() -> None:
    sam, mo = 1, 2
    entries = [  # as the log gives them: newest first
        look(at(8, 9, 0), "Sam Coach", staff_id=sam),  # another day
        look(at(7, 16, 0), "Sam Coach", "printed", staff_id=sam),  # another action
        look(at(7, 15, 0), "Sam Coach", staff_id=sam),
        look(at(7, 14, 0), "Mo Admin", staff_id=mo),  # another person in between
        *[look(at(7, 10, minute), "Sam Coach", staff_id=sam) for minute in (40, 30, 20, 10, 2)],
    ]

    assert group_looks(entries) == [
        LookGroup("Sam Coach", "viewed", 1, at(8, 9, 0), at(8, 9, 0)),
        LookGroup("Sam Coach", "printed", 1, at(7, 16, 0), at(7, 16, 0)),
        LookGroup("Sam Coach", "viewed", 1, at(7, 15, 0), at(7, 15, 0)),
        LookGroup("Mo Admin", "viewed", 1, at(7, 14, 0), at(7, 14, 0)),
        LookGroup("Sam Coach", "viewed", 5, at(7, 10, 2), at(7, 10, 40)),
    ]
    # The same entries given oldest first make the same groups.
    assert group_looks(list(reversed(entries))) == group_looks(entries)
    assert group_looks([]) == []


def test_two_looks_either_side_of_midnight_are_two_lines() -> None:
    late, early = at(7, 23, 59), at(8, 0, 1)
    groups = group_looks([look(early, "Sam Coach"), look(late, "Sam Coach")])
    assert [(g.count, g.first_at, g.last_at) for g in groups] == [
        (1, early, early),
        (1, late, late),
    ]


def test_people_are_told_apart_by_who_they_are_not_by_their_name() -> None:
    # Two people on the team with the same name are two people.
    twins = [look(at(7, 10, 5), "Alex Kim", staff_id=1), look(at(7, 10, 1), "Alex Kim", staff_id=2)]
    assert [g.count for g in group_looks(twins)] == [1, 1]
    # Entries that do not say who (no id) are joined by the name they show.
    unnamed = [look(at(7, 10, 5), "Alex Kim", staff_id=None)] * 2
    assert [g.count for g in group_looks(unnamed)] == [2]


# --- the page the client reads ------------------------------------------------------------


def looked_lines(response: TestResponse) -> list[str]:
    """The lines of the "who looked" list, as a person reads them."""
    page = response.get_data(as_text=True)
    block = re.search(r'<ul class="looked">(.*?)</ul>', page, re.DOTALL)
    if block is None:
        return []
    items = re.findall(r"<li>(.*?)</li>", block.group(1), re.DOTALL)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", "", item)).split()) for item in items]


def names_in_bdi(response: TestResponse) -> list[str]:
    page = response.get_data(as_text=True)
    block = re.search(r'<ul class="looked">(.*?)</ul>', page, re.DOTALL)
    assert block is not None
    return [html.unescape(name) for name in re.findall(r"<bdi>([^<]*)</bdi>", block.group(1))]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set the times the next entries of the access log are written at, one per entry."""
    times: list[datetime] = []

    def next_time() -> datetime:
        assert times, "an access-log entry was written that the test did not expect"
        return times.pop(0)

    monkeypatch.setattr(audit, "utcnow", next_time)
    yield lambda *when: times.extend(when)
    assert times == [], "an expected access-log entry was not written"


def test_a_coach_who_opens_the_answers_three_times_is_one_line(
    app: Flask, team: Team, clock: Callable[..., None], auth: StaffBrowser
) -> None:
    rename(app, "coach", COACH_NAME)
    rename(app, "admin", ADMIN_NAME)
    person = sent_client(app, "Hana Quietbrook")
    admin = auth.sign_in("admin")
    coach = auth.sign_in("coach")

    clock(at(7, 9, 30), at(7, 10, 2), at(7, 10, 15), at(7, 10, 40))
    assign(admin, person.id, team.ids["coach"])
    for _ in range(3):
        assert coach.get(f"/clients/{person.id}").status_code == 200

    page = person.phone.get("/who-looked")
    assert looked_lines(page) == [
        f"{COACH_NAME} read your answers 3 times between 10:02 and 10:40, 7 March 2025",
        f"{ADMIN_NAME} chose your coach at 09:30, 7 March 2025",
    ]
    assert names_in_bdi(page) == [COACH_NAME, ADMIN_NAME]

    # Two more looks in the same minute the next day are a new line, at the top.
    clock(at(8, 11, 5, 1), at(8, 11, 5, 40))
    for _ in range(2):
        assert coach.get(f"/clients/{person.id}").status_code == 200
    assert looked_lines(person.phone.get("/who-looked")) == [
        f"{COACH_NAME} read your answers 2 times at 11:05, 8 March 2025",
        f"{COACH_NAME} read your answers 3 times between 10:02 and 10:40, 7 March 2025",
        f"{ADMIN_NAME} chose your coach at 09:30, 7 March 2025",
    ]


def test_the_lines_are_in_arabic_for_a_person_who_chose_arabic(
    app: Flask, team: Team, clock: Callable[..., None], auth: StaffBrowser
) -> None:
    rename(app, "coach", COACH_NAME)
    rename(app, "admin", ADMIN_NAME)
    person = sent_client(app, "Hana Quietbrook")
    admin = auth.sign_in("admin")
    coach = auth.sign_in("coach")
    clock(at(7, 9, 30), at(7, 10, 2), at(7, 10, 15), at(7, 10, 40))
    assign(admin, person.id, team.ids["coach"])
    for _ in range(3):
        assert coach.get(f"/clients/{person.id}").status_code == 200

    page = person.phone.get("/who-looked?lang=ar")
    assert '<html lang="ar" dir="rtl">' in page.get_data(as_text=True)
    lines = looked_lines(page)
    assert len(lines) == 2, lines
    assert names_in_bdi(page) == [COACH_NAME, ADMIN_NAME]
    day = format_date(at(7, 10, 40), "d MMMM yyyy", locale="ar")
    assert ARABIC_LETTER.search(day), "the month is named in Arabic"
    read, chose = lines
    for english in ("read your answers", "chose your coach", "times", "between", " at ", "March"):
        assert english not in read
        assert english not in chose
    for shown in (COACH_NAME, "10:02", "10:40", day):
        assert shown in read
    assert re.search(r"(?<![\d:])3(?![\d:])", read), "the number of times is shown"
    for shown in (ADMIN_NAME, "09:30", day):
        assert shown in chose
    # What is left once the name, the times and the date are taken out is Arabic words.
    for line, shown in ((read, (COACH_NAME, "10:02", "10:40", day)), (chose, (ADMIN_NAME, day))):
        rest = line
        for value in shown:
            rest = rest.replace(value, "")
        assert ARABIC_LETTER.search(rest), f"the action is not in Arabic: {line!r}"


def test_a_name_is_shown_as_written_never_as_markup(
    app: Flask, team: Team, clock: Callable[..., None], auth: StaffBrowser
) -> None:
    rename(app, "coach", 'Rowan <i onclick="x()">Q</i>')
    person = sent_client(app, "Hana Quietbrook")
    admin = auth.sign_in("admin")
    coach = auth.sign_in("coach")
    clock(at(7, 9, 30), at(7, 10, 2), at(7, 10, 40))
    assign(admin, person.id, team.ids["coach"])
    for _ in range(2):
        assert coach.get(f"/clients/{person.id}").status_code == 200

    page = person.phone.get("/who-looked")
    assert "<i onclick" not in page.get_data(as_text=True)
    assert names_in_bdi(page)[0] == 'Rowan <i onclick="x()">Q</i>'
    assert looked_lines(page)[0] == (
        'Rowan <i onclick="x()">Q</i> read your answers 2 times between 10:02 and 10:40, '
        "7 March 2025"
    )
