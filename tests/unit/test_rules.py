"""The small rules other modules lean on, each tested on its own (no app, no database): what a
partner may see of a referral, how a yes or a no is written in the consent ledger, and which
6-digit codes count as right."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from support.referrals import NOW, unsaved_referral

from intake import consent, staff
from intake.models import Client, ClientStatus, ConsentEvent
from intake.referrals import Status, status_for_partner


def client(status: ClientStatus, shared: bool = True) -> Client:
    return Client(status=status.value, status_shared_at=NOW if shared else None)


# --- what a partner may see ---------------------------------------------------------------


def test_a_card_nobody_used_is_invited_until_it_expires_or_is_withdrawn() -> None:
    assert status_for_partner(unsaved_referral(), None, NOW) == Status.INVITED
    assert status_for_partner(unsaved_referral(expires_at=NOW), None, NOW) == Status.EXPIRED
    withdrawn = unsaved_referral(withdrawn_at=NOW, expires_at=NOW - timedelta(days=1))
    assert status_for_partner(withdrawn, None, NOW) == Status.WITHDRAWN


def test_a_used_card_without_a_record_to_show_says_only_not_shared() -> None:
    used = unsaved_referral(used_at=NOW - timedelta(days=1), expires_at=NOW - timedelta(days=1))
    assert status_for_partner(used, None, NOW) == Status.NOT_SHARED


@pytest.mark.parametrize(
    ("status", "seen"),
    [
        (ClientStatus.DRAFT, Status.STARTED),
        (ClientStatus.SUBMITTED, Status.SENT),
        (ClientStatus.ACTIVE, Status.FIRST_SESSION_AGREED),
        (ClientStatus.CLOSED, Status.CLOSED),
        (ClientStatus.ERASED, Status.NOT_SHARED),
    ],
)
def test_the_partner_sees_how_it_goes_only_while_the_person_agrees(
    status: ClientStatus, seen: Status
) -> None:
    used = unsaved_referral(used_at=NOW)
    assert status_for_partner(used, client(status), NOW) == seen
    assert status_for_partner(used, client(status, shared=False), NOW) == Status.NOT_SHARED


# --- a yes or a no in the ledger ----------------------------------------------------------


def event(decision: consent.Decision) -> ConsentEvent:
    return ConsentEvent(decision=decision.value)


def test_a_no_after_a_yes_withdraws_it_and_a_no_before_any_yes_declines() -> None:
    assert consent.decision_for(True, None) == consent.Decision.GRANTED
    assert consent.decision_for(False, None) == consent.Decision.DECLINED
    granted = event(consent.Decision.GRANTED)
    assert consent.decision_for(False, granted) == consent.Decision.WITHDRAWN
    assert consent.decision_for(True, granted) == consent.Decision.GRANTED
    declined = event(consent.Decision.DECLINED)
    assert consent.decision_for(False, declined) == consent.Decision.DECLINED
    withdrawn = event(consent.Decision.WITHDRAWN)
    assert consent.decision_for(True, withdrawn) == consent.Decision.GRANTED


# --- 6-digit codes ------------------------------------------------------------------------


def test_a_code_is_right_for_its_own_step_and_one_either_side_only() -> None:
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    step = totp.timecode(NOW)
    for offset in (-1, 0, 1):
        code = totp.generate_otp(step + offset)
        assert staff.matching_totp_step(secret, code, NOW) == step + offset
    for offset in (-3, -2, 2, 3):
        code = totp.generate_otp(step + offset)
        if code not in {totp.generate_otp(step + near) for near in (-1, 0, 1)}:
            assert staff.matching_totp_step(secret, code, NOW) is None


def test_a_code_typed_with_spaces_or_other_digits_still_matches_and_junk_never_does() -> None:
    secret = pyotp.random_base32()
    code = pyotp.TOTP(secret).at(NOW)
    step = pyotp.TOTP(secret).timecode(NOW)
    spaced = f"{code[:3]} {code[3:]}"
    arabic_indic = code.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert staff.matching_totp_step(secret, spaced, NOW) == step
    assert staff.matching_totp_step(secret, arabic_indic, NOW) == step
    for junk in ("", "12345", "1234567", "abcdef", code + "0"):
        assert staff.matching_totp_step(secret, junk, NOW) is None
