"""Complaint deadlines on the mainland China working-day calendar (DESIGN §3).

Working days come from the `chinese_calendar` library (statutory holidays and the adjusted
working days around them). For years the library has not published yet we fall back to
"Monday to Friday" and report it, so the ticket can carry a flag; nothing here raises for
an unknown year.

"N working days after T" means: the end of the N-th working day after T's China date
(18:00 Beijing time), so a step is due when the office closes, not at the minute of the day
the complaint happened to arrive. A complaint received on a holiday (or at night) therefore
starts counting on the next working day. Clock-hour targets (24 hours, 1 hour, ...) stay
exact durations.

Every date here is China's (Asia/Shanghai), whatever the server's time zone: times are
timezone-aware and turned into China time explicitly, never through the process's local time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

import chinese_calendar

from app.services.taxonomy import (
    ALTERNATIVE_PLAN_WITHIN,
    IN_TRIP_DISRUPTION_CATEGORIES,
    PROCESS_WORKING_DAYS,
    SEVERITY_RULES,
    Category,
    Severity,
    Stage,
)

# China has had no daylight-saving time since 1991: a fixed offset is exact.
CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
# A working-day deadline falls due at the end of a China working day.
WORKDAY_ENDS = time(18, 0)
# "Immediately" for urgent complaints: the bot hands over at once; a person must answer
# within this window or the first-response deadline shows as breached.
IMMEDIATE_RESPONSE_WITHIN = timedelta(minutes=15)

FIRST_RESPONSE = "first_response"
RESOLUTION = "resolution"
ALTERNATIVE_PLAN = "alternative_plan"
PROCESS_STEPS = tuple(name for name, _ in PROCESS_WORKING_DAYS)
# The steps that make up "resolved" (investigate, plan, carry out): they fit inside a clock-hour
# resolution target. The follow-up (回访) comes after the plan is carried out (DESIGN §3 step 5).
STEPS_WITHIN_RESOLUTION = PROCESS_STEPS[: PROCESS_STEPS.index("resolved") + 1]
DEADLINE_NAMES = (FIRST_RESPONSE, *PROCESS_STEPS, RESOLUTION, ALTERNATIVE_PLAN)
# What travellers, agents and reports read for each step (DESIGN §3 names the steps). One
# table: GET /labels, every deadline the API returns (`DeadlineOut.label`) and the alerts.
DEADLINE_LABELS: dict[str, str] = {
    FIRST_RESPONSE: "首次响应",
    "investigated": "分类与调查核实",
    "plan_made": "制定处理方案",
    "resolved": "落实处理方案",
    "followed_up": "回访",
    RESOLUTION: "办结时限",
    ALTERNATIVE_PLAN: "行程中替代方案（1 小时）",
}


def deadline_label(name: str) -> str:
    """The step's label; an unknown name (an older record) reads as itself."""
    return DEADLINE_LABELS.get(name, name)


MET, DUE, BREACHED = "met", "due", "breached"


def is_working_day(day: date) -> tuple[bool, bool]:
    """(is a working day, computed by the weekends-only fallback)."""
    try:
        return chinese_calendar.is_workday(day), False
    except NotImplementedError:  # year not published by the library (yet)
        return day.weekday() < 5, True


def add_working_days(start: datetime, days: int) -> tuple[datetime, bool]:
    """The end (WORKDAY_ENDS, China time) of the `days`-th working day after `start`'s China date."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    local = start.astimezone(CHINA_TZ)
    day, counted, fallback = local.date(), 0, False
    while counted < days:
        day += timedelta(days=1)
        working, fell_back = is_working_day(day)
        fallback |= fell_back
        counted += working
    due = datetime.combine(day, WORKDAY_ENDS, tzinfo=CHINA_TZ)
    return due.astimezone(UTC), fallback


@dataclass(frozen=True)
class DeadlinePlan:
    due: dict[str, datetime]  # deadline name -> due time (UTC), in DEADLINE_NAMES order
    calendar_fallback: bool


def plan_deadlines(received_at: datetime, severity: str, category: str, stage: str | None) -> DeadlinePlan:
    rule = SEVERITY_RULES[Severity(severity)]
    due: dict[str, datetime] = {
        FIRST_RESPONSE: received_at + (rule.first_response or IMMEDIATE_RESPONSE_WITHIN)
    }
    # Urgent and major complaints have a clock-hour target for the plan to be carried out
    # (DESIGN §3: resolved within 24 h / 48 h); general ones follow the working-day process.
    # The clock-hour target is a hard limit, so every step up to `resolved` falls due at the
    # earlier of its working-day deadline and the target: nothing is due after the case is to
    # be resolved. The follow-up comes one working day after the (possibly earlier) `resolved`.
    limit = received_at + rule.resolution if rule.resolution else None
    fallback = False
    previous = received_at
    for name, working_days in PROCESS_WORKING_DAYS:
        previous, fell_back = add_working_days(previous, working_days)
        fallback |= fell_back
        if limit is not None and name in STEPS_WITHIN_RESOLUTION:
            previous = min(previous, limit)
        due[name] = previous
    due[RESOLUTION] = limit if limit is not None else due["resolved"]
    if stage == Stage.IN_TRIP and Category(category) in IN_TRIP_DISRUPTION_CATEGORIES:
        due[ALTERNATIVE_PLAN] = received_at + ALTERNATIVE_PLAN_WITHIN
    return DeadlinePlan(
        due={name: at.astimezone(UTC) for name, at in due.items()}, calendar_fallback=fallback
    )


def deadline_state(due_at: datetime, done_at: datetime | None, now: datetime) -> str:
    if done_at is not None:
        return MET if done_at <= due_at else BREACHED
    return BREACHED if now > due_at else DUE


def china_today(now: datetime) -> date:
    """China's date at the aware instant `now` (never the server's local date)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(CHINA_TZ).date()


def china_time(value: datetime) -> datetime:
    """An aware datetime as given; a naive one (a client's wall-clock time) read as China time."""
    return value.replace(tzinfo=CHINA_TZ) if value.tzinfo is None else value
