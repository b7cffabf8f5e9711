"""Ticket data functions. They take a Session and keyword arguments, flush but never commit.

Idempotency keys live in crud/idempotency.py, the figures and deadline filters in crud/stats.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import exists, insert, select
from sqlalchemy.orm import Session

from app.core.db import upsert_insert
from app.core.security import Actor
from app.crud import audit
from app.crud.users import pick_owner
from app.models import AuditLog, Ticket, TicketCounter, TicketDeadline, TicketNote
from app.schemas.ticket import TicketCreate
from app.services import deadlines as dl
from app.services import notifier, workflow
from app.services.taxonomy import CATEGORY_DEPARTMENT, SEVERITY_RULES, Category, Severity


@dataclass(frozen=True)
class Routing:
    category: str
    severity: str
    confidence: float | None
    reasons: list[str]


def get_by_no(session: Session, *, ticket_no: str) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.ticket_no == ticket_no))


def next_ticket_no(session: Session, *, now: datetime) -> str:
    """C + China-local date + daily sequence, bumped atomically (safe under concurrency:
    the upsert holds the counter row until commit)."""
    day = dl.china_today(now).strftime("%Y%m%d")
    stmt = (
        upsert_insert(session)(TicketCounter)
        .values(day=day, last=1)
        .on_conflict_do_update(index_elements=[TicketCounter.day], set_={"last": TicketCounter.last + 1})
        .returning(TicketCounter.last)
    )
    seq = session.execute(stmt).scalar_one()
    return f"C{day}{seq:03d}"


def create_ticket(
    session: Session,
    *,
    data: TicketCreate,
    routing: Routing,
    trip: tuple[date, date] | None,
    actor: Actor,
    now: datetime,
) -> Ticket:
    category, severity = Category(routing.category), Severity(routing.severity)
    stage = data.stage or (workflow.derive_stage(trip[0], trip[1], now) if trip else None)
    plan = dl.plan_deadlines(now, severity, category, stage)
    owner = pick_owner(session)
    is_repeat = bool(
        data.booking_ref and session.scalar(select(exists().where(Ticket.booking_ref == data.booking_ref)))
    )
    fields = data.model_dump(exclude={"category", "severity", "stage"})
    ticket = Ticket(
        **fields,
        ticket_no=next_ticket_no(session, now=now),
        received_at=now,
        updated_at=now,
        stage=stage,
        category=category.value,
        severity=severity.value,
        department=CATEGORY_DEPARTMENT[category].code,
        authority_level=SEVERITY_RULES[severity].authority_level,
        confidence=routing.confidence,
        classifier_reasons=routing.reasons,
        owner=owner,
        status="received",
        is_repeat=is_repeat,
        calendar_fallback=plan.calendar_fallback,
    )
    session.add(ticket)
    session.flush()
    ticket._planned_deadlines = plan.due  # for deadlines_as_written(); not a column
    # Plain multi-row inserts: the ORM unit of work is the main cost of ticket creation.
    session.execute(
        insert(TicketDeadline),
        [
            {"ticket_id": ticket.id, "name": name, "due_at": due, "done_at": None}
            for name, due in plan.due.items()
        ],
    )
    trail = [
        _audit_row(ticket, actor, now, "create", "status", new="received", booking_ref=ticket.booking_ref)
    ]
    if owner is not None:
        trail.append(_audit_row(ticket, actor, now, "assign", "owner", new=owner.username))
    session.execute(insert(AuditLog), trail)
    return ticket


def deadlines_as_written(ticket: Ticket) -> list[TicketDeadline]:
    """Detached copies of a just-created ticket's deadlines, for the response only (call after
    commit: these objects are never added to a session)."""
    return [
        TicketDeadline(name=name, due_at=due, done_at=None) for name, due in ticket._planned_deadlines.items()
    ]


# --- the audit trail: every change to a ticket is written through _audit_row -----------------
def _audit_row(
    ticket: Ticket,
    actor: Actor,
    now: datetime,
    action: str,
    field: str,
    *,
    old: object = None,
    new: object = None,
    booking_ref: str | None = None,
) -> dict:
    """The audit row of one change to `ticket`, under the actor's name and role."""
    return audit.values(
        actor=actor.name,
        actor_role=actor.role,
        action=action,
        ticket_id=ticket.id,
        booking_ref=booking_ref,
        field=field,
        old=old,
        new=new,
        at=now,
    )


def _audit(
    session: Session,
    ticket: Ticket,
    actor: Actor,
    now: datetime,
    action: str,
    field: str,
    *,
    old: object = None,
    new: object = None,
) -> None:
    """Add the audit row of one change (written with the session's next flush)."""
    session.add(AuditLog(**_audit_row(ticket, actor, now, action, field, old=old, new=new)))


def _change(
    session: Session, ticket: Ticket, actor: Actor, now: datetime, action: str, field: str, new
) -> None:
    """Set one field and audit it; nothing when it already has that value."""
    old = getattr(ticket, field)
    if old == new:
        return
    setattr(ticket, field, new)
    _audit(session, ticket, actor, now, action, field, old=old, new=new)


def _touch(session: Session, ticket: Ticket, actor: Actor, now: datetime) -> None:
    """Any change by a person counts as the first response; and the ticket was updated."""
    ticket.updated_at = now
    if actor.role != "service" and workflow.mark_first_response(ticket, now):
        _audit(session, ticket, actor, now, "first_response", "first_response_at", new=now)


def transition(
    session: Session,
    *,
    ticket: Ticket,
    status: str,
    reason: str | None,
    actor: Actor,
    now: datetime,
    plan: str | None = None,
) -> Ticket:
    workflow.check_transition(ticket, status, reason, plan)  # raises WorkflowError
    _touch(session, ticket, actor, now)
    if status == workflow.PLAN_MADE and plan:
        # The plan is the record of this step (internal: the traveller hears of the measures).
        ticket.notes.append(
            TicketNote(
                author=actor.display_name or actor.name,
                text=f"处理方案：{plan.strip()}",
                public=False,
                created_at=now,
            )
        )
    old = ticket.status
    workflow.apply_transition(ticket, status, reason, now)
    _audit(session, ticket, actor, now, "transition", "status", old=old, new=status)
    if status == workflow.REJECTED:
        _audit(session, ticket, actor, now, "transition", "rejection_reason", new=reason)
    session.flush()
    # The traveller hears of every move (DESIGN §6): the notice commits with the move itself.
    notifier.enqueue_status(session, ticket=ticket, now=now)
    return ticket


def add_note(
    session: Session, *, ticket: Ticket, text: str, public: bool, actor: Actor, now: datetime
) -> TicketNote:
    _touch(session, ticket, actor, now)
    note = TicketNote(author=actor.display_name or actor.name, text=text, public=public, created_at=now)
    ticket.notes.append(note)
    _audit(session, ticket, actor, now, "note", "public_note" if public else "note", new=text)
    session.flush()
    return note


def set_result(
    session: Session,
    *,
    ticket: Ticket,
    findings: str,
    measures: str,
    apology: str,
    actor: Actor,
    now: datetime,
) -> Ticket:
    if ticket.status not in workflow.OPEN:
        raise workflow.WorkflowError(
            "status", f"ticket is {ticket.status}; the result is final", "ticket_final"
        )
    _touch(session, ticket, actor, now)
    _change(session, ticket, actor, now, "result", "result_findings", findings)
    _change(session, ticket, actor, now, "result", "result_measures", measures)
    _change(session, ticket, actor, now, "result", "result_apology", apology)
    session.flush()
    return ticket


def set_feedback(
    session: Session,
    *,
    ticket: Ticket,
    confirmed: bool | None,
    satisfaction: int | None,
    actor: Actor,
    now: datetime,
) -> Ticket:
    _touch(session, ticket, actor, now)
    if confirmed is not None:
        _change(session, ticket, actor, now, "feedback", "confirmed", confirmed)
    if satisfaction is not None:
        _change(session, ticket, actor, now, "feedback", "satisfaction", satisfaction)
        if satisfaction <= workflow.LOW_SATISFACTION:
            _change(session, ticket, actor, now, "feedback", "second_follow_up", True)
    session.flush()
    return ticket


def record_survey(
    session: Session,
    *,
    ticket: Ticket,
    rating: int | None,
    comment: str | None,
    confirmed: bool | None,
    actor: Actor,
    now: datetime,
) -> Ticket:
    """The traveller's answer in chat. Their own rating replaces one noted at the follow-up
    call (the audit keeps the old value); a comment and a low rating become notes for the
    owner, who sees the second follow-up on the ticket."""
    set_feedback(session, ticket=ticket, confirmed=confirmed, satisfaction=rating, actor=actor, now=now)
    texts = []
    if comment:
        texts.append(f"旅客评价留言：{comment}")
    if rating is not None and rating <= workflow.LOW_SATISFACTION:
        owner = ticket.owner.display_name if ticket.owner else "负责人"
        texts.append(f"旅客满意度评分 {rating} 星（{rating * 20}/100），请{owner}进行二次回访。")
    for text in texts:
        ticket.notes.append(TicketNote(author="满意度调查", text=text, public=False, created_at=now))
        _audit(session, ticket, actor, now, "survey", "note", new=text)
    session.flush()
    return ticket


def set_delay(
    session: Session, *, ticket: Ticket, reason: str, expected_at: datetime, actor: Actor, now: datetime
) -> Ticket:
    if ticket.status not in workflow.OPEN:
        raise workflow.WorkflowError("status", f"ticket is {ticket.status}", "ticket_final")
    if expected_at <= now:
        raise workflow.WorkflowError(
            "expected_at", "the expected date must be in the future", "expected_at_past"
        )
    _touch(session, ticket, actor, now)
    _change(session, ticket, actor, now, "delay", "delay_reason", reason)
    _change(session, ticket, actor, now, "delay", "expected_completion_at", expected_at)
    session.flush()
    # "Cannot be solved in time" is told to the traveller with the reason and the new date.
    notifier.enqueue_delay(session, ticket=ticket, now=now)
    return ticket


COMPENSATION_STEPS = ("recorded", "verified", "planned", "agreed", "paid")


def next_compensation_step(current: str | None) -> str | None:
    """The step that may be recorded next (the first with none yet); None once paid."""
    position = COMPENSATION_STEPS.index(current) if current else -1
    return COMPENSATION_STEPS[position + 1] if position + 1 < len(COMPENSATION_STEPS) else None


def set_compensation(
    session: Session,
    *,
    ticket: Ticket,
    status: str,
    method: str | None,
    loss_type: str | None,
    amount_cny: int | None,
    actor: Actor,
    now: datetime,
) -> Ticket:
    """record -> verify -> plan -> agreement -> payment; one step at a time, never paid first."""
    current = ticket.compensation_status
    position = COMPENSATION_STEPS.index(current) if current else -1
    target = COMPENSATION_STEPS.index(status)
    if target not in (position, position + 1):
        expected = next_compensation_step(current) or COMPENSATION_STEPS[-1]
        raise workflow.WorkflowError(
            "status", f"compensation goes one step at a time; next is {expected}", "compensation_step"
        )
    if status in ("planned", "agreed", "paid") and not (
        (method or ticket.compensation_method) and (loss_type or ticket.compensation_loss_type)
    ):
        raise workflow.WorkflowError(
            "method", "a compensation plan needs a method and a loss type", "compensation_method_required"
        )
    if (
        current in ("agreed", "paid")
        and amount_cny is not None
        and amount_cny != ticket.compensation_amount_cny
    ):
        raise workflow.WorkflowError(
            "amount_cny", "the amount is fixed once the traveller agreed", "compensation_amount_fixed"
        )
    _touch(session, ticket, actor, now)
    _change(session, ticket, actor, now, "compensation", "compensation_status", status)
    for field, value in (
        ("compensation_method", method),
        ("compensation_loss_type", loss_type),
        ("compensation_amount_cny", amount_cny),
    ):
        if value is not None:
            _change(session, ticket, actor, now, "compensation", field, value)
    session.flush()
    return ticket


def escalate_if_overdue(session: Session, *, ticket: Ticket, actor: Actor, now: datetime) -> bool:
    change = workflow.escalate_if_overdue(ticket, now)
    if change is None:
        return False
    _audit(session, ticket, actor, now, "escalate", "authority_level", old=change[0], new=change[1])
    session.flush()
    return True
