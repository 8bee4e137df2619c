"""The client journey: start → welcome → return code → consent → the pages → check → send.

Views stay thin: they read a form, call `vault`/`consent`, and render. Nothing is written to
the database until the person agrees that we may keep their answers.
"""

from __future__ import annotations

import json

from flask import Response, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import TooManyRequests

from intake import audit, consent, crypto, i18n, vault
from intake.client import bp, receipts
from intake.client.forms import (
    CONSENT_CHOICE,
    NO,
    YES,
    ConsentForm,
    ReturnCodeForm,
    SavedCodeForm,
    SendForm,
    answers_from,
    form_class,
)
from intake.client.referral import mark_pending_used, pending_referral, too_many_codes
from intake.client.review import review_sections
from intake.client.sections import FIRST_AGREEMENT_INDEX, SECTIONS, section_at
from intake.client.texts import text_for
from intake.client.visit import (
    NEW_CODE,
    begin_visit,
    client_required,
    current_visit,
    return_code_of_visit,
)
from intake.context import key_settings
from intake.db import db_session
from intake.extensions import limiter
from intake.models import Client, ClientStatus, ConsentEvent, ConsentText, utcnow
from intake.security import address_key, clear_site_data, global_key
from intake.sessions import current_session
from intake.staff import organisation

LAST_PAGE = len(SECTIONS)


@bp.before_app_request
def _remember_language_choice() -> None:
    """`?lang=xx` on any page is an explicit choice of language, kept in the session."""
    code = request.args.get("lang")
    if code:
        i18n.choose_locale(code)


def _code_for_display(digits: str) -> str:
    return crypto.format_return_code(digits)


# --- before anything is kept --------------------------------------------------------------


@bp.route("/")
def start() -> str:
    return render_template("client/start.html")


@bp.route("/welcome")
def welcome() -> str:
    # Starting (again) means a new code: whoever used this browser before cannot know it.
    current_session().drop_secret(NEW_CODE)
    return render_template("client/welcome.html", pages=LAST_PAGE)


@bp.route("/your-code", methods=["GET", "POST"])
def your_code() -> Response | str:
    if current_visit() is not None:
        return redirect(url_for("client.check"))
    session = current_session()
    raw = session.get_secret(NEW_CODE)
    fresh = raw is None
    if raw is None:
        raw = crypto.normalise_return_code(crypto.generate_return_code()).encode()  # type: ignore[union-attr]
        session.put_secret(NEW_CODE, raw)
        # A new session id with the new code: a cookie planted earlier opens neither.
        session.regenerate()
    form = SavedCodeForm()
    reminder = False
    if form.validate_on_submit() and not fresh:
        if form.saved.data or request.form.get("action") == "without":
            return redirect(url_for("client.agree"))
        reminder = True
    return render_template(
        "client/your_code.html",
        form=form,
        code=_code_for_display(raw.decode()),
        reminder=reminder,
        error=reminder,
    )


def _consent_texts(referred: bool) -> dict[str, ConsentText]:
    purposes = [consent.Purpose.STORE_ANSWERS, consent.Purpose.SHARE_WITH_COACH]
    if referred:
        purposes.append(consent.Purpose.STATUS_TO_REFERRER)
    return {purpose: text_for(purpose) for purpose in purposes}


@bp.route("/agree", methods=["GET", "POST"])
def agree() -> Response | str:
    """Ask to keep the answers and to share them with a coach. A 'no' keeps nothing."""
    if current_visit() is not None:
        return redirect(url_for("client.check"))
    raw_code = current_session().get_secret(NEW_CODE)
    if raw_code is None:
        return redirect(url_for("client.your_code"))
    pending = pending_referral()
    texts = _consent_texts(referred=pending is not None)
    form = ConsentForm()
    if form.validate_on_submit():
        if form.store_answers.data != YES:
            return redirect(url_for("client.nothing_kept"))
        db = db_session()
        org = organisation(db)
        if org is None:
            return render_template("client/not_ready.html"), 503  # type: ignore[return-value]
        code_digits = raw_code.decode()
        client, data_key = vault.create_client(
            db, org, code_digits, key_settings(), locale=i18n.select_locale()
        )
        store_text = texts[consent.Purpose.STORE_ANSWERS]
        decisions = [
            (
                consent.decide(
                    db, client, consent.Purpose.STORE_ANSWERS, consent.Decision.GRANTED, store_text
                ),
                store_text,
            )
        ]
        if form.share_with_coach.data in (YES, NO):
            share_text = texts[consent.Purpose.SHARE_WITH_COACH]
            share = (
                consent.Decision.GRANTED
                if form.share_with_coach.data == YES
                else consent.Decision.DECLINED
            )
            decisions.append(
                (
                    consent.decide(db, client, consent.Purpose.SHARE_WITH_COACH, share, share_text),
                    share_text,
                )
            )
        if pending is not None:
            mark_pending_used(pending[0], client)
            if form.status_to_referrer.data in (YES, NO):
                referrer_text = texts[consent.Purpose.STATUS_TO_REFERRER]
                told = (
                    consent.Decision.GRANTED
                    if form.status_to_referrer.data == YES
                    else consent.Decision.DECLINED
                )
                decisions.append(
                    (
                        consent.decide(
                            db,
                            client,
                            consent.Purpose.STATUS_TO_REFERRER,
                            told,
                            referrer_text,
                        ),
                        referrer_text,
                    )
                )
        db.commit()
        begin_visit(client, data_key, code_digits)
        return receipts.give(decisions, then=url_for("client.page", number=1))
    return render_template(
        "client/agree.html",
        form=form,
        texts=texts,
        referrer=pending[1] if pending else None,
    )


@bp.route("/nothing-kept")
def nothing_kept() -> str:
    return render_template("client/nothing_kept.html")


# --- the pages ----------------------------------------------------------------------------


def _next_after(number: int) -> str:
    if request.args.get("from") == "check" or number >= LAST_PAGE:
        return url_for("client.check")
    if number == FIRST_AGREEMENT_INDEX:
        return url_for("client.before_agreement")
    return url_for("client.page", number=number + 1)


def _previous_of(number: int) -> str:
    if number == 1:
        return url_for("client.check")
    if number == FIRST_AGREEMENT_INDEX + 1:
        return url_for("client.before_agreement")
    return url_for("client.page", number=number - 1)


def _render_page(number: int, form: object, notice: str | None = None, status: int = 200) -> object:
    section = section_at(number)
    consent_text = (
        text_for(section.consent_purpose) if section and section.consent_purpose else None
    )
    return (
        render_template(
            "client/page.html",
            section=section,
            form=form,
            number=number,
            pages=LAST_PAGE,
            back=_previous_of(number),
            from_check=request.args.get("from") == "check",
            notice=notice,
            error=notice,
            consent_text=consent_text,
        ),
        status,
    )


@bp.route("/page/<int:number>", methods=["GET", "POST"])
@client_required
def page(number: int) -> object:
    section = section_at(number)
    if section is None:
        return redirect(url_for("client.check"))
    visit = g.visit
    db = db_session()
    if request.method == "GET":
        stored = vault.read_section(db, visit.client, visit.data_key, section.key)
        data = dict(stored.fields) if stored and stored.fields else {}
        if section.consent_purpose:
            event = consent.current_state(db, visit.client.id).get(section.consent_purpose)
            if event is not None:
                data[CONSENT_CHOICE] = YES if event.decision == consent.Decision.GRANTED else NO
        form = form_class(section)(data=data or None)
        return _render_page(number, form)
    form = form_class(section)()
    if not form.validate():
        return _render_page(number, form, status=400)
    vault.save_section(
        db,
        visit.client,
        visit.data_key,
        section.key,
        answers_from(form, section),
        schema_version=section.schema_version,
        keep_history=visit.sent,
    )
    decided = None
    if section.consent_purpose and form[CONSENT_CHOICE].data in (YES, NO):
        decided = _decide_on_page(section.consent_purpose, form[CONSENT_CHOICE].data == YES)
    db.commit()
    then = url_for("client.saved") if request.form.get("action") == "later" else _next_after(number)
    if decided is not None:
        return receipts.give([decided], then=then)
    return redirect(then)


def _decide_on_page(purpose: str, yes: bool) -> tuple[ConsentEvent, ConsentText] | None:
    """Record a consent asked on a page, if the answer changed it."""
    visit = g.visit
    db = db_session()
    current = consent.current_state(db, visit.client.id).get(purpose)
    was_yes = current is not None and current.decision == consent.Decision.GRANTED
    if current is not None and was_yes == yes:
        return None
    if yes:
        decision = consent.Decision.GRANTED
    else:
        decision = consent.Decision.WITHDRAWN if was_yes else consent.Decision.DECLINED
    text = text_for(purpose)
    return consent.decide(db, visit.client, purpose, decision, text), text


@bp.route("/before-the-agreement")
@client_required
def before_agreement() -> str:
    return render_template(
        "client/before_agreement.html", first=FIRST_AGREEMENT_INDEX + 1, last=LAST_PAGE
    )


@bp.route("/saved")
@client_required
def saved() -> str:
    code = return_code_of_visit()
    return render_template("client/saved.html", code=_code_for_display(code) if code else None)


# --- checking and sending -----------------------------------------------------------------


@bp.route("/check")
@client_required
def check() -> str:
    visit = g.visit
    db = db_session()
    opened = vault.read_sections(db, visit.client, visit.data_key)
    state = consent.current_state(db, visit.client.id)
    share = state.get(consent.Purpose.SHARE_WITH_COACH)
    return render_template(
        "client/check.html",
        sections=review_sections(opened),
        consents=state,
        share_granted=share is not None and share.decision == consent.Decision.GRANTED,
        client=visit.client,
        form=SendForm(),
        carry_on=_first_unsaved(visit.client, set(opened)),
        carry_on_url=resume_url(visit.client),
    )


@bp.route("/send", methods=["POST"])
@client_required
def send() -> Response | str:
    visit = g.visit
    db = db_session()
    if visit.client.status != ClientStatus.DRAFT:
        return redirect(url_for("client.sent"))  # sent already: a second press changes nothing
    form = SendForm()
    if not form.validate_on_submit():
        return redirect(url_for("client.check"))
    granted = consent.is_granted(db, visit.client.id, consent.Purpose.SHARE_WITH_COACH)
    decided = None
    if not granted and form.share.data:
        text = text_for(consent.Purpose.SHARE_WITH_COACH)
        event = consent.decide(
            db, visit.client, consent.Purpose.SHARE_WITH_COACH, consent.Decision.GRANTED, text
        )
        decided, granted = (event, text), True
    if not granted:
        return redirect(url_for("client.check"))
    now = utcnow()
    visit.client.status = ClientStatus.SUBMITTED
    visit.client.submitted_at = now
    visit.client.updated_at = now
    db.commit()
    if decided is not None:
        return receipts.give([decided], then=url_for("client.sent"))
    return redirect(url_for("client.sent"))


@bp.route("/sent")
@client_required
def sent() -> Response | str:
    if not g.visit.sent:
        return redirect(url_for("client.check"))
    return render_template("client/sent.html")


@bp.route("/who-looked")
@client_required
def who_looked() -> str:
    """Who has opened this person's answers, and when: the entries of the access log."""
    return render_template(
        "client/who_looked.html", entries=audit.entries_for_client(db_session(), g.visit.client.id)
    )


# --- coming back --------------------------------------------------------------------------


def _limit(setting: str) -> str:
    return str(current_app.config[setting])


def _code_not_found(_response: Response) -> bool:
    """Only a well-formed code that opens nothing counts towards the limit: an empty or
    mistyped box costs a person nothing, and tells a guesser nothing."""
    return bool(g.get("code_not_found"))


def _first_unsaved(client: Client, saved: set[str]) -> int | None:
    if client.status != ClientStatus.DRAFT:
        return None
    return next((n for n, s in enumerate(SECTIONS, start=1) if s.key not in saved), None)


def _page_url(number: int) -> str:
    """A page's address; the first safety page is reached through its note."""
    if number == FIRST_AGREEMENT_INDEX + 1:
        return url_for("client.before_agreement")
    return url_for("client.page", number=number)


def resume_url(client: Client) -> str:
    """Where someone carries on: the first page they have not saved yet, or the check page."""
    number = _first_unsaved(client, vault.saved_section_keys(db_session(), client))
    return _page_url(number) if number else url_for("client.check")


def _carried() -> tuple[int, MultiDict[str, str]] | None:
    """Answers a person typed on a page whose session had ended, carried in the form."""
    try:
        number = int(request.form.get("carried_page", ""))
        fields = json.loads(request.form.get("carried_answers", ""))
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep to read
        return None
    if section_at(number) is None or not isinstance(fields, dict):
        return None
    pairs = MultiDict()
    for key, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                pairs.add(str(key), item)
    return number, pairs


def _save_carried(carried: tuple[int, MultiDict[str, str]]) -> str:
    number, fields = carried
    section = section_at(number)
    assert section is not None
    visit = current_visit()
    form = form_class(section)(formdata=fields, meta={"csrf": False})
    if visit is None or not form.validate():
        return url_for("client.page", number=number)
    db = db_session()
    vault.save_section(
        db,
        visit.client,
        visit.data_key,
        section.key,
        answers_from(form, section),
        schema_version=section.schema_version,
        keep_history=visit.sent,
    )
    db.commit()
    return _next_after(number)


@bp.route("/come-back", methods=["GET", "POST"])
@limiter.limit(lambda: _limit("RETURN_CODE_LIMIT_GLOBAL"), key_func=global_key, methods=["POST"])
@limiter.limit(
    lambda: _limit("RETURN_CODE_LIMIT_PER_ADDRESS"),
    key_func=address_key,
    methods=["POST"],
    deduct_when=_code_not_found,
)
def come_back() -> Response | tuple[str, int] | str:
    """Type the return code to carry on, on any device."""
    form = ReturnCodeForm()
    carried = _carried() if request.method == "POST" else None
    not_found = False
    if form.validate_on_submit():
        digits = crypto.normalise_return_code(form.code.data or "")
        db = db_session()
        client = vault.find_client(db, digits, key_settings()) if digits else None
        if client is not None and digits is not None:
            try:
                data_key = vault.unlock_with_code(client, digits)
            except crypto.CannotOpen:
                client = None
            else:
                begin_visit(client, data_key, digits)
                if carried is not None:
                    return redirect(_save_carried(carried))
                return redirect(resume_url(client))
        not_found = True
        g.code_not_found = digits is not None
    status = 400 if not_found or form.errors else 200
    return (
        render_template(
            "client/come_back.html",
            form=form,
            not_found=not_found,
            error=not_found,
            carried=carried,
            carried_json=_carried_json(carried),
        ),
        status,
    )


def _carried_json(carried: tuple[int, MultiDict[str, str]] | None) -> str | None:
    if carried is None:
        return None
    return json.dumps({key: carried[1].getlist(key) for key in carried[1]}, ensure_ascii=False)


@bp.errorhandler(TooManyRequests)
def _too_many(_error: TooManyRequests) -> tuple[str, int]:
    if request.endpoint == "client.referral_code":
        return too_many_codes()
    return (
        render_template("client/come_back.html", form=ReturnCodeForm(), too_many=True, error=True),
        429,
    )


@bp.errorhandler(CSRFError)
def _page_not_saved(_error: CSRFError) -> object:
    """A page posted without a valid token: lose nothing.

    If the visit is still open, show the page again with what was typed. If the session had
    ended, carry what was typed into the return-code form, which saves it once the code opens.
    """
    number = request.view_args.get("number") if request.view_args else None
    section = section_at(number) if isinstance(number, int) else None
    if request.endpoint == "client.page" and section is not None:
        if current_visit() is not None:
            return _render_page(
                number,  # type: ignore[arg-type]
                form_class(section)(formdata=request.form),
                notice=_(
                    "We could not save this page. "
                    "Please check it and press “Save and continue” again."
                ),
                status=400,
            )
        carried = (number, MultiDict(request.form))
        carried[1].pop("csrf_token", None)
        carried[1].pop("action", None)
        return (
            render_template(
                "client/come_back.html",
                form=ReturnCodeForm(),
                ended=True,
                carried=carried,
                carried_json=_carried_json(carried),
            ),
            400,
        )
    return (
        render_template(
            "errors/page.html",
            heading=_("We could not save that page"),
            message=_(
                "This can happen when a page is left open for a long time. "
                "Everything you saved before is still safe. Please go back and try again."
            ),
            audience="client",
        ),
        400,
    )


@bp.route("/ended")
def ended() -> str:
    return render_template("client/ended.html")


@bp.route("/exit")
def quick_exit() -> Response:
    """Leave at once: end the session on the server, clear the browser, go somewhere neutral.

    A plain link, so it works without JavaScript; the script only adds the Escape shortcut
    and replaces the history entry.
    """
    current_session().destroy()
    response = redirect(current_app.config["QUICK_EXIT_URL"], code=303)
    return clear_site_data(response)


@bp.route("/leave")
def leave() -> Response:
    """A calm way out at the end ("I'm done for now"): end the session, go to the start."""
    current_session().destroy()
    return clear_site_data(redirect(url_for("client.start")))
