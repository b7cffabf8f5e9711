"""Human handoff: the bot opens one, agents take it, talk to the traveller, hand back or close."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, HTTPException, Query, Response, status

from app.api.availability import StaffingDep
from app.api.clients import RasaDep, TypingDep
from app.api.deps import NowDep, RecentReadsDep, SenderHeader, ServiceOnly, SessionDep, Staff
from app.api.errors import DomainErrorRoute, field_error
from app.api.handoff_deps import CallerHandoff, HandoffAccess, StaffHandoff
from app.crud import handoffs as crud
from app.crud import presence
from app.crud import tickets as tickets_crud
from app.models.handoff import OPEN_STATUSES
from app.schemas.handoff import (
    AgentMessageIn,
    AgentMessageOut,
    HandoffCreate,
    HandoffEndIn,
    HandoffOpened,
    HandoffOut,
    HandoffQueue,
    HandoffStatus,
    NoteIn,
    NoteOut,
    Transcript,
    TypingIn,
    TypingOut,
)
from app.services import handoff_reads
from app.services.rasa_client import ConversationNotFound, RasaClient, RasaUnavailable, transcript_lines

log = logging.getLogger(__name__)
# HandoffConflict from crud (taken by someone else, already ended): 409, in one place.
router = APIRouter(prefix="/handoffs", tags=["handoffs"], route_class=DomainErrorRoute)
NOT_FOUND = {404: {"description": "unknown handoff"}}
FAREWELL_RETURNED = "人工客服已结束本次服务，接下来由智能助手继续为您解答。如还需人工帮助，随时回复“转人工”。"
FAREWELL_CLOSED = "人工客服已结束本次服务，感谢您的耐心。如还有问题，可以继续在这里提问。"
AGENT_JOINED = "客服{agent}已接入，正在为您处理。"


def _release(session) -> None:
    """End the request's transaction before calling Rasa: no database lock (SQLite's write lock:
    every transaction here is BEGIN IMMEDIATE) and no pooled connection is held while Rasa answers.
    Objects keep their loaded values (expire_on_commit=False)."""
    session.commit()


def _rasa_error(error: Exception) -> HTTPException:
    return HTTPException(status.HTTP_502_BAD_GATEWAY, f"对话服务暂时不可用，请稍后重试（{error}）")


def _relay_notice(rasa: RasaClient, handoff_id: int, conversation_id: str, channel: str, text: str) -> None:
    try:
        rasa.say(conversation_id, channel, text)
    except (RasaUnavailable, ConversationNotFound) as error:  # the upgrade is recorded either way
        log.warning("notice for handoff #%s not delivered: %s", handoff_id, error)


@router.post(
    "",
    summary="Open a handoff for a conversation (the bot, with the service token)",
    status_code=status.HTTP_201_CREATED,
    response_model=HandoffOpened,
    responses={
        200: {
            "model": HandoffOpened,
            "description": (
                "the conversation already had an open handoff "
                "(an emergency raises it to urgent: upgraded=true)"
            ),
        }
    },
)
def open_handoff(
    body: HandoffCreate,
    caller: ServiceOnly,
    session: SessionDep,
    now: NowDep,
    response: Response,
    rasa: RasaDep,
    background: BackgroundTasks,
    staffing: StaffingDep,
    sender_id: SenderHeader = None,
) -> HandoffOpened:
    if body.notice and sender_id != body.conversation_id:
        # A notice writes into a traveller's chat: only for the conversation the bot acts for.
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "notice only for the conversation named in X-Sender-Id"
        )
    ticket = None
    if body.ticket_no:
        ticket = tickets_crud.get_by_no(session, ticket_no=body.ticket_no)
        if ticket is None:
            raise field_error("body", "ticket_no", "unknown ticket")
    opened = crud.open_handoff(session, data=body, ticket=ticket, actor=caller, now=now)
    session.commit()
    handoff = opened.handoff
    if body.notice:
        # The bot sends a notice only for a paused conversation (waiting for an agent), where
        # nothing it says reaches the traveller: it goes out the way an agent's reply does.
        # After the response: the bot's call comes from inside Rasa's handling of that very
        # message, which holds the conversation's lock until the bot has its answer.
        background.add_task(_relay_notice, rasa, handoff.id, body.conversation_id, body.channel, body.notice)
    if not opened.created:
        response.status_code = status.HTTP_200_OK
        if opened.upgraded:
            log.info("handoff #%s raised to urgent: emergency", handoff.id)
    else:
        log.info(
            "handoff #%s opened for %s (%s, %s)", handoff.id, body.channel, body.reason, handoff.severity
        )
    return handoff_reads.handoff_out(
        session,
        handoff,
        now,
        staffing=staffing,
        staff=False,
        model=HandoffOpened,
        created=opened.created,
        upgraded=opened.upgraded,
    )


@router.get(
    "",
    summary="The agents' queue: urgent and major (red) first, then by waiting time",
    response_model=HandoffQueue,
    responses={403: {"description": "conversation_id given by an agent (supervisors only)"}},
)
def list_handoffs(
    caller: Staff,
    session: SessionDep,
    now: NowDep,
    recent: RecentReadsDep,
    staffing: StaffingDep,
    status_: Annotated[list[HandoffStatus] | None, Query(alias="status")] = None,
    conversation_id: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=128,
            description="supervisors: only this conversation's handoffs, found by the id the traveller "
            "or WeChat gives (shown masked all the same)",
        ),
    ] = None,
) -> HandoffQueue:
    if conversation_id is not None and caller.role != "supervisor":
        raise field_error(
            "query",
            "conversation_id",
            "only supervisors look conversations up by id",
            status.HTTP_403_FORBIDDEN,
        )
    statuses = tuple(status_ or OPEN_STATUSES)
    rows = crud.queue(session, statuses=statuses)
    if conversation_id is not None:
        rows = [h for h in rows if h.conversation_id == conversation_id]
    return handoff_reads.handoff_queue(session, rows, caller, now, staffing=staffing, recent=recent)


@router.get(
    "/{handoff_id}",
    summary="One handoff, with its place in the queue while waiting",
    response_model=HandoffOut,
    description="The service (the bot) reads only its own conversation's handoffs (X-Sender-Id).",
    responses={
        403: {"description": "service: not the handoff of the conversation named in X-Sender-Id"},
        **NOT_FOUND,
    },
)
def get_handoff(
    access: CallerHandoff, now: NowDep, staffing: StaffingDep, recent: RecentReadsDep
) -> HandoffOut:
    return handoff_reads.handoff_view(
        access.session, access.get(), access.caller, now, staffing=staffing, recent=recent
    )


@router.post(
    "/{handoff_id}/take",
    summary="Take a waiting conversation (atomic: a second agent gets 409)",
    response_model=HandoffOut,
    responses={409: {"description": "already taken by another agent, or ended"}, **NOT_FOUND},
)
def take(access: StaffHandoff, now: NowDep, rasa: RasaDep, staffing: StaffingDep) -> HandoffOut:
    handoff_id, caller, session = access.get().id, access.caller, access.session
    result = crud.take(session, handoff_id=handoff_id, actor=caller, now=now)
    session.commit()
    if result.newly_taken:
        log.info("handoff #%s taken by %s", handoff_id, caller.name)
        # The traveller learns that a person is there (the widget shows the agent in its header).
        # Best effort: the take stands even if Rasa cannot pass the notice on.
        agent = caller.display_name or caller.name
        try:
            rasa.say(
                result.handoff.conversation_id,
                result.handoff.channel,
                AGENT_JOINED.format(agent=agent),
                agent=agent,
            )
        except (RasaUnavailable, ConversationNotFound) as error:
            log.warning("handoff #%s: the joined notice was not sent (%s)", handoff_id, error)
    return handoff_reads.taken_view(session, result.handoff, caller, now, staffing=staffing)


@router.get(
    "/{handoff_id}/transcript",
    summary="The conversation as Rasa holds it, including what the traveller wrote while waiting",
    response_model=Transcript,
    description=(
        "The holder and supervisors read it in full; other agents only while it waits, with phone "
        "numbers masked. Ended handoffs return the transcript stored at hand-back or close."
    ),
    responses={
        403: {"description": "held by another agent"},
        502: {"description": "Rasa unavailable"},
        **NOT_FOUND,
    },
)
def transcript(
    access: StaffHandoff, now: NowDep, rasa: RasaDep, typing: TypingDep, recent: RecentReadsDep
) -> Transcript:
    handoff, full = access.readable()
    try:
        return handoff_reads.transcript(
            access.session, handoff, access.caller, now, full=full, rasa=rasa, typing=typing, recent=recent
        )
    except RasaUnavailable as error:
        raise _rasa_error(error) from None


@router.post(
    "/{handoff_id}/notes",
    summary=(
        "Write a private note in the conversation (agents and supervisors only; never sent to the traveller)"
    ),
    status_code=status.HTTP_201_CREATED,
    response_model=NoteOut,
    description=(
        "Stored in the API, not in Rasa's tracker: the widget's history never shows it. Shown in the "
        "transcript by time (sender `note`), masked like other free text for masked views."
    ),
    responses={403: {"description": "neither the holder nor a supervisor"}, **NOT_FOUND},
)
def add_note(body: NoteIn, access: StaffHandoff, now: NowDep) -> NoteOut:
    handoff = access.in_full("只有接入该会话的客服或主管可以写内部备注")
    note = crud.add_note(access.session, handoff=handoff, text=body.text, actor=access.caller, now=now)
    access.session.commit()
    return NoteOut(
        id=note.id, handoff_id=handoff.id, author=note.author_name, text=note.text, at=note.created_at
    )


@router.post(
    "/{handoff_id}/typing",
    summary="The holder is typing (or stopped): the traveller's widget shows 客服正在输入…",
    response_model=TypingOut,
    description="Transient: nothing is stored. The console sends it at most every few seconds while typing.",
    responses={403: {"description": "not held by the caller"}, 409: {"description": "ended"}, **NOT_FOUND},
)
def agent_typing(body: TypingIn, access: StaffHandoff, typing: TypingDep) -> TypingOut:
    # Only the agent talking to the traveller may make their widget say someone is typing.
    handoff, caller = access.held(), access.caller
    conversation_id, channel = handoff.conversation_id, handoff.channel
    _release(access.session)
    pushed = typing.agent(conversation_id, channel, body.typing, caller.display_name or caller.name)
    return TypingOut(pushed=pushed)


@router.post(
    "/{handoff_id}/messages",
    summary="Send the agent's message to the traveller (only the agent holding the conversation)",
    status_code=status.HTTP_201_CREATED,
    response_model=AgentMessageOut,
    responses={
        403: {"description": "not held by the caller"},
        409: {"description": "conversation ended"},
        502: {"description": "Rasa unavailable"},
        **NOT_FOUND,
    },
)
def send_message(body: AgentMessageIn, access: StaffHandoff, now: NowDep, rasa: RasaDep) -> AgentMessageOut:
    handoff, caller, session = access.held(ended="该会话已结束，消息未发送"), access.caller, access.session
    conversation_id, channel = handoff.conversation_id, handoff.channel
    _release(session)
    try:
        pushed = rasa.say(conversation_id, channel, body.text, agent=caller.display_name or caller.name)
    except (RasaUnavailable, ConversationNotFound) as error:
        raise _rasa_error(error) from None
    handoff = access.get()
    first = crud.record_reply(session, handoff=handoff, actor=caller, now=now)
    session.commit()
    return AgentMessageOut(handoff_id=handoff.id, text=body.text, at=now, pushed=pushed, first_reply=first)


def _end(
    access: HandoffAccess,
    new_status: str,
    body: HandoffEndIn | None,
    now: datetime,
    rasa: RasaClient,
    staffing: presence.Staffing,
) -> HandoffOut:
    """Claim the end first (atomic, one winner), commit, then tell Rasa; store the transcript last.
    No transaction is open while Rasa answers; if Rasa fails, the claim is put back (502)."""
    handoff, caller, session = access.endable(), access.caller, access.session
    body = body or HandoffEndIn()
    claimed = crud.claim_end(session, handoff=handoff, status=new_status, actor=caller, now=now)
    conversation_id, channel = claimed.handoff.conversation_id, claimed.handoff.channel
    session.commit()  # the claim is settled before anyone is told; this also ends the transaction
    try:
        if body.farewell:
            farewell = FAREWELL_RETURNED if new_status == "returned" else FAREWELL_CLOSED
            rasa.say(conversation_id, channel, farewell, agent=caller.display_name or caller.name)
        # Closing resumes the bot too: otherwise the traveller's next question would go unanswered.
        rasa.resume(conversation_id)
        try:
            lines = transcript_lines(rasa.tracker(conversation_id))
        except ConversationNotFound:
            lines = []
    except (RasaUnavailable, ConversationNotFound) as error:
        crud.undo_end(session, claimed=claimed, actor=caller, now=now, why="对话服务不可用")
        session.commit()
        raise _rasa_error(error) from None
    stored = [
        {
            "sender": line.sender,
            "text": line.text,
            "at": line.at.isoformat(),
            "agent": line.agent,
            "buttons": list(line.buttons),
        }
        for line in lines
    ]
    handoff = access.get()
    crud.store_transcript(
        session,
        handoff=handoff,
        transcript=stored,
        note=body.note,
        actor=caller,
        now=now,
        known=handoff_reads.known_in(session, handoff),
    )
    out = handoff_reads.ended_view(session, handoff, caller, now, staffing=staffing)
    log.info("handoff #%s %s by %s", handoff.id, new_status, caller.name)
    return out


@router.post(
    "/{handoff_id}/return",
    summary="Hand the conversation back to the bot (it answers again); the transcript goes to the ticket",
    response_model=HandoffOut,
    responses={
        403: {"description": "not held by the caller"},
        409: {"description": "already ended"},
        502: {"description": "Rasa unavailable"},
        **NOT_FOUND,
    },
)
def hand_back(
    access: StaffHandoff, now: NowDep, rasa: RasaDep, staffing: StaffingDep, body: HandoffEndIn | None = None
) -> HandoffOut:
    return _end(access, "returned", body, now, rasa, staffing)


@router.post(
    "/{handoff_id}/close",
    summary=(
        "End the human conversation (e.g. solved, or the traveller left); the transcript goes to the ticket"
    ),
    response_model=HandoffOut,
    responses={
        403: {"description": "not held by the caller"},
        409: {"description": "already ended"},
        502: {"description": "Rasa unavailable"},
        **NOT_FOUND,
    },
)
def close(
    access: StaffHandoff, now: NowDep, rasa: RasaDep, staffing: StaffingDep, body: HandoffEndIn | None = None
) -> HandoffOut:
    return _end(access, "closed", body, now, rasa, staffing)
