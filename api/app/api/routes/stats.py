from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter

from app.api.deps import NowDep, SessionDep, SupervisorOnly
from app.crud import tickets as crud
from app.schemas.ticket import StatsOut

router = APIRouter(tags=["stats"])


@router.get("/stats", summary="Figures for the periodic complaint report (supervisors)", response_model=StatsOut)
def stats(caller: SupervisorOnly, session: SessionDep, now: NowDep,
          since: datetime | None = None, until: datetime | None = None) -> StatsOut:
    return StatsOut(**crud.stats(session, now=now, since=since, until=until))
