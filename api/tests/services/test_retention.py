"""Retention (issue 14 item 9): old complaints anonymised, transcripts, keys, counters and idle
Rasa trackers deleted; run by one worker in the lifespan when enabled. SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from app.api.deps import get_now
from app.main import create_app
from app.models import ApiToken, AuditLog, Handoff, IdempotencyKey, Ticket, TicketNote, User, VerifyFailure
from app.services import retention
from tests.conftest import test_settings
from tests.factories import create_ticket

NOW = datetime(2030, 6, 1, 2, 0, tzinfo=UTC)
YEAR = timedelta(days=365)


def test_retention_period_is_at_least_a_year():
    assert test_settings().retention_complaint_days == 3 * 365
    with pytest.raises(ValueError):
        test_settings(retention_complaint_days=300)


def _old_ticket(client, service, clock, when: datetime, **overrides) -> Ticket:
    clock.set(when)
    return create_ticket(client, service, **overrides)


def test_old_complaints_are_anonymised_kept_for_statistics_and_audited(client, service, db, clock):
    settings = test_settings()
    old = _old_ticket(
        client,
        service,
        clock,
        NOW - 3 * YEAR - timedelta(days=10),
        name="李娜",
        phone="13912345678",
        description="我叫李娜，订单是张伟订的，身份证110101199003071234，导游骂人，电话13912345678",
        location="大理古城 李娜住的客栈",
        request_detail="要求导游给李娜道歉",
        evidence=["https://img.example.com/private/li-na.jpg"],
    )
    recent = _old_ticket(
        client,
        service,
        clock,
        NOW - YEAR,
        name="王芳",
        phone="13700001111",
        description="我叫王芳，酒店没有热水，一直没人修",
    )
    ticket = db.scalar(select(Ticket).where(Ticket.ticket_no == old["ticket_no"]))
    db.add(
        TicketNote(
            ticket_id=ticket.id,
            author="agent1",
            text="已致电李娜（13912345678），她要求退款",
            created_at=ticket.received_at,
        )
    )
    db.add(
        Handoff(
            conversation_id=ticket.conversation_id,
            channel="rest",
            reason="request_human",
            severity="general",
            colour="yellow",
            ticket_no=ticket.ticket_no,
            status="closed",
            summary={"complainant_name": "李娜", "complaint_description": "李娜说导游骂人"},
            transcript=[{"sender": "traveller", "text": "我是李娜，13912345678"}],
            created_at=ticket.received_at,
            closed_at=ticket.received_at,
        )
    )
    db.add(
        AuditLog(
            at=ticket.received_at,
            actor="agent1",
            actor_role="agent",
            action="update",
            ticket_id=ticket.id,
            field="name",
            old_value="李娜",
            new_value="李娜娜",
        )
    )
    db.flush()
    before = {k: getattr(ticket, k) for k in ("category", "severity", "department", "status", "received_at")}

    report = retention.purge(db, settings=settings, now=NOW)
    assert report.tickets_anonymised == 1
    db.expire_all()
    ticket = db.scalar(select(Ticket).where(Ticket.ticket_no == old["ticket_no"]))
    assert ticket.name is None and ticket.phone == ""
    personal = ("李娜", "张伟", "13912345678", "110101199003071234", "li-na.jpg", old["conversation_id"])
    texts = [
        ticket.description,
        ticket.location,
        ticket.request_detail,
        ticket.conversation_id,
        *ticket.evidence,
        *(n.text for n in ticket.notes),
    ]
    for text in texts:
        assert not any(p in text for p in personal), text
    assert "导游骂人" in ticket.description  # what happened stays readable
    assert {k: getattr(ticket, k) for k in before} == before  # statistics keep their ticket
    assert ticket.anonymised_at == NOW
    handoff = db.scalar(select(Handoff).where(Handoff.ticket_no == ticket.ticket_no))
    assert handoff.transcript is None
    assert "李娜" not in str(handoff.summary)
    rows = db.scalars(select(AuditLog).where(AuditLog.ticket_id == ticket.id)).all()
    assert not any("李娜" in (r.old_value or "") + (r.new_value or "") for r in rows)
    assert [r.actor for r in rows if r.action == retention.ANONYMISED] == ["retention"]
    # the recent complaint is untouched
    kept = db.scalar(select(Ticket).where(Ticket.ticket_no == recent["ticket_no"]))
    assert kept.name == "王芳" and kept.anonymised_at is None and "王芳" in kept.description
    # idempotent
    assert retention.purge(db, settings=settings, now=NOW).tickets_anonymised == 0


def test_a_complaint_active_within_the_period_is_kept(client, service, db, clock):
    old = _old_ticket(client, service, clock, NOW - 4 * YEAR, name="李娜")
    ticket = db.scalar(select(Ticket).where(Ticket.ticket_no == old["ticket_no"]))
    ticket.updated_at = NOW - YEAR  # worked on last year
    db.flush()
    assert retention.purge(db, settings=test_settings(), now=NOW).tickets_anonymised == 0


def test_transcripts_are_deleted_after_their_period(db):
    old = Handoff(
        conversation_id="conv-old",
        channel="rest",
        reason="fallback",
        severity="general",
        colour="yellow",
        status="returned",
        summary={"complainant_name": "赵敏", "phone": "13600001234"},
        transcript=[{"sender": "traveller", "text": "我叫赵敏"}],
        created_at=NOW - 3 * YEAR - timedelta(days=2),
        closed_at=NOW - 3 * YEAR - timedelta(days=1),
    )
    new = Handoff(
        conversation_id="conv-new",
        channel="rest",
        reason="fallback",
        severity="general",
        colour="yellow",
        status="closed",
        summary={},
        transcript=[{"sender": "bot", "text": "您好"}],
        created_at=NOW - 30 * timedelta(days=1),
        closed_at=NOW - 30 * timedelta(days=1),
    )
    db.add_all([old, new])
    db.flush()
    assert retention.purge(db, settings=test_settings(), now=NOW).transcripts_deleted == 1
    db.expire_all()
    assert old.transcript is None and old.summary["complainant_name"] == "赵*"
    assert "13600001234" not in str(old.summary)
    assert new.transcript == [{"sender": "bot", "text": "您好"}]
    assert db.scalar(
        select(AuditLog).where(
            AuditLog.action == retention.TRANSCRIPT_DELETED, AuditLog.new_value.like(f"handoff #{old.id},%")
        )
    )


def test_expired_keys_counters_and_tokens_are_deleted(db):
    user = db.scalar(select(User).where(User.username == "agent1"))
    db.add_all(
        [
            IdempotencyKey(key="old-key", request_hash="x" * 64, created_at=NOW - timedelta(days=8)),
            IdempotencyKey(key="new-key", request_hash="x" * 64, created_at=NOW - timedelta(hours=1)),
            VerifyFailure(subject="booking:TR-OLD", failures=3, window_start=NOW - timedelta(hours=1)),
            VerifyFailure(subject="booking:TR-NEW", failures=3, window_start=NOW - timedelta(minutes=5)),
            ApiToken(token_hash="a" * 64, user_id=user.id, expires_at=NOW - timedelta(hours=1)),
            ApiToken(token_hash="b" * 64, user_id=user.id, expires_at=NOW + timedelta(hours=1)),
        ]
    )
    db.flush()
    report = retention.purge(db, settings=test_settings(), now=NOW)
    deleted = (report.idempotency_keys_deleted, report.verify_counters_deleted, report.tokens_deleted)
    assert deleted == (1, 1, 1)
    keys = select(IdempotencyKey.key).where(IdempotencyKey.key.in_(["old-key", "new-key"]))
    assert db.scalars(keys).all() == ["new-key"]
    counters = select(VerifyFailure.subject).where(VerifyFailure.subject.like("booking:TR-%"))
    assert db.scalars(counters).all() == ["booking:TR-NEW"]
    tokens = select(ApiToken.token_hash).where(ApiToken.token_hash.in_(["a" * 64, "b" * 64]))
    assert db.scalars(tokens).all() == ["b" * 64]


@pytest.fixture
def tracker_store(engine):
    """Rasa's `events` table (SQLTrackerStore's schema) in the test database (SQLite, PostgreSQL)."""
    retention.tracker_metadata.create_all(engine)
    yield engine
    retention.tracker_metadata.drop_all(engine)


def test_idle_rasa_trackers_are_deleted(tracker_store):
    def events(sender: str, last: datetime) -> list[dict]:
        return [
            {
                "sender_id": sender,
                "type_name": t,
                "timestamp": (last - timedelta(minutes=5 - i)).timestamp(),
                "data": "{}",
            }
            for i, t in enumerate(("action", "user", "slot", "bot"))
        ]

    with tracker_store.begin() as connection:
        connection.execute(
            insert(retention.tracker_events),
            [
                *events("idle", NOW - timedelta(days=91)),
                *events("active", NOW - timedelta(days=89)),
                # started long ago, still talking: kept whole
                *events("long", NOW - timedelta(days=400)),
                *events("long", NOW - timedelta(days=1)),
            ],
        )
    assert retention.purge_trackers(tracker_store, now=NOW, days=90) == (1, 4)
    with tracker_store.connect() as connection:
        left = connection.execute(select(retention.tracker_events.c.sender_id).distinct()).scalars().all()
    assert sorted(left) == ["active", "long"]
    assert retention.purge_trackers(tracker_store, now=NOW, days=90) == (0, 0)


def _lifespan_app(database, clock, **overrides):
    # The app's lifespan makes its engine from these settings: no environment or global to reset.
    app = create_app(test_settings(database_url=database.url, **overrides))
    app.dependency_overrides[get_now] = lambda: clock.now
    return app


def test_the_lifespan_runs_the_job_with_the_app_clock(database, engine, clock):
    with Session(engine) as session:
        session.add(IdempotencyKey(key="lifespan-key", request_hash="x" * 64, created_at=datetime.now(UTC)))
        session.commit()
    try:
        clock.set(datetime.now(UTC) + timedelta(days=30))  # the injected clock decides what is old
        app = _lifespan_app(
            database,
            clock,
            retention_schedule=True,
            retention_first_run_seconds=0,
        )
        with TestClient(app):
            deadline = time.monotonic() + 20
            while not app.state.retention_runs and time.monotonic() < deadline:
                time.sleep(0.05)
        assert len(app.state.retention_runs) == 1
        with Session(engine) as session:
            assert session.get(IdempotencyKey, "lifespan-key") is None
    finally:
        with Session(engine) as session:
            session.execute(delete(IdempotencyKey).where(IdempotencyKey.key == "lifespan-key"))
            session.commit()


def test_the_schedule_is_off_in_tests_unless_enabled(database, clock):
    app = _lifespan_app(database, clock, retention_first_run_seconds=0)
    with TestClient(app):
        time.sleep(0.3)
    assert app.state.retention_runs == []
