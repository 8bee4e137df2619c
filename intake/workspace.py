"""What a coach's workspace shows: the list of clients, and one client's whole record.

Only plaintext columns (status, dates, who referred) are sorted and counted in the database;
names are opened for the one page being shown, so a page costs the same with 100 clients as
with 10,000. Knows nothing of Flask: views pass in the organisation key their session holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from intake import audit, consent, crypto, vault
from intake.models import Answer, Client, ClientStatus, PartnerOrg, Referral, StaffUser
from intake.paging import page_count

PER_PAGE = 25
VISIBLE_STATUSES = (ClientStatus.SUBMITTED, ClientStatus.ACTIVE, ClientStatus.CLOSED)
NAME_SECTION, NAME_FIELD = "name", "name"


class Sort(StrEnum):
    CHANGED = "changed"
    SENT = "sent"
    STATUS = "status"


SORT_COLUMNS = {
    Sort.CHANGED: Client.updated_at,
    Sort.SENT: Client.submitted_at,
    Sort.STATUS: Client.status,
}


@dataclass(frozen=True)
class ClientRow:
    id: str
    name: str | None  # None when not given, or when it would not open
    locale: str
    status: str
    submitted_at: datetime | None
    updated_at: datetime
    referred_by: str | None
    new_since_last_look: bool
    coach_id: int | None


@dataclass(frozen=True)
class ClientPage:
    rows: list[ClientRow]
    page: int
    pages: int
    total: int
    names_opened: tuple[str, ...] = ()  # whose "what to call you" answer was opened to show


def visible_to(staff: StaffUser) -> Select[Client]:
    """The clients whose records this staff member may open: an admin, every sent intake;
    a coach, the ones assigned to them; anyone else, none."""
    query = select(Client).where(Client.status.in_(VISIBLE_STATUSES), Client.shared_at.is_not(None))
    if staff.is_admin:
        return query
    if staff.reads_answers:
        return query.where(Client.assigned_coach_id == staff.id)
    return query.where(Client.id.is_(None))


def find_visible(db: Session, staff: StaffUser, client_id: str) -> Client | None:
    return db.scalar(visible_to(staff).where(Client.id == client_id))


def _names(
    db: Session, clients: list[Client], org_key: crypto.PrivateKeyLike
) -> dict[str, str | None]:
    """Open the "what to call you" answer of each client on the page (one query). Every
    client with such an answer is a key; the value is None when it is empty or would not open."""
    if not clients:
        return {}
    latest = (
        select(Answer.client_id, func.max(Answer.version).label("version"))
        .where(Answer.client_id.in_([c.id for c in clients]), Answer.section_key == NAME_SECTION)
        .group_by(Answer.client_id)
        .subquery()
    )
    answers = {
        answer.client_id: answer
        for answer in db.scalars(
            select(Answer).join(
                latest,
                (Answer.client_id == latest.c.client_id)
                & (Answer.version == latest.c.version)
                & (Answer.section_key == NAME_SECTION),
            )
        )
    }
    names: dict[str, str | None] = {}
    for client in clients:
        answer = answers.get(client.id)
        if answer is None:
            continue
        names[client.id] = None
        try:
            data_key = vault.unlock_with_org_key(client, org_key)
        except crypto.CannotOpen:
            continue
        opened = vault.open_answer(answer, data_key)
        if opened.fields:
            value = opened.fields.get(NAME_FIELD)
            names[client.id] = value if isinstance(value, str) and value else None
    return names


def _in_order(column: Any, descending: bool) -> Any:
    """Empty values last, said only where a column can be empty: on a NOT NULL column it
    changes nothing shown, and PostgreSQL can then read the first page in index order
    (ix_client_coach_updated) instead of sorting every client on each page view."""
    ordered = column.desc() if descending else column.asc()
    return ordered.nulls_last() if column.expression.nullable else ordered


def client_page(
    db: Session,
    query: Select[Client],
    org_key: crypto.PrivateKeyLike,
    viewer_id: int,
    *,
    page: int = 1,
    sort: Sort = Sort.CHANGED,
    descending: bool = True,
) -> ClientPage:
    """One page of clients from `query`, sorted by a plaintext column, with names opened."""
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = page_count(total, PER_PAGE)
    page = min(max(1, page), pages)
    ordered = query.order_by(_in_order(SORT_COLUMNS[sort], descending), Client.id)
    rows = db.execute(
        ordered.add_columns(PartnerOrg.name)
        .outerjoin(Referral, Referral.id == Client.referral_id)
        .outerjoin(PartnerOrg, PartnerOrg.id == Referral.partner_org_id)
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    )
    clients_and_referrers = list(rows)
    clients = [client for client, _referrer in clients_and_referrers]
    names = _names(db, clients, org_key)
    looked = audit.last_looked(db, viewer_id, [client.id for client in clients])
    return ClientPage(
        rows=[
            ClientRow(
                id=client.id,
                name=names.get(client.id),
                locale=client.locale,
                status=client.status,
                submitted_at=client.submitted_at,
                updated_at=client.updated_at,
                referred_by=referrer,
                new_since_last_look=client.id not in looked
                or client.updated_at > looked[client.id],
                coach_id=client.assigned_coach_id,
            )
            for client, referrer in clients_and_referrers
        ],
        page=page,
        pages=pages,
        total=total,
        names_opened=tuple(names),
    )


def _shared() -> Select[Client]:
    """Sent, and still shared: withdrawing "share with a coach" takes a client off every list."""
    return select(Client).where(Client.status.in_(VISIBLE_STATUSES), Client.shared_at.is_not(None))


def assigned_to(staff: StaffUser) -> Select[Client]:
    return _shared().where(Client.assigned_coach_id == staff.id)


def waiting_for_a_coach(db: Session) -> Select[Client]:
    """Sent and shared, with no coach, or with a coach who has left (deactivated): nobody is
    stranded when a coach goes. The coaches who left are read first and named in the query,
    so both kinds come from `ix_client_coach_submitted` rather than a scan of every client
    (a sub-select there keeps PostgreSQL from using it: docs/performance.md)."""
    gone = list(db.scalars(select(StaffUser.id).where(StaffUser.active.is_(False))))
    without = Client.assigned_coach_id.is_(None)
    return _shared().where(or_(without, Client.assigned_coach_id.in_(gone)) if gone else without)


def with_a_coach() -> Select[Client]:
    """Sent and shared, with a coach who is still here: what an admin looks through to find
    someone to move to another coach."""
    here = select(StaffUser.id).where(StaffUser.active.is_(True))
    return _shared().where(Client.assigned_coach_id.in_(here))


def coaches(db: Session) -> list[StaffUser]:
    """Everyone a client can be assigned to: active coaches and admins."""
    return list(
        db.scalars(
            select(StaffUser)
            .where(StaffUser.active.is_(True), StaffUser.role.in_(("coach", "admin")))
            .order_by(StaffUser.display_name)
        )
    )


@dataclass(frozen=True)
class OpenedRecord:
    """A client's answers as a coach reads them, with what changed since their last look."""

    client: Client
    sections: dict[str, vault.OpenedSection]
    changed: set[str]  # section keys saved after the coach's previous look
    could_not_open: bool  # the data key itself would not open
    contact_hidden: bool = False  # contact details held back: no consent to be contacted
    data_key: bytes | None = None


CONTACT_SECTION, CONTACT_DETAILS = "contact", "details"


def open_record(
    db: Session, client: Client, org_key: crypto.PrivateKeyLike, previous_look: datetime | None
) -> OpenedRecord:
    try:
        data_key = vault.unlock_with_org_key(client, org_key)
    except crypto.CannotOpen:
        return OpenedRecord(client, {}, set(), could_not_open=True)
    sections = vault.read_sections(db, client, data_key)
    contact_hidden = False
    opened_contact = sections.get(CONTACT_SECTION)
    if (
        opened_contact is not None
        and opened_contact.fields
        and CONTACT_DETAILS in opened_contact.fields
        and not consent.is_granted(db, client.id, consent.Purpose.CONTACT)
    ):
        fields = {k: v for k, v in opened_contact.fields.items() if k != CONTACT_DETAILS}
        sections[CONTACT_SECTION] = vault.OpenedSection(
            opened_contact.section_key, opened_contact.version, opened_contact.updated_at, fields
        )
        contact_hidden = True
    changed = (
        {key for key, section in sections.items() if section.updated_at > previous_look}
        if previous_look is not None and client.submitted_at is not None
        else set()
    )
    return OpenedRecord(
        client,
        sections,
        changed,
        could_not_open=False,
        contact_hidden=contact_hidden,
        data_key=data_key,
    )
