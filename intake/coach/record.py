"""One client's record arranged for a coach: the safety card first, then the relationship
agreement (PROMISES), then the intake, then consent with its history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake import agreements, consent, referrals, workspace
from intake.models import (
    AgreementKind,
    Client,
    ConsentEvent,
    PartnerOrg,
    Referral,
    StaffUser,
)
from intake.questionnaire import FormLibrary, Part, Wording
from intake.review import ReviewedSection, answer_text, review_sections, strengths_in


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
    org_key: bytes,
    previous_look: datetime | None,
    forms: FormLibrary,
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
        ConsentLine(e.purpose, e.decision, e.at, e.actor)
        for e in db.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.client_id == client.id)
            .order_by(ConsentEvent.id.desc())
        )
    ]
    name_value = fields.get(workspace.NAME_SECTION, {}).get(workspace.NAME_FIELD)
    nickname = note = None
    if client.referral_id is not None:
        referral = db.get(Referral, client.referral_id)
        if referral is not None:
            nickname, note = referrals.open_sealed(referral, org_key)
    relationship = plan = None
    check_ins: list[agreements.OpenedCheckIn] = []
    added: list[agreements.OpenedStrength] = []
    outdated = False
    data_key = opened.data_key
    if data_key is not None:
        latest_relationship = agreements.latest(db, client.id, AgreementKind.RELATIONSHIP)
        if latest_relationship is not None:
            relationship = agreements.open_agreement(latest_relationship, data_key)
            outdated = any(
                section.updated_at > latest_relationship.created_at
                for key, section in opened.sections.items()
                if (page := form.section(key)) is not None and page.part == Part.AGREEMENT
            )
        latest_plan = agreements.latest(db, client.id, AgreementKind.PLAN)
        plan = agreements.open_agreement(latest_plan, data_key) if latest_plan else None
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
        strengths=strengths_in(form, fields),
        strengths_added=added,
        check_ins=check_ins,
    )
