"""What a supervisor reads of a disruption notice, and the audit of that read (as ticket_reads
does for tickets): the notice with each recipient's delivery, and what the recipients wrote back.
Recipients are masked for every person, supervisors included (as on handoffs); reading them is
recorded as read_masked_data (`disruption_recipients`, `disruption_replies`). Both commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.security import Actor
from app.crud import audit
from app.models import Booking, Disruption
from app.models.notification import FAILED, SENT, SKIPPED
from app.schemas.disruption import (
    AlternativeOut,
    DisruptionOut,
    DisruptionReplies,
    RecipientOut,
    RecipientReplies,
    ReplyOut,
)
from app.services import disruptions as service
from app.services.masking import mask_conversation_id, mask_name, mask_text
from app.services.rasa_client import ConversationNotFound, RasaClient, RasaUnavailable


def _bookings(session: Session, disruption: Disruption) -> dict[int, Booking]:
    """The recipients' bookings by id."""
    ids = {r.booking_id for r in disruption.recipients}
    return {b.id: b for b in session.scalars(select(Booking).where(Booking.id.in_(ids)))}


def _record_read(
    session: Session, disruption: Disruption, actor: Actor, field: str, now: datetime, **poll
) -> None:
    """A person's read of the recipients (always masked), committed; `poll` (recent, content)
    makes an identical read within a minute no new row."""
    audit.record_read(
        session,
        actor=actor.name,
        actor_role=actor.role,
        masked=True,
        field=field,
        what=str(disruption.id),
        at=now,
        **poll,
    )
    session.commit()


def disruption_out(session: Session, disruption: Disruption, now: datetime, *, detail: bool) -> DisruptionOut:
    """The notice with its delivery counts; with `detail`, each recipient (masked). Records nothing:
    the answer of a supervisor's own write, or the list (no recipients)."""
    recipients = disruption.recipients
    refs = _bookings(session, disruption)
    statuses = [r.notification.status if r.notification else FAILED for r in recipients]
    state = service.alternative_state(disruption, now)
    alternative = None
    if state is not None:
        alternative = AlternativeOut(
            due_at=disruption.alternative_due_at,
            state=state,
            offered_at=disruption.alternative_offered_at,
            offered_by=disruption.alternative_offered_by,
            note=disruption.alternative_note,
        )
    rows: list[RecipientOut] = []
    if detail:
        for r in recipients:
            booking, note = refs[r.booking_id], r.notification
            rows.append(
                RecipientOut(
                    booking_ref=booking.ref,
                    traveller=mask_name(booking.traveller_name) or "",
                    # Masked for every person, supervisors included (as on handoffs).
                    conversation=mask_conversation_id(r.conversation_id, r.channel) or "",
                    channel=r.channel,
                    status=note.status if note else FAILED,
                    route=note.route if note else None,
                    attempts=note.attempts if note else 0,
                    last_error=mask_text(note.last_error) if note else "notice row missing",
                    sent_at=note.sent_at if note else None,
                )
            )
    return DisruptionOut(
        id=disruption.id,
        product=disruption.product,
        departure_date=disruption.departure_date,
        return_date=disruption.return_date,
        text=disruption.text,
        created_by=disruption.created_by,
        created_at=disruption.created_at,
        in_trip=disruption.in_trip,
        alternative=alternative,
        recipients_total=len(recipients),
        delivered=statuses.count(SENT),
        pending=sum(s not in (SENT, FAILED, SKIPPED) for s in statuses),
        failed=sum(s in (FAILED, SKIPPED) for s in statuses),
        recipients=rows,
    )


def disruption_view(
    session: Session, disruption: Disruption, actor: Actor, now: datetime, *, recent: audit.RecentReads
) -> DisruptionOut:
    """The notice with its recipients. Their masked names and conversations are a read of
    personal data, recorded as the handoff and ticket views record theirs; a repeated identical
    read within a minute is not (audit.RecentReads)."""
    out = disruption_out(session, disruption, now, detail=True)
    content = audit.digest([r.model_dump(mode="json") for r in out.recipients])
    _record_read(session, disruption, actor, "disruption_recipients", now, recent=recent, content=content)
    return out


def disruption_replies(
    session: Session, disruption: Disruption, actor: Actor, now: datetime, *, rasa: RasaClient
) -> DisruptionReplies:
    """What each recipient wrote after the notice, read from their conversations (masked); a
    conversation Rasa cannot give says so instead of failing the page. Every read is recorded."""
    refs = _bookings(session, disruption)
    out: list[RecipientReplies] = []
    for r in disruption.recipients:
        booking = refs[r.booking_id]
        entry = RecipientReplies(
            booking_ref=booking.ref,
            conversation=mask_conversation_id(r.conversation_id, r.channel) or "",
            notice_delivered=False,
            replies=[],
        )
        if r.notification is not None:
            try:
                found = service.replies_in(
                    rasa.tracker(r.conversation_id),
                    r.notification.key,
                    known=(booking.traveller_name, booking.phone),
                )
            except (RasaUnavailable, ConversationNotFound) as error:
                entry.error = f"对话暂时无法读取（{type(error).__name__}）"
            else:
                entry.notice_delivered = found is not None
                entry.replies = [ReplyOut(text=x.text, at=x.at) for x in found or []]
        out.append(entry)
    _record_read(session, disruption, actor, "disruption_replies", now)
    return DisruptionReplies(disruption_id=disruption.id, recipients=out)
