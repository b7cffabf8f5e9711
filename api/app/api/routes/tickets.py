from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, HTTPException, Query, Response, status

from app.api.deps import (
    AnyCaller,
    ClassifierDep,
    ClientAddressDep,
    NowDep,
    ServiceOnly,
    SessionDep,
    SettingsDep,
    Staff,
)
from app.api.clients import NotifierDep
from app.api.errors import DomainErrorRoute, field_error, personal_number_search
from app.api.ticket_deps import CallerTicket, NoPath, StaffTicket
from app.api.verify import check_phone_digits, issue_verification_grant
from app.crud import ticket_queries
from app.crud import tickets as crud
from app.schemas.notice import NoticeOut
from app.schemas.survey import SurveyIn, SurveyOut
from app.schemas.ticket import (
    Compensation,
    DeadlineState,
    DelayIn,
    FeedbackIn,
    NoteIn,
    ResultParts,
    Status,
    TicketCreate,
    TicketOut,
    TicketPage,
    TicketVerified,
    TicketVerify,
    TransitionIn,
)
from app.services.intake import IdempotencyConflict, UnknownBooking, open_ticket
from app.services.notifier import deliver_after, notifications_of
from app.services.taxonomy import Category, Severity
from app.services.ticket_reads import ticket_page
from app.services.views import ticket_progress_out

log = logging.getLogger(__name__)
# WorkflowError from crud (a move or record the ticket's state forbids): 409 or 422, in one place.
router = APIRouter(prefix="/tickets", tags=["tickets"], route_class=DomainErrorRoute)


def _end_transaction(session) -> None:
    """Before a background delivery: the request's session stays open until after the background
    tasks, and on SQLite its read transaction (BEGIN IMMEDIATE) holds the write lock the
    delivery's claim needs."""
    session.commit()


IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="retries with the same key return the same ticket",
    ),
]
NOT_FOUND = {404: {"description": "unknown ticket"}}
SERVICE_SCOPE = {
    403: {
        "description": (
            "service: no grant for this ticket and sender (X-Verification-Grant, X-Sender-Id) and the ticket "
            "was not opened from that conversation; agent: not the ticket's owner"
        )
    }
}


@router.post(
    "",
    summary="Create a complaint ticket",
    status_code=status.HTTP_201_CREATED,
    response_model=TicketOut,
    responses={
        200: {
            "model": TicketOut,
            "description": "replay of an earlier request with the same Idempotency-Key",
        },
        409: {"description": "Idempotency-Key reused with a different body"},
    },
)
def create_ticket(
    body: TicketCreate,
    caller: AnyCaller,
    session: SessionDep,
    classifier: ClassifierDep,
    now: NowDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> TicketOut:
    try:
        intake = open_ticket(
            session, data=body, caller=caller, classifier=classifier, now=now, idempotency_key=idempotency_key
        )
    except IdempotencyConflict as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    except UnknownBooking:
        raise field_error("body", "booking_ref", "unknown booking number") from None
    if intake.replayed:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    return intake.ticket


@router.get(
    "",
    summary="List tickets with filters and paging (phones and names always masked)",
    response_model=TicketPage,
    description="Supervisors see every ticket; agents may pass mine=true for their own.",
)
def list_tickets(
    caller: Staff,
    session: SessionDep,
    now: NowDep,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    category: Category | None = None,
    severity: Severity | None = None,
    department: str | None = None,
    deadline_state: DeadlineState | None = None,
    mine: bool = False,
    unassigned: Annotated[bool, Query(description="tickets without an owner")] = False,
    overdue: Annotated[bool, Query(description="open tickets with a step past its deadline now")] = False,
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description=(
                "ticket number, booking number or words of the complaint "
                "(not phone or ID numbers: 422 personal_number)"
            ),
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    # bounded: beyond INTEGER the database driver overflows (500; schemathesis found it)
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> TicketPage:
    try:
        rows, total = ticket_queries.list_tickets(
            session,
            now=now,
            status=status_,
            category=category,
            severity=severity,
            department=department,
            deadline_state=deadline_state,
            owner_id=caller.user_id if mine else None,
            unassigned=unassigned,
            overdue=overdue,
            q=q,
            # An agent's search of the words covers the tickets they own (see ticket_queries).
            text_owner_id=None if caller.role == "supervisor" else caller.user_id,
            limit=limit,
            offset=offset,
        )
    except ticket_queries.PersonalNumberSearch:
        raise personal_number_search() from None
    return ticket_page(session, rows=rows, total=total, limit=limit, offset=offset, actor=caller, now=now)


@router.get(
    "/{ticket_no}",
    summary="A ticket with its deadlines and progress",
    response_model=TicketOut,
    description=(
        "The service (the bot) reads only a ticket opened from its conversation (X-Sender-Id) or "
        "with the grant of a right phone check for it (X-Verification-Grant)."
    ),
    responses={**SERVICE_SCOPE, **NOT_FOUND},
)
def get_ticket(access: CallerTicket) -> TicketOut:
    return access.view(access.get())


@router.post(
    "/{ticket_no}/verify",
    summary="Progress for the traveller once the last 4 phone digits match (bot's check_ticket)",
    response_model=TicketVerified,
    description=(
        "Asking for progress after a deadline passed escalates the ticket one authority level. The "
        "grant returned reads the ticket (GET) for this sender until it expires."
    ),
    responses={
        403: {"description": "phone does not match"},
        429: {"description": "too many misses for this ticket; Retry-After says when to try again"},
        **NOT_FOUND,
    },
)
def verify_ticket(
    ticket_no: NoPath,
    body: TicketVerify,
    caller: ServiceOnly,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    address: ClientAddressDep,
) -> TicketVerified:
    ticket = crud.get_by_no(session, ticket_no=ticket_no)
    check_phone_digits(
        session,
        settings,
        what="ticket",
        number=ticket_no,
        phone=ticket.phone if ticket else None,
        last4=body.phone_last4,
        now=now,
        sender_id=body.sender_id,
        address=address,
    )
    if crud.escalate_if_overdue(session, ticket=ticket, actor=caller, now=now):
        session.commit()
    grant, expires_at = issue_verification_grant(
        settings, what="ticket", number=ticket_no, sender_id=body.sender_id, now=now
    )
    progress = ticket_progress_out(ticket, now=now)
    return TicketVerified(**dict(progress), grant=grant, grant_expires_at=expires_at)


@router.post(
    "/{ticket_no}/transitions",
    summary="Move a ticket forward (or reject it with a reason)",
    response_model=TicketOut,
    responses={409: {"description": "move not allowed from the current status"}, **NOT_FOUND},
)
def transition(
    body: TransitionIn, access: StaffTicket, background: BackgroundTasks, notifier: NotifierDep
) -> TicketOut:
    ticket, now = access.owned(), access.now
    crud.transition(
        access.session,
        ticket=ticket,
        status=body.status,
        reason=body.reason,
        plan=body.plan,
        actor=access.caller,
        now=now,
    )
    out = access.saved(ticket)
    _end_transaction(access.session)
    # The notice was committed with the move; it goes out after the answer (retried if need be).
    background.add_task(deliver_after, notifier, lambda: now)
    return out


@router.post(
    "/{ticket_no}/notes",
    summary="Add a note; public notes are measures shown to the traveller",
    status_code=status.HTTP_201_CREATED,
    response_model=TicketOut,
    responses=NOT_FOUND,
)
def add_note(body: NoteIn, access: StaffTicket) -> TicketOut:
    ticket = access.owned()
    crud.add_note(
        access.session, ticket=ticket, text=body.text, public=body.public, actor=access.caller, now=access.now
    )
    return access.saved(ticket)


@router.put(
    "/{ticket_no}/result",
    summary="Write the result: findings, measures, thanks and apology",
    response_model=TicketOut,
    responses=NOT_FOUND,
)
def set_result(body: ResultParts, access: StaffTicket) -> TicketOut:
    ticket = access.owned()
    crud.set_result(
        access.session,
        ticket=ticket,
        findings=body.findings,
        measures=body.measures,
        apology=body.apology,
        actor=access.caller,
        now=access.now,
    )
    return access.saved(ticket)


@router.patch(
    "/{ticket_no}/feedback",
    summary="Record the traveller's confirmation and 1-5 satisfaction",
    response_model=TicketOut,
    description=(
        "The service (bot) may set it for its conversation's ticket (as for GET), as "
        "may the owner or a supervisor."
    ),
    responses={**SERVICE_SCOPE, **NOT_FOUND},
)
def set_feedback(body: FeedbackIn, access: CallerTicket) -> TicketOut:
    ticket = access.owned()
    crud.set_feedback(
        access.session,
        ticket=ticket,
        confirmed=body.confirmed,
        satisfaction=body.satisfaction,
        actor=access.caller,
        now=access.now,
    )
    return access.saved(ticket)


@router.put(
    "/{ticket_no}/delay",
    summary="Mark as not solvable in time: reason and expected date",
    response_model=TicketOut,
    responses=NOT_FOUND,
)
def set_delay(
    body: DelayIn, access: StaffTicket, background: BackgroundTasks, notifier: NotifierDep
) -> TicketOut:
    ticket, now = access.owned(), access.now
    if body.expected_at.tzinfo is None:
        raise field_error("body", "expected_at", "give a timezone, e.g. +08:00")
    crud.set_delay(
        access.session,
        ticket=ticket,
        reason=body.reason,
        expected_at=body.expected_at,
        actor=access.caller,
        now=now,
    )
    out = access.saved(ticket)
    _end_transaction(access.session)
    background.add_task(deliver_after, notifier, lambda: now)
    return out


@router.put(
    "/{ticket_no}/compensation",
    summary="Advance compensation: recorded, verified, planned, agreed, paid",
    response_model=TicketOut,
    responses={409: {"description": "step out of order"}, **NOT_FOUND},
)
def set_compensation(body: Compensation, access: StaffTicket) -> TicketOut:
    ticket = access.owned()
    crud.set_compensation(
        access.session,
        ticket=ticket,
        status=body.status,
        method=body.method,
        loss_type=body.loss_type,
        amount_cny=body.amount_cny,
        actor=access.caller,
        now=access.now,
    )
    return access.saved(ticket)


@router.post(
    "/{ticket_no}/survey",
    summary="The traveller's answer to the result and the satisfaction survey (1-5 stars, comment)",
    response_model=SurveyOut,
    description=(
        "The bot sends what the traveller answered in chat, for its conversation's ticket (as for "
        "GET). A rating replaces an earlier one (audited); 1 or 2 stars open a second follow-up "
        "for the owner. The score is out of 100 (stars x 20)."
    ),
    responses={**SERVICE_SCOPE, **NOT_FOUND},
)
def answer_survey(body: SurveyIn, access: CallerTicket) -> SurveyOut:
    ticket = access.owned()
    crud.record_survey(
        access.session,
        ticket=ticket,
        rating=body.rating,
        comment=body.comment,
        confirmed=body.confirmed,
        actor=access.caller,
        now=access.now,
    )
    access.session.commit()
    return SurveyOut(
        ticket_no=ticket.ticket_no,
        confirmed=ticket.confirmed,
        satisfaction=ticket.satisfaction,
        score=ticket.satisfaction * 20 if ticket.satisfaction is not None else None,
        second_follow_up=ticket.second_follow_up,
    )


@router.get(
    "/{ticket_no}/notices",
    summary="The notices sent to the traveller about this ticket, with each send's outcome",
    response_model=list[NoticeOut],
    responses=NOT_FOUND,
)
def list_notices(access: StaffTicket) -> list[NoticeOut]:
    ticket = access.get()
    return [
        NoticeOut(
            kind=row.kind,
            event=row.key.split(":", 1)[1],
            text=row.text,
            status=row.status,
            route=row.route,
            attempts=row.attempts,
            last_error=row.last_error,
            created_at=row.created_at,
            next_attempt_at=row.next_attempt_at,
            sent_at=row.sent_at,
        )
        for row in notifications_of(access.session, ticket_id=ticket.id)
    ]
