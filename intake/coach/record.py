"""One client's record arranged for a coach: the safety card first, then the relationship
agreement (PROMISES) and the plan with every version and who signed it, then the intake, then
consent with its history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake import agreements, consent, crypto, referrals, reviews, rhythm, workspace
from intake.models import (
    AgreementKind,
    Client,
    ConsentEvent,
    PartnerOrg,
    Referral,
    StaffUser,
    utcnow,
)
from intake.questionnaire import Form, FormLibrary, Part, Wording
from intake.review import (
    ReviewedSection,
    answer_text,
    promises_in,
    review_sections,
    strengths_in,
)
from intake.reviews import OpenedReview, Rhythm


@dataclass(frozen=True)
class CardLine:
    label: Wording  # the coach's words, from the form's safety card
    text: str | None
    changed: bool


@dataclass(frozen=True)
class ConsentLine:
    purpose: str
    decision: str
    at: datetime
    actor: str


@dataclass(frozen=True)
class SignedBy:
    signature: agreements.Signature
    staff_name: str | None  # the coach who signed; None for the person themselves


@dataclass(frozen=True)
class VersionView:
    """One version of an agreement or plan: its words, who wrote it, and who signed it."""

    opened: agreements.OpenedAgreement
    written_by: str | None
    promises: list[ReviewedSection]  # the person's side of a relationship agreement, in words
    theirs: SignedBy | None  # the person's latest signature of this version
    coaches: list[SignedBy]
    review_at: datetime | None  # when the review that asked for this version was sent


@dataclass(frozen=True)
class RecordView:
    client: Client
    name: str | None
    referred_by: str | None
    referral_nickname: str | None
    referral_note: str | None
    coach_name: str | None
    could_not_open: bool
    safety_card: list[CardLine]
    agreement: list[ReviewedSection]
    intake: list[ReviewedSection]
    changed: set[str]
    consent_now: dict[str, ConsentEvent]
    consent_history: list[ConsentLine]
    contact_hidden: bool
    relationship: agreements.OpenedAgreement | None
    relationship_outdated: bool  # the PROMISES answers changed after the coach accepted them
    plan: agreements.OpenedAgreement | None
    versions: dict[str, list[VersionView]]  # by kind, newest first
    waiting: rhythm.Waiting  # what their coaching waits for: a review, a signature
    reviews: list[OpenedReview]  # newest first
    open_for_change: dict[str, OpenedReview]  # kinds a review asked to change
    strengths: list[str]  # their own answers about their strengths, in words
    strengths_added: list[agreements.OpenedStrength]
    check_ins: list[agreements.OpenedCheckIn]


def _referrer(db: Session, client: Client) -> str | None:
    if client.referral_id is None:
        return None
    return db.scalar(
        select(PartnerOrg.name)
        .join(Referral, Referral.partner_org_id == PartnerOrg.id)
        .where(Referral.id == client.referral_id)
    )


def record_view(
    db: Session,
    client: Client,
    org_key: crypto.PrivateKeyLike,
    previous_look: datetime | None,
    forms: FormLibrary,
    review_rhythm: Rhythm,
) -> RecordView:
    opened = workspace.open_record(db, client, org_key, previous_look)
    fields = {key: (s.fields or {}) for key, s in opened.sections.items()}
    form = forms.form(db, client.form_id, client.form_version)
    card = []
    for line in form.safety_card:
        section = form.section(line.section_key)
        question = section.question(line.question_key) if section else None
        assert question is not None  # the form's definition was checked when it was read
        card.append(
            CardLine(
                line.label,
                answer_text(question, fields.get(line.section_key, {}).get(line.question_key)),
                line.section_key in opened.changed,
            )
        )
    reviewed = review_sections(form, opened.sections)
    history = [
        ConsentLine(e.purpose, e.decision, e.at, e.actor) for e in consent.history(db, client.id)
    ]
    name_value = fields.get(workspace.NAME_SECTION, {}).get(workspace.NAME_FIELD)
    nickname = note = None
    if client.referral_id is not None:
        referral = db.get(Referral, client.referral_id)
        if referral is not None:
            nickname, note = referrals.open_sealed(referral, org_key)
    relationship = plan = None
    versions: dict[str, list[VersionView]] = {kind: [] for kind in AgreementKind}
    opened_reviews: list[OpenedReview] = []
    check_ins: list[agreements.OpenedCheckIn] = []
    added: list[agreements.OpenedStrength] = []
    outdated = False
    data_key = opened.data_key
    if data_key is not None:
        opened_reviews = [reviews.open_review(r, data_key) for r in reviews.reviews(db, client.id)]
        versions = _versions(db, client, data_key, form, opened_reviews)
        if versions[AgreementKind.RELATIONSHIP]:
            relationship = versions[AgreementKind.RELATIONSHIP][0].opened
            outdated = any(
                section.updated_at > relationship.record.created_at
                for key, section in opened.sections.items()
                if (page := form.section(key)) is not None and page.part == Part.AGREEMENT
            )
        if versions[AgreementKind.PLAN]:
            plan = versions[AgreementKind.PLAN][0].opened
        check_ins = [
            agreements.open_check_in(c, data_key) for c in agreements.check_ins(db, client.id)
        ]
        added = agreements.strengths_added(db, client.id, data_key)
    coach = db.get(StaffUser, client.assigned_coach_id) if client.assigned_coach_id else None
    return RecordView(
        client=client,
        name=name_value if isinstance(name_value, str) and name_value else None,
        referred_by=_referrer(db, client),
        referral_nickname=nickname,
        referral_note=note,
        coach_name=coach.display_name if coach else None,
        could_not_open=opened.could_not_open,
        safety_card=card,
        agreement=[s for s in reviewed if s.part == Part.AGREEMENT],
        intake=[s for s in reviewed if s.part == Part.INTAKE],
        changed=opened.changed,
        consent_now=consent.effective_state(db, client.id),
        consent_history=history,
        contact_hidden=opened.contact_hidden,
        relationship=relationship,
        relationship_outdated=outdated,
        plan=plan,
        versions=versions,
        waiting=rhythm.waiting_for(db, [client.id], review_rhythm, utcnow())[client.id],
        reviews=opened_reviews,
        open_for_change=reviews.open_for_change(db, opened_reviews),
        strengths=strengths_in(form, fields),
        strengths_added=added,
        check_ins=check_ins,
    )


def _versions(
    db: Session,
    client: Client,
    data_key: bytes,
    form: Form,
    opened_reviews: list[OpenedReview],
) -> dict[str, list[VersionView]]:
    """Every version of the relationship agreement and of the plan, newest first, opened,
    with their signatures."""
    signed = agreements.signatures(db, client.id, data_key)
    review_dates = {r.record.id: r.record.created_at for r in opened_reviews}
    names = {
        row.id: row.display_name for row in db.execute(select(StaffUser.id, StaffUser.display_name))
    }
    found: dict[str, list[VersionView]] = {}
    for kind in AgreementKind:
        found[kind] = []
        for record in agreements.versions(db, client.id, kind):
            opened = agreements.open_agreement(record, data_key)
            theirs = [s for s in signed.get(record.id, []) if not s.by_coach]
            found[kind].append(
                VersionView(
                    opened=opened,
                    written_by=names.get(record.written_by_id) if record.written_by_id else None,
                    promises=promises_in(form, opened.content)
                    if kind == AgreementKind.RELATIONSHIP
                    else [],
                    theirs=SignedBy(theirs[-1], None) if theirs else None,
                    coaches=[
                        SignedBy(s, names.get(s.staff_id) if s.staff_id else None)
                        for s in signed.get(record.id, [])
                        if s.by_coach
                    ],
                    review_at=review_dates.get(record.review_id) if record.review_id else None,
                )
            )
    return found
