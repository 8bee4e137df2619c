"""The client journey: start → welcome → choices → (a return code) → the pages → check → send,
and coming back to "your space".

Views stay thin: they read a form, call `vault`/`consent`, and render. Nothing is written to
the database until the person agrees that we may keep their answers; someone who does not
can still fill in the pages for this visit only (`visit.VisitAnswers`).
"""

from __future__ import annotations

import json

from flask import current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response as WerkzeugResponse

from intake import (
    agreements,
    audit,
    consent,
    consent_texts,
    crypto,
    i18n,
    notices,
    recordings,
    reviews,
    vault,
    webhooks,
)
from intake.client import bp, code_tries, receipts
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
from intake.client.visit import (
    NEWCOMER,
    Answers,
    KeptAnswers,
    Visit,
    VisitAnswers,
    answers_required,
    begin_visit,
    begin_visit_only,
    client_required,
    current_visit,
    is_visit_only,
    keep_visit_answers,
    make_code_copy,
    return_code_of_visit,
    visit_form,
)
from intake.consent_texts import text_for
from intake.context import code_copies, key_settings, review_rhythm
from intake.db import db_session
from intake.models import (
    AgreementKind,
    Client,
    ClientStatus,
    ConsentEvent,
    ConsentText,
    Referral,
    utcnow,
)
from intake.questionnaire import Form, Section
from intake.review import review_sections
from intake.security import clear_site_data
from intake.sessions import current_session
from intake.staff import organisation
from intake.tell import tell
from intake.vault import AnswerValue


@bp.before_app_request
def _remember_language_choice() -> None:
    """`?lang=xx` on any page is an explicit choice of language, kept in the session."""
    code = request.args.get("lang")
    if code:
        i18n.choose_locale(code)


@bp.context_processor
def _languages_of_the_form() -> dict[str, object]:
    """The language chooser offers the languages the person's form is written in; a page in
    another language says that the questions are in English."""
    try:
        offered = visit_form().languages
    except SQLAlchemyError:  # the database is away: the error page offers every language
        return {}
    return {
        "language_choices": [
            (code, name) for code, name in i18n.language_choices() if code in offered
        ],
        "form_lacks_language": str(get_locale()) not in offered,
    }


# --- before anything is kept --------------------------------------------------------------


@bp.route("/")
def start() -> str:
    return render_template("client/start.html")


@bp.route("/welcome")
def welcome() -> str:
    return render_template("client/welcome.html", pages=visit_form().page_count)


def _consent_texts(referred: bool) -> dict[str, ConsentText]:
    purposes = [consent.Purpose.STORE_ANSWERS, consent.Purpose.SHARE_WITH_COACH]
    if referred:
        purposes.append(consent.Purpose.STATUS_TO_REFERRER)
    return {purpose: text_for(purpose) for purpose in purposes}


@bp.route("/agree", methods=["GET", "POST"])
def agree() -> ResponseReturnValue:
    """Ask to keep the answers and to share them with a coach.

    Nothing chosen is not a decision: the page comes back with a calm note and nothing is
    recorded. A "no" keeps nothing, and the forms can still be filled in for this visit only.
    A "yes" makes the record and only then gives the person their return code.
    """
    if current_visit() is not None:
        return redirect(url_for("client.your_space"))
    pending = pending_referral()
    texts = _consent_texts(referred=pending is not None)
    form = ConsentForm()
    not_chosen = False
    if form.validate_on_submit():
        if form.store_answers.data == NO:
            begin_visit_only()
            return redirect(url_for("client.visit_only"))
        if form.store_answers.data == YES:
            return _keep_answers(form, texts, pending)
        not_chosen = True
    return render_template(
        "client/agree.html",
        form=form,
        texts=texts,
        referrer=pending[1] if pending else None,
        not_chosen=not_chosen,
        error=not_chosen,
    ), (400 if not_chosen or form.errors else 200)


def _keep_answers(
    form: ConsentForm, texts: dict[str, ConsentText], pending: tuple[Referral, str] | None
) -> ResponseReturnValue:
    """The person said yes to keeping their answers: make their record and their code, keep
    anything they wrote in this visit, and record each choice they made."""
    db = db_session()
    org = organisation(db)
    if org is None:
        return render_template("client/not_ready.html"), 503
    held = VisitAnswers().read_all() if is_visit_only() else {}
    code_digits = crypto.normalise_return_code(crypto.generate_return_code())
    assert code_digits is not None
    client, data_key = vault.create_client_awaiting_code(
        db, org, locale=i18n.select_locale(), form=visit_form()
    )
    choices = {
        consent.Purpose.STORE_ANSWERS: YES,
        consent.Purpose.SHARE_WITH_COACH: form.share_with_coach.data,
    }
    if pending is not None and mark_pending_used(pending[0], client):
        choices[consent.Purpose.STATUS_TO_REFERRER] = form.status_to_referrer.data
    decisions = [
        consent_texts.decide(
            client, purpose, consent.decision_for(answer == YES, None), texts[purpose]
        )
        for purpose, answer in choices.items()
        if answer in (YES, NO)
    ]
    visit = Visit(client, data_key)
    keep_visit_answers(visit, held)
    db.commit()
    begin_visit(client, data_key, code_digits, newcomer=True)
    make_code_copy(client, data_key, code_digits)
    receipts.note(decisions)
    return redirect(url_for("client.your_code"))


@bp.route("/this-visit-only")
def visit_only() -> ResponseReturnValue:
    """For someone who keeps nothing: what that means, and the way on."""
    if not is_visit_only():
        return redirect(url_for("client.agree"))
    return render_template(
        "client/visit_only.html", carry_on=_page_url(_first_unsaved(VisitAnswers()) or 1)
    )


@bp.route("/your-code", methods=["GET", "POST"])
@client_required
def your_code() -> ResponseReturnValue:
    """The return code, given once the person has chosen to keep their answers."""
    code = return_code_of_visit()
    if code is None:  # a visit opened before codes were kept in the session
        return redirect(url_for("client.your_space"))
    form = SavedCodeForm()
    reminder = False
    if form.validate_on_submit():
        if form.saved.data or request.form.get("action") == "without":
            return redirect(resume_url(g.visit.client))
        reminder = True
    return render_template(
        "client/your_code.html",
        form=form,
        code=code,
        reminder=reminder,
        error=reminder,
    )


# --- the pages ----------------------------------------------------------------------------


def _next_after(number: int) -> str:
    form = visit_form()
    if request.args.get("from") == "check" or number >= form.page_count:
        return url_for("client.check")
    if number == form.note_after_page:
        return url_for("client.before_agreement")
    return url_for("client.page", number=number + 1)


def _previous_of(number: int) -> str:
    if request.args.get("from") == "check":
        return url_for("client.check")
    if number == 1:
        return _where_the_pages_start()
    if number == visit_form().note_after_page + 1:
        return url_for("client.before_agreement")
    return url_for("client.page", number=number - 1)


def _where_the_pages_start() -> str:
    """Where Back on page 1 goes: where the person came from, never the check page."""
    if g.visit is None:
        return url_for("client.visit_only")
    if current_session().get(NEWCOMER):
        return url_for("client.your_code")
    return url_for("client.your_space")


def _render_page(
    number: int, form: object, notice: str | None = None, status: int = 200
) -> ResponseReturnValue:
    followed = visit_form()
    section = followed.section_at(number)
    consent_text = (
        text_for(section.consent_purpose)
        if section and section.consent_purpose and g.visit is not None
        else None
    )
    return (
        render_template(
            "client/page.html",
            section=section,
            form=form,
            number=number,
            pages=followed.page_count,
            back=_previous_of(number),
            from_check=request.args.get("from") == "check",
            notice=notice,
            error=notice,
            consent_text=consent_text,
            not_shown=_not_shown(section) if section and g.get("answers") else frozenset(),
            heard=_heard(followed, section),
        ),
        status,
    )


def _heard(followed: Form, section: Section | None) -> dict[str, recordings.Heard]:
    """The recordings of this page's questions in the page's language."""
    if section is None or not followed.recording_names:
        return {}
    stored = recordings.addresses(db_session(), followed)
    return recordings.heard_on(section, stored, i18n.select_locale())


def _not_shown(section: Section) -> frozenset[str]:
    """The questions of this page that do not apply, given the person's earlier answers."""
    followed = visit_form()
    answers: Answers = g.answers
    pages: dict[str, dict[str, AnswerValue]] = {}

    def answer_of(page_key: str, question_key: str) -> AnswerValue | None:
        if page_key not in pages:
            page = followed.section(page_key)
            pages[page_key] = answers.read(page) if page else {}
        return pages[page_key].get(question_key)

    return followed.not_shown(section, answer_of)


@bp.route("/page/<int:number>", methods=["GET", "POST"])
@answers_required
def page(number: int) -> object:
    section = visit_form().section_at(number)
    if section is None:
        return redirect(url_for("client.check"))
    visit = g.visit
    answers: Answers = g.answers
    db = db_session()
    if request.method == "GET":
        data = answers.read(section)
        if section.consent_purpose and visit is not None:
            event = consent.effective_state(db, visit.client.id).get(section.consent_purpose)
            if event is not None:
                data[CONSENT_CHOICE] = YES if event.decision == consent.Decision.GRANTED else NO
        form = form_class(section)(data=data or None)
        return _render_page(number, form)
    form = form_class(section)()
    if not form.validate():
        return _render_page(number, form, status=400)
    fields = answers_from(form, section)
    not_shown = _not_shown(section)
    if not_shown:  # what they wrote there before stays theirs, if the question comes back
        kept = answers.read(section)
        fields.update({key: kept[key] for key in not_shown if key in kept})
    answers.save(section, fields)
    if section.consent_purpose and visit is not None and form[CONSENT_CHOICE].data in (YES, NO):
        decided = _decide_on_page(section.consent_purpose, form[CONSENT_CHOICE].data == YES)
        if decided is not None:
            receipts.note([decided])
    db.commit()
    later = request.form.get("action") == "later" and visit is not None
    return redirect(url_for("client.saved") if later else _next_after(number))


def _decide_on_page(purpose: str, yes: bool) -> ConsentEvent | None:
    """Record a consent asked on a page, if the answer changed it."""
    return consent_texts.answer(g.visit.client, purpose, yes)


@bp.route("/before-the-agreement")
@answers_required
def before_agreement() -> str:
    form = visit_form()
    return render_template(
        "client/before_agreement.html", first=form.note_after_page + 1, last=form.page_count
    )


@bp.route("/saved")
@client_required
def saved() -> str:
    return render_template("client/saved.html", code=return_code_of_visit())


# --- your space, checking and sending -----------------------------------------------------


@bp.route("/your-space")
@client_required
def your_space() -> str:
    """Where a returning person lands: what is left, and everything that is theirs."""
    visit = g.visit
    db = db_session()
    current_session().pop(NEWCOMER, None)
    saved_keys = g.answers.saved_keys()
    left = [n for n, s in enumerate(visit.form.sections, start=1) if s.key not in saved_keys]
    return render_template(
        "client/your_space.html",
        client=visit.client,
        pages_left=len(left),
        carry_on_url=_page_url(left[0]) if left and not visit.sent else None,
        share_granted=visit.client.shared_at is not None,
        last_check_in=next(iter(agreements.check_ins(db, visit.client.id)), None),
        relationship=agreements.latest(db, visit.client.id, AgreementKind.RELATIONSHIP),
        plan=agreements.latest(db, visit.client.id, AgreementKind.PLAN),
        next_review=None
        if visit.client.status == ClientStatus.DRAFT
        else reviews.next_review(db, visit.client.id, review_rhythm(), utcnow()),
    )


@bp.route("/check")
@answers_required
def check() -> str:
    visit = g.visit
    answers: Answers = g.answers
    opened = answers.read_all()
    share_granted = visit is not None and visit.client.shared_at is not None
    return render_template(
        "client/check.html",
        sections=review_sections(visit_form(), opened),
        share_granted=share_granted,
        client=visit.client if visit else None,
        form=SendForm(),
        carry_on=_first_unsaved(answers) if visit is None or not visit.sent else None,
    )


@bp.route("/send", methods=["POST"])
@client_required
def send() -> ResponseReturnValue:
    visit = g.visit
    db = db_session()
    if visit.client.status != ClientStatus.DRAFT:
        return redirect(url_for("client.sent"))  # sent already: a second press changes nothing
    form = SendForm()
    if not form.validate_on_submit():
        return redirect(url_for("client.check"))
    granted = visit.client.shared_at is not None
    if not granted and form.share.data:
        purpose = consent.Purpose.SHARE_WITH_COACH
        receipts.note([consent_texts.decide(visit.client, purpose, consent.Decision.GRANTED)])
        granted = True
    if not granted:
        return redirect(url_for("client.check"))
    now = utcnow()
    visit.client.status = ClientStatus.SUBMITTED
    visit.client.submitted_at = now
    visit.client.updated_at = now
    webhooks.status_changed(db, visit.client, now)
    if visit.client.assigned_coach_id is None:
        tell(db, notices.admins(db), notices.Kind.INTAKE_WAITING)
    db.commit()
    return redirect(url_for("client.sent"))


@bp.route("/sent")
@client_required
def sent() -> ResponseReturnValue:
    if not g.visit.sent:
        return redirect(url_for("client.check"))
    return render_template("client/sent.html")


@bp.route("/who-looked")
@client_required
def who_looked() -> str:
    """Who has opened this person's answers, and when: the entries of the access log."""
    return render_template(
        "client/who_looked.html",
        groups=audit.group_looks(audit.entries_for_client(db_session(), g.visit.client.id)),
    )


# --- coming back --------------------------------------------------------------------------


SETTLE_SECONDS = 10.0  # the longest a code just given waits for its copy when it comes back


def _open_with_code(digits: str) -> tuple[Client, bytes] | None:
    """The client this code belongs to, and their data key; None when it opens nothing. A
    person given their code before one derivation served both is moved over (kept here).

    A code given moments ago may still be waiting for its copy in this process's queue
    (`code_copies`): when it finds nobody, the queue is waited for and the code tried again,
    with the same derivation."""
    keys = key_settings()
    code = crypto.code_keys(digits, keys.pepper, keys.lookup)
    opened = vault.open_with_code(db_session(), digits, keys, code)
    if opened is None and code_copies().settle(timeout=SETTLE_SECONDS):
        opened = vault.open_with_code(db_session(), digits, keys, code)
    if opened is not None:
        db_session().commit()
    return opened


def _first_unsaved(answers: Answers) -> int | None:
    saved = answers.saved_keys()
    return next(
        (n for n, s in enumerate(visit_form().sections, start=1) if s.key not in saved), None
    )


def _page_url(number: int) -> str:
    """A page's address; the first safety page is reached through its note."""
    if number == visit_form().note_after_page + 1:
        return url_for("client.before_agreement")
    return url_for("client.page", number=number)


def resume_url(client: Client) -> str:
    """Where a newcomer carries on after their code: the first page they have not saved yet
    (all of them, unless they wrote some answers before deciding to keep them)."""
    if client.status != ClientStatus.DRAFT:
        return url_for("client.your_space")
    number = _first_unsaved(KeptAnswers(Visit(client, b"")))
    return _page_url(number) if number else url_for("client.check")


CARRIED = "carried"  # a page typed after the visit closed, held in the new session's secrets


def _hold_carried(number: int, fields: MultiDict[str, str]) -> None:
    """Keep what was typed on a page whose session had ended, server-side, in this browser's
    new session (encrypted under the key only its cookie holds): never in the page."""
    held = {"page": number, "fields": {key: fields.getlist(key) for key in fields}}
    current_session().put_secret(CARRIED, json.dumps(held, ensure_ascii=False).encode())


def _carried() -> tuple[int, MultiDict[str, str]] | None:
    """The page this browser's own visit typed before it closed, if any."""
    raw = current_session().get_secret(CARRIED)
    if raw is None:
        return None
    held = json.loads(raw)
    pairs: MultiDict[str, str] = MultiDict()
    for key, values in held["fields"].items():
        for value in values:
            pairs.add(key, value)
    return int(held["page"]), pairs


def _save_carried(carried: tuple[int, MultiDict[str, str]]) -> str:
    number, fields = carried
    visit = current_visit()
    section = visit.form.section_at(number) if visit else None
    form = form_class(section)(formdata=fields, meta={"csrf": False})
    if visit is None or section is None or not form.validate():
        return url_for("client.page", number=number)
    db = db_session()
    vault.save_section(
        db,
        visit.client,
        visit.data_key,
        section.key,
        answers_from(form, section),
        schema_version=section.schema_version,
        form_id=section.form_id,
        form_version=section.form_version,
        keep_history=visit.sent,
    )
    db.commit()
    return _next_after(number)


@bp.route("/come-back", methods=["GET", "POST"])
def come_back() -> ResponseReturnValue:
    """Type the return code to carry on, on any device."""
    form = ReturnCodeForm()
    carried = _carried()
    not_found = False
    if form.validate_on_submit():
        code_tries.count_a_try(code_tries.RETURN_CODES)
        digits = crypto.normalise_return_code(form.code.data or "")
        if digits is not None:
            reservation = code_tries.reserve_a_lookup(code_tries.RETURN_CODES)
            opened = _open_with_code(digits)
            if opened is not None:
                code_tries.it_opened(code_tries.RETURN_CODES, reservation)
                client, data_key = opened
                begin_visit(client, data_key, digits, newcomer=False)
                if carried is not None:
                    return redirect(_save_carried(carried))
                return redirect(url_for("client.your_space"))
        not_found = True
    status = 400 if not_found or form.errors else 200
    return (
        render_template(
            "client/come_back.html",
            form=form,
            not_found=not_found,
            error=not_found,
            ended=carried is not None,
        ),
        status,
    )


@bp.errorhandler(TooManyRequests)
def _too_many(_error: TooManyRequests) -> tuple[str, int]:
    if request.endpoint == "client.referral_code":
        return too_many_codes()
    return (
        render_template("client/come_back.html", form=ReturnCodeForm(), too_many=True, error=True),
        429,
    )


@bp.errorhandler(CSRFError)
def _page_not_saved(_error: CSRFError) -> ResponseReturnValue:
    """A page posted without a valid token: lose nothing.

    If the visit is still open, show the page again with what was typed. If this browser's own
    session had ended, keep what was typed in its new session, and save it once the return code
    opens the answers. A page that came without any session cookie is not kept at all.
    """
    number = request.view_args.get("number") if request.view_args else None
    if not isinstance(number, int):
        number = 0  # no page of the questionnaire is numbered 0
    section = visit_form().section_at(number)
    if request.endpoint == "client.page" and section is not None:
        visit = current_visit()
        if visit is not None or is_visit_only():
            g.visit = visit
            return _render_page(
                number,
                form_class(section)(formdata=request.form),
                notice=_(
                    "We could not save this page. "
                    "Please check it and press “Save and continue” again."
                ),
                status=400,
            )
        # Only a browser whose own visit has just closed sends its session cookie with the
        # page: a form on another site never does (SameSite=Lax), so what it posts is never
        # kept, and can never end up in someone's answers.
        if current_session().ended is not None:
            fields = MultiDict(request.form)
            fields.pop("csrf_token", None)
            fields.pop("action", None)
            _hold_carried(number, fields)
            return (
                render_template("client/come_back.html", form=ReturnCodeForm(), ended=True),
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
def quick_exit() -> WerkzeugResponse:
    """Leave at once: end the session on the server, clear the browser, go somewhere neutral.

    A plain link, so it works without JavaScript; the script only adds the Escape shortcut
    and replaces the history entry.
    """
    current_session().destroy()
    response = redirect(current_app.config["QUICK_EXIT_URL"], code=303)
    return clear_site_data(response)


@bp.route("/leave")
def leave() -> WerkzeugResponse:
    """A calm way out at the end ("I'm done for now"): end the session, go to the start."""
    current_session().destroy()
    return clear_site_data(redirect(url_for("client.start")))
