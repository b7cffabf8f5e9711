from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Header, HTTPException, Path, Query, Response, status

from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from app.api.deps import (
    AnyCaller,
    ClassifierDep,
    ClientAddressDep,
    GrantHeader,
    NowDep,
    SenderHeader,
    ServiceOnly,
    SessionDep,
    SettingsDep,
    Staff,
)
from app.api.errors import field_error, not_found, personal_number_search, workflow_error
from app.api.verify import check_phone_digits, has_grant, issue_verification_grant, no_grant
from app.crud import audit, bookings, ticket_queries
from app.crud import tickets as crud
from app.crud.tickets import Actor, Routing
from app.models import Booking, Ticket
from app.schemas.common import TICKET_NO_PATTERN
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
from app.services.notifier import Notifier, deliver_after, notifications_of, notifier_for
from app.services.rasa_client import RasaClient, get_rasa_client
from app.services.taxonomy import Category, Severity
from app.services.views import ticket_out, ticket_progress_out, ticket_summary
from app.services.workflow import WorkflowError

log = logging.getLogger(__name__)
router = APIRouter(prefix="/tickets", tags=["tickets"])


def get_notifier(
    session: SessionDep, rasa: Annotated[RasaClient, Depends(get_rasa_client)]
) -> Notifier | None:
    return notifier_for(session, rasa)


NotifierDep = Annotated[Notifier | None, Depends(get_notifier)]


def _end_transaction(session) -> None:
    """Before a background delivery: the request's session stays open until after the background
    tasks, and on SQLite its read transaction (BEGIN IMMEDIATE) holds the write lock the
    delivery's claim needs."""
    session.commit()


NoPath = Annotated[str, Path(pattern=TICKET_NO_PATTERN, description="C + YYYYMMDD + sequence")]
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


def _load(session, ticket_no: str) -> Ticket:
    ticket = crud.get_by_no(session, ticket_no=ticket_no)
    if ticket is None:
        raise not_found("ticket")
    return ticket


def _load_for(
    session, settings, ticket_no: str, caller: Actor, grant: str | None, sender_id: str | None, now: datetime
) -> Ticket:
    """The ticket, if the caller may see it. The service (the bot) acts for one conversation
    (X-Sender-Id): it reads a ticket opened from that conversation, or one whose phone digits
    were checked in it (the grant of /verify). A forged request naming another ticket gets 403,
    whether the ticket exists or not."""
    if caller.role != "service":
        return _load(session, ticket_no)
    if has_grant(settings, grant, sender_id, what="ticket", number=ticket_no, now=now):
        return _load(session, ticket_no)
    ticket = crud.get_by_no(session, ticket_no=ticket_no)
    if ticket is None or not sender_id or ticket.conversation_id != sender_id:
        raise no_grant("check the phone digits first, or ask from the conversation that opened the ticket")
    return ticket


def _may_change(ticket: Ticket, actor: Actor) -> None:
    # One named owner handles a ticket from first contact to close; supervisors may step in.
    if actor.role == "agent" and ticket.owner_id != actor.user_id:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "only the ticket's owner or a supervisor may change it"
        )


def _view(session, ticket: Ticket, actor: Actor, now: datetime) -> TicketOut:
    """Agents see personal data (name, phone, and what the free text holds) only on their own
    tickets; supervisors and the service see it all. Every read by a person is audited:
    read_personal_data when unmasked, read_masked_data when masked."""
    masked = actor.role == "agent" and ticket.owner_id != actor.user_id
    known: tuple[str | None, ...] = ()
    if masked and ticket.booking_ref:
        holder = bookings.get_by_ref(session, ref=ticket.booking_ref)
        known = (holder.traveller_name, holder.phone) if holder else ()
    if audit.record_read(
        session,
        actor=actor.name,
        actor_role=actor.role,
        masked=masked,
        field="ticket",
        what=ticket.ticket_no,
        ticket_id=ticket.id,
        at=now,
    ):
        session.commit()
    out = ticket_out(ticket, masked=masked, now=now, known=known, staff=actor.role != "service")
    if actor.role != "service":  # the console's workspace: the allowed moves and the history
        out.next_statuses = ticket_queries.next_statuses(ticket)
        out.history = ticket_queries.history(session, ticket)
    return out


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
    idempotency_key: IdempotencyHeader = None,
) -> TicketOut:
    # Classify before touching the database: on SQLite the first statement takes the write lock.
    if body.category is None or body.severity is None:
        result = classifier.classify(body.description)
        routing = Routing(
            category=body.category or result.category,
            severity=body.severity or result.severity,
            confidence=result.confidence if body.category is None else None,
            reasons=list(result.reasons),
        )
    else:
        routing = Routing(body.category, body.severity, None, ["category and severity given by the caller"])

    fingerprint = crud.request_fingerprint(body)
    if idempotency_key:
        # Claim the key first (one statement). If it exists this is a retry: answer as before.
        # On PostgreSQL a concurrent claim of the same key waits here for the other transaction.
        if not crud.claim_idempotency_key(session, key=idempotency_key, fingerprint=fingerprint, now=now):
            replay = _replay(session, idempotency_key, fingerprint, now, staff=caller.role != "service")
            if replay is None:
                raise HTTPException(
                    status.HTTP_409_CONFLICT, "request with this Idempotency-Key is in progress"
                )
            return replay

    trip = None
    if body.booking_ref:
        trip = bookings.get_trip_dates(session, ref=body.booking_ref)
        if trip is None:
            raise field_error("body", "booking_ref", "unknown booking number")
    ticket = crud.create_ticket(session, data=body, routing=routing, trip=trip, actor=caller, now=now)
    if idempotency_key:
        crud.bind_idempotency_key(session, key=idempotency_key, ticket_id=ticket.id)
    session.commit()
    log.info(
        "ticket %s created by %s: %s/%s", ticket.ticket_no, caller.name, ticket.category, ticket.severity
    )
    # The children just written are known: skip reading them back for the response. The ticket
    # leaves the session first, so these copies can never be flushed (a later request reloads).
    session.expunge(ticket)
    set_committed_value(ticket, "notes", [])
    set_committed_value(ticket, "deadlines", crud.deadlines_as_written(ticket))
    # Hot path: serialise once (FastAPI would dump and re-validate the model for response_model).
    out = ticket_out(ticket, masked=False, now=now, staff=caller.role != "service")
    return Response(out.model_dump_json(), status_code=201, media_type="application/json")


def _replay(session, key: str, fingerprint: str, now: datetime, *, staff: bool) -> Response | None:
    row = crud.get_idempotency_key(session, key=key)
    if row is None or row[1] is None:
        return None
    if row[0] != fingerprint:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "Idempotency-Key was used with a different request body"
        )
    ticket = session.get(Ticket, row[1])
    return Response(
        ticket_out(ticket, masked=False, now=now, staff=staff).model_dump_json(),
        status_code=200,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"},
    )


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
                "ticket number, booking number or words of the complaint (not phone or ID numbers: 422 personal_number)"
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
    refs = {t.booking_ref for t in rows if t.booking_ref}
    holders = (
        {
            ref: (name, phone)
            for ref, name, phone in session.execute(
                select(Booking.ref, Booking.traveller_name, Booking.phone).where(Booking.ref.in_(refs))
            )
        }
        if refs
        else {}
    )
    items = [ticket_summary(t, now=now, known=holders.get(t.booking_ref, ())) for t in rows]
    for item, t in zip(items, rows):
        item.next_due_at, item.overdue = (
            ticket_queries.next_open_deadline(t),
            ticket_queries.is_overdue(t, now),
        )
    # Lists are always masked; who listed which tickets is recorded all the same.
    if audit.record_read(
        session,
        actor=caller.name,
        actor_role=caller.role,
        masked=True,
        field="tickets",
        what=",".join(t.ticket_no for t in rows) or None,
        at=now,
    ):
        session.commit()
    return TicketPage(items=items, total=total, limit=limit, offset=offset)


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
def get_ticket(
    ticket_no: NoPath,
    caller: AnyCaller,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    grant: GrantHeader = None,
    sender_id: SenderHeader = None,
) -> TicketOut:
    return _view(session, _load_for(session, settings, ticket_no, caller, grant, sender_id, now), caller, now)


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
    ticket_no: NoPath,
    body: TransitionIn,
    caller: Staff,
    session: SessionDep,
    now: NowDep,
    background: BackgroundTasks,
    notifier: NotifierDep,
) -> TicketOut:
    ticket = _load(session, ticket_no)
    _may_change(ticket, caller)
    try:
        crud.transition(
            session,
            ticket=ticket,
            status=body.status,
            reason=body.reason,
            plan=body.plan,
            actor=caller,
            now=now,
        )
    except WorkflowError as error:
        raise workflow_error(error) from None
    session.commit()
    out = _view(session, ticket, caller, now)
    _end_transaction(session)
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
def add_note(ticket_no: NoPath, body: NoteIn, caller: Staff, session: SessionDep, now: NowDep) -> TicketOut:
    ticket = _load(session, ticket_no)
    _may_change(ticket, caller)
    crud.add_note(session, ticket=ticket, text=body.text, public=body.public, actor=caller, now=now)
    session.commit()
    return _view(session, ticket, caller, now)


@router.put(
    "/{ticket_no}/result",
    summary="Write the result: findings, measures, thanks and apology",
    response_model=TicketOut,
    responses=NOT_FOUND,
)
def set_result(
    ticket_no: NoPath, body: ResultParts, caller: Staff, session: SessionDep, now: NowDep
) -> TicketOut:
    ticket = _load(session, ticket_no)
    _may_change(ticket, caller)
    try:
        crud.set_result(
            session,
            ticket=ticket,
            findings=body.findings,
            measures=body.measures,
            apology=body.apology,
            actor=caller,
            now=now,
        )
    except WorkflowError as error:
        raise workflow_error(error) from None
    session.commit()
    return _view(session, ticket, caller, now)


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
def set_feedback(
    ticket_no: NoPath,
    body: FeedbackIn,
    caller: AnyCaller,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    grant: GrantHeader = None,
    sender_id: SenderHeader = None,
) -> TicketOut:
    ticket = _load_for(session, settings, ticket_no, caller, grant, sender_id, now)
    _may_change(ticket, caller)
    crud.set_feedback(
        session,
        ticket=ticket,
        confirmed=body.confirmed,
        satisfaction=body.satisfaction,
        actor=caller,
        now=now,
    )
    session.commit()
    return _view(session, ticket, caller, now)


@router.put(
    "/{ticket_no}/delay",
    summary="Mark as not solvable in time: reason and expected date",
    response_model=TicketOut,
    responses=NOT_FOUND,
)
def set_delay(
    ticket_no: NoPath,
    body: DelayIn,
    caller: Staff,
    session: SessionDep,
    now: NowDep,
    background: BackgroundTasks,
    notifier: NotifierDep,
) -> TicketOut:
    ticket = _load(session, ticket_no)
    _may_change(ticket, caller)
    if body.expected_at.tzinfo is None:
        raise field_error("body", "expected_at", "give a timezone, e.g. +08:00")
    try:
        crud.set_delay(
            session, ticket=ticket, reason=body.reason, expected_at=body.expected_at, actor=caller, now=now
        )
    except WorkflowError as error:
        raise workflow_error(error) from None
    session.commit()
    out = _view(session, ticket, caller, now)
    _end_transaction(session)
    background.add_task(deliver_after, notifier, lambda: now)
    return out


@router.put(
    "/{ticket_no}/compensation",
    summary="Advance compensation: recorded, verified, planned, agreed, paid",
    response_model=TicketOut,
    responses={409: {"description": "step out of order"}, **NOT_FOUND},
)
def set_compensation(
    ticket_no: NoPath, body: Compensation, caller: Staff, session: SessionDep, now: NowDep
) -> TicketOut:
    ticket = _load(session, ticket_no)
    _may_change(ticket, caller)
    try:
        crud.set_compensation(
            session,
            ticket=ticket,
            status=body.status,
            method=body.method,
            loss_type=body.loss_type,
            amount_cny=body.amount_cny,
            actor=caller,
            now=now,
        )
    except WorkflowError as error:
        raise workflow_error(error) from None
    session.commit()
    return _view(session, ticket, caller, now)


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
def answer_survey(
    ticket_no: NoPath,
    body: SurveyIn,
    caller: AnyCaller,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    grant: GrantHeader = None,
    sender_id: SenderHeader = None,
) -> SurveyOut:
    ticket = _load_for(session, settings, ticket_no, caller, grant, sender_id, now)
    _may_change(ticket, caller)
    crud.record_survey(
        session,
        ticket=ticket,
        rating=body.rating,
        comment=body.comment,
        confirmed=body.confirmed,
        actor=caller,
        now=now,
    )
    session.commit()
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
def list_notices(ticket_no: NoPath, caller: Staff, session: SessionDep) -> list[NoticeOut]:
    ticket = _load(session, ticket_no)
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
        for row in notifications_of(session, ticket_id=ticket.id)
    ]
