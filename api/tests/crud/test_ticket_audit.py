"""The audit trail of every change to a ticket (crud/tickets.py): each row whole, in order."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from app.core.security import Actor
from app.crud import bookings, users
from app.crud import tickets as crud
from app.crud.tickets import Routing
from app.models import AuditLog
from app.schemas.ticket import TicketCreate
from app.services.deadlines import CHINA_TZ
from tests.factories import ticket_payload

SERVICE = Actor(name="service", role="service")
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=CHINA_TZ)


def at(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


def make(db, actor: Actor = SERVICE):
    data = TicketCreate(**ticket_payload())
    trip = bookings.get_trip_dates(db, ref=data.booking_ref)
    routing = Routing("accommodation", "general", 0.9, [])
    return crud.create_ticket(db, data=data, routing=routing, trip=trip, actor=actor, now=NOW)


def trail(db, ticket_id: int) -> list[tuple]:
    db.flush()
    db.expire_all()
    rows = db.scalars(select(AuditLog).where(AuditLog.ticket_id == ticket_id).order_by(AuditLog.id))
    return [
        (r.at, r.actor, r.actor_role, r.action, r.booking_ref, r.field, r.old_value, r.new_value)
        for r in rows
    ]


def test_every_change_of_a_ticket_is_audited_row_by_row(db):
    ticket = make(db)
    owner = ticket.owner
    agent = Actor(name=owner.username, role="agent", user_id=owner.id, display_name=owner.display_name)
    crud.add_note(db, ticket=ticket, text="已致电游客", public=False, actor=agent, now=at(1))
    crud.add_note(db, ticket=ticket, text="已联系酒店", public=True, actor=agent, now=at(2))
    crud.transition(db, ticket=ticket, status="investigating", reason=None, actor=agent, now=at(3))
    crud.transition(db, ticket=ticket, status="plan_made", reason=None, plan="换房", actor=agent, now=at(4))
    crud.set_result(
        db, ticket=ticket, findings="属实", measures="换房", apology="致歉", actor=agent, now=at(5)
    )
    crud.set_result(
        db, ticket=ticket, findings="属实", measures="换房并退款", apology="致歉", actor=agent, now=at(6)
    )
    expected_at = datetime(2026, 12, 1, 18, 0, tzinfo=CHINA_TZ)
    crud.set_delay(db, ticket=ticket, reason="等待酒店回复", expected_at=expected_at, actor=agent, now=at(7))
    crud.set_compensation(
        db,
        ticket=ticket,
        status="recorded",
        method="cash",
        loss_type="property",
        amount_cny=300,
        actor=agent,
        now=at(8),
    )
    crud.set_feedback(db, ticket=ticket, confirmed=True, satisfaction=4, actor=SERVICE, now=at(9))
    crud.record_survey(
        db, ticket=ticket, rating=1, comment="不满意", confirmed=None, actor=SERVICE, now=at(10)
    )
    late = NOW + timedelta(days=30)
    assert crud.escalate_if_overdue(db, ticket=ticket, actor=SERVICE, now=late)
    assert not crud.escalate_if_overdue(db, ticket=ticket, actor=SERVICE, now=late)  # once

    survey_note = f"旅客满意度评分 1 星（20/100），请{owner.display_name}进行二次回访。"
    assert trail(db, ticket.id) == [
        (NOW, "service", "service", "create", "TR20260001", "status", None, "received"),
        (NOW, "service", "service", "assign", None, "owner", None, owner.username),
        (at(1), agent.name, "agent", "first_response", None, "first_response_at", None, at(1).isoformat()),
        (at(1), agent.name, "agent", "note", None, "note", None, "已致电游客"),
        (at(2), agent.name, "agent", "note", None, "public_note", None, "已联系酒店"),
        (at(3), agent.name, "agent", "transition", None, "status", "received", "investigating"),
        (at(4), agent.name, "agent", "transition", None, "status", "investigating", "plan_made"),
        (at(5), agent.name, "agent", "result", None, "result_findings", None, "属实"),
        (at(5), agent.name, "agent", "result", None, "result_measures", None, "换房"),
        (at(5), agent.name, "agent", "result", None, "result_apology", None, "致歉"),
        # only what changed
        (at(6), agent.name, "agent", "result", None, "result_measures", "换房", "换房并退款"),
        (at(7), agent.name, "agent", "delay", None, "delay_reason", None, "等待酒店回复"),
        (at(7), agent.name, "agent", "delay", None, "expected_completion_at", None, expected_at.isoformat()),
        (at(8), agent.name, "agent", "compensation", None, "compensation_status", None, "recorded"),
        (at(8), agent.name, "agent", "compensation", None, "compensation_method", None, "cash"),
        (at(8), agent.name, "agent", "compensation", None, "compensation_loss_type", None, "property"),
        (at(8), agent.name, "agent", "compensation", None, "compensation_amount_cny", None, "300"),
        (at(9), "service", "service", "feedback", None, "confirmed", None, "True"),
        (at(9), "service", "service", "feedback", None, "satisfaction", None, "4"),
        (at(10), "service", "service", "feedback", None, "satisfaction", "4", "1"),
        (at(10), "service", "service", "feedback", None, "second_follow_up", "False", "True"),
        (at(10), "service", "service", "survey", None, "note", None, "旅客评价留言：不满意"),
        (at(10), "service", "service", "survey", None, "note", None, survey_note),
        (late, "service", "service", "escalate", None, "authority_level", "2", "1"),
    ]


def test_a_rejection_is_audited_with_its_reason(db):
    ticket = make(db)
    supervisor = users.get_by_username(db, username="supervisor")
    actor = Actor(name=supervisor.username, role="supervisor", user_id=supervisor.id)
    crud.transition(db, ticket=ticket, status="rejected", reason="重复投诉", actor=actor, now=at(1))
    assert trail(db, ticket.id)[2:] == [
        (
            at(1),
            "supervisor",
            "supervisor",
            "first_response",
            None,
            "first_response_at",
            None,
            at(1).isoformat(),
        ),
        (at(1), "supervisor", "supervisor", "transition", None, "status", "received", "rejected"),
        (at(1), "supervisor", "supervisor", "transition", None, "rejection_reason", None, "重复投诉"),
    ]


def test_the_service_moving_a_ticket_is_no_first_response(db):
    ticket = make(db)
    crud.transition(db, ticket=ticket, status="rejected", reason="重复投诉", actor=SERVICE, now=at(1))
    assert [row[3:6] for row in trail(db, ticket.id)] == [
        ("create", "TR20260001", "status"),
        ("assign", None, "owner"),
        ("transition", None, "status"),
        ("transition", None, "rejection_reason"),
    ]
