"""Turn tables into response models, masking personal fields when the caller may not see them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from app.models import Booking, Ticket
from app.schemas.booking import BookingOut
from app.schemas.ticket import (
    Compensation,
    DeadlineOut,
    NoteOut,
    Person,
    Progress,
    ResultOut,
    TicketOut,
    TicketProgressOut,
    TicketSummary,
)
from app.services import deadlines, workflow
from app.services.masking import mask_conversation_id, mask_evidence, mask_name, mask_phone, mask_text
from app.services.taxonomy import CATEGORY_DEPARTMENT, CATEGORY_LABELS, SEVERITY_RULES, Category, Severity


def booking_out(booking: Booking, *, masked: bool) -> BookingOut:
    out = BookingOut.model_validate(booking)
    if masked:
        out.traveller_name = mask_name(out.traveller_name) or ""
        out.phone = mask_phone(out.phone) or ""
        out.masked = True
    return out


def _owner(ticket: Ticket) -> Person | None:
    if ticket.owner is None:
        return None
    return Person(username=ticket.owner.username, display_name=ticket.owner.display_name)


def _deadlines(ticket: Ticket, now: datetime) -> list[DeadlineOut]:
    return [
        DeadlineOut(name=name, label=deadlines.deadline_label(name), due_at=due, done_at=done, state=state)
        for name, due, done, state in workflow.deadline_states(ticket, now)
    ]


def known_personal(
    ticket: Ticket, holder: Booking | tuple[str | None, str | None] | None = None
) -> tuple[str | None, ...]:
    """The names and numbers of this record (complainant; booking holder) to mask in its free text."""
    if isinstance(holder, Booking):
        holder = (holder.traveller_name, holder.phone)
    return (ticket.name, ticket.phone, *(holder or ()))


def _identity(text: str | None) -> str | None:
    return text


def progress(ticket: Ticket, *, mask=_identity) -> Progress:
    return Progress(
        status=ticket.status,
        status_label=workflow.STATUS_LABELS[ticket.status],
        measures=[mask(note.text) for note in ticket.notes if note.public],
        expected_completion=workflow.expected_completion(ticket) if ticket.status in workflow.OPEN else None,
        responsible_person=ticket.owner.display_name if ticket.owner else None,
        delay_reason=mask(ticket.delay_reason),
    )


def ticket_out(
    ticket: Ticket, *, masked: bool, now: datetime, known: Iterable[str | None] = (), staff: bool = True
) -> TicketOut:
    """The whole ticket. Masked (an agent who does not own it): name and phone, and every free
    text (description, place, time, evidence, notes, result, reasons, request) with the personal
    data in it masked; `known` adds the booking holder's name and phone. The conversation id is
    masked for every person (`staff`, the owner and supervisors too); only the bot gets it raw."""
    category, severity = Category(ticket.category), Severity(ticket.severity)
    rule = SEVERITY_RULES[severity]
    if masked:
        known = (*known_personal(ticket), *known)

        def mask(text: str | None) -> str | None:
            return mask_text(text, known)
    else:
        mask = _identity
    result = None
    if ticket.result_findings or ticket.result_measures or ticket.result_apology:
        result = ResultOut(
            findings=mask(ticket.result_findings),
            measures=mask(ticket.result_measures),
            apology=mask(ticket.result_apology),
        )
    compensation = None
    if ticket.compensation_status:
        compensation = Compensation(
            status=ticket.compensation_status,
            method=ticket.compensation_method,
            loss_type=ticket.compensation_loss_type,
            amount_cny=ticket.compensation_amount_cny,
        )
    return TicketOut(
        ticket_no=ticket.ticket_no,
        status=ticket.status,
        status_label=workflow.STATUS_LABELS[ticket.status],
        booking_ref=ticket.booking_ref,
        name=mask_name(ticket.name) if masked else ticket.name,
        phone=mask_phone(ticket.phone) if masked else ticket.phone,
        masked=masked,
        channel=ticket.channel,
        conversation_id=(
            mask_conversation_id(ticket.conversation_id, ticket.channel) if staff else ticket.conversation_id
        ),
        received_at=ticket.received_at,
        stage=ticket.stage,
        description=mask(ticket.description),
        occurred_at=mask(ticket.occurred_at),
        location=mask(ticket.location),
        evidence=[mask_evidence(e) for e in ticket.evidence or []] if masked else ticket.evidence or [],
        request=ticket.request,
        # Free text like the description: shown as the traveller wrote it (masked like it).
        request_detail=mask(ticket.request_detail),
        emotion=ticket.emotion,
        category=category,
        category_label=CATEGORY_LABELS[category],
        severity=severity,
        severity_label=rule.label,
        colour=rule.colour,
        department=ticket.department,
        department_name=CATEGORY_DEPARTMENT[category].name,
        authority_level=ticket.authority_level,
        confidence=ticket.confidence,
        classifier_reasons=[mask(r) for r in ticket.classifier_reasons or []],
        owner=_owner(ticket),
        is_repeat=ticket.is_repeat,
        calendar_fallback=ticket.calendar_fallback,
        first_response_at=ticket.first_response_at,
        deadlines=_deadlines(ticket, now),
        progress=progress(ticket, mask=mask),
        notes=[
            NoteOut(author=n.author, text=mask(n.text), public=n.public, created_at=n.created_at)
            for n in ticket.notes
        ],
        result=result,
        rejection_reason=mask(ticket.rejection_reason),
        confirmed=ticket.confirmed,
        satisfaction=ticket.satisfaction,
        second_follow_up=ticket.second_follow_up,
        compensation=compensation,
        updated_at=ticket.updated_at,
        closed_at=ticket.closed_at,
    )


def ticket_progress_out(ticket: Ticket, *, now: datetime) -> TicketProgressOut:
    category = Category(ticket.category)
    return TicketProgressOut(
        ticket_no=ticket.ticket_no,
        status=ticket.status,
        status_label=workflow.STATUS_LABELS[ticket.status],
        category=category,
        category_label=CATEGORY_LABELS[category],
        severity=ticket.severity,
        received_at=ticket.received_at,
        deadlines=_deadlines(ticket, now),
        progress=progress(ticket),
        escalated=workflow.is_escalated(ticket),
        authority_level=ticket.authority_level,
    )


def ticket_summary(ticket: Ticket, *, now: datetime, known: Iterable[str | None] = ()) -> TicketSummary:
    """A list row: always masked (name, phone, and the personal data in the traveller's words)."""
    return TicketSummary(
        ticket_no=ticket.ticket_no,
        status=ticket.status,
        booking_ref=ticket.booking_ref,
        name=mask_name(ticket.name),
        phone=mask_phone(ticket.phone) or "",
        stage=ticket.stage,
        category=ticket.category,
        severity=ticket.severity,
        request=ticket.request,
        request_detail=mask_text(ticket.request_detail, (*known_personal(ticket), *known))
        if ticket.request_detail
        else None,
        department=ticket.department,
        authority_level=ticket.authority_level,
        owner=_owner(ticket),
        is_repeat=ticket.is_repeat,
        received_at=ticket.received_at,
        deadline_state=workflow.overall_deadline_state(ticket, now),
    )
