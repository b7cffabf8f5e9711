"""Handoff data functions. They take a Session and keyword arguments, flush but never commit."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.core.security import Actor
from app.crud import audit
from app.crud import tickets as tickets_crud
from app.models import Handoff, Ticket
from app.models.handoff import OPEN_STATUSES, HandoffNote
from app.schemas.handoff import HandoffCreate
from app.services.masking import known_in_summary, mask_conversation_id, mask_text
from app.services.taxonomy import SENDER_LABELS, SEVERITY_RULES, Severity

SEVERITY_RANK = {"urgent": 0, "major": 1, "general": 2}
# Expected wait per place in the queue when there is no recent history to go by.
DEFAULT_MINUTES_PER_PLACE = 3.0
HISTORY = timedelta(hours=24)


class HandoffConflict(Exception):
    """The handoff is not in a state that allows this (taken by someone else, already ended)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class TakeResult:
    handoff: Handoff
    newly_taken: bool


def get(session: Session, *, handoff_id: int) -> Handoff | None:
    return session.get(Handoff, handoff_id, populate_existing=True)


def open_for_conversation(session: Session, *, conversation_id: str) -> Handoff | None:
    return session.scalar(
        select(Handoff).where(Handoff.conversation_id == conversation_id, Handoff.status.in_(OPEN_STATUSES))
    )


# Someone's safety is in danger now: urgent whatever the client sends (DESIGN §5 "Emergencies").
EMERGENCY = "emergency"


@dataclass(frozen=True)
class Opened:
    handoff: Handoff
    created: bool
    upgraded: bool = False  # an emergency raised the conversation's open handoff


def _severity(data: HandoffCreate, ticket: Ticket | None) -> str:
    if data.reason == EMERGENCY:
        return "urgent"
    if data.severity:
        return str(data.severity)
    if ticket is not None:
        return ticket.severity
    return "urgent" if data.reason == "urgent_complaint" else "general"


def _raise_to_emergency(
    session: Session, *, handoff: Handoff, data: HandoffCreate, actor: Actor, now: datetime
) -> bool:
    """An emergency on a conversation that already waits for (or talks to) an agent is not lost:
    its open handoff becomes urgent, red, reason emergency, at the head of the queue. Audited."""
    if data.reason != EMERGENCY or (handoff.reason == EMERGENCY and handoff.severity == "urgent"):
        return False
    old = f"#{handoff.id} {handoff.reason} {handoff.severity}"
    handoff.reason, handoff.severity = EMERGENCY, "urgent"
    handoff.colour = SEVERITY_RULES[Severity.URGENT].colour
    if handoff.ticket_no is None and data.ticket_no:
        handoff.ticket_no = data.ticket_no
    if data.summary:
        handoff.summary = {**(handoff.summary or {}), **data.summary}  # a new dict: JSON change tracking
    session.flush()
    _audit(session, handoff, actor, "handoff_upgrade", now, old=old, new=f"#{handoff.id} {EMERGENCY} urgent")
    return True


def open_handoff(
    session: Session, *, data: HandoffCreate, ticket: Ticket | None, actor: Actor, now: datetime
) -> Opened:
    """A new waiting handoff, or the conversation's open one (the bot may ask twice); an
    emergency raises that open one to urgent."""
    existing = open_for_conversation(session, conversation_id=data.conversation_id)
    if existing is not None:
        return Opened(
            existing, False, _raise_to_emergency(session, handoff=existing, data=data, actor=actor, now=now)
        )
    severity = _severity(data, ticket)
    handoff = Handoff(
        conversation_id=data.conversation_id,
        channel=data.channel,
        reason=data.reason,
        severity=severity,
        colour=SEVERITY_RULES[Severity(severity)].colour,
        ticket_no=data.ticket_no,
        summary=data.summary,
        status="waiting",
        created_at=now,
    )
    try:
        # The partial unique index settles a race between two requests for one conversation.
        with session.begin_nested():
            session.add(handoff)
            session.flush()
    except IntegrityError:
        existing = open_for_conversation(session, conversation_id=data.conversation_id)
        if existing is None:
            raise
        return Opened(
            existing, False, _raise_to_emergency(session, handoff=existing, data=data, actor=actor, now=now)
        )
    _audit(session, handoff, actor, "handoff_open", now, new=f"#{handoff.id} {data.reason}")
    return Opened(handoff, True)


def _priority():
    return case(SEVERITY_RANK, value=Handoff.severity, else_=3)


def queue(session: Session, *, statuses: tuple[str, ...]) -> list[Handoff]:
    """Ordered by severity (urgent first), then by how long the traveller has waited."""
    return list(
        session.scalars(
            select(Handoff)
            .where(Handoff.status.in_(statuses))
            .order_by(_priority(), Handoff.created_at, Handoff.id)
        )
    )


def position(session: Session, *, handoff: Handoff) -> int | None:
    """1-based place among waiting handoffs, or None once taken or ended."""
    if handoff.status != "waiting":
        return None
    rank = SEVERITY_RANK.get(handoff.severity, 3)
    ahead = session.scalar(
        select(func.count(Handoff.id)).where(
            Handoff.status == "waiting",
            Handoff.id != handoff.id,
            or_(
                _priority() < rank,
                and_(
                    _priority() == rank,
                    or_(
                        Handoff.created_at < handoff.created_at,
                        and_(Handoff.created_at == handoff.created_at, Handoff.id < handoff.id),
                    ),
                ),
            ),
        )
    )
    return int(ahead or 0) + 1


def minutes_per_place(session: Session, *, now: datetime) -> float:
    """Recent average time from opening to being taken (one place in the queue)."""
    recent = session.execute(
        select(Handoff.created_at, Handoff.taken_at).where(
            Handoff.taken_at.is_not(None), Handoff.taken_at >= now - HISTORY
        )
    ).all()
    waits = [(taken - created).total_seconds() / 60 for created, taken in recent if taken >= created]
    return max(sum(waits) / len(waits), 1.0) if waits else DEFAULT_MINUTES_PER_PLACE


def expected_wait_minutes(*, place: int | None, per_place: float, online: int) -> int | None:
    """Minutes until an agent takes the conversation at `place`, counting only the agents online
    now: they take conversations side by side, so with two online the first two places wait one
    turn, the next two two turns. None while nobody is online: there is no honest estimate, the
    traveller is told that no agent is online instead."""
    if place is None or online <= 0:
        return None
    turns = math.ceil(place / online)
    return max(1, math.ceil(per_place * turns))


def take(session: Session, *, handoff_id: int, actor: Actor, now: datetime) -> TakeResult:
    """Atomic: one conditional UPDATE, so of two agents taking at once exactly one wins."""
    result = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == "waiting")
        .values(status="active", agent=actor.name, agent_id=actor.user_id, taken_at=now)
        .execution_options(synchronize_session=False)
    )
    handoff = get(session, handoff_id=handoff_id)
    if handoff is None:
        raise LookupError(handoff_id)
    if result.rowcount == 1:
        _audit(session, handoff, actor, "handoff_take", now, new=f"#{handoff.id}")
        session.flush()
        return TakeResult(handoff, True)
    if handoff.status == "active" and handoff.agent_id == actor.user_id:
        return TakeResult(handoff, False)  # a double click by the holder
    if handoff.status == "active":
        raise HandoffConflict(f"该会话已由客服 {handoff.agent} 接入，不能重复接入")
    raise HandoffConflict("该会话已结束，不能接入")


def record_reply(session: Session, *, handoff: Handoff, actor: Actor, now: datetime) -> bool:
    """Audit an agent's message; the first one fixes the waiting time to first reply."""
    first = handoff.first_agent_reply_at is None
    if first:
        handoff.first_agent_reply_at = now
        handoff.first_reply_wait_seconds = max(0, int((now - handoff.created_at).total_seconds()))
    _audit(session, handoff, actor, "handoff_reply", now, new=f"#{handoff.id}")
    session.flush()
    return first


@dataclass(frozen=True)
class Claimed:
    handoff: Handoff
    previous: str  # the status it had: a failed notification puts it back


def claim_end(session: Session, *, handoff: Handoff, status: str, actor: Actor, now: datetime) -> Claimed:
    """Close or hand back, claimed before anyone is told: one conditional UPDATE on the status
    the caller saw (and, for an agent, on holding it), so of two concurrent ends exactly one
    wins and only the winner goes on to message the traveller. Audited; the caller commits
    before it calls Rasa."""
    seen = handoff.status
    if seen not in OPEN_STATUSES:
        raise HandoffConflict("该会话已结束")
    condition = [Handoff.id == handoff.id, Handoff.status == seen]
    if actor.role != "supervisor":
        condition += [Handoff.status == "active", Handoff.agent_id == actor.user_id]
    result = session.execute(
        update(Handoff)
        .where(*condition)
        .values(status=status, closed_at=now)
        .execution_options(synchronize_session=False)
    )
    handoff = get(session, handoff_id=handoff.id)
    if result.rowcount != 1:
        if handoff is None or handoff.status not in OPEN_STATUSES:
            raise HandoffConflict("该会话已结束")
        raise HandoffConflict("该会话状态刚刚发生变化，请刷新后重试")
    _audit(
        session,
        handoff,
        actor,
        "handoff_return" if status == "returned" else "handoff_close",
        now,
        old=seen,
        new=f"#{handoff.id} {status}",
    )
    session.flush()
    return Claimed(handoff, seen)


def undo_end(session: Session, *, claimed: Claimed, actor: Actor, now: datetime, why: str) -> bool:
    """Rasa could not be told: the claimed end is put back (only if nothing else changed it
    since), so the agent can try again. Audited as handoff_reopen."""
    handoff = claimed.handoff
    try:
        with session.begin_nested():
            result = session.execute(
                update(Handoff)
                .where(Handoff.id == handoff.id, Handoff.status == handoff.status)
                .values(status=claimed.previous, closed_at=None)
                .execution_options(synchronize_session=False)
            )
    except IntegrityError:  # the bot opened a new handoff for the conversation meanwhile
        return False
    if result.rowcount != 1:
        return False
    _audit(
        session,
        handoff,
        actor,
        "handoff_reopen",
        now,
        old=f"#{handoff.id} {handoff.status}",
        new=f"#{handoff.id} {claimed.previous} ({why})",
    )
    get(session, handoff_id=handoff.id)
    session.flush()
    return True


def add_note(session: Session, *, handoff: Handoff, text: str, actor: Actor, now: datetime) -> HandoffNote:
    """An agent's private note in the conversation: stored here, never sent to Rasa. Audited."""
    note = HandoffNote(
        handoff_id=handoff.id,
        author_id=actor.user_id,
        author=actor.name,
        author_name=actor.display_name or actor.name,
        text=text,
        created_at=now,
    )
    session.add(note)
    session.flush()
    _audit(session, handoff, actor, "handoff_note", now, new=f"#{handoff.id} note {note.id}")
    return note


def notes_for(session: Session, *, handoff_id: int) -> list[HandoffNote]:
    return list(
        session.scalars(
            select(HandoffNote)
            .where(HandoffNote.handoff_id == handoff_id)
            .order_by(HandoffNote.created_at, HandoffNote.id)
        )
    )


def store_transcript(
    session: Session,
    *,
    handoff: Handoff,
    transcript: list[dict],
    note: str | None,
    actor: Actor,
    now: datetime,
    known: tuple[str | None, ...] = (),
) -> Handoff:
    """After an end: the full transcript stays with the handoff (read under the transcript's
    own rules: the agent who held it and supervisors); the linked ticket gets it as a note with
    the personal data masked, since the ticket's readers include agents refused the transcript."""
    handoff.transcript = transcript
    ticket = _ticket(session, handoff)
    if ticket is not None:
        known = (*known, ticket.name, ticket.phone, *known_in_summary(handoff.summary))
        # The agents' private notes go with it, in time order: the ticket's readers are staff too.
        notes = [
            {"sender": "note", "text": n.text, "at": n.created_at.isoformat(), "agent": n.author_name}
            for n in notes_for(session, handoff_id=handoff.id)
        ]
        merged = sorted([*transcript, *notes], key=lambda line: str(line.get("at", "")))
        text = transcript_note(handoff, merged, note, handoff.status, known=known)
        tickets_crud.add_note(session, ticket=ticket, text=text, public=False, actor=actor, now=now)
    session.flush()
    return handoff


def transcript_note(
    handoff: Handoff,
    transcript: list[dict],
    note: str | None,
    status: str,
    known: tuple[str | None, ...] = (),
) -> str:
    """The transcript as a ticket note, personal data masked (the full one stays on the handoff)."""
    labels = SENDER_LABELS
    ending = "交还机器人" if status == "returned" else "人工结束"
    shown_id = mask_conversation_id(handoff.conversation_id, handoff.channel)  # as in the agents' queue
    lines = [
        f"人工会话记录（转接 #{handoff.id}，会话 {shown_id}，{ending}；"
        f"个人信息已隐去，完整记录见转接 #{handoff.id}）"
    ]
    if note:
        lines.append(f"客服备注：{mask_text(note, known)}")
    for line in transcript:
        who = labels.get(line.get("sender", ""), line.get("sender", ""))
        if line.get("agent"):
            who = f"{who}({line['agent']})"
        lines.append(f"[{line.get('at', '')}] {who}：{mask_text(line.get('text', ''), known)}")
    return "\n".join(lines)


def _ticket(session: Session, handoff: Handoff) -> Ticket | None:
    if not handoff.ticket_no:
        return None
    return tickets_crud.get_by_no(session, ticket_no=handoff.ticket_no)


def _audit(
    session: Session, handoff: Handoff, actor: Actor, action: str, now: datetime, old=None, new=None
) -> None:
    ticket = _ticket(session, handoff)
    audit.record(
        session,
        actor=actor.name,
        actor_role=actor.role,
        action=action,
        ticket_id=ticket.id if ticket else None,
        field="handoff",
        old=old,
        new=new,
        at=now,
    )
