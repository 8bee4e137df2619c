"""The rules the attack tests lean on, each tested on its own (no app, no pages): a 6-digit code
works once only; wrong tries are counted and enough of them pause the account; a yes given on
words that have since changed is asked again; and what someone holding a referral card is told.

The two rules that write to the database run on a real SQLite file, built from the models,
with two sessions standing in for two tabs or two servers where it matters.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from support.referrals import NOW, unsaved_referral

from intake import consent, staff
from intake.db import make_engine
from intake.models import Base, ConsentText, Role, StaffUser
from intake.referrals import Unusable, why_closed

# Fixed, so the codes of neighbouring steps are known to differ.
SECRET = "JBSWY3DPEHPK3PXPGEZDGNBVGY3TQOJQ"


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite file with every table of the models, on the app's own engine settings."""
    made = make_engine(f"sqlite:///{tmp_path / 'rules.sqlite'}")
    Base.metadata.create_all(made)
    yield made
    made.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def a_coach(db: Session) -> StaffUser:
    """A coach row: enough of one for counting tries and codes (no keys are opened here)."""
    member = StaffUser(
        username="coach",
        display_name="Coach",
        role=Role.COACH,
        password_hash="not used here",
        personal_key_wrapped=b"not used here",
    )
    db.add(member)
    db.commit()
    return member


def code_at(step_offset: int) -> str:
    """The 6-digit code of the time step `step_offset` steps from NOW's."""
    totp = pyotp.TOTP(SECRET)
    return totp.generate_otp(totp.timecode(NOW) + step_offset)


# --- 6-digit codes are used once ----------------------------------------------------------------


def test_a_code_is_accepted_once_and_the_same_code_again_is_refused(db: Session) -> None:
    coach = a_coach(db)
    assert staff.accept_totp(db, coach, SECRET, code_at(0), NOW)
    db.commit()
    # Someone who saw the code over a shoulder, typing it a moment later, is refused.
    assert not staff.accept_totp(db, coach, SECRET, code_at(0), NOW)
    assert not staff.accept_totp(db, coach, SECRET, code_at(0), NOW + timedelta(seconds=20))


def test_a_code_of_a_step_already_used_or_before_it_is_refused_and_a_later_one_works(
    db: Session,
) -> None:
    assert len({code_at(-1), code_at(0), code_at(1)}) == 3
    coach = a_coach(db)
    assert staff.accept_totp(db, coach, SECRET, code_at(0), NOW)
    db.commit()
    # The code of the step before is still right for its time, but that time is used up.
    assert not staff.accept_totp(db, coach, SECRET, code_at(-1), NOW)
    # The next step's code works (a clock a little ahead), once; then nothing before it does.
    assert staff.accept_totp(db, coach, SECRET, code_at(1), NOW)
    db.commit()
    assert not staff.accept_totp(db, coach, SECRET, code_at(1), NOW)
    assert not staff.accept_totp(db, coach, SECRET, code_at(0), NOW)


def test_a_wrong_code_uses_nothing_up(db: Session) -> None:
    coach = a_coach(db)
    wrong = next(
        f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in {code_at(o) for o in (-1, 0, 1)}
    )
    assert not staff.accept_totp(db, coach, SECRET, wrong, NOW)
    db.commit()
    assert coach.totp_last_step is None
    assert staff.accept_totp(db, coach, SECRET, code_at(0), NOW)


def test_the_same_code_sent_from_two_places_at_once_is_accepted_by_one_only(
    engine: Engine,
) -> None:
    with Session(engine) as setup:
        coach_id = a_coach(setup).id
    with Session(engine) as tab, Session(engine) as other_tab:
        mine, theirs = tab.get(StaffUser, coach_id), other_tab.get(StaffUser, coach_id)
        assert mine is not None
        assert theirs is not None
        # Both loaded the account before either used the code.
        assert mine.totp_last_step is None
        assert theirs.totp_last_step is None
        first = staff.accept_totp(tab, mine, SECRET, code_at(0), NOW)
        tab.commit()
        second = staff.accept_totp(other_tab, theirs, SECRET, code_at(0), NOW)
        other_tab.commit()
    assert (first, second) == (True, False)


# --- wrong tries pause the account --------------------------------------------------------------


def test_each_wrong_try_is_counted_and_enough_of_them_pause_the_account(db: Session) -> None:
    policy = staff.SignInPolicy()
    coach = a_coach(db)
    for count in range(1, policy.failures_before_pause):
        staff.register_failure(db, coach, policy, NOW)
        db.commit()
        assert coach.failed_sign_ins == count
        assert coach.paused_until is None
        assert not staff.is_paused(coach, NOW)
    staff.register_failure(db, coach, policy, NOW)
    db.commit()
    assert coach.paused_until == NOW + policy.pause
    assert staff.is_paused(coach, NOW)
    assert staff.is_paused(coach, NOW + policy.pause - timedelta(seconds=1))
    assert not staff.is_paused(coach, NOW + policy.pause)


def test_after_a_pause_the_count_starts_again(db: Session) -> None:
    policy = staff.SignInPolicy(failures_before_pause=3, pause=timedelta(minutes=5))
    coach = a_coach(db)
    for _ in range(3):
        staff.register_failure(db, coach, policy, NOW)
    db.commit()
    assert coach.paused_until == NOW + timedelta(minutes=5)
    assert coach.failed_sign_ins == 0
    later = NOW + timedelta(minutes=6)
    staff.register_failure(db, coach, policy, later)
    db.commit()
    assert coach.failed_sign_ins == 1
    assert coach.paused_until == NOW + timedelta(minutes=5)  # the pause that has passed
    assert not staff.is_paused(coach, later)
    staff.register_failure(db, coach, policy, later)
    staff.register_failure(db, coach, policy, later)
    db.commit()
    assert coach.paused_until == later + timedelta(minutes=5)


def test_wrong_tries_arriving_at_once_are_each_counted(engine: Engine) -> None:
    """Guessing from two places at once earns no extra guesses: no try is lost."""
    policy = staff.SignInPolicy(failures_before_pause=3)
    with Session(engine) as setup:
        coach_id = a_coach(setup).id
    with Session(engine) as one, Session(engine) as two:
        here, there = one.get(StaffUser, coach_id), two.get(StaffUser, coach_id)
        assert here is not None
        assert there is not None
        staff.register_failure(one, here, policy, NOW)
        one.commit()
        staff.register_failure(two, there, policy, NOW)  # loaded before the first was counted
        two.commit()
        assert there.failed_sign_ins == 2
        staff.register_failure(one, here, policy, NOW)
        one.commit()
        assert staff.is_paused(here, NOW)


# --- consent asked again when its words change --------------------------------------------------


def publish(db: Session, purpose: str, version: int, locale: str = "en") -> ConsentText:
    body = f"{purpose}, version {version}, in {locale}\n"
    text = ConsentText(
        purpose=purpose, version=version, locale=locale, body=body, sha256=consent.text_hash(body)
    )
    db.add(text)
    db.flush()
    return text


def test_a_yes_given_on_words_that_changed_is_asked_again_with_the_new_words(
    db: Session,
) -> None:
    old = publish(db, consent.Purpose.CONTACT, 1)
    yes = consent.record(db, "a" * 32, consent.Purpose.CONTACT, consent.Decision.GRANTED, old)
    consent.record(db, "b" * 32, consent.Purpose.CONTACT, consent.Decision.GRANTED, old)
    assert consent.needs_asking_again(db, "a" * 32, "en") == []
    new = publish(db, consent.Purpose.CONTACT, 2)
    # Asked about their own yes only (not the other person's), with the old and new words.
    assert consent.needs_asking_again(db, "a" * 32, "en") == [(yes, old, new)]


def test_a_no_stays_a_no_when_the_words_change(db: Session) -> None:
    old = publish(db, consent.Purpose.CONTACT, 1)
    stats = publish(db, consent.Purpose.ANONYMOUS_STATISTICS, 1)
    client = "c" * 32
    consent.record(db, client, consent.Purpose.CONTACT, consent.Decision.GRANTED, old)
    consent.record(db, client, consent.Purpose.CONTACT, consent.Decision.WITHDRAWN, old)
    consent.record(
        db, client, consent.Purpose.ANONYMOUS_STATISTICS, consent.Decision.DECLINED, stats
    )
    publish(db, consent.Purpose.CONTACT, 2)
    publish(db, consent.Purpose.ANONYMOUS_STATISTICS, 2)
    assert consent.needs_asking_again(db, client, "en") == []


def test_a_yes_on_the_newest_words_is_not_asked_again(db: Session) -> None:
    publish(db, consent.Purpose.CONTACT, 1)
    newest = publish(db, consent.Purpose.CONTACT, 2)
    client = "d" * 32
    consent.record(db, client, consent.Purpose.CONTACT, consent.Decision.GRANTED, newest)
    assert consent.needs_asking_again(db, client, "en") == []


def test_someone_reading_a_language_without_the_text_is_asked_again_in_english(
    db: Session,
) -> None:
    old = publish(db, consent.Purpose.CONTACT, 1)
    client = "e" * 32
    yes = consent.record(db, client, consent.Purpose.CONTACT, consent.Decision.GRANTED, old)
    new = publish(db, consent.Purpose.CONTACT, 2)
    assert consent.needs_asking_again(db, client, "xx") == [(yes, old, new)]


# --- what someone holding a referral card is told -----------------------------------------------


def test_a_link_or_code_that_matches_nothing_is_unknown() -> None:
    assert why_closed(None, NOW) == Unusable.UNKNOWN


def test_a_withdrawn_card_says_withdrawn_even_when_it_is_also_too_old() -> None:
    assert why_closed(unsaved_referral(withdrawn_at=NOW), NOW) == Unusable.WITHDRAWN
    too_old = unsaved_referral(
        withdrawn_at=NOW - timedelta(days=2), expires_at=NOW - timedelta(days=1)
    )
    assert why_closed(too_old, NOW) == Unusable.WITHDRAWN


def test_a_card_is_too_old_from_the_moment_it_expires() -> None:
    assert why_closed(unsaved_referral(expires_at=NOW), NOW) == Unusable.EXPIRED
    assert why_closed(unsaved_referral(expires_at=NOW - timedelta(days=1)), NOW) == Unusable.EXPIRED
    assert why_closed(unsaved_referral(expires_at=NOW + timedelta(seconds=1)), NOW) is None


def test_an_open_card_is_open() -> None:
    assert why_closed(unsaved_referral(), NOW) is None


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"withdrawn_at": NOW},
        {"expires_at": NOW - timedelta(days=1)},
    ],
    ids=["open", "withdrawn", "expired"],
)
def test_whoever_finds_a_card_cannot_tell_whether_anyone_started_from_it(
    values: dict[str, object],
) -> None:
    unused = unsaved_referral(**values)
    used = unsaved_referral(**values, used_at=NOW - timedelta(hours=1))
    assert why_closed(used, NOW) == why_closed(unused, NOW)
