from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import NowDep, SessionDep, SupervisorOnly
from app.crud import stats as crud
from app.schemas.ticket import StatsOut
from app.services.deadlines import china_time

router = APIRouter(tags=["stats"])


@router.get(
    "/stats", summary="Figures for the periodic complaint report (supervisors)", response_model=StatsOut
)
def stats(
    caller: SupervisorOnly,
    session: SessionDep,
    now: NowDep,
    since: Annotated[datetime | None, Query(description="received from; without a zone: China time")] = None,
    until: Annotated[
        datetime | None, Query(description="received before; without a zone: China time")
    ] = None,
) -> StatsOut:
    # A report's "week" or "month" is China's: 2026-12-01T00:00 means midnight in Beijing.
    since = china_time(since) if since is not None else None
    until = china_time(until) if until is not None else None
    return StatsOut(**crud.stats(session, now=now, since=since, until=until))
