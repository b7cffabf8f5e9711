"""The desk's alerts and the supervisors' daily digest (issue 16 item 3): thin routes over
crud/alerts.py; the scheduled jobs write them (app/services/jobs/)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status

from app.api.deps import NowDep, SessionDep, Staff, SupervisorOnly
from app.crud import alerts as crud
from app.schemas.alert import AlertList, AlertOut, DigestOut

router = APIRouter(tags=["console"])


@router.get(
    "/alerts",
    summary="The caller's alerts (deadline alerts, the daily digest), unread first",
    response_model=AlertList,
)
def list_alerts(
    caller: Staff,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AlertList:
    rows = crud.for_user(session, user_id=caller.user_id, limit=limit)
    return AlertList(
        items=[
            AlertOut(
                id=alert.id,
                kind=alert.kind,
                ticket_no=ticket_no,
                deadline=alert.deadline,
                due_at=alert.due_at,
                text=alert.text,
                created_at=alert.created_at,
                read=alert.read_at is not None,
            )
            for alert, ticket_no in rows
        ],
        unread=crud.unread_count(session, user_id=caller.user_id),
    )


@router.post(
    "/alerts/{alert_id}/read",
    summary="Mark one of the caller's alerts read",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "no such alert for the caller"}},
)
def read_alert(
    alert_id: Annotated[int, Path(ge=1, le=2**31 - 1)], caller: Staff, session: SessionDep, now: NowDep
) -> None:
    if not crud.mark_read(session, alert_id=alert_id, user_id=caller.user_id, now=now):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such alert")
    session.commit()


@router.get(
    "/digest",
    summary="The latest daily digest for supervisors: new, overdue, due today, low ratings by department",
    response_model=DigestOut,
    responses={404: {"description": "no digest yet"}},
)
def latest_digest(caller: SupervisorOnly, session: SessionDep) -> DigestOut:
    digest = crud.latest_digest(session)
    if digest is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no digest yet")
    return DigestOut.model_validate(digest.figures)
