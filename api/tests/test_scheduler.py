"""Scheduled jobs (issue 16 item 3) on SQLite and PostgreSQL: the once-per-due-time claim, the
deadline alerts (due within 4 working hours -> owner; overdue -> supervisors and one authority
level up, audited), the daily digest and the survey reminder. Every job is called with the
test's `now`: nothing sleeps. tests/e2e/test_scheduler_workers.py runs two API processes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.models import Alert, AuditLog, JobRun, Notification, Ticket
from app.services import deadlines as dl
from app.services import scheduler
from app.services.jobs import deadline_alerts, digest, reminders
from tests.conftest import login, test_settings
from tests.factories import create_ticket
from tests.routes.test_workflow import walk_to

SETTINGS = test_settings()


def china(*args) -> datetime:
    return datetime(*args, tzinfo=dl.CHINA_TZ).astimezone(UTC)


# Monday 2026-12-07 is a working day in China; 2026-12-05/06 are the weekend.
MONDAY_0930 = china(2026, 12, 7, 9, 30)


def test_working_hours_count_only_china_working_days_from_9_to_18():
    friday_16 = china(2026, 12, 4, 16, 0)
    monday_11 = china(2026, 12, 7, 11, 0)
    assert deadline_alerts.working_seconds_between(friday_16, monday_11) == 4 * 3600
    # National Day 2026 (1-7 October): no working hours at all inside the holiday.
    assert deadline_alerts.working_seconds_between(china(2026, 10, 2, 9), china(2026, 10, 5, 18)) == 0
    assert deadline_alerts.working_seconds_between(monday_11, friday_16) == 0


def test_interval_and_digest_slots_are_china_time_boundaries():
    now = china(2026, 12, 7, 10, 7, 31)
    assert scheduler.interval_slot(now, 300) == "2026-12-07T10:05:00+08:00"
    assert scheduler.interval_slot(now + timedelta(minutes=2), 300) == "2026-12-07T10:05:00+08:00"
    assert scheduler.digest_slot(china(2026, 12, 7, 7, 59), 8) is None
    assert scheduler.digest_slot(china(2026, 12, 7, 8, 0), 8) == "2026-12-07"
    # 23:30 UTC on the 6th is already the 7th in China.
    assert scheduler.digest_slot(datetime(2026, 12, 6, 23, 30, tzinfo=UTC), 0) == "2026-12-07"


@pytest.fixture
def ticket(client, service, clock, db):
    clock.set(MONDAY_0930)
    created = create_ticket(client, service)
    return db.scalar(select(Ticket).where(Ticket.ticket_no == created["ticket_no"]))


TICKETS_QUIET = {"due_soon": 0, "overdue": 0, "escalated": 0}


def run_alerts(db, now) -> dict[str, int]:
    """The job's counts for tickets (the disruptions' alternative deadline has its own tests)."""
    counts = deadline_alerts.run(db, settings=SETTINGS, now=now)
    return {k: v for k, v in counts.items() if not k.startswith("alternative_")}


def _alerts(db, ticket) -> list[Alert]:
    return list(db.scalars(select(Alert).where(Alert.ticket_id == ticket.id).order_by(Alert.id)))


def test_deadline_alerts_go_to_the_owner_then_the_supervisors_once_and_escalate(client, db, ticket):
    assert ticket.owner is not None and ticket.authority_level == 2  # general: department head
    # Right after receipt nothing is within 4 working hours (first response is due in 24 h).
    assert run_alerts(db, now=MONDAY_0930) == {
        "due_soon": 0,
        "overdue": 0,
        "escalated": 0,
    }
    # Tuesday afternoon: the first response (Tuesday 09:30) is overdue; the investigation
    # (Tuesday 18:00) is due within 4 working hours from 14:00.
    # 13:59: the investigation is 4 h 01 min of working time away: not yet.
    assert run_alerts(db, now=china(2026, 12, 8, 13, 59)) == {
        "due_soon": 0,
        "overdue": 1,
        "escalated": 1,
    }
    tuesday_14 = china(2026, 12, 8, 14, 0)
    assert run_alerts(db, now=tuesday_14) == {
        "due_soon": 1,
        "overdue": 0,
        "escalated": 0,
    }
    alerts = _alerts(db, ticket)
    by_kind = {a.kind: a for a in alerts}
    assert len(alerts) == 2
    assert by_kind["due_soon"].user_id == ticket.owner_id and by_kind["due_soon"].deadline == "investigated"
    assert "4.0 个工作小时" in by_kind["due_soon"].text and ticket.ticket_no in by_kind["due_soon"].text
    supervisor_id = by_kind["overdue"].user_id
    assert by_kind["overdue"].deadline == "first_response" and supervisor_id != ticket.owner_id
    assert "总经理" in by_kind["overdue"].text
    db.refresh(ticket)
    assert ticket.authority_level == 1
    escalations = db.scalars(
        select(AuditLog).where(AuditLog.ticket_id == ticket.id, AuditLog.action == "escalate")
    ).all()
    assert [(e.actor, e.actor_role, e.old_value, e.new_value) for e in escalations] == [
        ("scheduler", "system", "2", "1")
    ]
    # Later runs (another worker, the next interval) add nothing and escalate no further.
    for now in (tuesday_14, tuesday_14 + timedelta(minutes=5)):
        assert run_alerts(db, now=now) == {
            "due_soon": 0,
            "overdue": 0,
            "escalated": 0,
        }
    assert len(_alerts(db, ticket)) == 2
    # Wednesday: the investigation is overdue too: the supervisors hear of it, level stays 1.
    assert run_alerts(db, now=china(2026, 12, 9, 10, 0))["overdue"] == 1
    assert db.scalar(select(Ticket.authority_level).where(Ticket.id == ticket.id)) == 1


def test_done_steps_and_closed_tickets_raise_no_alert(client, db, ticket):
    owner = login(client, ticket.owner.username)
    walk_to(client, None, owner, ticket.ticket_no, "investigating")  # completes the first two steps
    counts = run_alerts(db, now=china(2026, 12, 8, 14, 0))
    assert counts == {"due_soon": 0, "overdue": 0, "escalated": 0}
    client.post(
        f"/tickets/{ticket.ticket_no}/transitions",
        json={"status": "rejected", "reason": "重复投诉"},
        headers=owner,
    )
    assert run_alerts(db, now=china(2026, 12, 30, 14, 0))["overdue"] == 0
    assert _alerts(db, ticket) == []


def test_the_console_lists_and_marks_alerts_of_the_caller_only(client, db, ticket, clock):
    run_alerts(db, now=china(2026, 12, 8, 14, 0))
    owner = login(client, ticket.owner.username)
    other = login(client, "agent2" if ticket.owner.username == "agent1" else "agent1")
    listed = client.get("/alerts", headers=owner).json()
    assert listed["unread"] == 1
    [item] = listed["items"]
    assert item["kind"] == "due_soon" and item["ticket_no"] == ticket.ticket_no and not item["read"]
    assert client.post(f"/alerts/{item['id']}/read", headers=other).status_code == 404
    assert client.get("/alerts", headers=other).json() == {"items": [], "unread": 0}
    assert client.post(f"/alerts/{item['id']}/read", headers=owner).status_code == 204
    after = client.get("/alerts", headers=owner).json()
    assert after["unread"] == 0 and after["items"][0]["read"]
    supervisor = client.get("/alerts", headers=login(client, "supervisor")).json()
    assert [i["kind"] for i in supervisor["items"]] == ["overdue"]
    assert client.get("/alerts").status_code == 401


def test_the_daily_digest_counts_by_department_once_a_day(client, db, ticket, service):
    owner = login(client, ticket.owner.username)
    # Monday: the owner records a 1-star follow-up call (a low rating, and a first response).
    client.patch(f"/tickets/{ticket.ticket_no}/feedback", json={"satisfaction": 1}, headers=owner)
    tuesday_8 = china(2026, 12, 8, 8, 0)
    figures = digest.compute(db, now=tuesday_8)
    expected = {"new": 1, "overdue": 0, "due_today": 1, "low_ratings": 1}  # investigation due 18:00
    assert figures["day"] == "2026-12-08" and figures["covers"] == "2026-12-07"
    assert figures["totals"] == expected
    assert figures["by_department"] == {ticket.department: expected}
    assert digest.run(db, settings=SETTINGS, now=tuesday_8)["stored"] is True
    again = digest.run(db, settings=SETTINGS, now=tuesday_8 + timedelta(hours=3))
    assert again["stored"] is False and again["alerts"] == 0
    supervisor = login(client, "supervisor")
    shown = client.get("/digest", headers=supervisor).json()
    assert shown["day"] == "2026-12-08" and shown["totals"] == expected
    assert client.get("/digest", headers=owner).status_code == 403
    [alert] = [i for i in client.get("/alerts", headers=supervisor).json()["items"] if i["kind"] == "digest"]
    assert "昨日新投诉 1 件" in alert["text"] and "昨日低分评价 1 件" in alert["text"]
    # Wednesday 08:00: the investigation is overdue now; Tuesday brought nothing new.
    wednesday = digest.compute(db, now=china(2026, 12, 9, 8, 0))["totals"]
    assert wednesday == {"new": 0, "overdue": 1, "due_today": 0, "low_ratings": 0}


def _closed_with_result_sent(client, service, db, clock, ticket, when: datetime) -> None:
    clock.set(when)
    owner = login(client, ticket.owner.username)
    bot = {**service, "X-Sender-Id": ticket.conversation_id}
    walk_to(client, bot, owner, ticket.ticket_no, "closed")
    # As the notifier records a delivered result (tests/services/test_notifier.py delivers it).
    db.execute(
        update(Notification)
        .where(Notification.key == f"{ticket.ticket_no}:result")
        .values(status="sent", sent_at=when + timedelta(minutes=1), route="tracker")
    )


def test_an_unanswered_survey_is_reminded_once_after_24_hours(client, service, db, clock, ticket):
    closed = china(2026, 12, 10, 10, 0)
    _closed_with_result_sent(client, service, db, clock, ticket, closed)
    assert reminders.survey_reminders(db, settings=SETTINGS, now=closed + timedelta(hours=23)) == {
        "due": 0,
        "queued": 0,
    }
    assert reminders.survey_reminders(db, settings=SETTINGS, now=closed + timedelta(hours=25)) == {
        "due": 1,
        "queued": 1,
    }
    row = db.scalar(select(Notification).where(Notification.key == f"{ticket.ticket_no}:survey_reminder"))
    assert row.kind == "survey_reminder" and row.status == "pending"
    assert row.conversation_id == ticket.conversation_id and row.ticket_id == ticket.id
    assert "满意度回访" in row.text and [b["payload"] for b in row.buttons] == ["/affirm", "/deny"]
    assert row.slots == {"survey_ticket": ticket.ticket_no, "survey_step": "confirm"}
    # Once: the next runs find it queued already.
    assert reminders.survey_reminders(db, settings=SETTINGS, now=closed + timedelta(hours=26))["queued"] == 0


def test_an_answered_survey_gets_no_reminder(client, service, db, clock, ticket):
    closed = china(2026, 12, 10, 10, 0)
    _closed_with_result_sent(client, service, db, clock, ticket, closed)
    clock.set(closed + timedelta(hours=2))
    bot = {**service, "X-Sender-Id": ticket.conversation_id}
    response = client.post(f"/tickets/{ticket.ticket_no}/survey", json={"confirmed": True}, headers=bot)
    assert response.status_code == 200, response.text
    assert reminders.survey_reminders(db, settings=SETTINGS, now=closed + timedelta(hours=30))["due"] == 0


def test_run_once_records_the_run_and_skips_a_claimed_slot(db):
    bind = db.connection()
    now = china(2031, 3, 4, 10, 2)
    first = scheduler.run_once(scheduler.DEADLINE_ALERTS, bind, SETTINGS, now, worker="w1")
    second = scheduler.run_once(
        scheduler.DEADLINE_ALERTS, bind, SETTINGS, now + timedelta(minutes=1), worker="w2"
    )
    assert first.ran and first.slot == "2031-03-04T10:00:00+08:00"
    assert not second.ran and second.slot == first.slot
    [run] = db.scalars(select(JobRun).where(JobRun.job == scheduler.DEADLINE_ALERTS)).all()
    assert (run.worker, run.outcome, run.error) == ("w1", "ok", None) and run.finished_at == now
    assert run.result == {**TICKETS_QUIET, "alternative_due_soon": 0, "alternative_overdue": 0}
    # A month later the old run is pruned by the next one.
    later = scheduler.run_once(scheduler.DEADLINE_ALERTS, bind, SETTINGS, now + timedelta(days=31))
    assert later.ran
    assert db.scalars(select(JobRun.slot).where(JobRun.job == scheduler.DEADLINE_ALERTS)).all() == [
        later.slot
    ]
    # The digest is not due before DIGEST_HOUR: nothing is claimed.
    early = scheduler.run_once(scheduler.DIGEST, bind, SETTINGS, china(2031, 3, 4, 7, 0))
    assert not early.ran and early.slot is None


def test_concurrent_workers_run_a_due_time_once(engine):
    """Eight 'workers' (threads with their own connections) fire the same job at once."""
    now = china(2031, 5, 6, 10, 0)
    try:
        with ThreadPoolExecutor(8) as pool:
            outcomes = list(
                pool.map(
                    lambda i: scheduler.run_once(
                        scheduler.DEADLINE_ALERTS, engine, SETTINGS, now, worker=f"w{i}"
                    ),
                    range(8),
                )
            )
        assert sum(o.ran for o in outcomes) == 1
        with Session(engine) as session:
            runs = session.scalars(select(JobRun).where(JobRun.job == scheduler.DEADLINE_ALERTS)).all()
            assert [(r.slot, r.outcome) for r in runs] == [("2031-05-06T10:00:00+08:00", "ok")]
    finally:
        with Session(engine) as session:
            session.execute(delete(JobRun))
            session.commit()


def test_which_jobs_a_worker_schedules():
    everything = scheduler.enabled_jobs(test_settings(retention_schedule=True), app_database=True)
    assert set(everything) == set(scheduler.JOBS)
    assert scheduler.enabled_jobs(test_settings(), app_database=False) == []
    assert scheduler.enabled_jobs(test_settings(retention_schedule=True), app_database=False) == ["retention"]
    assert scheduler.RETENTION not in scheduler.enabled_jobs(test_settings(), app_database=True)


def _verify(client, service, ref: str, last4: str, sender: str, channel: str) -> None:
    body = {"phone_last4": last4, "sender_id": sender, "channel": channel}
    response = client.post(f"/bookings/{ref}/verify", json=body, headers=service)
    assert response.status_code == 200, response.text


def test_the_itinerary_reminder_reaches_each_verified_conversation_once_3_days_before(
    client, service, db, clock
):
    clock.set(china(2026, 11, 28, 12, 0))
    # TR20260001 leaves on 5 December (China date): two travellers' conversations verified it;
    # TR20260013 leaves on the 10th.
    _verify(client, service, "TR20260001", "5678", "conv-itin-web", "socketio")
    _verify(client, service, "TR20260001", "5678", "wx-itin-openid", "wechat")
    _verify(client, service, "TR20260013", "8901", "conv-itin-later", "socketio")

    def run(now):
        return reminders.itinerary_reminders(db, settings=SETTINGS, now=now)

    assert run(china(2026, 12, 1, 23, 59))["queued"] == 0  # 4 days before, China time
    assert run(china(2026, 12, 2, 0, 5)) == {"bookings": 1, "contacts": 2, "queued": 2}
    assert run(china(2026, 12, 2, 1, 5))["queued"] == 0  # the next run: once
    assert run(china(2026, 12, 3, 9, 0))["queued"] == 0  # nor again closer to departure
    rows = db.scalars(
        select(Notification).where(Notification.kind == "itinerary_reminder").order_by(Notification.id)
    ).all()
    assert [(r.conversation_id, r.channel, r.ticket_id) for r in rows] == [
        ("conv-itin-web", "socketio", None),
        ("wx-itin-openid", "wechat", None),
    ]
    text = rows[0].text
    for expected in (
        "TR20260001",
        "12月5日",
        "07:05",
        "上海虹桥机场出发大厅1号门团队集合处",
        "导游：杨丽",
        "MU5715",
    ):
        assert expected in text
    assert "wx-itin-openid" not in rows[1].key  # keys reach logs: no openid in them
    assert rows[1].template["keyword1"] == "TR20260001" and rows[1].template["remark"] == rows[1].text
    # The later departure's day comes.
    assert run(china(2026, 12, 7, 8, 0)) == {"bookings": 1, "contacts": 1, "queued": 1}
