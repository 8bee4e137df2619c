"""What a coach records on a client's record: consent given by voice (with a reason), the
relationship agreement, the coaching plan, their signature of either, what was agreed for a
session, their view of a review, and the status."""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from intake import agreements, consent, crypto, reviews, vault, webhooks
from intake.coach import bp
from intake.coach.access import client_or_404, org_key, signed_in_staff, staff_only
from intake.coach.forms import (
    AgreedForm,
    PlanForm,
    ReviewViewForm,
    StatusForm,
    StrengthForm,
    VoiceConsentForm,
)
from intake.context import form_library
from intake.db import db_session
from intake.form_base import GroundworkForm
from intake.models import (
    AgreementKind,
    CheckIn,
    Client,
    ClientStatus,
    ConsentText,
    Review,
    utcnow,
)
from intake.questionnaire import Part
from intake.sessions import PERSONAL_KEY, current_session


def _data_key(client: Client) -> bytes:
    try:
        return vault.unlock_with_org_key(client, org_key())
    except crypto.CannotOpen:
        abort(409)


def _back(client: Client, anchor: str = "") -> WerkzeugResponse:
    return redirect(url_for("coach.client_record", client_id=client.id) + anchor)


@bp.route("/clients/<client_id>/consent", methods=["POST"])
@staff_only
def record_voice_consent(client_id: str) -> WerkzeugResponse:
    """Consent given by voice: recorded with a reason, shown to the client at their next visit
    to confirm or withdraw."""
    client = client_or_404(client_id)
    form = VoiceConsentForm()
    if not form.validate_on_submit():
        abort(400)
    db = db_session()
    purpose = form.purpose.data or ""
    reason_ct = vault.seal_json(
        _data_key(client), (form.reason.data or "").strip(), consent.reason_aad(client.id, purpose)
    )
    consent.decide(
        db,
        client,
        purpose,
        form.decision.data or "",
        text_for_locale(purpose, client.locale),
        consent.RecordedBy(consent.Actor.COACH, signed_in_staff().id, reason_ct),
    )
    db.commit()
    return _back(client, "#consent")


def text_for_locale(purpose: str, locale: str) -> ConsentText:
    """The words in the client's own language: what the coach read out to them."""
    return consent.current_text(db_session(), purpose, locale)


@bp.route("/clients/<client_id>/relationship", methods=["POST"])
@staff_only
def accept_relationship(client_id: str) -> WerkzeugResponse:
    """Accept the client's PROMISES answers, as they stand now, as the relationship agreement."""
    client = client_or_404(client_id)
    if not GroundworkForm().validate_on_submit():
        abort(400)
    db = db_session()
    data_key = _data_key(client)
    opened = vault.read_sections(db, client, data_key)
    form = form_library().form(db, client.form_id, client.form_version)
    promises = {
        s.key: opened[s.key].fields or {}
        for s in form.sections
        if s.part == Part.AGREEMENT and s.key in opened
    }
    coach = signed_in_staff()
    personal_key = current_session().get_secret(PERSONAL_KEY)
    own = agreements.own_words(coach, personal_key) if personal_key else {}
    agreements.accept_relationship(
        db,
        client,
        data_key,
        coach,
        promises,
        form.coach_side,
        own_words=own,
        review_id=_asking_review(client, data_key, AgreementKind.RELATIONSHIP),
    )
    db.commit()
    return _back(client, "#agreement")


@bp.route("/clients/<client_id>/agreements/<kind>/sign", methods=["POST"])
@staff_only
def sign_agreement(client_id: str, kind: str) -> WerkzeugResponse:
    """The person's coach signs the version they both read (the newest). Only their coach:
    anyone else gets 404."""
    client = client_or_404(client_id)
    coach = signed_in_staff()
    if kind not in set(AgreementKind) or client.assigned_coach_id != coach.id:
        abort(404)
    if not GroundworkForm().validate_on_submit():
        abort(400)
    db = db_session()
    record = agreements.latest(db, client.id, kind)
    if record is None:
        abort(404)
    if str(record.version) == request.form.get("version"):  # else a newer one came meanwhile
        agreements.sign_as_coach(db, record, coach)
        db.commit()
    return _back(client, "#plan" if kind == AgreementKind.PLAN else "#agreement")


@bp.route("/clients/<client_id>/plan", methods=["POST"])
@staff_only
def write_plan(client_id: str) -> WerkzeugResponse:
    client = client_or_404(client_id)
    form = PlanForm()
    if not form.validate_on_submit():
        abort(400)
    db = db_session()
    goals = (form.goals.data or "").splitlines()
    data_key = _data_key(client)
    review_id = _asking_review(client, data_key, AgreementKind.PLAN)
    agreements.write_plan(db, client, data_key, signed_in_staff(), goals, review_id)
    db.commit()
    return _back(client, "#plan")


def _asking_review(client: Client, data_key: bytes, kind: str) -> int | None:
    """The review that opened this kind of agreement for change, if one did: the version
    written now answers it."""
    db = db_session()
    opened = [reviews.open_review(r, data_key) for r in reviews.reviews(db, client.id)]
    asking = reviews.open_for_change(db, opened).get(kind)
    return asking.record.id if asking else None


@bp.route("/clients/<client_id>/reviews/<int:review_id>/view", methods=["POST"])
@staff_only
def review_view(client_id: str, review_id: int) -> WerkzeugResponse:
    """The coach's view of a review, written once; the person reads it."""
    client = client_or_404(client_id)
    db = db_session()
    review = db.get(Review, review_id)
    if review is None or review.client_id != client.id:
        abort(404)
    form = ReviewViewForm()
    if not form.validate_on_submit():
        abort(400)
    if review.coach_view_ct is None:  # a second press changes nothing
        fields = {name: form[name].data or "" for name in ("view", "goals", "agreement")}
        reviews.add_coach_view(db, review, _data_key(client), signed_in_staff(), fields)
        db.commit()
    return _back(client, f"#review-{review.id}")


@bp.route("/clients/<client_id>/check-ins/<int:check_in_id>/agreed", methods=["POST"])
@staff_only
def record_agreed(client_id: str, check_in_id: int) -> WerkzeugResponse:
    client = client_or_404(client_id)
    db = db_session()
    check_in = db.get(CheckIn, check_in_id)
    if check_in is None or check_in.client_id != client.id:
        abort(404)
    form = AgreedForm()
    if not form.validate_on_submit():
        abort(400)
    agreements.record_agreed(
        db, check_in, _data_key(client), signed_in_staff(), form.agreed.data or ""
    )
    db.commit()
    return _back(client, "#sessions")


@bp.route("/clients/<client_id>/sessions", methods=["POST"])
@staff_only
def record_session(client_id: str) -> WerkzeugResponse:
    """What was agreed at a session the client did not prepare for."""
    client = client_or_404(client_id)
    form = AgreedForm()
    if not form.validate_on_submit():
        abort(400)
    db = db_session()
    agreements.record_session(
        db, client, _data_key(client), signed_in_staff(), form.agreed.data or ""
    )
    db.commit()
    return _back(client, "#sessions")


@bp.route("/clients/<client_id>/strengths", methods=["POST"])
@staff_only
def add_strength(client_id: str) -> WerkzeugResponse:
    """Something the person managed, added to their strengths by their coach."""
    client = client_or_404(client_id)
    form = StrengthForm()
    if not form.validate_on_submit():
        abort(400)
    agreements.add_strength(
        db_session(), client, _data_key(client), form.text.data or "", coach=signed_in_staff()
    )
    db_session().commit()
    return _back(client, "#plan")


@bp.route("/clients/<client_id>/status", methods=["POST"])
@staff_only
def change_status(client_id: str) -> WerkzeugResponse:
    client = client_or_404(client_id)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    now = utcnow()
    client.status = form.status.data or client.status
    client.closed_at = now if client.status == ClientStatus.CLOSED else None
    client.updated_at = now
    webhooks.status_changed(db_session(), client, now)
    db_session().commit()
    return _back(client)
