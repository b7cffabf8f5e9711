"""Human handoff: the bot opens one, agents take it, talk to the traveller, hand back or close."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status

from app.api.deps import AnyCaller, NowDep, ServiceOnly, SessionDep, Staff
from app.api.errors import field_error, not_found
from app.crud import handoffs as crud
from app.crud import tickets as tickets_crud
from app.crud.tickets import Actor
from app.models import Handoff
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
    Transcript,
    TranscriptLineOut,
)
from app.services.masking import mask_name, mask_text
from app.services.rasa_client import (
    ConversationNotFound,
    RasaClient,
    RasaUnavailable,
    get_rasa_client,
    transcript_lines,
)

log = logging.getLogger(__name__)
router = APIRouter(prefix="/handoffs", tags=["handoffs"])
RasaDep = Annotated[RasaClient, Depends(get_rasa_client)]
NOT_FOUND = {404: {"description": "unknown handoff"}}
FAREWELL_RETURNED = "人工客服已结束本次服务，接下来由智能助手继续为您解答。如还需人工帮助，随时回复“转人工”。"
FAREWELL_CLOSED = "人工客服已结束本次服务，感谢您的耐心。如还有问题，可以继续在这里提问。"


def _load(session, handoff_id: int) -> Handoff:
    handoff = crud.get(session, handoff_id=handoff_id)
    if handoff is None:
        raise not_found("handoff")
    return handoff


def _holds(handoff: Handoff, actor: Actor) -> bool:
    return handoff.status == "active" and handoff.agent_id is not None and handoff.agent_id == actor.user_id


def _masked_for(handoff: Handoff, actor: Actor) -> bool:
    # Personal data in the summary is for the agent who holds the conversation (and supervisors).
    return actor.role == "agent" and not _holds(handoff, actor)


def _mask_summary(summary: dict) -> dict:
    out = {}
    for key, value in summary.items():
        if isinstance(value, str):
            value = mask_name(value) if key in {"name", "complainant_name"} else mask_text(value)
            if key in {"phone", "phone_last4"}:
                value = "*" * max(len(value) - 4, 0) + value[-4:]
        out[key] = value
    return out


def _out(session, handoff: Handoff, now: datetime, *, masked: bool = False, model=HandoffOut,
         per_place: float | None = None, **extra):
    place = crud.position(session, handoff=handoff)
    if place is not None and per_place is None:
        per_place = crud.minutes_per_place(session, now=now)
    until = handoff.taken_at or handoff.closed_at or now
    return model(
        id=handoff.id, conversation_id=handoff.conversation_id, channel=handoff.channel,
        reason=handoff.reason, severity=handoff.severity, colour=handoff.colour,
        ticket_no=handoff.ticket_no,
        summary=_mask_summary(handoff.summary) if masked else handoff.summary,
        status=handoff.status, agent=handoff.agent, created_at=handoff.created_at,
        taken_at=handoff.taken_at, first_agent_reply_at=handoff.first_agent_reply_at,
        first_reply_wait_seconds=handoff.first_reply_wait_seconds, closed_at=handoff.closed_at,
        waiting_seconds=max(0, int((until - handoff.created_at).total_seconds())),
        position=place, expected_wait_minutes=crud.expected_wait_minutes(place=place, per_place=per_place or 0),
        masked=masked, **extra,
    )


def _rasa_error(error: Exception) -> HTTPException:
    return HTTPException(status.HTTP_502_BAD_GATEWAY, f"对话服务暂时不可用，请稍后重试（{error}）")


@router.post(
    "",
    summary="Open a handoff for a conversation (the bot, with the service token)",
    status_code=status.HTTP_201_CREATED,
    response_model=HandoffOpened,
    responses={200: {"model": HandoffOpened, "description": (
        "the conversation already had an open handoff (an emergency raises it to urgent: upgraded=true)"
    )}},
)
def open_handoff(body: HandoffCreate, caller: ServiceOnly, session: SessionDep, now: NowDep, response: Response) -> HandoffOpened:
    ticket = None
    if body.ticket_no:
        ticket = tickets_crud.get_by_no(session, ticket_no=body.ticket_no)
        if ticket is None:
            raise field_error("body", "ticket_no", "unknown ticket")
    opened = crud.open_handoff(session, data=body, ticket=ticket, actor=caller, now=now)
    session.commit()
    handoff = opened.handoff
    if not opened.created:
        response.status_code = status.HTTP_200_OK
        if opened.upgraded:
            log.info("handoff #%s raised to urgent: emergency", handoff.id)
    else:
        log.info("handoff #%s opened for %s (%s, %s)", handoff.id, body.channel, body.reason, handoff.severity)
    return _out(session, handoff, now, model=HandoffOpened, created=opened.created, upgraded=opened.upgraded)


@router.get(
    "",
    summary="The agents' queue: urgent and major (red) first, then by waiting time",
    response_model=HandoffQueue,
)
def list_handoffs(
    caller: Staff,
    session: SessionDep,
    now: NowDep,
    status_: Annotated[list[HandoffStatus] | None, Query(alias="status")] = None,
) -> HandoffQueue:
    statuses = tuple(status_ or OPEN_STATUSES)
    rows = crud.queue(session, statuses=statuses)
    per_place = crud.minutes_per_place(session, now=now)
    items = [_out(session, h, now, masked=_masked_for(h, caller), per_place=per_place) for h in rows]
    return HandoffQueue(
        items=items,
        waiting=sum(1 for h in rows if h.status == "waiting"),
        active=sum(1 for h in rows if h.status == "active"),
    )


@router.get("/{handoff_id}", summary="One handoff, with its place in the queue while waiting",
            response_model=HandoffOut, responses=NOT_FOUND)
def get_handoff(handoff_id: int, caller: AnyCaller, session: SessionDep, now: NowDep) -> HandoffOut:
    handoff = _load(session, handoff_id)
    return _out(session, handoff, now, masked=_masked_for(handoff, caller))


@router.post(
    "/{handoff_id}/take",
    summary="Take a waiting conversation (atomic: a second agent gets 409)",
    response_model=HandoffOut,
    responses={409: {"description": "already taken by another agent, or ended"}, **NOT_FOUND},
)
def take(handoff_id: int, caller: Staff, session: SessionDep, now: NowDep) -> HandoffOut:
    _load(session, handoff_id)
    try:
        result = crud.take(session, handoff_id=handoff_id, actor=caller, now=now)
    except crud.HandoffConflict as error:
        session.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, error.message) from None
    session.commit()
    if result.newly_taken:
        log.info("handoff #%s taken by %s", handoff_id, caller.name)
    return _out(session, result.handoff, now)


@router.get(
    "/{handoff_id}/transcript",
    summary="The conversation as Rasa holds it, including what the traveller wrote while waiting",
    response_model=Transcript,
    description=(
        "The holder and supervisors read it in full; other agents only while it waits, with phone "
        "numbers masked. Ended handoffs return the transcript stored at hand-back or close."
    ),
    responses={403: {"description": "held by another agent"}, 502: {"description": "Rasa unavailable"}, **NOT_FOUND},
)
def transcript(handoff_id: int, caller: Staff, session: SessionDep, rasa: RasaDep) -> Transcript:
    handoff = _load(session, handoff_id)
    full = caller.role == "supervisor" or _holds(handoff, caller) or (
        handoff.status not in OPEN_STATUSES and handoff.agent_id == caller.user_id
    )
    if not full and handoff.status != "waiting":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "只有接入该会话的客服或主管可以查看完整记录")
    if handoff.status not in OPEN_STATUSES and handoff.transcript is not None:
        lines = [TranscriptLineOut(**line) for line in handoff.transcript]
        return Transcript(handoff_id=handoff.id, conversation_id=handoff.conversation_id,
                          status=handoff.status, lines=lines, source="stored")
    try:
        tracker = rasa.tracker(handoff.conversation_id)
    except ConversationNotFound:
        tracker = {"events": []}
    except RasaUnavailable as error:
        raise _rasa_error(error) from None
    lines = [
        TranscriptLineOut(sender=line.sender, text=line.text if full else mask_text(line.text),
                          at=line.at, agent=line.agent, buttons=list(line.buttons))
        for line in transcript_lines(tracker)
    ]
    return Transcript(handoff_id=handoff.id, conversation_id=handoff.conversation_id, status=handoff.status,
                      paused=tracker.get("paused"), lines=lines, source="rasa")


@router.post(
    "/{handoff_id}/messages",
    summary="Send the agent's message to the traveller (only the agent holding the conversation)",
    status_code=status.HTTP_201_CREATED,
    response_model=AgentMessageOut,
    responses={403: {"description": "not held by the caller"}, 409: {"description": "conversation ended"},
               502: {"description": "Rasa unavailable"}, **NOT_FOUND},
)
def send_message(handoff_id: int, body: AgentMessageIn, caller: Staff, session: SessionDep, now: NowDep, rasa: RasaDep) -> AgentMessageOut:
    handoff = _load(session, handoff_id)
    if handoff.status not in OPEN_STATUSES:
        raise HTTPException(status.HTTP_409_CONFLICT, "该会话已结束，消息未发送")
    if not _holds(handoff, caller):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "请先接入该会话；只有接入的客服可以回复")
    try:
        pushed = rasa.say(handoff.conversation_id, handoff.channel, body.text, agent=caller.display_name or caller.name)
    except (RasaUnavailable, ConversationNotFound) as error:
        raise _rasa_error(error) from None
    first = crud.record_reply(session, handoff=handoff, actor=caller, now=now)
    session.commit()
    return AgentMessageOut(handoff_id=handoff.id, text=body.text, at=now, pushed=pushed, first_reply=first)


def _end(handoff_id: int, new_status: str, body: HandoffEndIn | None, caller: Actor, session, now: datetime, rasa: RasaClient) -> HandoffOut:
    handoff = _load(session, handoff_id)
    if handoff.status not in OPEN_STATUSES:
        raise HTTPException(status.HTTP_409_CONFLICT, "该会话已结束")
    if not (_holds(handoff, caller) or caller.role == "supervisor"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "只有接入该会话的客服或主管可以结束或交还")
    body = body or HandoffEndIn()
    try:
        if body.farewell:
            farewell = FAREWELL_RETURNED if new_status == "returned" else FAREWELL_CLOSED
            rasa.say(handoff.conversation_id, handoff.channel, farewell, agent=caller.display_name or caller.name)
        # Closing resumes the bot too: otherwise the traveller's next question would go unanswered.
        rasa.resume(handoff.conversation_id)
        try:
            lines = transcript_lines(rasa.tracker(handoff.conversation_id))
        except ConversationNotFound:
            lines = []
    except (RasaUnavailable, ConversationNotFound) as error:
        raise _rasa_error(error) from None
    stored = [
        {"sender": l.sender, "text": l.text, "at": l.at.isoformat(), "agent": l.agent, "buttons": list(l.buttons)}
        for l in lines
    ]
    try:
        crud.end(session, handoff=handoff, status=new_status, transcript=stored, note=body.note, actor=caller, now=now)
    except crud.HandoffConflict as error:
        raise HTTPException(status.HTTP_409_CONFLICT, error.message) from None
    session.commit()
    log.info("handoff #%s %s by %s", handoff.id, new_status, caller.name)
    return _out(session, handoff, now)


@router.post(
    "/{handoff_id}/return",
    summary="Hand the conversation back to the bot (it answers again); the transcript goes to the ticket",
    response_model=HandoffOut,
    responses={403: {"description": "not held by the caller"}, 409: {"description": "already ended"},
               502: {"description": "Rasa unavailable"}, **NOT_FOUND},
)
def hand_back(handoff_id: int, caller: Staff, session: SessionDep, now: NowDep, rasa: RasaDep,
              body: HandoffEndIn | None = None) -> HandoffOut:
    return _end(handoff_id, "returned", body, caller, session, now, rasa)


@router.post(
    "/{handoff_id}/close",
    summary="End the human conversation (e.g. solved, or the traveller left); the transcript goes to the ticket",
    response_model=HandoffOut,
    responses={403: {"description": "not held by the caller"}, 409: {"description": "already ended"},
               502: {"description": "Rasa unavailable"}, **NOT_FOUND},
)
def close(handoff_id: int, caller: Staff, session: SessionDep, now: NowDep, rasa: RasaDep,
          body: HandoffEndIn | None = None) -> HandoffOut:
    return _end(handoff_id, "closed", body, caller, session, now, rasa)
