from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest

from app.services import deadlines as dl
from app.services.taxonomy import PROCESS_WORKING_DAYS

CN = dl.CHINA_TZ


def cn(*args) -> datetime:
    return datetime(*args, tzinfo=CN)


def local(value: datetime) -> datetime:
    return value.astimezone(CN)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (cn(2025, 11, 17, 10, 0), 1, cn(2025, 11, 18, 18, 0)),  # Monday -> end of Tuesday
        (cn(2025, 11, 17, 3, 17), 1, cn(2025, 11, 18, 18, 0)),  # at night: still the end of a working day
        (cn(2025, 11, 17, 23, 59), 1, cn(2025, 11, 18, 18, 0)),
        (cn(2025, 11, 21, 16, 30), 1, cn(2025, 11, 24, 18, 0)),  # Friday -> Monday
        (cn(2025, 11, 22, 9, 0), 1, cn(2025, 11, 24, 18, 0)),  # Saturday counts from Monday
        (cn(2025, 9, 30, 15, 0), 1, cn(2025, 10, 9, 18, 0)),  # over National Day 2025 (Oct 1-8)
        (cn(2025, 10, 3, 11, 0), 1, cn(2025, 10, 9, 18, 0)),  # received on a public holiday
        (cn(2025, 9, 27, 10, 0), 1, cn(2025, 9, 28, 18, 0)),  # Sunday 2025-09-28 is an adjusted working day
        (
            cn(2025, 10, 10, 10, 0),
            1,
            cn(2025, 10, 11, 18, 0),
        ),  # Saturday 2025-10-11 is an adjusted working day
        (cn(2025, 10, 9, 10, 0), 3, cn(2025, 10, 13, 18, 0)),  # Thu -> Fri, Sat(adjusted), Mon
        (cn(2025, 12, 31, 10, 0), 1, cn(2026, 1, 4, 18, 0)),  # New Year 2026 (Jan 1-3), Sunday Jan 4 adjusted
        # The China date decides, not UTC's: 2025-11-17 20:30 UTC is Tuesday 04:30 in Beijing.
        (datetime(2025, 11, 17, 20, 30, tzinfo=UTC), 1, cn(2025, 11, 19, 18, 0)),
    ],
)
def test_add_working_days_follows_the_mainland_calendar(start, days, expected):
    due, fallback = dl.add_working_days(start, days)
    assert local(due) == expected
    assert fallback is False


def test_working_days_agree_with_the_library_for_a_published_year():
    day = date(2025, 1, 1)
    while day.year == 2025:
        assert dl.is_working_day(day) == (chinese_calendar.is_workday(day), False)
        day += timedelta(days=1)


# The first year the installed calendar has not published (no year bomb when it publishes more).
UNPUBLISHED = max(chinese_calendar.holidays).year + 1


@pytest.mark.parametrize("start", [cn(UNPUBLISHED, 10, 1, 9, 0), cn(2099, 5, 1, 9, 0)])
def test_years_beyond_the_library_fall_back_to_weekends_only(start):
    due, fallback = dl.add_working_days(start, 1)
    assert fallback is True
    expected = start.replace(hour=18) + timedelta(days=1)
    while expected.weekday() >= 5:
        expected += timedelta(days=1)
    assert local(due) == expected


def test_a_plan_that_crosses_into_an_unpublished_year_is_flagged():
    last_published = max(chinese_calendar.holidays).year
    received = cn(last_published, 12, 30, 10, 0)
    plan = dl.plan_deadlines(received, "general", "accommodation", None)
    assert plan.calendar_fallback is True
    early = dl.plan_deadlines(cn(last_published, 6, 1, 10, 0), "general", "accommodation", None)
    assert early.calendar_fallback is False


def test_add_working_days_refuses_naive_datetimes():
    with pytest.raises(ValueError):
        dl.add_working_days(datetime(2025, 1, 1), 1)


def test_general_complaint_follows_the_1_2_3_1_process():
    received = cn(2025, 9, 30, 15, 0)  # the day before National Day
    plan = dl.plan_deadlines(received, "general", "accommodation", "post_trip")
    due = {name: local(at) for name, at in plan.due.items()}
    assert [name for name, _ in PROCESS_WORKING_DAYS] == [
        "investigated",
        "plan_made",
        "resolved",
        "followed_up",
    ]
    assert due["first_response"] == received + timedelta(hours=24)
    assert due["investigated"] == cn(2025, 10, 9, 18, 0)
    assert due["plan_made"] == cn(2025, 10, 11, 18, 0)  # Fri 10th, Sat 11th (adjusted working day)
    assert due["resolved"] == cn(2025, 10, 15, 18, 0)  # Mon 13th, Tue 14th, Wed 15th
    assert due["followed_up"] == cn(2025, 10, 16, 18, 0)
    assert due["resolution"] == due["resolved"]
    assert "alternative_plan" not in due
    assert all(at.utcoffset() == timedelta(0) for at in plan.due.values())


@pytest.mark.parametrize(
    ("severity", "first_response", "resolution"),
    [
        ("urgent", dl.IMMEDIATE_RESPONSE_WITHIN, timedelta(hours=24)),
        ("major", timedelta(hours=24), timedelta(hours=48)),
    ],
)
def test_urgent_and_major_have_clock_hour_targets(severity, first_response, resolution):
    received = cn(2025, 10, 2, 20, 0)  # a holiday: clock hours do not care
    plan = dl.plan_deadlines(received, severity, "safety", "in_trip")
    assert plan.due["first_response"] == received + first_response
    assert plan.due["resolution"] == received + resolution
    # Received on a holiday: the working-day steps would fall after the clock-hour target, so the
    # steps up to "resolved" fall due with it; the follow-up is the next working day after that.
    for name in ("investigated", "plan_made", "resolved"):
        assert plan.due[name] == plan.due["resolution"], name
    assert local(plan.due["followed_up"]) == cn(2025, 10, 9, 18, 0)


def test_a_major_complaint_is_not_resolved_before_its_plan_is_made():
    # The stranger test: major, Monday 2026-12-07 12:26 Beijing time. It listed "办结 12月9日 12:26"
    # before "制定处理方案 12月10日" and "落实 12月15日".
    received = cn(2026, 12, 7, 12, 26)
    plan = dl.plan_deadlines(received, "major", "shopping", "in_trip")
    due = {name: local(at) for name, at in plan.due.items()}
    assert due["resolution"] == cn(2026, 12, 9, 12, 26)  # 48 hours
    assert due["first_response"] == cn(2026, 12, 8, 12, 26)
    assert due["investigated"] == cn(2026, 12, 8, 18, 0)  # 1 working day: within the 48 hours
    assert due["plan_made"] == cn(2026, 12, 9, 12, 26)  # 2 more working days would be the 10th
    assert due["resolved"] == cn(2026, 12, 9, 12, 26)  # the 15th by the working-day process
    assert due["followed_up"] == cn(2026, 12, 10, 18, 0)  # 1 working day after it is carried out
    in_time_order = sorted(plan.due, key=lambda n: (plan.due[n], dl.DEADLINE_NAMES.index(n)))
    assert in_time_order == [
        "first_response",
        "investigated",
        "plan_made",
        "resolved",
        "resolution",
        "followed_up",
    ]


def _received_times():
    """Every few hours over a year with holidays, adjusted working days and an unpublished year."""
    start = cn(2025, 9, 20, 0, 5)
    return [start + timedelta(hours=7 * i + (i % 5) * 11) for i in range(0, 1400, 3)]


@pytest.mark.parametrize("severity", ["urgent", "major", "general"])
@pytest.mark.parametrize(("category", "stage"), [("transport", "in_trip"), ("billing", "post_trip")])
def test_deadlines_of_every_severity_follow_the_process_order(severity, category, stage):
    rule_hours = {"urgent": 24, "major": 48, "general": None}[severity]
    for received in _received_times():
        due = dl.plan_deadlines(received, severity, category, stage).due
        order = ["investigated", "plan_made", "resolved", "followed_up"]
        assert all(due[a] <= due[b] for a, b in zip(order, order[1:])), (received, due)
        assert due["resolved"] < due["followed_up"], received
        # The close target: nothing but the follow-up falls due after it, and it is never earlier
        # than the plan being carried out.
        for name in ("first_response", "investigated", "plan_made", "resolved", "alternative_plan"):
            if name in due:
                assert due[name] <= due["resolution"], (severity, received, name)
        if rule_hours is None:
            assert due["resolution"] == due["resolved"]
        else:
            assert due["resolution"] == received + timedelta(hours=rule_hours)
            # 6 working days never fit in 48 hours: carrying out the plan is due with the target.
            assert due["resolved"] == due["resolution"]
        assert all(at > received for at in due.values())


@pytest.mark.parametrize(
    ("category", "stage", "has_alternative_plan"),
    [
        ("transport", "in_trip", True),
        ("itinerary", "in_trip", True),
        ("meals", "in_trip", False),
        ("transport", "pre_trip", False),
        ("itinerary", "post_trip", False),
        ("transport", None, False),
    ],
)
def test_in_trip_disruptions_need_an_alternative_plan_within_an_hour(category, stage, has_alternative_plan):
    received = cn(2025, 8, 5, 7, 45)
    plan = dl.plan_deadlines(received, "general", category, stage)
    assert ("alternative_plan" in plan.due) is has_alternative_plan
    if has_alternative_plan:
        assert plan.due["alternative_plan"] == received + timedelta(hours=1)


def test_deadline_states():
    due = cn(2025, 11, 20, 12, 0)
    assert dl.deadline_state(due, None, due - timedelta(minutes=1)) == "due"
    assert dl.deadline_state(due, None, due + timedelta(minutes=1)) == "breached"
    assert dl.deadline_state(due, due - timedelta(hours=1), due + timedelta(days=9)) == "met"
    assert dl.deadline_state(due, due, due) == "met"
    assert dl.deadline_state(due, due + timedelta(seconds=1), due) == "breached"


def test_working_day_deadlines_fall_at_the_end_of_a_china_working_day():
    received = cn(2026, 3, 3, 3, 17)  # a Tuesday, in the small hours
    plan = dl.plan_deadlines(received, "general", "transport", "in_trip")
    for name in ("investigated", "plan_made", "resolved", "followed_up", "resolution"):
        due = local(plan.due[name])
        assert (due.hour, due.minute) == (18, 0), name
        assert dl.is_working_day(due.date())[0], name
    # Clock-hour targets stay exact durations.
    assert plan.due["first_response"] == received + timedelta(hours=24)
    assert plan.due["alternative_plan"] == received + timedelta(hours=1)


def test_china_today_is_chinas_date_and_refuses_naive_times():
    assert dl.china_today(datetime(2026, 12, 1, 23, 30, tzinfo=UTC)) == date(2026, 12, 2)
    assert dl.china_today(datetime(2026, 12, 1, 15, 59, tzinfo=UTC)) == date(2026, 12, 1)
    with pytest.raises(ValueError):
        dl.china_today(datetime(2026, 12, 1, 23, 30))


def test_a_naive_client_time_is_read_as_china_time():
    assert dl.china_time(datetime(2026, 12, 1, 0, 0)) == cn(2026, 12, 1, 0, 0)
    aware = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert dl.china_time(aware) is aware
