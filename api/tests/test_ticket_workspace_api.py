"""What the console's ticket workspace needs from the API: the list's filters and search, the
allowed next moves, the history, and a stable code on every workflow refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from app.models import Ticket
from tests.conftest import login
from tests.factories import create_ticket

RESULT = {
    "findings": "经核实酒店房间确有卫生问题。",
    "measures": "已安排换房并退还一晚房费。",
    "apology": "感谢您的反馈，再次致歉。",
}
RECEIVED = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday 10:00 in China


@pytest.fixture
def ticket(client, service, clock):
    clock.set(RECEIVED)
    return create_ticket(client, service, severity="general", category="accommodation")


@pytest.fixture
def owner(client, ticket):
    return login(client, ticket["owner"]["username"])


def moves(body: dict) -> dict:
    return {m["status"]: (m["ready"], m["code"]) for m in body["next_statuses"]}


def move(client, headers, no, status, expected=200, **extra):
    if status == "plan_made":
        extra.setdefault("plan", "核实后与酒店协商补偿方案")
    response = client.post(f"/tickets/{no}/transitions", json={"status": status, **extra}, headers=headers)
    assert response.status_code == expected, response.text
    return response.json()


def code_of(response) -> str:
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail[0]["loc"][0] in ("body", "query"), detail
    return detail[0]["code"]


def test_next_statuses_follow_the_workflow_and_name_what_is_missing(client, ticket, owner):
    no = ticket["ticket_no"]
    assert moves(client.get(f"/tickets/{no}", headers=owner).json()) == {
        "investigating": (True, None),
        "rejected": (True, None),
    }
    for status in ("investigating", "plan_made"):
        body = move(client, owner, no, status)
    assert moves(body) == {"resolved": (True, None), "rejected": (True, None)}
    body = move(client, owner, no, "resolved")
    assert moves(body) == {"followed_up": (False, "satisfaction_required"), "rejected": (True, None)}
    response = client.post(f"/tickets/{no}/transitions", json={"status": "followed_up"}, headers=owner)
    assert response.status_code == 409 and code_of(response) == "satisfaction_required"
    body = client.patch(
        f"/tickets/{no}/feedback", json={"satisfaction": 4, "confirmed": True}, headers=owner
    ).json()
    assert moves(body)["followed_up"] == (True, None)
    body = move(client, owner, no, "followed_up")
    assert moves(body) == {"closed": (False, "result_required"), "rejected": (True, None)}
    body = client.put(f"/tickets/{no}/result", json=RESULT, headers=owner).json()
    assert moves(body)["closed"] == (True, None)
    assert moves(move(client, owner, no, "closed")) == {}


def test_every_workflow_refusal_has_its_own_code(client, ticket, owner, clock):
    no = ticket["ticket_no"]
    cases = []
    cases.append(client.post(f"/tickets/{no}/transitions", json={"status": "resolved"}, headers=owner))
    cases.append(client.post(f"/tickets/{no}/transitions", json={"status": "rejected"}, headers=owner))
    cases.append(
        client.put(
            f"/tickets/{no}/delay",
            json={"reason": "等待酒店回复", "expected_at": "2026-11-30T10:00:00+08:00"},
            headers=owner,
        )
    )
    cases.append(client.put(f"/tickets/{no}/compensation", json={"status": "agreed"}, headers=owner))
    client.put(f"/tickets/{no}/compensation", json={"status": "recorded"}, headers=owner)
    client.put(f"/tickets/{no}/compensation", json={"status": "verified"}, headers=owner)
    cases.append(client.put(f"/tickets/{no}/compensation", json={"status": "planned"}, headers=owner))
    for body in (
        {"status": "planned", "method": "cash", "loss_type": "property", "amount_cny": 300},
        {"status": "agreed"},
    ):
        assert client.put(f"/tickets/{no}/compensation", json=body, headers=owner).status_code == 200
    cases.append(
        client.put(f"/tickets/{no}/compensation", json={"status": "paid", "amount_cny": 500}, headers=owner)
    )
    move(client, owner, no, "investigating")
    cases.append(client.post(f"/tickets/{no}/transitions", json={"status": "plan_made"}, headers=owner))
    move(client, owner, no, "rejected", reason="不属于本公司责任")
    cases.append(client.post(f"/tickets/{no}/transitions", json={"status": "investigating"}, headers=owner))
    cases.append(client.put(f"/tickets/{no}/result", json=RESULT, headers=owner))
    codes = [(r.status_code, code_of(r)) for r in cases]
    assert codes == [
        (409, "not_next_status"),
        (422, "reason_required"),
        (422, "expected_at_past"),
        (409, "compensation_step"),
        (422, "compensation_method_required"),
        (422, "compensation_amount_fixed"),
        (422, "plan_required"),
        (409, "ticket_final"),
        (409, "ticket_final"),
    ]


def test_a_plan_is_written_with_its_step_and_kept_as_an_internal_note(client, ticket, owner):
    no = ticket["ticket_no"]
    move(client, owner, no, "investigating")
    blank = client.post(
        f"/tickets/{no}/transitions", json={"status": "plan_made", "plan": "  "}, headers=owner
    )
    assert blank.status_code == 422 and blank.json()["detail"][0]["loc"] == ["body", "plan"]
    body = move(client, owner, no, "plan_made", plan="联系酒店核实并安排换房，48小时内回复旅客")
    assert body["status"] == "plan_made"
    notes = [(n["text"], n["public"]) for n in body["notes"]]
    assert ("处理方案：联系酒店核实并安排换房，48小时内回复旅客", False) in notes


def test_history_shows_changes_but_no_free_text(client, ticket, owner, service):
    no = ticket["ticket_no"]
    client.post(
        f"/tickets/{no}/notes", json={"text": "已致电旅客 13812345678", "public": False}, headers=owner
    )
    move(client, owner, no, "investigating")
    body = client.get(f"/tickets/{no}", headers=owner).json()
    history = body["history"]
    assert ("transition", "status", "received", "investigating") in {
        (h["action"], h["field"], h["old"], h["new"]) for h in history
    }
    note = next(h for h in history if h["field"] == "note")
    assert note["old"] is None and note["new"] is None and note["actor"] == ticket["owner"]["username"]
    assert all(h["action"] not in ("read_personal_data", "read_masked_data") for h in history)
    assert "13812345678" not in str(history)
    # The bot's view of the ticket carries neither (it is the console's).
    bot = {**service, "X-Sender-Id": ticket["conversation_id"]}
    raw = client.get(f"/tickets/{no}", headers=bot).json()
    assert raw["next_statuses"] == [] and raw["history"] == []


def test_other_agents_see_the_ticket_masked_with_its_moves(client, ticket, agent1, agent2):
    other = agent2 if ticket["owner"]["username"] == "agent1" else agent1
    body = client.get(f"/tickets/{ticket['ticket_no']}", headers=other).json()
    assert body["masked"] and body["phone"] != "13812345678"
    assert moves(body) == {"investigating": (True, None), "rejected": (True, None)}
    refused = client.post(
        f"/tickets/{ticket['ticket_no']}/transitions", json={"status": "investigating"}, headers=other
    )
    assert refused.status_code == 403


def listed(client, headers, **params) -> list[str]:
    response = client.get("/tickets", params={"limit": 100, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return [t["ticket_no"] for t in response.json()["items"]]


def test_list_filters_unassigned_overdue_and_search(client, service, supervisor, clock, db):
    clock.set(RECEIVED)
    hotel = create_ticket(
        client,
        service,
        booking_ref="TR20260001",
        severity="general",
        category="accommodation",
        description="酒店空调坏了一整晚没人修",
    )
    meal = create_ticket(
        client, service, booking_ref=None, severity="general", category="meals", description="团餐分量太少"
    )
    db.execute(update(Ticket).where(Ticket.ticket_no == meal["ticket_no"]).values(owner_id=None))
    db.flush()
    assert meal["ticket_no"] in listed(client, supervisor, unassigned="true")
    assert hotel["ticket_no"] not in listed(client, supervisor, unassigned="true")

    # Nothing is late on the day it came in; two days later the first steps are.
    assert listed(client, supervisor, overdue="true") == []
    page = client.get("/tickets", params={"limit": 100}, headers=supervisor).json()["items"]
    row = next(t for t in page if t["ticket_no"] == hotel["ticket_no"])
    assert row["overdue"] is False and row["next_due_at"]
    clock.set(RECEIVED + timedelta(days=3))
    supervisor = login(client, "supervisor")  # the clock moved past the token's lifetime
    assert set(listed(client, supervisor, overdue="true")) == {hotel["ticket_no"], meal["ticket_no"]}
    page = client.get("/tickets", params={"limit": 100, "overdue": "true"}, headers=supervisor).json()[
        "items"
    ]
    assert all(t["overdue"] for t in page)
    # A closed or rejected ticket is never overdue.
    owner = login(client, hotel["owner"]["username"])
    move(client, owner, hotel["ticket_no"], "rejected", reason="重复投诉")
    assert listed(client, supervisor, overdue="true") == [meal["ticket_no"]]

    assert listed(client, supervisor, q=hotel["ticket_no"]) == [hotel["ticket_no"]]
    assert listed(client, supervisor, q=hotel["ticket_no"][:9].lower()) != []
    assert hotel["ticket_no"] in listed(client, supervisor, q="tr2026")
    assert meal["ticket_no"] not in listed(client, supervisor, q="TR20260001")
    assert listed(client, supervisor, q="空调") == [hotel["ticket_no"]]
    assert listed(client, supervisor, q="100%_") == []  # LIKE wildcards are literal
    assert (
        client.get("/tickets", params={"q": "空\x00调"}, headers=supervisor).status_code == 422
    )  # PostgreSQL refuses NUL
    refused = client.get("/tickets", params={"q": "13812345678"}, headers=supervisor)
    assert refused.status_code == 422 and code_of(refused) == "personal_number"


def test_mine_and_unassigned_for_an_agent(client, service, agent1, agent2, clock):
    clock.set(RECEIVED)
    tickets = [create_ticket(client, service) for _ in range(2)]
    for headers, username in ((agent1, "agent1"), (agent2, "agent2")):
        mine = set(listed(client, headers, mine="true"))
        assert mine == {t["ticket_no"] for t in tickets if t["owner"]["username"] == username}


def test_an_agents_word_search_covers_only_their_own_tickets(client, service, supervisor, clock):
    # Otherwise "王芳" would confirm which name hides behind a masked "王*" on another's ticket.
    clock.set(RECEIVED)
    created = create_ticket(client, service, description="导游王芳在车上骂人，态度很差")
    owner_name = created["owner"]["username"]
    other_name = "agent2" if owner_name == "agent1" else "agent1"
    owner, other = login(client, owner_name), login(client, other_name)
    assert created["ticket_no"] in listed(client, owner, q="王芳")
    assert created["ticket_no"] not in listed(client, other, q="王芳")
    assert created["ticket_no"] in listed(client, supervisor, q="王芳")
    # Numbers are no secret: another agent still finds it by its ticket number.
    assert listed(client, other, q=created["ticket_no"]) == [created["ticket_no"]]
