"""The coach's workspace: the list of clients, one client's record (safety first), a print
view and an export. Every look is written to the access log before anything is opened."""

from __future__ import annotations

import json
from datetime import datetime

from flask import Response, abort, redirect, render_template, request, url_for
from flask_login import login_required
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as WerkzeugResponse
from wtforms.fields.choices import SelectChoice

from intake import audit, consent, notices, referrals, rhythm, workspace
from intake.coach import bp
from intake.coach.access import admin_only, client_or_404, org_key, signed_in_staff, staff_only
from intake.coach.forms import (
    AgreedForm,
    AssignForm,
    PlanForm,
    ReviewViewForm,
    StatusForm,
    VoiceConsentForm,
)
from intake.coach.record import record_view
from intake.context import form_library, review_rhythm
from intake.db import db_session
from intake.form_base import GroundworkForm
from intake.models import Client, StaffUser, utcnow
from intake.paging import page_or_first
from intake.tell import tell


def _page_arg(name: str = "page") -> int:
    return page_or_first(request.args.get(name))


def _sort_args() -> tuple[workspace.Sort, bool]:
    try:
        sort = workspace.Sort(request.args.get("sort", workspace.Sort.CHANGED))
    except ValueError:
        sort = workspace.Sort.CHANGED
    return sort, request.args.get("order", "desc") != "asc"


@bp.route("/workspace", endpoint="workspace")
@login_required
def workspace_home() -> Response | str:
    member = signed_in_staff()
    if not member.reads_answers:
        abort(404)  # partner staff: as if the page did not exist, like every coach page
    db = db_session()
    sort, descending = _sort_args()
    mine = workspace.client_page(
        db,
        workspace.assigned_to(member),
        org_key(),
        member.id,
        page=_page_arg(),
        sort=sort,
        descending=descending,
    )
    waiting = everyone = None
    coaches: list[StaffUser] = []
    if member.is_admin:
        waiting = workspace.client_page(
            db,
            workspace.waiting_for_a_coach(db),
            org_key(),
            member.id,
            page=_page_arg("waiting_page"),
            sort=workspace.Sort.SENT,
            descending=False,
        )
        everyone = workspace.client_page(
            db,
            workspace.with_a_coach(),
            org_key(),
            member.id,
            page=_page_arg("everyone_page"),
        )
        coaches = workspace.coaches(db)
    # The names are answers: each one opened for these lists is in the access log, and the
    # person sees it under "who looked" (DESIGN.md §1: nothing is read without an entry).
    listed = {cid for found in (mine, waiting, everyone) if found for cid in found.names_opened}
    audit.record_many(db, member.id, sorted(listed), audit.Action.LISTED)
    return render_template(
        "coach/workspace.html",
        member=member,
        mine=mine,
        waiting_for=rhythm.waiting_for(
            db, [row.id for row in mine.rows], review_rhythm(), utcnow()
        ),
        waiting=waiting,
        everyone=everyone,
        coach_names={coach.id: coach.display_name for coach in coaches},
        coaches=coaches,
        sort=sort,
        descending=descending,
        assign_form=AssignForm(),
    )


def _previous_look(member_id: int, client_id: str) -> datetime | None:
    return audit.last_looked(db_session(), member_id, [client_id]).get(client_id)


def _look(client: Client, action: audit.Action) -> Session:
    """Write this look to the person's access log before anything of theirs opens."""
    db = db_session()
    audit.record(db, signed_in_staff().id, client.id, action)
    return db


@bp.route("/clients/<client_id>")
@staff_only
def client_record(client_id: str) -> str:
    client = client_or_404(client_id)
    member = signed_in_staff()
    previous = _previous_look(member.id, client.id)
    db = _look(client, audit.Action.VIEWED)
    if referrals.copy_for_client(db, client, org_key()):
        db.commit()
    return render_template(
        "coach/client.html",
        view=record_view(db, client, org_key(), previous, form_library(), review_rhythm()),
        printing=False,
        their_coach=client.assigned_coach_id == member.id,  # only they sign agreements
        coaches=workspace.coaches(db) if member.is_admin else [],
        forms={
            "voice": VoiceConsentForm(),
            "plan": PlanForm(),
            "agreed": AgreedForm(),
            "status": StatusForm(data={"status": client.status}),
            "confirm": GroundworkForm(),
            "review": ReviewViewForm(formdata=None),
        },
    )


@bp.route("/clients/<client_id>/print")
@staff_only
def client_print(client_id: str) -> str:
    client = client_or_404(client_id)
    db = _look(client, audit.Action.PRINTED)
    return render_template(
        "coach/client.html",
        view=record_view(db, client, org_key(), None, form_library(), review_rhythm()),
        printing=True,
    )


@bp.route("/clients/<client_id>/export")
@staff_only
def client_export(client_id: str) -> Response:
    client = client_or_404(client_id)
    db = _look(client, audit.Action.EXPORTED)
    opened = workspace.open_record(db, client, org_key(), None)
    form = form_library().form(db, client.form_id, client.form_version)
    state = consent.effective_state(db, client.id)
    document = {
        "client": client.id,
        "status": client.status,
        "sent_at": client.submitted_at.isoformat() if client.submitted_at else None,
        "exported_at": utcnow().isoformat(),
        "form": {"id": form.id, "version": form.version},
        "answers": {
            key: (opened.sections[key].fields if key in opened.sections else None)
            for key in [section.key for section in form.sections]
            + sorted(set(opened.sections) - {section.key for section in form.sections})
        },
        # Their phone number or email is left out: they have not agreed to be contacted.
        "contact_details_hidden": opened.contact_hidden,
        "consent": {
            purpose: {"decision": event.decision, "at": event.at.isoformat()}
            for purpose, event in state.items()
        },
    }
    response = Response(
        json.dumps(document, ensure_ascii=False, indent=2), mimetype="application/json"
    )
    response.headers["Content-Disposition"] = 'attachment; filename="answers.json"'
    return response


@bp.route("/clients/<client_id>/assign", methods=["POST"])
@admin_only
def client_assign(client_id: str) -> WerkzeugResponse:
    client = client_or_404(client_id)
    db = db_session()
    form = AssignForm()
    coaches = workspace.coaches(db)
    form.coach.choices = [SelectChoice(str(c.id), c.display_name) for c in coaches]
    chosen = next((c for c in coaches if str(c.id) == (form.coach.data or "")), None)
    if not form.validate_on_submit() or chosen is None:
        abort(400)
    # The entry first: an assignment is never made without its trace in the log.
    audit.record(db, signed_in_staff().id, client.id, audit.Action.ASSIGNED)
    newly = client.assigned_coach_id != chosen.id
    client.assigned_coach_id = chosen.id
    if newly and chosen.id != signed_in_staff().id:
        tell(db, [chosen.id], notices.Kind.ASSIGNED)
    db.commit()
    if request.form.get("back") == "record":
        return redirect(url_for("coach.client_record", client_id=client.id))
    return redirect(url_for("coach.workspace"))
