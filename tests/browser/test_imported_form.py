"""A form imported from an XLSForm, walked in Chromium in Arabic with JavaScript off: a
caseworker's referral names it, the person follows the link, keeps their answers, fills in
every page (the interpreter question on page 1 decides whether page 2 asks which language),
checks and sends; every page passes the accessibility checks (axe-core and the rest of
`checks.py`) at 320 CSS px, run on the same page of the same visit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.app import invoke
from support.referrals import make_referral
from support.xlsforms import kobo_form

from intake.form_definition import read_form

from .checks import audit
from .harness import Backstage
from .tours import CONTINUE, NEXT_LINK, SUBMIT, open_page, path_of, press, read_return_code

# "Which language?" in Arabic: asked on page 2 only after a yes to an interpreter.
WHICH_LANGUAGE = "أي لغة؟"


def refer_to_imported_form(backstage: Backstage, folder: Path) -> str:
    """Publish the imported form beside Groundwork's own, and make a referral that names it;
    returns the referral link's token."""
    app = backstage.app
    definition = folder / "welcome.toml"
    if not definition.exists():
        imported = invoke(app, "forms", "import", str(kobo_form(folder)), "--out", str(definition))
        assert imported.exit_code == 0, imported.output
        published = invoke(app, "forms", "publish", str(definition))
        assert published.exit_code == 0 or "already published" in published.output
    made = make_referral(app, "partner", locale="ar", form_id=read_form(definition).id)
    return made.link_token


def test_an_imported_form_in_arabic_without_javascript_passes_the_checks(
    new_context: Any, backstage: Backstage, axe_script: Path, tmp_path_factory: Any
) -> None:
    token = refer_to_imported_form(backstage, tmp_path_factory.mktemp("xlsform"))
    walking = new_context("ar", javascript=False)
    page = walking.new_page()
    # axe-core is a script: each page the walk reaches is checked again in a browser with
    # JavaScript on, holding the same cookies (the same visit), then the walk goes on.
    checking = new_context("ar", axe=axe_script)
    checker = checking.new_page()
    problems: list[str] = []
    seen: list[str] = []

    def check(label: str) -> None:
        seen.append(label)
        checking.add_cookies(walking.cookies())
        open_page(checker, page.url)
        problems.extend(audit(checker, label))
        walking.add_cookies(checking.cookies())

    open_page(page, f"/r/{token}")
    assert path_of(page) == "/referred", page.url
    check("/referred")
    press(page, NEXT_LINK)
    assert path_of(page) == "/welcome", page.url
    assert "3" in page.locator("main").inner_text(), "the welcome counts the form's 3 pages"
    check("/welcome")
    press(page, NEXT_LINK)
    assert path_of(page) == "/agree", page.url
    page.check("input[name=store_answers][value=yes]")
    page.check("input[name=share_with_coach][value=yes]")
    page.check("input[name=status_to_referrer][value=yes]")
    press(page, SUBMIT)
    assert path_of(page) == "/your-code", page.url
    code = read_return_code(page)
    page.check("#saved")
    press(page, SUBMIT)

    assert path_of(page) == "/page/1", page.url
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert "هل تريد مترجماً؟" in page.content()
    check("/page/1")
    page.fill("[name=name]", "نور")
    page.check("input[name=interpreter][value=no]")
    press(page, CONTINUE)
    assert path_of(page) == "/page/2", page.url
    assert WHICH_LANGUAGE not in page.content(), "no interpreter: not asked which language"
    check("/page/2 (no interpreter)")
    open_page(page, "/page/1")
    page.check("input[name=interpreter][value=yes]")
    press(page, CONTINUE)
    assert WHICH_LANGUAGE in page.content()
    check("/page/2 (with an interpreter)")
    page.fill("[name=interpreter_language]", "التغرينية")
    press(page, CONTINUE)
    assert path_of(page) == "/page/3", page.url
    check("/page/3")
    page.check("input[name=country][value=fr]")
    press(page, CONTINUE)
    assert path_of(page) == "/check", page.url
    check("/check")
    press(page, SUBMIT)
    assert path_of(page) == "/sent", page.url
    check("/sent")

    answers = backstage.answers_of(code)
    assert answers == {
        "about": {"name": "نور", "interpreter": "yes"},
        "talking": {"interpreter_language": "التغرينية"},
        "place": {"country": "fr"},
    }
    assert not problems, f"{len(problems)} problems on {seen}:\n" + "\n".join(problems)
