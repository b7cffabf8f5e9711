"""The report's figures from a dozen tickets and eight handoffs counted by hand
(app/services/report.py, pure: no database). Every expected number below is a literal
counted from the table in `tickets()` / `handoffs()`, not recomputed."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from app.services import report
from app.services.deadlines import CHINA_TZ
from app.services.report import HandoffRow, TicketRow


def cn(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=CHINA_TZ)


NOW = cn(11, 30, 12)
START, END = date(2026, 11, 2), date(2026, 11, 29)  # ISO weeks 45-48, Monday to Sunday


def t(
    when,
    category,
    severity,
    stage,
    department,
    status,
    booking,
    phone,
    conv,
    had_handoff=False,
    satisfaction=None,
    repeat=False,
    deadlines=(),
):
    return TicketRow(
        received_at=when,
        category=category,
        severity=severity,
        stage=stage,
        department=department,
        status=status,
        booking_ref=booking,
        phone=phone,
        conversation_id=conv,
        had_handoff=had_handoff,
        satisfaction=satisfaction,
        is_repeat=repeat,
        deadlines=deadlines,
    )


def tickets() -> list[TicketRow]:
    return [
        # week 45
        t(
            cn(11, 2),
            "meals",
            "general",
            "pre_trip",
            "operations",
            "received",
            "TR20260001",
            "13800000001",
            "c1",
            deadlines=(
                ("first_response", cn(11, 3), cn(11, 2, 11)),  # met
                ("investigated", cn(11, 3, 18), None),
            ),
        ),  # breached (overdue now)
        t(
            cn(11, 3),
            "meals",
            "general",
            "in_trip",
            "operations",
            "investigating",
            "TR20260001",
            "13800000002",
            "c2",
            had_handoff=True,
            satisfaction=5,
            repeat=True,
            deadlines=(
                ("first_response", cn(11, 4), cn(11, 5)),  # breached (late)
                ("investigated", cn(11, 4, 18), cn(11, 4, 9)),
            ),
        ),  # met
        t(
            cn(11, 5),
            "transport",
            "major",
            "in_trip",
            "operations",
            "closed",
            "TR20260002",
            "13800000003",
            None,
            satisfaction=4,
            deadlines=(
                ("first_response", cn(11, 6), cn(11, 5, 12)),  # met
                ("resolution", cn(11, 7), cn(11, 6)),
            ),
        ),  # met
        # 23:30 in Beijing on Sunday: still week 45 in China (15:30 UTC)
        t(
            cn(11, 8, 23, 30),
            "billing",
            "general",
            "post_trip",
            "finance",
            "resolved",
            None,
            "13800000004",
            "c4",
        ),
        # week 46; 00:30 in Beijing on Monday is still Sunday in UTC: week 46 in China
        t(
            cn(11, 9, 0, 30),
            "safety",
            "urgent",
            "in_trip",
            "security",
            "received",
            "TR20260003",
            "13800000004",
            "c5",
            had_handoff=True,
        ),
        t(
            cn(11, 10),
            "service_attitude",
            "general",
            "pre_trip",
            "quality",
            "followed_up",
            "TR20260004",
            "13800000006",
            "c6",
            satisfaction=2,
        ),
        t(
            cn(11, 12),
            "shopping",
            "major",
            "post_trip",
            "quality",
            "closed",
            "TR20260004",
            "13800000007",
            "c7",
            satisfaction=1,
            repeat=True,
        ),
        # week 47
        t(
            cn(11, 16),
            "accommodation",
            "general",
            None,
            "operations",
            "rejected",
            None,
            "13800000008",
            "c8",
            had_handoff=True,
        ),
        t(
            cn(11, 18),
            "baggage",
            "general",
            "pre_trip",
            "operations",
            "received",
            "TR20260005",
            "13800000009",
            "c9",
            had_handoff=True,
            repeat=True,
        ),
        t(
            cn(11, 20),
            "meals",
            "general",
            "in_trip",
            "operations",
            "received",
            "TR20260006",
            "13800000006",
            "c10",
        ),
        # week 48
        t(cn(11, 25), "privacy", "major", "post_trip", "legal", "investigating", None, "13800000011", None),
        t(
            cn(11, 28),
            "other",
            "general",
            "pre_trip",
            "customer_service",
            "received",
            "TR20260007",
            "",
            "c12",
            had_handoff=True,
            satisfaction=3,
            deadlines=(("investigated", cn(12, 1, 18), None),),
        ),  # open (not due yet)
    ]


def h(when, reason, agent=None, taken_after=None, reply_after=None, last=None):
    return HandoffRow(
        created_at=when,
        reason=reason,
        agent=agent,
        taken_at=when + timedelta(seconds=taken_after) if taken_after is not None else None,
        first_agent_reply_at=when + timedelta(seconds=reply_after) if reply_after is not None else None,
        first_reply_wait_seconds=reply_after,
        summary={"last_message": last} if last is not None else {},
    )


def handoffs() -> list[HandoffRow]:
    return [
        h(cn(11, 3, 9), "request_human", "agent1", 120, 300),
        h(cn(11, 9, 1), "emergency", "agent2", 60, 120),
        h(cn(11, 16), "fallback", "agent1", 600, 900, last="我的手机号是13812345678怎么办"),
        h(cn(11, 17), "fallback", last="  帮我 查一下   那个东西 "),
        h(cn(11, 18), "form_failures", "agent2", 1080, 1200, last="帮我 查一下 那个东西"),
        h(cn(11, 28), "fallback", last="天气怎么样"),
        h(cn(11, 28, 11), "request_human", last="天气怎么样"),  # not a misunderstanding
        h(cn(11, 29), "fallback"),  # no last message: nothing to show
    ]


@pytest.fixture(scope="module")
def weekly() -> dict:
    return report.build(
        tickets(),
        handoffs(),
        start=START,
        end=END,
        granularity="week",
        now=NOW,
        staff={"agent1": "张敏", "agent2": "李强"},
    )


def test_volume(weekly):
    assert weekly["total"] == 12
    assert weekly["by_category"] == {
        "meals": 3,
        "accommodation": 1,
        "baggage": 1,
        "billing": 1,
        "other": 1,
        "privacy": 1,
        "safety": 1,
        "service_attitude": 1,
        "shopping": 1,
        "transport": 1,
    }
    assert weekly["by_severity"] == {"general": 8, "major": 3, "urgent": 1}
    assert weekly["by_stage"] == {"in_trip": 4, "pre_trip": 4, "post_trip": 3, "unknown": 1}
    assert weekly["by_department"] == {
        "operations": 6,
        "quality": 2,
        "customer_service": 1,
        "finance": 1,
        "legal": 1,
        "security": 1,
    }
    assert weekly["by_status"] == {
        "received": 5,
        "closed": 2,
        "investigating": 2,
        "followed_up": 1,
        "rejected": 1,
        "resolved": 1,
    }


def test_trend_by_china_week(weekly):
    periods = {p["period"]: p for p in weekly["periods"]}
    assert list(periods) == ["2026-W45", "2026-W46", "2026-W47", "2026-W48"]
    assert [p["total"] for p in weekly["periods"]] == [4, 3, 3, 2]
    assert periods["2026-W45"]["by_department"] == {"operations": 3, "finance": 1}
    assert periods["2026-W46"]["by_severity"] == {"general": 1, "major": 1, "urgent": 1}
    assert [p["satisfaction_score"] for p in weekly["periods"]] == [90.0, 30.0, None, 60.0]
    assert [p["repeat_tickets"] for p in weekly["periods"]] == [1, 1, 0, 0]
    assert [p["handoffs"] for p in weekly["periods"]] == [1, 1, 3, 3]
    assert [p["first_reply_mean_seconds"] for p in weekly["periods"]] == [300, 120, 1050, None]
    assert [p["containment_share"] for p in weekly["periods"]] == [0.6667, 0.6667, 0.3333, 0.0]


def test_trend_by_month_includes_empty_months():
    monthly = report.build(
        tickets(), handoffs(), start=date(2026, 10, 26), end=END, granularity="month", now=NOW
    )
    assert [(p["period"], p["total"]) for p in monthly["periods"]] == [("2026-10", 0), ("2026-11", 12)]
    assert report.period_keys(date(2026, 10, 26), END, "week") == [
        "2026-W44",
        "2026-W45",
        "2026-W46",
        "2026-W47",
        "2026-W48",
    ]
    assert report.period_keys(date(2026, 12, 28), date(2027, 1, 4), "week") == ["2026-W53", "2027-W01"]


def test_deadlines_met_per_step(weekly):
    steps = {row["step"]: row for row in weekly["deadlines"]}
    assert list(steps) == [
        "first_response",
        "investigated",
        "plan_made",
        "resolved",
        "followed_up",
        "resolution",
        "alternative_plan",
    ]
    assert steps["first_response"] == {
        "step": "first_response",
        "met": 2,
        "breached": 1,
        "open": 0,
        "met_share": 0.6667,
    }
    assert steps["investigated"] == {
        "step": "investigated",
        "met": 1,
        "breached": 1,
        "open": 1,
        "met_share": 0.5,
    }
    assert steps["resolution"] == {"step": "resolution", "met": 1, "breached": 0, "open": 0, "met_share": 1.0}
    assert steps["plan_made"] == {"step": "plan_made", "met": 0, "breached": 0, "open": 0, "met_share": None}


def test_satisfaction_out_of_100(weekly):
    assert weekly["satisfaction"] == {"count": 5, "score": 60.0, "low": 2, "target": 90}


def test_repeats_by_booking_or_phone(weekly):
    # {1,2} same booking; {4,5} same phone; {6,7,10} booking then phone; an empty phone joins nothing
    assert weekly["repeats"] == {"tickets": 4, "groups": 3, "flagged": 3}


def test_first_reply(weekly):
    assert weekly["first_reply"] == {
        "handoffs": 8,
        "replied": 4,
        "unanswered": 4,
        "mean_seconds": 630,
        "median_seconds": 600,
        "mean_after_take_seconds": 165,
        "within_target": 2,
        "within_target_share": 0.5,
        "target_seconds": 600,
        "by_agent": [
            {"agent": "agent1", "name": "张敏", "replied": 2, "mean_seconds": 600, "within_target": 1},
            {"agent": "agent2", "name": "李强", "replied": 2, "mean_seconds": 660, "within_target": 1},
        ],
    }


def test_containment(weekly):
    assert weekly["containment"] == {
        "bot_tickets": 10,
        "contained": 5,
        "share": 0.5,
        "handoffs": 8,
        "handoffs_by_reason": {"fallback": 4, "request_human": 2, "emergency": 1, "form_failures": 1},
    }


def test_misunderstood_phrases_masked_and_counted(weekly):
    assert weekly["misunderstood"] == [
        {"text": "帮我 查一下 那个东西", "count": 2},
        {"text": "天气怎么样", "count": 1},
        {"text": "我的手机号是138****5678怎么办", "count": 1},
    ]


def test_empty_period_has_no_made_up_figures():
    empty = report.build([], [], start=START, end=END, granularity="week", now=NOW)
    assert empty["total"] == 0 and len(empty["periods"]) == 4
    assert empty["satisfaction"]["score"] is None and empty["containment"]["share"] is None
    assert empty["first_reply"]["mean_seconds"] is None and empty["misunderstood"] == []


def test_csv_rows_carry_the_figures(weekly):
    labels = {"categories": {"meals": "餐饮"}, "deadlines": {"first_response": "首次响应"}}
    rows = report.csv_rows(weekly, labels)
    assert ("投诉量", "volume", "全部", "类别", "meals", "餐饮", 3) in rows
    assert (
        "时限达成",
        "deadlines",
        "全部",
        "首次响应",
        "first_response.met_share",
        "按时完成率",
        0.6667,
    ) in rows
    assert ("趋势", "trend", "2026-W47", "", "satisfaction_score", "满意度（百分制）", "") in rows
    text = report.to_csv(weekly, labels)
    assert text.startswith("\ufeff分项,section,")
    formula = report.build(
        [],
        [h(cn(11, 3), "fallback", last="=HYPERLINK(1)")],
        start=START,
        end=END,
        granularity="week",
        now=NOW,
    )
    assert ("未理解的话", "misunderstood", "全部", "", "1", "'=HYPERLINK(1)", 1) in report.csv_rows(
        formula, {}
    )


def test_first_reply_target_counts_from_the_opening_out_of_hours():
    """Opening hours 08:00-22:00 (China time): a handoff opened at 23:00 and answered at 08:05
    met the 10 minutes (five minutes after the opening); one answered at 08:12 did not; in
    hours the wait counts from the handoff, as without opening hours."""
    from app.services.availability import OpeningHours

    hours = OpeningHours.parse("08:00-22:00")
    rows = [
        h(cn(11, 10, 23), "request_human", "agent1", 60, 9 * 3600 + 5 * 60),  # 08:05 next day
        h(cn(11, 11, 23), "request_human", "agent1", 60, 9 * 3600 + 12 * 60),  # 08:12
        h(cn(11, 12, 9), "request_human", "agent2", 60, 300),  # in hours: 5 min
        h(cn(11, 12, 21, 58), "request_human", "agent2", 60, 660),  # in hours at the start: 11 min
    ]
    got = report.first_reply(rows, {}, hours)
    assert (got["replied"], got["within_target"], got["within_target_share"]) == (4, 2, 0.5)
    assert [(a["agent"], a["within_target"]) for a in got["by_agent"]] == [("agent1", 1), ("agent2", 1)]
    # Without opening hours every wait counts from the handoff: only the 5-minute one is met.
    assert report.first_reply(rows, {})["within_target"] == 1
    # The report's fixtures have no out-of-hours reply that changes: same figure either way.
    weekly = report.build(
        tickets(), handoffs(), start=START, end=END, granularity="week", now=NOW, hours=hours
    )
    assert weekly["first_reply"]["within_target"] == 2
