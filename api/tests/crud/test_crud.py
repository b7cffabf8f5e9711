"""Data functions on the real databases (inside the rolled-back test transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from app.bootstrap import seed
from app.core.security import Actor
from app.crud import bookings, users
from app.crud import tickets as crud
from app.crud.tickets import Routing
from app.models import AuditLog, Booking, TicketCounter, User
from app.schemas.ticket import TicketCreate
from app.services.deadlines import CHINA_TZ
from tests.conftest import test_settings
from tests.factories import ticket_payload

SERVICE = Actor(name="service", role="service")
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=CHINA_TZ)


def make(db, **overrides):
    data = TicketCreate(**ticket_payload(**overrides))
    trip = bookings.get_trip_dates(db, ref=data.booking_ref) if data.booking_ref else None
    routing = Routing("accommodation", "general", 0.9, [])
    return crud.create_ticket(db, data=data, routing=routing, trip=trip, actor=SERVICE, now=NOW)


def test_seeding_is_idempotent(db):
    count = db.scalar(select(func.count(Booking.id)))
    assert count >= 20
    assert seed(db, test_settings()) == (0, 0)
    assert db.scalar(select(func.count(Booking.id))) == count
    assert {u.username for u in db.scalars(select(User))} >= {"agent1", "agent2", "supervisor"}


def test_ticket_counter_is_per_day(db):
    assert crud.next_ticket_no(db, now=NOW) == "C20261123001"
    assert crud.next_ticket_no(db, now=NOW) == "C20261123002"
    assert crud.next_ticket_no(db, now=datetime(2026, 11, 24, 0, 0, tzinfo=CHINA_TZ)) == "C20261124001"
    assert db.get(TicketCounter, "20261123").last == 2


def test_sequence_grows_past_three_digits(db):
    db.add(TicketCounter(day="20261123", last=999))
    db.flush()
    assert crud.next_ticket_no(db, now=NOW) == "C202611231000"


def test_create_ticket_writes_deadlines_owner_and_audit(db):
    ticket = make(db)
    assert ticket.owner is not None and ticket.owner.role == "agent"
    assert {d.name for d in ticket.deadlines} == {
        "first_response",
        "investigated",
        "plan_made",
        "resolved",
        "followed_up",
        "resolution",
    }
    actions = db.scalars(select(AuditLog.action).where(AuditLog.ticket_id == ticket.id)).all()
    assert actions == ["create", "assign"]


def test_pick_owner_skips_inactive_agents(db):
    agent1 = users.get_by_username(db, username="agent1")
    agent1.is_active = False
    db.flush()
    assert {make(db).owner.username for _ in range(3)} == {"agent2"}


def test_authenticate_and_tokens(db):
    user = users.authenticate(db, username="agent1", password="test-agent-password")
    assert user is not None
    assert users.authenticate(db, username="agent1", password="nope") is None
    from datetime import timedelta

    token = users.issue_token(db, user=user, now=NOW, ttl=timedelta(hours=1))
    assert users.user_for_token(db, token=token, now=NOW).username == "agent1"
    assert users.user_for_token(db, token=token, now=NOW + timedelta(hours=2)) is None
    assert users.user_for_token(db, token=token + "x", now=NOW) is None
