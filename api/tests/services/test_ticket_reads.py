"""services/ticket_reads.py: the list page is built and its read audited without a route."""

from __future__ import annotations

from sqlalchemy import select

from app.core.security import Actor
from app.crud import ticket_queries
from app.models import AuditLog
from app.services.ticket_reads import ticket_page
from tests.factories import create_ticket

SUPERVISOR = Actor(name="supervisor", role="supervisor", display_name="王芳")
SERVICE = Actor(name="service", role="service", display_name="客服机器人")


def _list_reads(db) -> list[tuple[str, str, str | None]]:
    rows = db.scalars(select(AuditLog).where(AuditLog.field == "tickets").order_by(AuditLog.id))
    return [(r.actor, r.action, r.new_value) for r in rows]


def test_a_page_is_masked_and_a_persons_read_of_it_is_audited(client, service, db, clock):
    ticket = create_ticket(client, service, name="王小明", phone="13900001111", booking_ref="TR20260001")
    rows, total = ticket_queries.list_tickets(db, now=clock.now, q=ticket["ticket_no"])
    page = ticket_page(db, rows=rows, total=total, limit=20, offset=0, actor=SUPERVISOR, now=clock.now)
    assert (page.total, [i.ticket_no for i in page.items]) == (1, [ticket["ticket_no"]])
    assert (page.items[0].name, page.items[0].phone) == ("王*明", "139****1111")
    assert _list_reads(db) == [("supervisor", "read_masked_data", ticket["ticket_no"])]
    # The service is the traveller's own channel: its reads are not recorded.
    ticket_page(db, rows=rows, total=total, limit=20, offset=0, actor=SERVICE, now=clock.now)
    assert len(_list_reads(db)) == 1
