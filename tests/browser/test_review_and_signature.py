"""An "are we on track?" review and both signatures, walked in Chromium with JavaScript off,
in English and in Arabic (docs/agreements.md).

A person whose coach has written their agreement and plan, and met them four times, comes back
with their code: their space invites them to a review; they send one; they sign the
relationship agreement by typing the name they chose, and the plan with a tick; a press of
"Sign" with neither is refused with a message and nothing is signed. Their coach signs both.
Every page the walk reaches passes the accessibility checks (axe-core and the rest of
`checks.py`) at 320 CSS px, on the same page of the same visit; the ledger verifies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from support.app import invoke
from support.clients import assign_in_database, make_client

from intake.db import db_session
from intake.models import ConsentEvent, Review

from .checks import audit
from .harness import Backstage
from .tours import open_page, path_of, press

SIGNED_NAME = {"en": "Amina", "ar": "أمينة"}


def coached_for_a_while(backstage: Backstage) -> tuple[str, str]:
    """A person with a relationship agreement, a plan and four sessions: (their code, id)."""
    person = make_client(backstage.app)
    assign_in_database(backstage.app, person.id, backstage.team.ids["coach"])
    coach = backstage.auth.sign_in("coach")
    backstage.post(coach, f"/clients/{person.id}/relationship", {})
    backstage.post(coach, f"/clients/{person.id}/plan", {"goals": "Find steady work"})
    for session in range(4):
        backstage.post(coach, f"/clients/{person.id}/sessions", {"agreed": f"Walk {session}"})
    return person.code, person.id


@pytest.mark.parametrize("locale", ["en", "ar"])
def test_a_review_and_both_signatures_without_javascript(
    locale: str, new_context: Any, backstage: Backstage, axe_script: Path
) -> None:
    code, client_id = coached_for_a_while(backstage)
    walking = new_context(locale, javascript=False)
    page = walking.new_page()
    checking = new_context(locale, axe=axe_script)
    checker = checking.new_page()
    problems: list[str] = []
    seen: list[str] = []

    def check(label: str) -> None:
        seen.append(label)
        checking.add_cookies(walking.cookies())
        open_page(checker, path_of(page))
        problems.extend(audit(checker, f"{label} ({locale})"))
        walking.add_cookies(checking.cookies())

    open_page(page, "/come-back")
    page.fill("[name=code]", code)
    press(page, "main form button[type=submit]")
    assert path_of(page) == "/your-space", page.url
    assert page.locator("html").get_attribute("dir") == ("rtl" if locale == "ar" else "ltr")
    assert page.locator("#review-invitation").count() == 1, "invited on their own page"
    check("/your-space (a review is due)")

    press(page, "#review-invitation a")
    assert path_of(page) == "/review", page.url
    check("/review")
    page.fill("[name=working]", "المشي" if locale == "ar" else "The walks")
    page.check("input[name=goals][value=change]")
    page.check("input[name=safe][value=rather_not_say]")
    press(page, "main form button[type=submit]")
    assert path_of(page) == "/review?sent=1", page.url
    assert page.locator("[role=status]").count() == 1
    check("/review (sent)")
    open_page(page, "/your-space")
    assert page.locator("#review-invitation").count() == 0, "the count starts again"

    open_page(page, "/agreement")
    check("/agreement (to sign)")
    # Neither a name nor a tick: a message, and nothing is signed.
    press(page, "form.sign:has(input[value=plan]) button[value=confirmed]")
    assert page.locator("#signed-name-plan-error").count() == 1
    assert page.locator("#signed-name-plan").get_attribute("aria-describedby") == (
        "signed-name-plan-hint signed-name-plan-error"
    )
    page.fill("#signed-name-relationship", SIGNED_NAME[locale])
    press(page, "form.sign:has(input[value=relationship]) button[value=confirmed]")
    assert path_of(page) == "/agreement", page.url
    assert SIGNED_NAME[locale] in page.locator("#relationship").inner_text()
    page.check("#agree-plan")
    press(page, "form.sign:has(input[value=plan]) button[value=confirmed]")
    assert page.locator("form.sign").count() == 0, "both signed"
    check("/agreement (signed by them)")

    coach = backstage.auth.sign_in("coach")
    for kind in ("relationship", "plan"):
        backstage.post(coach, f"/clients/{client_id}/agreements/{kind}/sign", {"version": "1"})
    open_page(page, "/agreement")
    check("/agreement (signed by both)")
    open_page(page, "/my-data")
    check("/my-data (with signatures)")

    with backstage.app.app_context():
        db = db_session()
        signatures = db.scalars(
            select(ConsentEvent.actor).where(
                ConsentEvent.client_id == client_id, ConsentEvent.agreement_id.is_not(None)
            )
        ).all()
        assert sorted(signatures) == ["client", "client", "coach", "coach"]
        assert db.scalar(select(Review.id).where(Review.client_id == client_id)) is not None
    verified = invoke(backstage.app, "consent", "verify")
    assert verified.exit_code == 0, verified.output
    assert not problems, f"{len(problems)} problems on {seen}:\n" + "\n".join(problems)
