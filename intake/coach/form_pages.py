"""The forms page, for admins (docs/forms.md): upload a form definition or an XLSForm, read
what the check found, preview every page in every language at phone width, publish, and see
which version of each form is live. An upload that can be published waits as a draft, seen
only by the admin who uploaded it, until they publish or remove it."""

from __future__ import annotations

import json

from flask import abort, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from intake import i18n, recordings
from intake.coach import bp
from intake.coach.access import admin_only, signed_in_staff
from intake.coach.forms import FormUploadForm
from intake.context import form_library
from intake.db import db_session
from intake.form_base import ConfirmForm
from intake.form_check import ACCEPTED, Report, check_definition, check_upload
from intake.models import FormDraft, utcnow
from intake.questionnaire import PublishRefused


def _forms_page(upload: FormUploadForm, report: Report | None = None) -> ResponseReturnValue:
    db = db_session()
    drafts = db.scalars(
        select(FormDraft)
        .where(FormDraft.uploaded_by_id == signed_in_staff().id)
        .order_by(FormDraft.id.desc())
    )
    return render_template(
        "coach/forms.html",
        listed=form_library().listed(db),
        drafts=list(drafts),
        upload=upload,
        report=report,
        accepted=ACCEPTED,
    ), (400 if report is not None or upload.errors else 200)


@bp.route("/forms", methods=["GET", "POST"])
@admin_only
def forms() -> ResponseReturnValue:
    upload = FormUploadForm()
    if not upload.validate_on_submit():
        return _forms_page(upload)
    sent = upload.definition.data
    report = check_upload(sent.read(), sent.filename or "")
    if report.form is None or report.definition is None:
        return _forms_page(upload, report)
    draft = FormDraft(
        source_name=report.source,
        definition=report.definition,
        import_notes=json.dumps(
            {"not_mapped": report.not_mapped, "changed": report.changed}, ensure_ascii=False
        ),
        uploaded_by_id=signed_in_staff().id,
        uploaded_at=utcnow(),
    )
    db = db_session()
    db.add(draft)
    db.commit()
    return redirect(url_for("coach.form_draft", draft_id=draft.id))


def _draft_or_404(draft_id: int) -> FormDraft:
    draft = db_session().get(FormDraft, draft_id)
    if draft is None or draft.uploaded_by_id != signed_in_staff().id:
        abort(404)
    return draft


def _report_of(draft: FormDraft) -> Report:
    notes = json.loads(draft.import_notes or "{}")
    return check_definition(
        draft.definition,
        draft.source_name,
        tuple(notes.get("not_mapped", ())),
        tuple(notes.get("changed", ())),
    )


@bp.route("/forms/drafts/<int:draft_id>")
@admin_only
def form_draft(draft_id: int) -> ResponseReturnValue:
    """What the check found, the preview in each language, and the way to publish."""
    draft = _draft_or_404(draft_id)
    report = _report_of(draft)
    refused: list[str] = []
    if report.form is not None:
        try:
            form_library().check(db_session(), draft.definition, draft.source_name)
        except PublishRefused as reason:
            refused = reason.problems
        if report.form.recording_names:
            refused.append(recordings.NOT_FROM_THE_FORMS_PAGE)
    return render_template(
        "coach/form_draft.html",
        draft=draft,
        report=report,
        refused=refused,
        confirm=ConfirmForm(),
        language_name=i18n.language_name,
    )


@bp.route("/forms/drafts/<int:draft_id>/preview/<language>")
@admin_only
def form_preview(draft_id: int, language: str) -> ResponseReturnValue:
    """Every page of the draft in one language, each at a phone's width."""
    form = _report_of(_draft_or_404(draft_id)).form
    if form is None or language not in form.languages:
        abort(404)
    return render_template(
        "coach/form_preview.html",
        form=form,
        language=language,
        direction=i18n.text_direction(language),
        language_name=i18n.language_name,
    )


@bp.route("/forms/drafts/<int:draft_id>/publish", methods=["POST"])
@admin_only
def publish_form(draft_id: int) -> ResponseReturnValue:
    draft = _draft_or_404(draft_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    db = db_session()
    try:
        form_library().publish(db, draft.definition, draft.source_name, signed_in_staff().id)
    except (PublishRefused, ValueError):
        db.rollback()
        return redirect(url_for("coach.form_draft", draft_id=draft.id))
    db.delete(draft)
    db.commit()
    return redirect(url_for("coach.forms"))


@bp.route("/forms/drafts/<int:draft_id>/remove", methods=["POST"])
@admin_only
def remove_form_draft(draft_id: int) -> ResponseReturnValue:
    draft = _draft_or_404(draft_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    db = db_session()
    db.delete(draft)
    db.commit()
    return redirect(url_for("coach.forms"))


@bp.route("/forms/<form_id>/<int:version>/recordings")
@admin_only
def form_recordings(form_id: str, version: int) -> ResponseReturnValue:
    """Which questions of a published version can be heard, in which language."""
    db = db_session()
    try:
        form = form_library().form(db, form_id, version)
    except LookupError:
        abort(404)
    return render_template(
        "coach/form_recordings.html",
        form=form,
        rows=recordings.coverage(form, recordings.addresses(db, form)),
        Coverage=recordings.Coverage,
        language_name=i18n.language_name,
    )
