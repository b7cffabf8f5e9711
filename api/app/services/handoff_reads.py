"""What a person reads of handoffs, and the audit of that read, in one place (as ticket_reads does
for tickets): one handoff, the queue, a transcript, and the handoff as its holder sees it on
taking or ending it. Personal data is shown or masked by who asks (`full_view`); every read by a
person is recorded in audit_log (read_personal_data / read_masked_data, fields `handoff`,
`handoffs`, `transcript`); the console's polls are recorded again only when what they show
changes, or after a minute (audit.RecentReads). The bot's reads are not recorded.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.core.security import Actor
from app.crud import audit, bookings
from app.crud import handoffs as crud
from app.crud import presence
from app.crud import tickets as tickets_crud
from app.models import Handoff
from app.models.handoff import OPEN_STATUSES
from app.schemas.handoff import HandoffOut, HandoffQueue, Transcript, TranscriptLineOut
from app.services.masking import (
    known_in_summary,
    mask_conversation_id,
    mask_conversation_keys,
    mask_summary,
    mask_text,
)
from app.services.rasa_client import ConversationNotFound, RasaClient, transcript_lines
from app.services.typing_relay import TypingRelay

# What changes with the clock or the desk, not with what the reader sees of the conversation:
# left out of the read audit's digest (identical polls are one row a minute).
VOLATILE = {"waiting_seconds", "expected_wait_minutes", "agents_online", "open_now", "next_opening"}


def full_view(handoff: Handoff, actor: Actor) -> bool:
    """Who sees a conversation's personal data (summary, transcript): supervisors, the bot (it
    reported them), and the agent who took it, while they hold it and after it ended. Everyone
    else sees them masked (and only while it waits, for the transcript). The conversation id
    (a WeChat openid on that channel) is masked for every person, holder and supervisors
    included: the relay goes by handoff id; only the bot gets it raw."""
    if actor.role in ("supervisor", "service"):
        return True
    return handoff.agent_id is not None and handoff.agent_id == actor.user_id and handoff.status != "waiting"


def known_in(session: Session, handoff: Handoff) -> tuple[str | None, ...]:
    """Names and numbers of this conversation's traveller (summary, linked ticket, booking holder),
    masked wherever they turn up in free text."""
    known: list[str | None] = list(known_in_summary(handoff.summary))
    ticket = tickets_crud.get_by_no(session, ticket_no=handoff.ticket_no) if handoff.ticket_no else None
    if ticket is not None:
        known += [ticket.name, ticket.phone]
    ref = (handoff.summary or {}).get("booking_ref") or (ticket.booking_ref if ticket else None)
    if isinstance(ref, str) and ref:
        holder = bookings.get_by_ref(session, ref=ref)
        if holder is not None:
            known += [holder.traveller_name, holder.phone]
    return tuple(known)


def handoff_out(
    session: Session,
    handoff: Handoff,
    now: datetime,
    *,
    staffing: presence.Staffing,
    masked: bool = False,
    staff: bool = True,
    model=HandoffOut,
    per_place: float | None = None,
    known: tuple[str | None, ...] | None = None,
    **extra,
):
    """The handoff with its place in the queue and the desk's availability; records nothing."""
    place = crud.position(session, handoff=handoff)
    if place is not None and per_place is None:
        per_place = crud.minutes_per_place(session, now=now)
    until = handoff.taken_at or handoff.closed_at or now
    if masked and known is None:
        known = known_in(session, handoff)
    return model(
        id=handoff.id,
        conversation_id=(
            mask_conversation_id(handoff.conversation_id, handoff.channel)
            if staff
            else handoff.conversation_id
        ),
        channel=handoff.channel,
        reason=handoff.reason,
        severity=handoff.severity,
        colour=handoff.colour,
        ticket_no=handoff.ticket_no,
        summary=(
            mask_summary(handoff.summary, known or (), handoff.channel)
            if masked
            else mask_conversation_keys(handoff.summary, handoff.channel)
            if staff
            else handoff.summary
        ),
        status=handoff.status,
        agent=handoff.agent,
        created_at=handoff.created_at,
        taken_at=handoff.taken_at,
        first_agent_reply_at=handoff.first_agent_reply_at,
        first_reply_wait_seconds=handoff.first_reply_wait_seconds,
        closed_at=handoff.closed_at,
        waiting_seconds=max(0, int((until - handoff.created_at).total_seconds())),
        position=place,
        # Out of hours nobody takes the queue until the next opening: no estimate in minutes.
        expected_wait_minutes=(
            crud.expected_wait_minutes(place=place, per_place=per_place or 0, online=staffing.online)
            if staffing.open_now
            else None
        ),
        masked=masked,
        agents_online=staffing.online,
        open_now=staffing.open_now,
        opening_hours=staffing.opening_hours,
        next_opening=staffing.next_opening,
        **extra,
    )


def _record_read(
    session: Session,
    actor: Actor,
    handoff: Handoff,
    *,
    masked: bool,
    field: str,
    now: datetime,
    recent: audit.RecentReads | None = None,
    content=None,
) -> None:
    """Audit a person's read of a handoff (summary or transcript), with its linked ticket;
    identical polls are one row a minute when `recent` is given. Commits when it wrote."""
    ticket = tickets_crud.get_by_no(session, ticket_no=handoff.ticket_no) if handoff.ticket_no else None
    if audit.record_read(
        session,
        actor=actor.name,
        actor_role=actor.role,
        masked=masked,
        field=field,
        what=f"#{handoff.id}",
        ticket_id=ticket.id if ticket else None,
        at=now,
        recent=recent,
        content=audit.digest(content) if content is not None else None,
    ):
        session.commit()


def handoff_view(
    session: Session,
    handoff: Handoff,
    actor: Actor,
    now: datetime,
    *,
    staffing: presence.Staffing,
    recent: audit.RecentReads,
) -> HandoffOut:
    """One handoff as the caller may see it (the bot: its own conversation, raw)."""
    masked = not full_view(handoff, actor)
    out = handoff_out(session, handoff, now, staffing=staffing, masked=masked, staff=actor.role != "service")
    _record_read(
        session,
        actor,
        handoff,
        masked=masked,
        field="handoff",
        now=now,
        recent=recent,
        content=out.model_dump(mode="json", exclude=VOLATILE),
    )
    return out


def taken_view(
    session: Session, handoff: Handoff, actor: Actor, now: datetime, *, staffing: presence.Staffing
) -> HandoffOut:
    """The handoff its taker now holds: taking it shows it unmasked, recorded every time."""
    _record_read(session, actor, handoff, masked=False, field="handoff", now=now)
    return handoff_out(session, handoff, now, staffing=staffing)


def ended_view(
    session: Session, handoff: Handoff, actor: Actor, now: datetime, *, staffing: presence.Staffing
) -> HandoffOut:
    """The handoff its holder (or a supervisor) has just ended, unmasked; the read is recorded
    in the same commit as what ending it stored (the transcript), without the linked ticket."""
    audit.record_read(
        session,
        actor=actor.name,
        actor_role=actor.role,
        masked=False,
        field="handoff",
        what=f"#{handoff.id}",
        at=now,
    )
    session.commit()
    return handoff_out(session, handoff, now, staffing=staffing)


def handoff_queue(
    session: Session,
    rows: list[Handoff],
    actor: Actor,
    now: datetime,
    *,
    staffing: presence.Staffing,
    recent: audit.RecentReads,
) -> HandoffQueue:
    """The queue: each handoff masked or not by who asks. The console polls it every 2 s: one
    row per view shown (unmasked, masked), again when what it shows changes or after a minute."""
    per_place = crud.minutes_per_place(session, now=now)
    items = [
        handoff_out(session, h, now, staffing=staffing, masked=not full_view(h, actor), per_place=per_place)
        for h in rows
    ]
    wrote = False
    for masked in (False, True):
        shown = [i for i in items if i.masked is masked]
        if shown:
            wrote |= (
                audit.record_read(
                    session,
                    actor=actor.name,
                    actor_role=actor.role,
                    masked=masked,
                    field="handoffs",
                    what=",".join(f"#{i.id}" for i in shown),
                    at=now,
                    recent=recent,
                    content=audit.digest([i.model_dump(mode="json", exclude=VOLATILE) for i in shown]),
                )
                is not None
            )
    if wrote:
        session.commit()
    return HandoffQueue(
        items=items,
        waiting=sum(1 for h in rows if h.status == "waiting"),
        active=sum(1 for h in rows if h.status == "active"),
    )


def transcript(
    session: Session,
    handoff: Handoff,
    actor: Actor,
    now: datetime,
    *,
    full: bool,
    rasa: RasaClient,
    typing: TypingRelay,
    recent: audit.RecentReads,
) -> Transcript:
    """The conversation: stored once the handoff has ended, else read from Rasa (with what the
    traveller wrote while waiting and whether they are typing), the agents' notes among its
    lines; masked unless `full`. Raises RasaUnavailable when Rasa does not answer."""
    known = () if full else known_in(session, handoff)
    conversation_id = handoff.conversation_id
    shown_id = mask_conversation_id(conversation_id, handoff.channel)  # for every person, holder included
    # Read before the transaction ends below (the Rasa call does not hold it).
    notes = [
        TranscriptLineOut(
            sender="note",
            text=note.text if full else mask_text(note.text, known),
            at=note.created_at,
            agent=note.author_name,
        )
        for note in crud.notes_for(session, handoff_id=handoff.id)
    ]
    if handoff.status not in OPEN_STATUSES and handoff.transcript is not None:
        lines = _interleave([TranscriptLineOut(**line) for line in handoff.transcript], notes)
        out = Transcript(
            handoff_id=handoff.id,
            conversation_id=shown_id,
            status=handoff.status,
            lines=lines,
            source="stored",
        )
    else:
        # The console polls this every second and Rasa may be slow: end the transaction first,
        # so no database lock or pooled connection is held while Rasa answers.
        session.commit()
        try:
            tracker = rasa.tracker(conversation_id)
        except ConversationNotFound:
            tracker = {"events": []}
        lines = [
            TranscriptLineOut(
                sender=line.sender,
                text=line.text if full else mask_text(line.text, known),
                at=line.at,
                agent=line.agent,
                buttons=list(line.buttons),
            )
            for line in transcript_lines(tracker)
        ]
        out = Transcript(
            handoff_id=handoff.id,
            conversation_id=shown_id,
            status=handoff.status,
            paused=tracker.get("paused"),
            lines=_interleave(lines, notes),
            source="rasa",
            traveller_typing=typing.traveller(conversation_id, handoff.channel),
        )
    _record_read(
        session,
        actor,
        handoff,
        masked=not full,
        field="transcript",
        now=now,
        recent=recent,
        content=[out.source, len(out.lines), out.lines[-1].model_dump(mode="json") if out.lines else None],
    )
    return out


def _interleave(lines: list[TranscriptLineOut], notes: list[TranscriptLineOut]) -> list[TranscriptLineOut]:
    """The agents' private notes among the conversation's lines by time (a note written at the
    same moment as a message comes after it: sorted() is stable)."""
    return sorted([*lines, *notes], key=lambda line: line.at) if notes else lines
