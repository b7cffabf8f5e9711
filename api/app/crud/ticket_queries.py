"""What the agents' ticket workspace asks of tickets beyond the basic list (console.js).

- `list_tickets`: the list's filters: mine, unassigned, overdue (an open deadline past due now),
  and a search box over the ticket number, the booking number and the complaint's text. A search
  for a personal number (5+ digits that are not a ticket or booking number) is refused: the
  list is masked, and a search must not become a way to confirm whose phone is on a ticket.
  For the same reason an agent's search of the complaint's words covers only the tickets they
  own (whose text they see unmasked anyway); "王芳" would otherwise confirm a masked "王*".
- `next_statuses`: the moves the workflow allows now, found by asking workflow.check_transition,
  so the console never keeps its own copy of the state machine.
- `history`: who changed what and when, from the audit log, without the free text of notes and
  results (those are shown, masked as the caller must see them, by the ticket view itself).
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session

from app.crud import audit
from app.crud.stats import deadline_state_filter
from app.models import Ticket, TicketDeadline
from app.schemas.ticket import HistoryEntry, NextStatus
from app.services import workflow

TICKET_NO_PREFIX = re.compile(r"^C\d{1,20}$")
BOOKING_PREFIX = re.compile(r"^TR\d{0,8}$")
PERSONAL_DIGITS = re.compile(r"\d{5,}")
# Audit fields whose values are codes, numbers or dates (never free text): shown in the history.
PLAIN_FIELDS = frozenset(
    {
        "status",
        "compensation_status",
        "compensation_method",
        "compensation_loss_type",
        "compensation_amount_cny",
        "satisfaction",
        "confirmed",
        "second_follow_up",
        "authority_level",
        "expected_completion_at",
        "first_response_at",
        "owner",
    }
)
READS = frozenset({audit.READ_PERSONAL, audit.READ_MASKED})


class PersonalNumberSearch(ValueError):
    """The search text holds a number that is neither a ticket nor a booking number."""


def _overdue(now: datetime):
    return exists().where(
        TicketDeadline.ticket_id == Ticket.id,
        TicketDeadline.done_at.is_(None),
        TicketDeadline.due_at < now,
    )


def search_condition(q: str, text_owner_id: int | None = None):
    text = q.strip()
    upper = text.upper()
    if TICKET_NO_PREFIX.match(upper):
        return Ticket.ticket_no.startswith(upper, autoescape=True)
    if BOOKING_PREFIX.match(upper):
        return Ticket.booking_ref.startswith(upper, autoescape=True)
    if PERSONAL_DIGITS.search(text):
        raise PersonalNumberSearch(text)
    words = or_(
        *(
            column.contains(text, autoescape=True)
            for column in (
                Ticket.description,
                Ticket.location,
                Ticket.occurred_at,
                Ticket.request_detail,
            )
        )
    )
    return words if text_owner_id is None else and_(Ticket.owner_id == text_owner_id, words)


def list_tickets(
    session: Session,
    *,
    now: datetime,
    status: str | None = None,
    category: str | None = None,
    severity: str | None = None,
    department: str | None = None,
    deadline_state: str | None = None,
    owner_id: int | None = None,
    unassigned: bool = False,
    overdue: bool = False,
    q: str | None = None,
    text_owner_id: int | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[Ticket], int]:
    """Newest first; overdue lists put the most urgent (the most open steps late) nowhere special:
    the console marks them. Raises PersonalNumberSearch (see the module's docstring)."""
    conditions = []
    for column, value in (
        (Ticket.status, status),
        (Ticket.category, category),
        (Ticket.severity, severity),
        (Ticket.department, department),
        (Ticket.owner_id, owner_id),
    ):
        if value is not None:
            conditions.append(column == value)
    if unassigned:
        conditions.append(Ticket.owner_id.is_(None))
    if overdue:
        conditions.append(Ticket.status.in_(workflow.OPEN))
        conditions.append(_overdue(now))
    if deadline_state is not None:
        conditions.append(deadline_state_filter(deadline_state, now))
    if q and q.strip():
        conditions.append(search_condition(q, text_owner_id))
    total = session.scalar(select(func.count(Ticket.id)).where(*conditions)) or 0
    rows = session.scalars(
        select(Ticket)
        .where(*conditions)
        .order_by(Ticket.received_at.desc(), Ticket.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def next_open_deadline(ticket: Ticket) -> datetime | None:
    """When the earliest step still open falls due (None when nothing is open)."""
    if ticket.status not in workflow.OPEN:
        return None
    open_ = [d.due_at for d in ticket.deadlines if d.done_at is None]
    return min(open_) if open_ else None


def is_overdue(ticket: Ticket, now: datetime) -> bool:
    due = next_open_deadline(ticket)
    return due is not None and due < now


def next_statuses(ticket: Ticket) -> list[NextStatus]:
    """Every status the workflow lets this ticket move to from where it is, and whether it is
    ready: a move that only waits for a record (the satisfaction, the written result) is offered
    with what is missing (the refusal's `code`), so the console can say so. The rejection's
    reason and the plan's text come with the move itself (the console's form asks for them)."""
    found = []
    for candidate in (*workflow.FLOW, workflow.REJECTED):
        try:
            workflow.check_transition(ticket, candidate, "-", "-")
        except workflow.WorkflowError as error:
            code = error.code
            if code in ("satisfaction_required", "result_required"):
                found.append(NextStatus(status=candidate, ready=False, code=code, field=error.field))
            continue
        found.append(NextStatus(status=candidate, ready=True))
    return found


def history(session: Session, ticket: Ticket) -> list[HistoryEntry]:
    """The ticket's changes, oldest first; reads are left out (they are audited, not history)."""
    rows = audit.for_ticket(session, ticket_id=ticket.id)
    out = []
    for row in rows:
        if row.action in READS:
            continue
        plain = row.field in PLAIN_FIELDS
        out.append(
            HistoryEntry(
                at=row.at,
                actor=row.actor,
                actor_role=row.actor_role,
                action=row.action,
                field=row.field,
                old=row.old_value if plain else None,
                new=row.new_value if plain else None,
            )
        )
    return out
