"""The supervisors' report (DESIGN §6): figures by week or month, computed from what the API stores.

`load()` reads the rows of one period (tickets received, their deadlines, handoffs opened in it);
`build()` is pure: it turns those rows into the report, so tests can count by hand what it must say.

Every date is China's (Asia/Shanghai): a period runs from 00:00 Beijing time of `start` to 00:00
of the day after `end`; a week is the ISO week of the China date, a month the China month.

What each figure means, and what the API cannot know:
- volume: tickets received, by category, severity, stage (`unknown` when no booking told it),
  department and status, in total and per week/month (the trend);
- deadlines met per step: for each deadline name, `met` (done in time), `breached` (done late or
  overdue now), `open` (not due yet); the share is met / (met + breached), None when nothing
  was decided;
- satisfaction: the follow-up rating (1-5 stars) as a score out of 100 (stars x 20), for the
  tickets of the period that have one; `low` counts ratings of 1-2 (second follow-up);
- repeat complaints: tickets that share a booking number or a phone number (directly or through
  another ticket) with an earlier ticket of the same period; `groups` counts the travellers
  (bookings/phones) with more than one ticket; `flagged` counts the repeat flag set at creation
  (a booking seen before, in any period);
- agents' first reply: per handoff opened in the period, the traveller's wait from the handoff
  to the first agent message (`first_reply_wait_seconds`), and the time from the take to that
  message; the 10-minute target counts a handoff opened out of the agents' opening hours
  (`OPENING_HOURS`) from the next opening (DESIGN §6: within 10 minutes during opening hours);
- bot containment: the API does not see conversations that never reached it (Rasa's tracker
  holds those), so containment here is the share of the complaints the bot filed
  (tickets with a conversation id) that no person helped with: no handoff linked to the ticket
  and none in its conversation within 24 hours of it (a WeChat conversation id is the
  traveller's openid for good, so an old handoff must not count against a new complaint);
- misunderstood phrases: handoffs for `fallback` (the bot failed twice) or `form_failures`, with
  the traveller's last message (the bot's `last_message` in the summary), personal data masked
  with `mask_text`, counted after trimming spaces; top 10.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.models import Handoff, Ticket, TicketDeadline, User
from app.services import deadlines as dl
from app.services.availability import OpeningHours
from app.services.masking import known_in_summary, mask_text

GRANULARITIES = ("week", "month")
FIRST_REPLY_TARGET_SECONDS = 600  # DESIGN §6: within 10 minutes
SATISFACTION_TARGET = 90  # out of 100 (the handbooks' target)
MISUNDERSTOOD_REASONS = ("fallback", "form_failures")
TOP_PHRASES = 10
# A handoff this close to a ticket, in the same conversation, counts as help with that ticket.
CONTAINMENT_WINDOW = timedelta(hours=24)
DIMENSIONS = ("category", "severity", "stage", "department", "status")


@dataclass(frozen=True)
class TicketRow:
    received_at: datetime
    category: str
    severity: str
    stage: str | None
    department: str
    status: str
    booking_ref: str | None = None
    phone: str | None = None
    is_repeat: bool = False
    satisfaction: int | None = None
    conversation_id: str | None = None
    had_handoff: bool = False
    deadlines: tuple[tuple[str, datetime, datetime | None], ...] = ()  # (name, due_at, done_at)


@dataclass(frozen=True)
class HandoffRow:
    created_at: datetime
    reason: str
    agent: str | None = None
    taken_at: datetime | None = None
    first_agent_reply_at: datetime | None = None
    first_reply_wait_seconds: int | None = None
    summary: Mapping[str, Any] = field(default_factory=dict)


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[00:00 China time of start, 00:00 China time of the day after end) as aware datetimes."""
    return (
        datetime.combine(start, time(0), tzinfo=dl.CHINA_TZ),
        datetime.combine(end + timedelta(days=1), time(0), tzinfo=dl.CHINA_TZ),
    )


def period_key(moment: datetime, granularity: str) -> str:
    """The ISO week (2026-W49) or month (2026-12) of an instant, in China time."""
    day = dl.china_today(moment)
    if granularity == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year}-{day.month:02d}"


def period_keys(start: date, end: date, granularity: str) -> list[str]:
    """Every week or month that overlaps [start, end], in order (empty ones included: a trend)."""
    keys: list[str] = []
    day = start
    while day <= end:
        key = period_key(datetime.combine(day, time(12), tzinfo=dl.CHINA_TZ), granularity)
        if not keys or keys[-1] != key:
            keys.append(key)
        day += timedelta(days=1)
    return keys


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _counts(values: Iterable[str | None]) -> dict[str, int]:
    counted = Counter(value if value else "unknown" for value in values)
    return dict(sorted(counted.items(), key=lambda item: (-item[1], item[0])))


def _volume(tickets: list[TicketRow]) -> dict[str, Any]:
    return {
        "total": len(tickets),
        **{f"by_{name}": _counts(getattr(t, name) for t in tickets) for name in DIMENSIONS},
    }


def _satisfaction(tickets: list[TicketRow]) -> dict[str, Any]:
    ratings = [t.satisfaction for t in tickets if t.satisfaction is not None]
    return {
        "count": len(ratings),
        "score": round(statistics.fmean(ratings) * 20, 1) if ratings else None,
        "low": sum(1 for r in ratings if r <= 2),
        "target": SATISFACTION_TARGET,
    }


def deadlines_met(tickets: list[TicketRow], now: datetime) -> list[dict[str, Any]]:
    tally: dict[str, Counter] = {name: Counter() for name in dl.DEADLINE_NAMES}
    for ticket in tickets:
        for name, due_at, done_at in ticket.deadlines:
            tally.setdefault(name, Counter())[dl.deadline_state(due_at, done_at, now)] += 1
    rows = []
    for name, counted in tally.items():
        met, breached, still_open = counted[dl.MET], counted[dl.BREACHED], counted[dl.DUE]
        rows.append(
            {
                "step": name,
                "met": met,
                "breached": breached,
                "open": still_open,
                "met_share": _share(met, met + breached),
            }
        )
    return rows


def repeats(tickets: list[TicketRow]) -> dict[str, Any]:
    """Tickets linked to an earlier one of the period by booking or phone (transitively)."""
    parent = list(range(len(tickets)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_seen: dict[tuple[str, str], int] = {}
    for i, ticket in enumerate(tickets):
        for key in (("booking", ticket.booking_ref), ("phone", ticket.phone)):
            if not key[1]:  # no booking given, or cleared by the retention job
                continue
            if key in first_seen:
                parent[root(i)] = root(first_seen[key])
            else:
                first_seen[key] = i
    sizes = Counter(root(i) for i in range(len(tickets)))
    grouped = [size for size in sizes.values() if size > 1]
    return {
        "tickets": sum(size - 1 for size in grouped),
        "groups": len(grouped),
        "flagged": sum(1 for t in tickets if t.is_repeat),
    }


def in_hours_wait(handoff: HandoffRow, hours: OpeningHours | None) -> int | None:
    """The wait the 10-minute target is checked on: from the handoff, or from the next opening
    when it was opened out of hours (DESIGN §6: "within 10 minutes during opening hours")."""
    wait = handoff.first_reply_wait_seconds
    if wait is None or hours is None:
        return wait
    start = hours.next_opening(handoff.created_at) or handoff.created_at
    replied = handoff.created_at + timedelta(seconds=wait)
    return max(0, int((replied - start).total_seconds()))


def first_reply(
    handoffs: list[HandoffRow], staff: Mapping[str, str], hours: OpeningHours | None = None
) -> dict[str, Any]:
    waits = [h.first_reply_wait_seconds for h in handoffs if h.first_reply_wait_seconds is not None]
    counted = [in_hours_wait(h, hours) for h in handoffs if h.first_reply_wait_seconds is not None]
    met = sum(1 for w in counted if w <= FIRST_REPLY_TARGET_SECONDS)
    after_take = [
        max(0, int((h.first_agent_reply_at - h.taken_at).total_seconds()))
        for h in handoffs
        if h.first_agent_reply_at is not None and h.taken_at is not None
    ]
    by_agent: dict[str, list[tuple[int, int]]] = defaultdict(list)  # (wait, wait in hours)
    for h in handoffs:
        if h.first_reply_wait_seconds is not None and h.agent:
            by_agent[h.agent].append((h.first_reply_wait_seconds, in_hours_wait(h, hours)))
    return {
        "handoffs": len(handoffs),
        "replied": len(waits),
        "unanswered": len(handoffs) - len(waits),
        "mean_seconds": round(statistics.fmean(waits)) if waits else None,
        "median_seconds": round(statistics.median(waits)) if waits else None,
        "mean_after_take_seconds": round(statistics.fmean(after_take)) if after_take else None,
        "within_target": met,
        "within_target_share": _share(met, len(waits)),
        "target_seconds": FIRST_REPLY_TARGET_SECONDS,
        "by_agent": [
            {
                "agent": agent,
                "name": staff.get(agent, agent),
                "replied": len(values),
                "mean_seconds": round(statistics.fmean(w for w, _ in values)),
                "within_target": sum(1 for _, w in values if w <= FIRST_REPLY_TARGET_SECONDS),
            }
            for agent, values in sorted(by_agent.items())
        ],
    }


def containment(tickets: list[TicketRow], handoffs: list[HandoffRow]) -> dict[str, Any]:
    by_bot = [t for t in tickets if t.conversation_id]
    contained = sum(1 for t in by_bot if not t.had_handoff)
    return {
        "bot_tickets": len(by_bot),
        "contained": contained,
        "share": _share(contained, len(by_bot)),
        "handoffs": len(handoffs),
        "handoffs_by_reason": _counts(h.reason for h in handoffs),
    }


def misunderstood(handoffs: list[HandoffRow], top: int = TOP_PHRASES) -> list[dict[str, Any]]:
    phrases: Counter = Counter()
    for h in handoffs:
        text = h.summary.get("last_message") if h.reason in MISUNDERSTOOD_REASONS else None
        if not isinstance(text, str) or not text.strip():
            continue
        masked = mask_text(" ".join(text.split()), known_in_summary(h.summary))
        phrases[masked] += 1
    ranked = sorted(phrases.items(), key=lambda item: (-item[1], item[0]))[:top]
    return [{"text": text, "count": n} for text, n in ranked]


def build(
    tickets: list[TicketRow],
    handoffs: list[HandoffRow],
    *,
    start: date,
    end: date,
    granularity: str,
    now: datetime,
    staff: Mapping[str, str] | None = None,
    hours: OpeningHours | None = None,
) -> dict[str, Any]:
    """The whole report for [start, end] (China dates, both included); `hours` are the agents'
    opening hours (the first-reply target counts from the opening for a handoff out of hours)."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {GRANULARITIES}")
    staff = staff or {}
    buckets: dict[str, list[TicketRow]] = {key: [] for key in period_keys(start, end, granularity)}
    handoff_buckets: dict[str, list[HandoffRow]] = {key: [] for key in buckets}
    for ticket in tickets:
        buckets.setdefault(period_key(ticket.received_at, granularity), []).append(ticket)
    for handoff in handoffs:
        handoff_buckets.setdefault(period_key(handoff.created_at, granularity), []).append(handoff)
    periods = []
    for key, rows in buckets.items():
        replies = first_reply(handoff_buckets.get(key, []), staff, hours)
        periods.append(
            {
                "period": key,
                **_volume(rows),
                "satisfaction_score": _satisfaction(rows)["score"],
                "repeat_tickets": repeats(rows)["tickets"],
                "handoffs": len(handoff_buckets.get(key, [])),
                "first_reply_mean_seconds": replies["mean_seconds"],
                "containment_share": containment(rows, [])["share"],
            }
        )
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "granularity": granularity,
        "generated_at": now.astimezone(dl.CHINA_TZ).isoformat(timespec="seconds"),
        **_volume(tickets),
        "periods": periods,
        "deadlines": deadlines_met(tickets, now),
        "satisfaction": _satisfaction(tickets),
        "repeats": repeats(tickets),
        "first_reply": first_reply(handoffs, staff, hours),
        "containment": containment(tickets, handoffs),
        "misunderstood": misunderstood(handoffs),
    }


def load(
    session: Session, *, start: date, end: date
) -> tuple[list[TicketRow], list[HandoffRow], dict[str, str]]:
    """The rows of the period: tickets received and handoffs opened in it, and staff names."""
    since, until = period_bounds(start, end)
    ticket_rows = session.execute(
        select(
            Ticket.id,
            Ticket.ticket_no,
            Ticket.received_at,
            Ticket.category,
            Ticket.severity,
            Ticket.stage,
            Ticket.department,
            Ticket.status,
            Ticket.booking_ref,
            Ticket.phone,
            Ticket.is_repeat,
            Ticket.satisfaction,
            Ticket.conversation_id,
        )
        .where(Ticket.received_at >= since, Ticket.received_at < until)
        .order_by(Ticket.received_at, Ticket.id)
    ).all()
    ids = [row.id for row in ticket_rows]
    steps: dict[int, list[tuple[str, datetime, datetime | None]]] = defaultdict(list)
    for chunk in range(0, len(ids), 500):  # bounded IN lists
        for ticket_id, name, due_at, done_at in session.execute(
            select(
                TicketDeadline.ticket_id, TicketDeadline.name, TicketDeadline.due_at, TicketDeadline.done_at
            ).where(TicketDeadline.ticket_id.in_(ids[chunk : chunk + 500]))
        ):
            steps[ticket_id].append((name, _aware(due_at), _aware(done_at)))
    helped = _had_handoff(session, ticket_rows)
    tickets = [
        TicketRow(
            received_at=_aware(row.received_at),
            category=row.category,
            severity=row.severity,
            stage=row.stage,
            department=row.department,
            status=row.status,
            booking_ref=row.booking_ref,
            phone=row.phone,
            is_repeat=bool(row.is_repeat),
            satisfaction=row.satisfaction,
            conversation_id=row.conversation_id,
            had_handoff=row.id in helped,
            deadlines=tuple(steps.get(row.id, ())),
        )
        for row in ticket_rows
    ]
    handoffs = [
        HandoffRow(
            created_at=_aware(h.created_at),
            reason=h.reason,
            agent=h.agent,
            taken_at=_aware(h.taken_at),
            first_agent_reply_at=_aware(h.first_agent_reply_at),
            first_reply_wait_seconds=h.first_reply_wait_seconds,
            summary=h.summary or {},
        )
        for h in session.scalars(
            select(Handoff)
            .where(Handoff.created_at >= since, Handoff.created_at < until)
            .order_by(Handoff.id)
        )
    ]
    staff = dict(session.execute(select(User.username, User.display_name)).tuples().all())
    return tickets, handoffs, staff


def _had_handoff(session: Session, ticket_rows: list) -> set[int]:
    """The tickets a human helped with: a handoff linked to the ticket, or one opened in its
    conversation within CONTAINMENT_WINDOW of the ticket. On WeChat the conversation id is
    the traveller's openid for good, so "any handoff of that conversation, ever" would mark
    every later complaint of someone who once asked for a human as not contained."""
    by_conversation: dict[str, list[datetime]] = defaultdict(list)
    linked: set[str] = set()
    conversations = sorted({row.conversation_id for row in ticket_rows if row.conversation_id})
    numbers = [row.ticket_no for row in ticket_rows]
    for chunk in range(0, max(len(conversations), len(numbers)), 500):  # bounded IN lists
        for conversation_id, ticket_no, created_at in session.execute(
            select(Handoff.conversation_id, Handoff.ticket_no, Handoff.created_at).where(
                or_(
                    Handoff.conversation_id.in_(conversations[chunk : chunk + 500]),
                    Handoff.ticket_no.in_(numbers[chunk : chunk + 500]),
                )
            )
        ):
            by_conversation[conversation_id].append(_aware(created_at))
            if ticket_no:
                linked.add(ticket_no)
    helped = set()
    for row in ticket_rows:
        received = _aware(row.received_at)
        near = any(
            abs(opened - received) <= CONTAINMENT_WINDOW
            for opened in by_conversation.get(row.conversation_id, ())
        )
        if row.ticket_no in linked or (row.conversation_id and near):
            helped.add(row.id)
    return helped


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; the API stores UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


SECTIONS = {
    "volume": "投诉量",
    "trend": "趋势",
    "deadlines": "时限达成",
    "satisfaction": "满意度",
    "repeats": "重复投诉",
    "first_reply": "人工首次回复",
    "first_reply_agent": "客服首次回复",
    "containment": "机器人独立处理",
    "misunderstood": "未理解的话",
}
MEASURES = {
    "total": "投诉总数",
    "met": "按时完成",
    "breached": "超时",
    "open": "进行中",
    "met_share": "按时完成率",
    "count": "评价数",
    "score": "满意度（百分制）",
    "low": "低分（1-2 星）",
    "target": "目标",
    "tickets": "重复投诉单数",
    "groups": "多次投诉的旅客",
    "flagged": "标记为重复的投诉",
    "handoffs": "转人工次数",
    "replied": "已回复",
    "unanswered": "未回复",
    "mean_seconds": "平均等待（秒）",
    "median_seconds": "中位等待（秒）",
    "mean_after_take_seconds": "接入后平均回复（秒）",
    "within_target": "10 分钟内回复",
    "within_target_share": "10 分钟内回复率",
    "target_seconds": "目标（秒）",
    "bot_tickets": "机器人受理的投诉",
    "contained": "未转人工",
    "share": "独立处理率",
    "satisfaction_score": "满意度（百分制）",
    "repeat_tickets": "重复投诉单数",
    "first_reply_mean_seconds": "平均首次回复（秒）",
    "containment_share": "独立处理率",
}
CSV_HEADER = ("分项", "section", "周期", "维度", "代码", "名称", "数值")


def csv_rows(report: Mapping[str, Any], labels: Mapping[str, Mapping[str, str]]) -> list[tuple]:
    """The report as flat rows (section, period, dimension, code, Chinese label, value); the
    period column is "全部" for figures of the whole range. Labels: GET /labels' tables."""
    whole = "全部"
    dimension_labels = {
        "category": "categories",
        "severity": "severities",
        "stage": "stages",
        "department": "departments",
        "status": "ticket_statuses",
    }
    dimension_names = {
        "category": "类别",
        "severity": "严重程度",
        "stage": "阶段",
        "department": "责任部门",
        "status": "处理状态",
    }

    def label(dimension: str, code: str) -> str:
        table = labels.get(dimension_labels.get(dimension, dimension), {})
        return table.get(code, "未注明" if code == "unknown" else code)

    rows: list[tuple] = []

    def add(section: str, period: str, dimension: str, code: str, name: str, value: Any) -> None:
        # Every text cell: staff display names and codes can start with = + - @ too.
        cells = (SECTIONS[section], section, period, dimension, code, name)
        rows.append((*(_cell(str(c)) for c in cells), "" if value is None else value))

    def volume(section: str, period: str, source: Mapping[str, Any]) -> None:
        add(section, period, "", "total", MEASURES["total"], source["total"])
        for dimension in DIMENSIONS:
            for code, n in source[f"by_{dimension}"].items():
                add(section, period, dimension_names[dimension], code, label(dimension, code), n)

    volume("volume", whole, report)
    for row in report["periods"]:
        volume("trend", row["period"], row)
        for key in (
            "satisfaction_score",
            "repeat_tickets",
            "handoffs",
            "first_reply_mean_seconds",
            "containment_share",
        ):
            add("trend", row["period"], "", key, MEASURES[key], row[key])
    for step in report["deadlines"]:
        for key in ("met", "breached", "open", "met_share"):
            add(
                "deadlines",
                whole,
                labels.get("deadlines", {}).get(step["step"], step["step"]),
                f"{step['step']}.{key}",
                MEASURES[key],
                step[key],
            )
    for section in ("satisfaction", "repeats"):
        for key, value in report[section].items():
            add(section, whole, "", key, MEASURES[key], value)
    for key, value in report["first_reply"].items():
        if key != "by_agent":
            add("first_reply", whole, "", key, MEASURES[key], value)
    for agent in report["first_reply"]["by_agent"]:
        for key in ("replied", "mean_seconds", "within_target"):
            add(
                "first_reply_agent",
                whole,
                agent["name"],
                f"{agent['agent']}.{key}",
                MEASURES[key],
                agent[key],
            )
    for key, value in report["containment"].items():
        if key == "handoffs_by_reason":
            for code, n in value.items():
                add(
                    "containment",
                    whole,
                    "转人工原因",
                    f"handoffs.{code}",
                    labels.get("handoff_reasons", {}).get(code, code),
                    n,
                )
        else:
            add("containment", whole, "", key, MEASURES[key], value)
    for rank, phrase in enumerate(report["misunderstood"], start=1):
        add("misunderstood", whole, "", str(rank), phrase["text"], phrase["count"])
    return rows


def _cell(text: str) -> str:
    # A traveller's phrase starting with = + - @ would be a formula in Excel (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(report: Mapping[str, Any], labels: Mapping[str, Mapping[str, str]]) -> str:
    """CSV text with a UTF-8 byte-order mark, so Excel reads the Chinese as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(csv_rows(report, labels))
    return "\ufeff" + out.getvalue()
