"""Disruption notices (issue 16 item 4): supervisors only; logic in services/disruptions.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, HTTPException, Path, Response, status
from sqlalchemy import select

from app.api.clients import NotifierDep, RasaDep
from app.api.deps import NowDep, RecentReadsDep, SessionDep, SettingsDep, SupervisorOnly
from app.api.errors import not_found
from app.models import Disruption
from app.schemas.disruption import (
    AlternativeIn,
    DepartureOut,
    DisruptionIn,
    DisruptionOut,
    DisruptionReplies,
)
from app.services import disruptions as service
from app.services.disruption_reads import disruption_out, disruption_replies, disruption_view
from app.services.notifier import deliver_after

router = APIRouter(prefix="/disruptions", tags=["disruptions"])
DisruptionId = Annotated[int, Path(ge=1, le=2**31 - 1)]
NOT_FOUND = {404: {"description": "unknown disruption"}}
# The same notice for the same departure again within this time is a double submission.
RESUBMIT_WINDOW = timedelta(minutes=10)


def _conflict(error: service.DisruptionError) -> HTTPException:
    http = status.HTTP_404_NOT_FOUND if error.code == "unknown_departure" else status.HTTP_409_CONFLICT
    return HTTPException(
        http, [{"loc": ["body"], "msg": str(error), "type": "value_error", "code": error.code}]
    )


def _answer(session, disruption: Disruption, now: datetime) -> DisruptionOut:
    """The answer of a write, read after its commit; the read's transaction is ended too: the
    request's session stays open until its background delivery has run, and on SQLite an open
    transaction (BEGIN IMMEDIATE) holds the write lock the delivery's claim needs."""
    session.refresh(disruption)
    out = disruption_out(session, disruption, now, detail=True)
    session.commit()
    return out


def _send(
    session, disruption: Disruption, caller, settings, now, rasa, notifier, background
) -> DisruptionOut:
    """Write the notices of the travellers not yet told, commit, deliver after the response
    (only when some were added: retries are the periodic notifier's) and answer."""
    added = service.send(
        session,
        disruption,
        rasa=rasa,
        actor=caller.name,
        actor_role=caller.role,
        now=now,
        tickets_since=now - timedelta(days=settings.retention_tracker_days),
    )
    session.commit()
    if added:
        background.add_task(deliver_after, notifier, lambda: now)
    out = _answer(session, disruption, now)
    out.added = added
    return out


def _load(session, disruption_id: int) -> Disruption:
    disruption = service.get(session, disruption_id)
    if disruption is None:
        raise not_found("disruption")
    return disruption


@router.get(
    "/departures",
    summary="Departures not yet back, with how many conversations a notice would reach",
    response_model=list[DepartureOut],
)
def list_departures(caller: SupervisorOnly, session: SessionDep, now: NowDep) -> list[DepartureOut]:
    return [DepartureOut(**vars(d)) for d in service.departures(session, now=now)]


@router.post(
    "",
    summary="Write a disruption notice to every traveller of a departure who talked to the assistant",
    response_model=DisruptionOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {
            "model": DisruptionOut,
            "description": "the same notice for this departure was posted in the last 10 minutes",
        },
        404: {"description": "no booking of this product departs on this date"},
        409: {"description": "the departure has already come back"},
    },
)
def create_disruption(
    body: DisruptionIn,
    caller: SupervisorOnly,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    rasa: RasaDep,
    notifier: NotifierDep,
    background: BackgroundTasks,
    response: Response,
) -> DisruptionOut:
    earlier = session.scalar(
        select(Disruption).where(
            Disruption.product == body.product,
            Disruption.departure_date == body.departure_date,
            Disruption.text == body.text,
            Disruption.created_at >= now - RESUBMIT_WINDOW,
        )
    )
    if earlier is not None:
        # A double click or a retried request: the notice already went (or is going) out.
        response.status_code = status.HTTP_200_OK
        out = disruption_out(session, earlier, now, detail=True)
        out.added = 0
        return out
    try:
        disruption = service.create(
            session,
            product=body.product,
            departure_date=body.departure_date,
            text=body.text,
            actor=caller.name,
            actor_role=caller.role,
            now=now,
        )
    except service.DisruptionError as error:
        raise _conflict(error) from None
    return _send(session, disruption, caller, settings, now, rasa, notifier, background)


@router.get("", summary="Disruption notices, newest first", response_model=list[DisruptionOut])
def list_disruptions(caller: SupervisorOnly, session: SessionDep, now: NowDep) -> list[DisruptionOut]:
    return [disruption_out(session, d, now, detail=False) for d in service.listing(session)]


@router.get(
    "/{disruption_id}",
    summary="A disruption with its recipients (masked) and each notice's delivery",
    response_model=DisruptionOut,
    responses=NOT_FOUND,
)
def get_disruption(
    disruption_id: DisruptionId,
    caller: SupervisorOnly,
    session: SessionDep,
    now: NowDep,
    recent: RecentReadsDep,
) -> DisruptionOut:
    return disruption_view(session, _load(session, disruption_id), caller, now, recent=recent)


@router.post(
    "/{disruption_id}/send",
    summary="Send the notice to travellers of the departure who verified since (never twice to one)",
    response_model=DisruptionOut,
    responses=NOT_FOUND,
)
def send_again(
    disruption_id: DisruptionId,
    caller: SupervisorOnly,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    rasa: RasaDep,
    notifier: NotifierDep,
    background: BackgroundTasks,
) -> DisruptionOut:
    disruption = _load(session, disruption_id)
    return _send(session, disruption, caller, settings, now, rasa, notifier, background)


@router.post(
    "/{disruption_id}/alternative",
    summary="Record that the alternative plan was offered (in-trip 1-hour deadline)",
    response_model=DisruptionOut,
    responses={**NOT_FOUND, 409: {"description": "not under way, or recorded already"}},
)
def mark_alternative(
    disruption_id: DisruptionId, body: AlternativeIn, caller: SupervisorOnly, session: SessionDep, now: NowDep
) -> DisruptionOut:
    disruption = _load(session, disruption_id)
    try:
        service.mark_alternative(
            session, disruption, note=body.note, actor=caller.name, actor_role=caller.role, now=now
        )
    except service.DisruptionError as error:
        raise _conflict(error) from None
    session.commit()
    return disruption_out(session, disruption, now, detail=True)


@router.get(
    "/{disruption_id}/replies",
    summary="What each recipient wrote after the notice, read from their conversations (masked)",
    response_model=DisruptionReplies,
    responses=NOT_FOUND,
)
def replies(
    disruption_id: DisruptionId, caller: SupervisorOnly, session: SessionDep, now: NowDep, rasa: RasaDep
) -> DisruptionReplies:
    return disruption_replies(session, _load(session, disruption_id), caller, now, rasa=rasa)
