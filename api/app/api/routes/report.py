"""The supervisors' report (DESIGN §6): GET /report (JSON) and GET /report.csv (the same figures)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from app.api.availability import AvailabilityDep
from app.api.deps import NowDep, SessionDep, SupervisorOnly
from app.api.errors import field_error
from app.api.routes.labels import static_labels
from app.schemas.report import ReportOut
from app.services import report
from app.services.availability import AvailabilitySettings
from app.services.deadlines import china_today

router = APIRouter(tags=["stats"])

MAX_DAYS = 731  # two years: enough for any comparison, bounded work per request
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)  # no date arithmetic overflows in between
DEFAULT_DAYS = {"week": 7 * 12, "month": 183}

FromQuery = Annotated[
    date | None, Query(alias="from", description="first China date (default: 12 weeks / 6 months back)")
]
ToQuery = Annotated[date | None, Query(alias="to", description="last China date included (default: today)")]
Granularity = Annotated[Literal["week", "month"], Query(description="ISO weeks or months, China time")]


def _figures(
    session, now, start: date | None, end: date | None, granularity: str, availability: AvailabilitySettings
) -> dict:
    end = end or china_today(now)
    if start is None:
        # Whole periods only: a first bar of a few days would look like a dip.
        start = end - timedelta(days=DEFAULT_DAYS[granularity] - 1)
        start = start - timedelta(days=start.weekday()) if granularity == "week" else start.replace(day=1)
    for name, day in (("from", start), ("to", end)):
        if not EARLIEST <= day <= LATEST:
            raise field_error("query", name, f"between {EARLIEST} and {LATEST}")
    if start > end:
        raise field_error("query", "from", "from is after to")
    if (end - start).days >= MAX_DAYS:
        raise field_error("query", "from", f"at most {MAX_DAYS} days")
    tickets, handoffs, staff = report.load(session, start=start, end=end)
    return report.build(
        tickets,
        handoffs,
        start=start,
        end=end,
        granularity=granularity,
        now=now,
        staff=staff,
        hours=availability.hours,
    )


@router.get(
    "/report", summary="The supervisors' report by week or month (supervisors)", response_model=ReportOut
)
def get_report(
    caller: SupervisorOnly,
    session: SessionDep,
    now: NowDep,
    availability: AvailabilityDep,
    start: FromQuery = None,
    end: ToQuery = None,
    granularity: Granularity = "week",
) -> dict:
    return _figures(session, now, start, end, granularity, availability)


@router.get(
    "/report.csv",
    summary="The same report as CSV, UTF-8 with a byte-order mark for Excel (supervisors)",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def get_report_csv(
    caller: SupervisorOnly,
    session: SessionDep,
    now: NowDep,
    availability: AvailabilityDep,
    start: FromQuery = None,
    end: ToQuery = None,
    granularity: Granularity = "week",
) -> Response:
    figures = _figures(session, now, start, end, granularity, availability)
    name = f"report-{figures['start']}-{figures['end']}-{granularity}.csv"
    return Response(
        report.to_csv(figures, static_labels()).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
