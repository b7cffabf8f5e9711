"""Masked views cover free text, and every read by a person is audited (issue 14, item 3):
tickets, lists, handoffs, the queue, transcripts, and the transcript kept on the ticket."""

from __future__ import annotations

from sqlalchemy import select

from app.models import AuditLog, Ticket
from app.services.masking import mask_conversation_id
from tests.factories import create_ticket
from tests.routes.test_handoffs import open_handoff, paused_conversation, rasa  # noqa: F401 - fixture

PERSONAL = [
    "王小明",
    "张伟",
    "13900001111",
    "13812345678",
    "110101199003071234",
    "刘洋",
    "6543210",
    "wx-oF3k9Zq81",
]
DESCRIPTION = (
    "订单是张伟(13812345678)订的，我是同行的王小明，身份证110101199003071234，酒店不给换房。"
    "联系人刘洋 0871-6543210"
)


def _owner_and_other(ticket, agent1, agent2):
    return (agent1, agent2) if ticket["owner"]["username"] == "agent1" else (agent2, agent1)


def _reads(db, **where):
    query = select(AuditLog).where(AuditLog.action.in_(["read_personal_data", "read_masked_data"]))
    for key, value in where.items():
        query = query.where(getattr(AuditLog, key) == value)
    return db.scalars(query.order_by(AuditLog.id)).all()


def test_an_agent_who_does_not_own_the_ticket_sees_its_free_text_masked(
    client, service, agent1, agent2, supervisor, db
):
    ticket = create_ticket(
        client,
        service,
        name="王小明",
        phone="13900001111",
        booking_ref="TR20260001",
        conversation_id="wx-oF3k9Zq81",
        description=DESCRIPTION,
        location="大理古城，找王小明",
        occurred_at="昨晚王小明入住时",
        evidence=["https://cdn.example.com/u/13900001111/room.jpg"],
        request_detail="给我(王小明)退两晚房费",
    )
    no = ticket["ticket_no"]
    owner, other = _owner_and_other(ticket, agent1, agent2)
    client.post(
        f"/tickets/{no}/notes",
        json={"text": "已致电王小明 13900001111，身份证110101199003071234", "public": True},
        headers=owner,
    )

    seen = client.get(f"/tickets/{no}", headers=other)
    assert seen.status_code == 200 and seen.json()["masked"] is True
    for value in PERSONAL:
        assert value not in seen.text, value
    body = seen.json()
    assert body["description"].startswith(
        "订单是张*(138****5678)订的，我是同行的王*明，身份证**************1234"
    )
    assert body["location"] == "大理古城，找王*明" and body["occurred_at"] == "昨晚王*明入住时"
    assert body["evidence"] == ["https://cdn.example.com/****"]
    assert body["conversation_id"] == mask_conversation_id("wx-oF3k9Zq81", "rest")
    assert body["request_detail"] == "给我(王*明)退两晚房费"
    assert body["notes"][0]["text"] == "已致电王*明 139****1111，身份证**************1234"
    assert body["progress"]["measures"] == [body["notes"][0]["text"]]

    for headers in (owner, supervisor, {**service, "X-Sender-Id": "wx-oF3k9Zq81"}):
        full = client.get(f"/tickets/{no}", headers=headers).json()
        assert full["masked"] is False and full["description"] == DESCRIPTION
        assert "13900001111" in full["notes"][0]["text"]
        # The conversation id: masked for every person, the owner and supervisors too; raw for the bot.
        raw = headers.get("X-Sender-Id") is not None
        assert full["conversation_id"] == (
            "wx-oF3k9Zq81" if raw else mask_conversation_id("wx-oF3k9Zq81", "rest")
        )

    reads = [(r.actor, r.action, r.field, r.new_value) for r in _reads(db, field="ticket")]
    owners = ticket["owner"]["username"]
    others = "agent2" if owners == "agent1" else "agent1"
    assert (others, "read_masked_data", "ticket", no) in reads
    assert (owners, "read_personal_data", "ticket", no) in reads
    assert ("supervisor", "read_personal_data", "ticket", no) in reads
    assert not [r for r in reads if r[0] == "service"]  # the bot's reads are not a person's


def test_lists_are_masked_and_audited(client, service, agent1, db):
    ticket = create_ticket(
        client,
        service,
        name="王小明",
        phone="13900001111",
        booking_ref="TR20260001",
        request_detail="张伟说退款，身份证110101199003071234",
    )
    page = client.get("/tickets", headers=agent1)
    item = {i["ticket_no"]: i for i in page.json()["items"]}[ticket["ticket_no"]]
    assert item["request_detail"] == "张*说退款，身份证**************1234"  # the booking holder's name too
    rows = _reads(db, field="tickets")
    assert [(r.actor, r.action) for r in rows] == [("agent1", "read_masked_data")]
    assert ticket["ticket_no"] in rows[0].new_value


def test_handoffs_are_masked_for_agents_who_do_not_hold_them_and_every_read_is_audited(
    client, service, agent1, agent2, supervisor, db, rasa
):
    handoff = open_handoff(
        client,
        service,
        summary={
            "booking_ref": "TR20260001",
            "phone": "13812345678",
            "complainant_name": "王小明",
            "complaint_description": "王小明的护照E12345678丢了，张伟在找",
            "last_message": "电话13900001111",
        },
    )
    hid = handoff["id"]
    paused_conversation(rasa, "web-abc123")
    rasa.add("web-abc123", {"event": "user", "text": "我叫王小明，身份证110101199003071234"})

    queue = client.get("/handoffs", headers=agent2)
    assert queue.status_code == 200
    for value in ["13812345678", "王小明", "E12345678", "张伟", "13900001111", "web-abc123"]:
        assert value not in queue.text, value
    item = queue.json()["items"][0]
    assert item["masked"] and item["conversation_id"] == mask_conversation_id("web-abc123", "socketio")
    assert item["summary"]["complaint_description"] == "王*明的护照E******78丢了，张*在找"
    # A poll that shows the same again is not another row; another view is.
    client.get("/handoffs", headers=agent2)
    client.get(f"/handoffs/{hid}", headers=agent2)
    preview = client.get(f"/handoffs/{hid}/transcript", headers=agent2)
    client.get(f"/handoffs/{hid}/transcript", headers=agent2)
    assert preview.json()["conversation_id"] == mask_conversation_id("web-abc123", "socketio")
    assert preview.json()["lines"][-1]["text"] == "我叫王*明，身份证**************1234"
    assert "110101199003071234" not in preview.text and "13812345678" not in preview.text

    client.post(f"/handoffs/{hid}/take", headers=agent1)
    full = client.get(f"/handoffs/{hid}/transcript", headers=agent1).json()
    assert full["lines"][-2]["text"] == "我叫王小明，身份证110101199003071234"  # then the joined notice
    rasa.add("web-abc123", {"event": "user", "text": "还在吗"})
    client.get(f"/handoffs/{hid}/transcript", headers=agent1)  # a new line: a new read
    client.get(f"/handoffs/{hid}/transcript", headers=supervisor)

    rows = [
        (r.actor, r.action, r.field) for r in _reads(db) if r.field in {"handoffs", "handoff", "transcript"}
    ]
    assert rows == [
        ("agent2", "read_masked_data", "handoffs"),
        ("agent2", "read_masked_data", "handoff"),
        ("agent2", "read_masked_data", "transcript"),
        ("agent1", "read_personal_data", "handoff"),  # taking it shows it unmasked
        ("agent1", "read_personal_data", "transcript"),
        ("agent1", "read_personal_data", "transcript"),
        ("supervisor", "read_personal_data", "transcript"),
    ]


def test_the_ticket_keeps_the_transcript_masked_for_readers_refused_the_transcript(
    client, service, agent1, agent2, supervisor, db, rasa
):
    ticket = create_ticket(
        client,
        service,
        name="王小明",
        phone="13900001111",
        category="safety",
        severity="urgent",
        description="孩子在泳池受伤了，现在需要帮助",
    )
    owner, other = _owner_and_other(ticket, agent1, agent2)
    handoff = open_handoff(client, service, reason="urgent_complaint", ticket_no=ticket["ticket_no"])
    paused_conversation(rasa, "web-abc123")
    rasa.add("web-abc123", {"event": "user", "text": "我叫王小明，身份证110101199003071234"})
    hid = handoff["id"]
    client.post(f"/handoffs/{hid}/take", headers=other)  # not the ticket's owner
    assert client.get(f"/handoffs/{hid}/transcript", headers=owner).status_code == 403
    assert (
        client.post(f"/handoffs/{hid}/return", json={"note": "已回拨 13900001111"}, headers=other).status_code
        == 200
    )

    # The ticket's owner, refused the transcript, reads the ticket unmasked: the note is masked.
    notes = client.get(f"/tickets/{ticket['ticket_no']}", headers=owner).json()["notes"]
    note = next(n["text"] for n in notes if n["text"].startswith("人工会话记录"))
    for value in ["110101199003071234", "13812345678", "13900001111", "王小明", "web-abc123"]:
        assert value not in note, value
    assert "我叫王*明，身份证**************1234" in note and "已回拨 139****1111" in note
    assert f"完整记录见转接 #{hid}" in note
    # The full transcript stays with the handoff, for who may read it.
    assert client.get(f"/handoffs/{hid}/transcript", headers=owner).status_code == 403
    stored = client.get(f"/handoffs/{hid}/transcript", headers=supervisor).json()
    assert stored["source"] == "stored" and any(
        "110101199003071234" in line["text"] for line in stored["lines"]
    )
    assert any(
        "110101199003071234" in line["text"]
        for line in client.get(f"/handoffs/{hid}/transcript", headers=other).json()["lines"]
    )


def test_no_person_sees_a_raw_conversation_id_the_holder_and_supervisors_included(
    client, service, agent1, supervisor, rasa
):
    openid = "oAbcDEF1234567890xyzQRSTuv9f"
    handoff = open_handoff(
        client,
        service,
        conversation_id=openid,
        channel="wechat",
        summary={"booking_ref": "TR20260001", "sender_id": openid},
    )
    assert handoff["conversation_id"] == openid  # the bot opened it: its own id comes back
    other = open_handoff(client, service, conversation_id="oAbcDEF1234567890xyzQRSTzz01", channel="wechat")
    hid = handoff["id"]
    paused_conversation(rasa, openid)
    client.post(f"/handoffs/{hid}/take", headers=agent1)
    shown = mask_conversation_id(openid, "wechat")
    assert shown.startswith("wx:oAbc…") and len(shown) == len("wx:oAbc…") + 6 and openid[-6:] not in shown
    views = [
        client.get(f"/handoffs/{hid}", headers=agent1),  # the holder
        client.get(f"/handoffs/{hid}", headers=supervisor),
        client.get(f"/handoffs/{hid}/transcript", headers=agent1),
        client.get(f"/handoffs/{hid}/transcript", headers=supervisor),
        client.get("/handoffs", headers=supervisor),
        client.get("/handoffs", headers=agent1),
    ]
    for response in views:
        assert response.status_code == 200, response.text
        assert openid not in response.text, response.request.url
        assert shown in response.text, response.request.url
    held = views[0].json()
    assert (
        held["masked"] is False and held["conversation_id"] == shown and held["summary"]["sender_id"] == shown
    )
    # Stable per conversation, different between conversations (agents tell them apart).
    queue = {
        i["id"]: i["conversation_id"] for i in client.get("/handoffs", headers=supervisor).json()["items"]
    }
    assert queue[hid] == shown and queue[other["id"]] not in (shown, None)
    # The bot still gets it raw for its own conversation.
    mine = client.get(f"/handoffs/{hid}", headers={**service, "X-Sender-Id": openid}).json()
    assert mine["conversation_id"] == openid and mine["summary"]["sender_id"] == openid


def test_the_ticket_owner_sees_the_same_masked_id_as_the_queue(
    client, service, agent1, agent2, supervisor, rasa
):
    openid = "oAbcDEF1234567890xyzQRSTuv9f"
    ticket = create_ticket(client, service, channel="wechat", conversation_id=openid)
    owner, _ = _owner_and_other(ticket, agent1, agent2)
    handoff = open_handoff(
        client, service, conversation_id=openid, channel="wechat", ticket_no=ticket["ticket_no"]
    )
    paused_conversation(rasa, openid)
    shown = mask_conversation_id(openid, "wechat")
    for headers in (owner, supervisor):
        body = client.get(f"/tickets/{ticket['ticket_no']}", headers=headers)
        assert (
            body.json()["masked"] is False
            and body.json()["conversation_id"] == shown
            and openid not in body.text
        )
    # The transcript note written at the end names the conversation the same way.
    client.post(f"/handoffs/{handoff['id']}/take", headers=owner)
    assert client.post(f"/handoffs/{handoff['id']}/close", headers=owner).status_code == 200
    notes = client.get(f"/tickets/{ticket['ticket_no']}", headers=supervisor).json()["notes"]
    note = next(n["text"] for n in notes if n["text"].startswith("人工会话记录"))
    assert f"会话 {shown}" in note and openid not in note


def test_supervisors_find_a_conversation_by_its_raw_id_and_still_see_it_masked(
    client, service, agent1, supervisor
):
    openid = "oAbcDEF1234567890xyzQRSTuv9f"
    handoff = open_handoff(client, service, conversation_id=openid, channel="wechat")
    open_handoff(client, service, conversation_id="web-someone-else")
    found = client.get("/handoffs", params={"conversation_id": openid}, headers=supervisor)
    assert found.status_code == 200 and openid not in found.text
    assert [i["id"] for i in found.json()["items"]] == [handoff["id"]]
    assert (
        client.get("/handoffs", params={"conversation_id": "nobody"}, headers=supervisor).json()["items"]
        == []
    )
    refused = client.get("/handoffs", params={"conversation_id": openid}, headers=agent1)
    assert refused.status_code == 403 and refused.json()["detail"][0]["loc"] == ["query", "conversation_id"]


def test_read_rows_name_the_handoffs_read_and_the_linked_ticket(
    client, service, agent1, supervisor, db, rasa
):
    """What the rows say besides who and how: the queue names the handoffs it showed, one
    handoff's read its linked ticket; ending a handoff records that its holder read it in full
    (without the ticket)."""
    ticket = create_ticket(client, service)
    first = open_handoff(client, service, ticket_no=ticket["ticket_no"])
    second = open_handoff(client, service, conversation_id="web-second")
    paused_conversation(rasa, "web-abc123")
    client.get("/handoffs", headers=supervisor)
    client.get(f"/handoffs/{first['id']}", headers=supervisor)
    client.post(f"/handoffs/{first['id']}/take", headers=agent1)
    assert client.post(f"/handoffs/{first['id']}/close", headers=agent1).status_code == 200

    ticket_id = db.scalar(select(Ticket.id).where(Ticket.ticket_no == ticket["ticket_no"]))
    rows = [
        (r.actor, r.action, r.field, r.new_value, r.ticket_id)
        for r in _reads(db)
        if r.field in {"handoffs", "handoff"}
    ]
    assert rows == [
        ("supervisor", "read_personal_data", "handoffs", f"#{first['id']},#{second['id']}", None),
        ("supervisor", "read_personal_data", "handoff", f"#{first['id']}", ticket_id),
        ("agent1", "read_personal_data", "handoff", f"#{first['id']}", ticket_id),  # the take
        ("agent1", "read_personal_data", "handoff", f"#{first['id']}", None),  # the close
    ]
