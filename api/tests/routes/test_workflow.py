"""Status workflow over HTTP: every allowed move, every refused one, close-out rules, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.models import AuditLog
from app.services.workflow import FLOW
from tests.conftest import login
from tests.factories import create_ticket

RESULT = {
    "findings": "经核实酒店房间确有卫生问题。",
    "measures": "已安排换房并退还一晚房费，酒店已整改。",
    "apology": "感谢您的反馈，再次向您致歉。",
}


@pytest.fixture
def ticket(client, service):
    return create_ticket(client, service)


@pytest.fixture
def bot(service, ticket):
    # The service token acting for the conversation that opened the ticket.
    return {**service, "X-Sender-Id": ticket["conversation_id"]}


@pytest.fixture
def owner(client, ticket):
    return login(client, ticket["owner"]["username"])


def move(client, headers, no, status, reason=None, expected=200):
    body = {"status": status} | ({"reason": reason} if reason else {})
    if status == "plan_made":
        body["plan"] = "核实后与酒店协商补偿方案"  # the step's record (workflow: plan_required)
    response = client.post(f"/tickets/{no}/transitions", json=body, headers=headers)
    assert response.status_code == expected, response.text
    return response.json()


def walk_to(client, bot, owner, no, target):
    for status in FLOW[1 : FLOW.index(target) + 1]:
        if status == "followed_up":
            client.patch(f"/tickets/{no}/feedback", json={"confirmed": True, "satisfaction": 5}, headers=bot)
        if status == "closed":
            client.put(f"/tickets/{no}/result", json=RESULT, headers=owner)
        move(client, owner, no, status)


def test_the_whole_forward_path_is_allowed_and_audited(client, bot, owner, ticket, db):
    no = ticket["ticket_no"]
    walk_to(client, bot, owner, no, "closed")
    final = client.get(f"/tickets/{no}", headers=owner).json()
    assert final["status"] == "closed" and final["closed_at"]
    assert final["result"] == RESULT
    assert {d["name"]: d["state"] for d in final["deadlines"]} == {
        d["name"]: "met" for d in final["deadlines"]
    }
    moves = db.scalars(select(AuditLog).where(AuditLog.field == "status").order_by(AuditLog.id)).all()
    assert [(m.old_value, m.new_value) for m in moves] == [(None, "received")] + list(zip(FLOW, FLOW[1:]))
    assert all(m.actor == ticket["owner"]["username"] for m in moves[1:])


@pytest.mark.parametrize("current", FLOW[:-1])
@pytest.mark.parametrize("target", FLOW)
def test_only_the_next_step_is_allowed(client, bot, owner, ticket, current, target):
    no = ticket["ticket_no"]
    walk_to(client, bot, owner, no, current) if current != "received" else None
    if target == "closed":
        client.put(f"/tickets/{no}/result", json=RESULT, headers=owner)
    if target == "followed_up":
        client.patch(f"/tickets/{no}/feedback", json={"satisfaction": 4}, headers=bot)
    allowed = FLOW.index(target) == FLOW.index(current) + 1
    move(client, owner, no, target, expected=200 if allowed else 409)
    assert client.get(f"/tickets/{no}", headers=owner).json()["status"] == (target if allowed else current)


@pytest.mark.parametrize("current", FLOW[:-1])
def test_rejection_needs_a_reason_from_any_open_state(client, bot, owner, ticket, current):
    no = ticket["ticket_no"]
    if current != "received":
        walk_to(client, bot, owner, no, current)
    response = client.post(f"/tickets/{no}/transitions", json={"status": "rejected"}, headers=owner)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "reason"]
    body = move(client, owner, no, "rejected", reason="经核实不属于本社服务范围")
    assert body["status"] == "rejected" and body["rejection_reason"] == "经核实不属于本社服务范围"
    assert all(d["done_at"] for d in body["deadlines"])


@pytest.mark.parametrize("final", ["closed", "rejected"])
def test_no_moves_after_closed_or_rejected(client, bot, owner, ticket, final):
    no = ticket["ticket_no"]
    if final == "closed":
        walk_to(client, bot, owner, no, "closed")
    else:
        move(client, owner, no, "rejected", reason="重复投诉")
    for status in (*FLOW, "rejected"):
        move(client, owner, no, status, reason="x", expected=409)
    assert client.put(f"/tickets/{no}/result", json=RESULT, headers=owner).status_code == 409


def test_close_needs_all_three_parts_of_the_result(client, bot, owner, ticket):
    no = ticket["ticket_no"]
    walk_to(client, bot, owner, no, "followed_up")
    assert move(client, owner, no, "closed", expected=409)["detail"][0]["loc"] == ["body", "status"]
    partial = client.put(f"/tickets/{no}/result", json={"findings": "a", "measures": "b"}, headers=owner)
    assert partial.status_code == 422 and partial.json()["detail"][0]["loc"] == ["body", "apology"]
    blank = client.put(
        f"/tickets/{no}/result", json={"findings": "a", "measures": "b", "apology": "  "}, headers=owner
    )
    assert blank.status_code == 422
    move(client, owner, no, "closed", expected=409)
    client.put(f"/tickets/{no}/result", json=RESULT, headers=owner)
    move(client, owner, no, "closed")


def test_follow_up_records_satisfaction_first(client, bot, owner, ticket):
    no = ticket["ticket_no"]
    walk_to(client, bot, owner, no, "resolved")
    move(client, owner, no, "followed_up", expected=409)
    client.patch(f"/tickets/{no}/feedback", json={"satisfaction": 3}, headers=bot)
    move(client, owner, no, "followed_up")


def test_low_rating_asks_for_a_second_follow_up(client, bot, ticket, db):
    no = ticket["ticket_no"]
    body = client.patch(
        f"/tickets/{no}/feedback", json={"confirmed": False, "satisfaction": 1}, headers=bot
    ).json()
    assert body["second_follow_up"] is True and body["satisfaction"] == 1 and body["confirmed"] is False
    fields = {r.field for r in db.scalars(select(AuditLog).where(AuditLog.action == "feedback"))}
    assert fields == {"confirmed", "satisfaction", "second_follow_up"}
    assert client.patch(f"/tickets/{no}/feedback", json={"satisfaction": 6}, headers=bot).status_code == 422
    assert client.patch(f"/tickets/{no}/feedback", json={}, headers=bot).status_code == 422


def test_first_action_by_a_person_meets_the_first_response_deadline(client, owner, ticket):
    no = ticket["ticket_no"]
    body = client.post(
        f"/tickets/{no}/notes", json={"text": "已致电游客了解情况", "public": True}, headers=owner
    )
    assert body.status_code == 201
    ticket = body.json()
    first = next(d for d in ticket["deadlines"] if d["name"] == "first_response")
    assert first["state"] == "met" and ticket["first_response_at"]
    assert ticket["progress"]["measures"] == ["已致电游客了解情况"]
    client.post(f"/tickets/{no}/notes", json={"text": "内部：酒店经理电话 0871-xxxx"}, headers=owner)
    again = client.get(f"/tickets/{no}", headers=owner).json()
    assert again["progress"]["measures"] == ["已致电游客了解情况"] and len(again["notes"]) == 2


def test_breached_deadlines_show_and_a_progress_request_escalates(client, service, clock, db):
    ticket = create_ticket(client, service, category="meals", severity="general")
    no = ticket["ticket_no"]
    assert ticket["authority_level"] == 2
    fresh = client.post(
        f"/tickets/{no}/verify", json={"phone_last4": "5678", "sender_id": "s-test"}, headers=service
    ).json()
    assert fresh["escalated"] is False and fresh["authority_level"] == 2
    clock.set(clock.now + timedelta(days=2))
    owner = login(client, ticket["owner"]["username"])
    seen = client.get(f"/tickets/{no}", headers=owner).json()
    states = {d["name"]: d["state"] for d in seen["deadlines"]}
    assert states["first_response"] == "breached" and states["investigated"] == "breached"
    assert states["followed_up"] == "due"
    progress = client.post(
        f"/tickets/{no}/verify", json={"phone_last4": "5678", "sender_id": "s-test"}, headers=service
    ).json()
    assert progress["escalated"] is True and progress["authority_level"] == 1
    again = client.post(
        f"/tickets/{no}/verify", json={"phone_last4": "5678", "sender_id": "s-test"}, headers=service
    ).json()
    assert again["authority_level"] == 1
    rows = db.scalars(select(AuditLog).where(AuditLog.action == "escalate")).all()
    assert [(r.old_value, r.new_value) for r in rows] == [("2", "1")]


def test_delay_sets_reason_and_expected_completion(client, owner, ticket, clock):
    no = ticket["ticket_no"]
    expected = (clock.now + timedelta(days=10)).isoformat()
    body = client.put(
        f"/tickets/{no}/delay",
        json={"reason": "需等待航空公司调查结果", "expected_at": expected},
        headers=owner,
    )
    assert body.status_code == 200, body.text
    progress = body.json()["progress"]
    assert progress["delay_reason"] == "需等待航空公司调查结果"
    assert progress["expected_completion"].replace("Z", "+00:00")[:19] == expected[:19]
    past = (clock.now - timedelta(days=1)).isoformat()
    assert (
        client.put(
            f"/tickets/{no}/delay", json={"reason": "x", "expected_at": past}, headers=owner
        ).status_code
        == 422
    )


def test_compensation_follows_record_verify_plan_agree_pay(client, owner, ticket):
    no = ticket["ticket_no"]
    url = f"/tickets/{no}/compensation"
    assert (
        client.put(
            url,
            json={"status": "paid", "method": "cash", "loss_type": "property", "amount_cny": 300},
            headers=owner,
        ).status_code
        == 409
    )
    assert (
        client.put(url, json={"status": "recorded", "loss_type": "property"}, headers=owner).status_code
        == 200
    )
    assert client.put(url, json={"status": "verified"}, headers=owner).status_code == 200
    assert client.put(url, json={"status": "planned"}, headers=owner).status_code == 422  # no method yet
    assert (
        client.put(
            url, json={"status": "planned", "method": "cash", "amount_cny": 300}, headers=owner
        ).status_code
        == 200
    )
    assert client.put(url, json={"status": "paid"}, headers=owner).status_code == 409  # no agreement yet
    assert client.put(url, json={"status": "agreed"}, headers=owner).status_code == 200
    assert client.put(url, json={"status": "paid", "amount_cny": 500}, headers=owner).status_code == 422
    body = client.put(url, json={"status": "paid"}, headers=owner).json()
    assert body["compensation"] == {
        "status": "paid",
        "method": "cash",
        "loss_type": "property",
        "amount_cny": 300,
    }
    assert body["next_compensation_status"] is None  # paid: nothing left to record


def test_the_staff_view_names_the_next_compensation_step(client, owner, ticket):
    """The console offers the step the API's workflow takes next, not one guessed from labels."""
    no = ticket["ticket_no"]
    url = f"/tickets/{no}/compensation"
    assert client.get(f"/tickets/{no}", headers=owner).json()["next_compensation_status"] == "recorded"
    body = client.put(url, json={"status": "recorded", "loss_type": "property"}, headers=owner).json()
    assert body["next_compensation_status"] == "verified"
    body = client.put(url, json={"status": "verified"}, headers=owner).json()
    assert body["next_compensation_status"] == "planned"
    assert client.get(f"/tickets/{no}", headers=owner).json()["next_compensation_status"] == "planned"
