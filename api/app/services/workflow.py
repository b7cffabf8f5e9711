"""The complaint workflow: forward-only status moves, close-out rules, deadline completion,
progress for the traveller and escalation of overdue tickets (DESIGN §3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app.models import Ticket
from app.services import deadlines as dl
from app.services.taxonomy import SEVERITY_RULES, Severity

FLOW = ("received", "investigating", "plan_made", "resolved", "followed_up", "closed")
REJECTED = "rejected"
OPEN = frozenset(FLOW[:-1])
STATUS_LABELS = {
    "received": "已受理",
    "investigating": "调查核实中",
    "plan_made": "已制定处理方案",
    "resolved": "处理方案已落实",
    "followed_up": "已回访",
    "closed": "已结案",
    "rejected": "不予受理",
}
# Reaching a status completes the deadline of that step (the 1/2/3/1 process) and more.
COMPLETES: dict[str, tuple[str, ...]] = {
    "investigating": ("investigated",),
    "plan_made": ("investigated", "plan_made", dl.ALTERNATIVE_PLAN),
    "resolved": ("investigated", "plan_made", dl.ALTERNATIVE_PLAN, "resolved", dl.RESOLUTION),
    "followed_up": (
        "investigated",
        "plan_made",
        dl.ALTERNATIVE_PLAN,
        "resolved",
        dl.RESOLUTION,
        "followed_up",
    ),
}
PLAN_MADE = "plan_made"
LOW_SATISFACTION = 2  # ratings at or below trigger a second follow-up


@dataclass
class WorkflowError(Exception):
    """A move or record the ticket's state forbids. `code` is stable for clients (the console
    says it in Chinese); `message` is for people reading the API in English."""

    field: str
    message: str
    code: str


def check_transition(ticket: Ticket, new_status: str, reason: str | None, plan: str | None = None) -> None:
    current = ticket.status
    if current not in OPEN:
        raise WorkflowError("status", f"ticket is {current}; no further moves", "ticket_final")
    if new_status == REJECTED:
        if not reason:
            raise WorkflowError("reason", "a rejection needs a reason", "reason_required")
        return
    if new_status not in FLOW or FLOW.index(new_status) != FLOW.index(current) + 1:
        expected = FLOW[FLOW.index(current) + 1]
        raise WorkflowError(
            "status", f"from {current} the only forward move is {expected} (or rejected)", "not_next_status"
        )
    if new_status == PLAN_MADE and not (plan and plan.strip()):
        # The handbooks' step is a written plan, not a click: it is kept as an internal note.
        raise WorkflowError("plan", "a plan needs its text", "plan_required")
    if new_status == "followed_up" and ticket.satisfaction is None:
        raise WorkflowError(
            "status", "the follow-up must record the traveller's satisfaction first", "satisfaction_required"
        )
    if new_status == "closed" and not (
        ticket.result_findings and ticket.result_measures and ticket.result_apology
    ):
        raise WorkflowError(
            "status", "closing needs the written result: findings, measures, apology", "result_required"
        )


def complete_deadlines(ticket: Ticket, names: tuple[str, ...] | frozenset[str], now: datetime) -> list[str]:
    done = []
    for deadline in ticket.deadlines:
        if deadline.name in names and deadline.done_at is None:
            deadline.done_at = now
            done.append(deadline.name)
    return done


def apply_transition(ticket: Ticket, new_status: str, reason: str | None, now: datetime) -> None:
    """Caller has run check_transition and writes the audit row."""
    ticket.status = new_status
    mark_first_response(ticket, now)
    if new_status == REJECTED:
        ticket.rejection_reason = reason
        # A decision was taken: nothing is pending any more.
        complete_deadlines(ticket, frozenset(dl.DEADLINE_NAMES), now)
        ticket.closed_at = now
    else:
        complete_deadlines(ticket, COMPLETES.get(new_status, ()), now)
        if new_status == "closed":
            ticket.closed_at = now


def mark_first_response(ticket: Ticket, now: datetime) -> bool:
    """The first action of a person on the ticket answers the traveller for the first time."""
    if ticket.first_response_at is not None:
        return False
    ticket.first_response_at = now
    complete_deadlines(ticket, (dl.FIRST_RESPONSE,), now)
    return True


def deadline_states(ticket: Ticket, now: datetime) -> list[tuple[str, datetime, datetime | None, str]]:
    """The ticket's deadlines in time order (due_at; the process order breaks ties)."""
    return [
        (d.name, d.due_at, d.done_at, dl.deadline_state(d.due_at, d.done_at, now))
        for d in sorted(ticket.deadlines, key=lambda d: (d.due_at, dl.DEADLINE_NAMES.index(d.name)))
    ]


def overall_deadline_state(ticket: Ticket, now: datetime) -> str:
    states = {state for *_, state in deadline_states(ticket, now)}
    if dl.BREACHED in states:
        return dl.BREACHED
    return dl.DUE if dl.DUE in states else dl.MET


def expected_completion(ticket: Ticket) -> datetime | None:
    if ticket.expected_completion_at is not None:
        return ticket.expected_completion_at
    for deadline in ticket.deadlines:
        if deadline.name == dl.RESOLUTION:
            return deadline.due_at
    return None


def base_authority_level(ticket: Ticket) -> int:
    return SEVERITY_RULES[Severity(ticket.severity)].authority_level


def escalate_if_overdue(ticket: Ticket, now: datetime) -> tuple[int, int] | None:
    """A traveller asking for progress past a deadline moves the ticket one authority level up
    (once; level 1 is the top). Returns (old, new) level when it changed."""
    if ticket.status not in OPEN or ticket.authority_level <= 1:
        return None
    if ticket.authority_level < base_authority_level(ticket):
        return None  # already escalated
    if overall_deadline_state(ticket, now) != dl.BREACHED:
        return None
    old = ticket.authority_level
    ticket.authority_level = old - 1
    return old, ticket.authority_level


def is_escalated(ticket: Ticket) -> bool:
    return ticket.authority_level < base_authority_level(ticket)


def derive_stage(departure: date, return_: date, now: datetime) -> str:
    """pre_trip before departure day, in_trip up to and including the return day (China dates)."""
    today = dl.china_today(now)
    if today < departure:
        return "pre_trip"
    return "in_trip" if today <= return_ else "post_trip"
