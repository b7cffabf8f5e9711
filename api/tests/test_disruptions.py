"""Disruption notices (services/disruptions.py, routes/disruptions.py) on SQLite and PostgreSQL:
a supervisor's notice reaches every conversation that verified a booking of the departure, once,
through the notifier (Rasa's two conversation endpoints stood in for here, as in
tests/services/test_notifier.py; tests/e2e/test_disruption_notice.py runs the real Rasa);
recipients are masked; replies are read from the trackers; the in-trip 1-hour alternative
deadline. The clock is the test's."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.crud import bookings
from app.models import AuditLog, Booking, BookingContact, DisruptionRecipient, Notification
from app.services import disruptions as service
from tests.conftest import login
from tests.stand_ins import StandInRasa

PRODUCT = "日本东京大阪富士山7日游"  # TR20260004: 2026-12-18 .. 2026-12-24
DEPARTS = "2026-12-18"
BEFORE = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)  # 10:00 in China, a week before departure
DURING = datetime(2026, 12, 20, 1, 0, tzinfo=UTC)  # 09:00 in China, day 3 of the trip
NOTICE = "因台风影响，12月18日去程航班改为12月19日同一时间出发，酒店顺延一晚，费用由我社承担。"


@pytest.fixture
def supervisor(client, clock):
    """Logged in at the test's clock (a login lasts 12 hours; tests that move the clock further
    log in again)."""
    clock.set(BEFORE)
    return login(client, "supervisor")


@pytest.fixture
def family(db):
    """A second booking of the same departure (another family)."""
    original = bookings.get_by_ref(db, ref="TR20260004")
    twin = Booking(
        **{
            c: copy.deepcopy(getattr(original, c))
            for c in Booking.__table__.columns.keys()  # noqa: SIM118 - column names
            if c not in ("id", "ref", "traveller_name", "phone")
        },
        ref="TR20269001",
        traveller_name="欧阳娜娜",
        phone="13900001234",
    )
    db.add(twin)
    db.commit()
    return twin


def verify(client, service_headers, ref: str, last4: str, sender: str, channel: str | None) -> None:
    body = {"phone_last4": last4, "sender_id": sender}
    if channel:
        body["channel"] = channel
    response = client.post(f"/bookings/{ref}/verify", json=body, headers=service_headers)
    assert response.status_code == 200, response.text


def traveller_said(rasa: StandInRasa, conversation: str, text: str, at: datetime, channel: str) -> None:
    rasa.events.setdefault(conversation, []).append(
        {"event": "user", "text": text, "timestamp": at.timestamp(), "input_channel": channel}
    )


def post(client, headers, **overrides):
    body = {"product": PRODUCT, "departure_date": DEPARTS, "text": NOTICE, **overrides}
    return client.post("/disruptions", json=body, headers=headers)


@pytest.fixture
def contacts(client, service, family, clock, rasa):
    """Web, WeChat and a family that verified both bookings in one conversation; another
    departure's traveller who must not be told."""
    clock.set(BEFORE)
    verify(client, service, "TR20260004", "5678", "web-conv-0001", "socketio")
    verify(client, service, "TR20269001", "1234", "web-conv-0001", "socketio")  # same family chat
    verify(client, service, "TR20269001", "1234", "oWx0000000000000000000000abc", "wechat")
    traveller_said(rasa, "oWx0000000000000000000000abc", "查行程", BEFORE - timedelta(hours=1), "wechat")
    verify(client, service, "TR20260001", "5678", "other-departure", "rest")


def test_departures_list_what_a_notice_would_reach(client, supervisor, contacts, clock):
    response = client.get("/disruptions/departures", headers=supervisor)
    assert response.status_code == 200, response.text
    listed = response.json()
    tokyo = next(d for d in listed if d["product"] == PRODUCT)
    assert tokyo == {
        "product": PRODUCT,
        "departure_date": DEPARTS,
        "return_date": "2026-12-24",
        "bookings": 2,
        "travellers": tokyo["travellers"],
        "contacts": 2,
        "under_way": False,
    }
    # Departures already back are not offered (TR20260003 came back in October).
    assert all(d["return_date"] >= "2026-12-10" for d in listed)
    assert "三亚亚龙湾5日度假" not in {d["product"] for d in listed}


def test_a_notice_reaches_each_conversation_of_the_departure_once(client, supervisor, contacts, rasa, db):
    response = post(client, supervisor)
    assert response.status_code == 201, response.text
    body = response.json()
    # Written with the request; delivered right after the answer (the notifier's background run).
    assert (body["added"], body["recipients_total"], body["pending"], body["in_trip"]) == (2, 2, 2, False)
    assert body["alternative"] is None

    # The web conversation got it pushed through socket.io, the WeChat one as a
    # customer-service message (the traveller wrote an hour ago); the other departure nothing.
    pushed = {(conv, channel) for conv, channel, e in rasa.pushed if e["event"] == "bot"}
    assert pushed == {("web-conv-0001", "socketio"), ("oWx0000000000000000000000abc", "wechat")}
    [web] = rasa.bot_texts("web-conv-0001")
    assert NOTICE in web and PRODUCT in web and "2026年12月18日出发" in web and "TR20260004" in web
    assert "other-departure" not in rasa.events

    # Masked recipients with each delivery's outcome; the conversation ids never shown whole.
    detail = client.get(f"/disruptions/{body['id']}", headers=supervisor).json()
    rows = {r["booking_ref"]: r for r in detail["recipients"]}
    assert set(rows) == {"TR20260004", "TR20269001"}
    assert rows["TR20269001"]["traveller"] == "欧**娜"
    assert rows["TR20269001"]["conversation"].startswith("wx:oWx0…")
    assert "oWx0000000000000000000000abc" not in str(detail) and "web-conv-0001" not in str(detail)
    assert {(r["status"], r["route"]) for r in detail["recipients"]} == {
        ("sent", "rasa:socketio"),
        ("sent", "rasa:wechat"),
    }

    # Posting the same notice again (a double click) writes nothing; "send to new contacts"
    # with nobody new neither.
    again = post(client, supervisor)
    assert again.status_code == 200 and again.json()["id"] == body["id"] and again.json()["added"] == 0
    assert client.post(f"/disruptions/{body['id']}/send", headers=supervisor).json()["added"] == 0
    assert len(rasa.bot_texts("web-conv-0001")) == 1
    assert (
        db.scalar(select(func.count()).select_from(Notification).where(Notification.kind == "disruption"))
        == 2
    )

    # Audited: who created it and how many it went to.
    actions = [
        (a.action, a.actor)
        for a in db.scalars(select(AuditLog).where(AuditLog.action.like("disruption%")).order_by(AuditLog.id))
    ]
    assert actions == [("disruption_created", "supervisor"), ("disruption_sent", "supervisor")]

    listed = client.get("/disruptions", headers=supervisor).json()
    assert [(d["id"], d["delivered"], d["recipients"]) for d in listed] == [(body["id"], 2, [])]


def test_a_traveller_who_verifies_later_is_told_once_by_send(
    client, supervisor, service, contacts, rasa, clock, db
):
    first = post(client, supervisor).json()
    clock.set(BEFORE + timedelta(hours=2))
    verify(client, service, "TR20260004", "5678", "web-conv-late", "socketio")
    assert client.post(f"/disruptions/{first['id']}/send", headers=supervisor).json()["added"] == 1
    assert client.post(f"/disruptions/{first['id']}/send", headers=supervisor).json()["added"] == 0
    assert len(rasa.bot_texts("web-conv-late")) == 1
    # The database itself refuses a second recipient row for one conversation.
    assert (
        db.scalar(
            select(func.count())
            .select_from(DisruptionRecipient)
            .where(DisruptionRecipient.conversation_id == "web-conv-late")
        )
        == 1
    )


def test_a_contact_without_a_channel_is_looked_up_in_its_tracker(
    client, supervisor, service, rasa, clock, db
):
    clock.set(BEFORE)
    # A bot that does not send its channel: the tracker says socket.io.
    traveller_said(rasa, "web-conv-nochannel", "TR20260004 5678", BEFORE, "socketio")
    verify(client, service, "TR20260004", "5678", "web-conv-nochannel", None)
    body = post(client, supervisor).json()
    assert client.get(f"/disruptions/{body['id']}", headers=supervisor).json()["delivered"] == 1
    assert ("web-conv-nochannel", "socketio") in {(c, ch) for c, ch, e in rasa.pushed if e["event"] == "bot"}


def test_staff_other_than_supervisors_and_the_bot_are_refused(client, service, contacts):
    agent1 = login(client, "agent1")
    assert post(client, agent1).status_code == 403
    assert post(client, service).status_code == 403
    assert client.get("/disruptions", headers=agent1).status_code == 403
    assert client.get("/disruptions/departures", headers=service).status_code == 403


def test_unknown_and_finished_departures_are_refused(client, supervisor, clock, rasa):
    clock.set(BEFORE)
    assert post(client, supervisor, departure_date="2026-12-19").status_code == 404
    finished = post(client, supervisor, product="三亚亚龙湾5日度假", departure_date="2026-10-14")
    assert finished.status_code == 409 and finished.json()["detail"][0]["code"] == "departure_over"
    assert post(client, supervisor, text="   ").status_code == 422


def test_a_departure_under_way_gets_the_one_hour_alternative_deadline(
    client, supervisor, contacts, clock, db
):
    clock.set(DURING)
    supervisor = login(client, "supervisor")
    body = post(client, supervisor).json()
    assert body["in_trip"] is True
    assert body["alternative"]["state"] == "due"
    assert body["alternative"]["due_at"] == (DURING + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert "1小时内" in db.scalar(select(Notification.text).where(Notification.kind == "disruption"))

    clock.set(DURING + timedelta(minutes=61))
    assert (
        client.get(f"/disruptions/{body['id']}", headers=supervisor).json()["alternative"]["state"]
        == "breached"
    )

    clock.set(DURING + timedelta(minutes=62))
    marked = client.post(
        f"/disruptions/{body['id']}/alternative", json={"note": "改乘次日航班，加住一晚"}, headers=supervisor
    )
    assert marked.status_code == 200
    alternative = marked.json()["alternative"]
    assert (alternative["state"], alternative["offered_by"]) == ("breached", "supervisor")  # late stays late
    again = client.post(f"/disruptions/{body['id']}/alternative", json={"note": "x"}, headers=supervisor)
    assert again.status_code == 409
    assert (
        db.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "disruption_alternative")
        )
        == 1
    )


def test_an_alternative_in_time_is_met_and_none_is_asked_before_departure(
    client, supervisor, contacts, clock
):
    clock.set(DURING)
    supervisor = login(client, "supervisor")
    during = post(client, supervisor).json()
    clock.set(DURING + timedelta(minutes=40))
    marked = client.post(
        f"/disruptions/{during['id']}/alternative", json={"note": "换乘高铁"}, headers=supervisor
    )
    assert marked.json()["alternative"]["state"] == "met"

    clock.set(BEFORE)
    supervisor = login(client, "supervisor")
    before = post(client, supervisor, text="集合时间提前半小时。").json()
    refused = client.post(f"/disruptions/{before['id']}/alternative", json={"note": "x"}, headers=supervisor)
    assert refused.status_code == 409 and refused.json()["detail"][0]["code"] == "not_in_trip"


def test_replies_after_the_notice_are_listed_masked(client, supervisor, contacts, rasa, clock, db):
    body = post(client, supervisor).json()
    web = "web-conv-0001"
    traveller_said(
        rasa, web, "收到，那19号几点集合？我电话13812345678", BEFORE + timedelta(minutes=5), "socketio"
    )
    # A later disruption's notice: what follows answers that one, not this.
    clock.set(BEFORE + timedelta(hours=1))
    later = post(client, supervisor, text="集合地点改为成田机场T2。").json()
    traveller_said(rasa, web, "好的知道了", BEFORE + timedelta(hours=1, minutes=5), "socketio")

    replies = client.get(f"/disruptions/{body['id']}/replies", headers=supervisor).json()
    # The family's conversation is listed once, under the first booking it verified.
    by_ref = {r["booking_ref"]: r for r in replies["recipients"]}
    web_entry, wechat = by_ref["TR20260004"], by_ref["TR20269001"]
    assert web_entry["conversation"].startswith("web:") and wechat["conversation"].startswith("wx:")
    assert web_entry["notice_delivered"] is True
    assert [r["text"] for r in web_entry["replies"]] == ["收到，那19号几点集合？我电话138****5678"]
    assert wechat["replies"] == [] and wechat["notice_delivered"] is True

    second = client.get(f"/disruptions/{later['id']}/replies", headers=supervisor).json()
    web_second = next(r for r in second["recipients"] if r["conversation"].startswith("web:"))
    assert [r["text"] for r in web_second["replies"]] == ["好的知道了"]

    # Rasa down: the page says so per conversation instead of failing.
    rasa.down = True
    down = client.get(f"/disruptions/{body['id']}/replies", headers=supervisor).json()
    assert all(r["error"] for r in down["recipients"])
    assert (
        db.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.field == "disruption_replies"))
        >= 1
    )


def test_replies_in_ignores_a_conversation_the_notice_has_not_reached():
    tracker = {"events": [{"event": "user", "text": "你好", "timestamp": 1.0}]}
    assert service.replies_in(tracker, "disruption:1:abc") is None


def test_departures_count_under_way_in_china_time(db):
    # 2026-12-17 16:30 UTC is already the 18th in China: the Tokyo departure is under way.
    now = datetime(2026, 12, 17, 16, 30, tzinfo=UTC)
    tokyo = next(d for d in service.departures(db, now=now) if d.product == PRODUCT)
    assert tokyo.departure_date == date(2026, 12, 18) and tokyo.under_way is True


def test_the_retention_job_masks_old_recipients_conversation_ids(client, supervisor, contacts, clock, db):
    from app.services.retention import purge
    from tests.conftest import test_settings

    body = post(client, supervisor).json()
    settings = test_settings(retention_tracker_days=90)
    assert purge(db, settings=settings, now=BEFORE + timedelta(days=89)).disruption_recipients_masked == 0
    report = purge(db, settings=settings, now=BEFORE + timedelta(days=91))
    assert report.disruption_recipients_masked == 2
    assert purge(db, settings=settings, now=BEFORE + timedelta(days=92)).disruption_recipients_masked == 0
    db.expire_all()
    kept = db.scalars(
        select(DisruptionRecipient).where(DisruptionRecipient.disruption_id == body["id"])
    ).all()
    assert {r.conversation_id[:4] for r in kept} == {"web:", "wx:o"}
    notices = db.scalars(select(Notification.conversation_id).where(Notification.kind == "disruption")).all()
    assert not {"web-conv-0001", "oWx0000000000000000000000abc"} & set(notices)
    # The disruption itself and its delivery counts stay; the contacts went (idle 91 days).
    clock.set(BEFORE + timedelta(days=91))
    detail = client.get(f"/disruptions/{body['id']}", headers=login(client, "supervisor")).json()
    assert (detail["recipients_total"], detail["delivered"]) == (2, 2)
    assert report.contacts_deleted == 4


def test_a_conversation_that_complained_about_a_booking_is_told_too(
    client, supervisor, service, rasa, clock, db
):
    from tests.factories import create_ticket

    clock.set(BEFORE - timedelta(days=10))
    create_ticket(
        client, service, booking_ref="TR20260004", channel="socketio", conversation_id="web-complained"
    )
    create_ticket(client, service, booking_ref="TR20260004", channel="phone", conversation_id="phone-call-1")
    clock.set(BEFORE - timedelta(days=100))  # older than the trackers' retention (90 days)
    create_ticket(
        client, service, booking_ref="TR20260004", channel="socketio", conversation_id="web-long-ago"
    )
    clock.set(BEFORE)

    body = post(client, supervisor).json()
    assert body["added"] == 1
    assert [c for c, _, e in rasa.pushed if e["event"] == "bot"] == ["web-complained"]
    contact = db.scalar(select(BookingContact).where(BookingContact.conversation_id == "web-complained"))
    # Recorded at the ticket's time: an old complaint does not look like a recent contact.
    assert contact.last_seen_at == BEFORE - timedelta(days=10)


def test_a_wechat_traveller_silent_for_48_hours_gets_a_template_message(
    client, supervisor, contacts, rasa, clock, db, wechat, held
):
    """Past WeChat's customer-service window the notifier sends the account's template message
    (to the fake WeChat server, over HTTP) with the disruption's fields."""
    clock.set(BEFORE + timedelta(hours=48))  # the traveller last wrote at BEFORE - 1 h
    body = post(client, login(client, "supervisor")).json()
    notifier = wechat.notifier(db, rasa)  # the test delivers, at its clock
    assert notifier.deliver_due(clock.now) == {"sent": 2}
    (template,) = wechat.server.templates_to("oWx0000000000000000000000abc")
    fields = {name: value["value"] for name, value in template["data"].items()}
    assert (fields["first"], fields["keyword1"]) == ("出行变更通知", "TR20269001")
    assert NOTICE in fields["remark"]
    routes_taken = {
        r["booking_ref"]: r["route"]
        for r in client.get(f"/disruptions/{body['id']}", headers=login(client, "supervisor")).json()[
            "recipients"
        ]
    }
    assert routes_taken == {"TR20260004": "rasa:socketio", "TR20269001": "wechat_template"}


def test_supervisors_are_alerted_before_and_after_the_alternative_deadline(client, contacts, clock, db):
    from app.models.alert import Alert

    clock.set(DURING)
    body = post(client, login(client, "supervisor")).json()
    assert service.alternative_alerts(db, now=DURING + timedelta(minutes=29)) == {
        "alternative_due_soon": 0,
        "alternative_overdue": 0,
    }
    assert service.alternative_alerts(db, now=DURING + timedelta(minutes=31))["alternative_due_soon"] == 1
    assert (
        service.alternative_alerts(db, now=DURING + timedelta(minutes=40))["alternative_due_soon"] == 0
    )  # once
    assert service.alternative_alerts(db, now=DURING + timedelta(minutes=61))["alternative_overdue"] == 1
    alerts = db.scalars(select(Alert).where(Alert.deadline == "alternative_plan").order_by(Alert.id)).all()
    assert [a.kind for a in alerts] == ["due_soon", "overdue"]
    assert "09:00" not in alerts[1].text and "10:00" in alerts[1].text  # China time of the deadline
    assert PRODUCT in alerts[1].text

    # Recorded: no more alerts.
    clock.set(DURING + timedelta(minutes=62))
    client.post(
        f"/disruptions/{body['id']}/alternative",
        json={"note": "改乘高铁"},
        headers=login(client, "supervisor"),
    )
    assert service.alternative_alerts(db, now=DURING + timedelta(hours=3)) == {
        "alternative_due_soon": 0,
        "alternative_overdue": 0,
    }


def test_the_scheduled_deadline_job_alerts_the_alternative_deadline_too(client, contacts, clock, db):
    from app.core.config import get_settings
    from app.services.jobs import deadline_alerts

    clock.set(DURING)
    post(client, login(client, "supervisor"))
    counts = deadline_alerts.run(db, settings=get_settings(), now=DURING + timedelta(minutes=61))
    assert counts["alternative_overdue"] == 1
    again = deadline_alerts.run(db, settings=get_settings(), now=DURING + timedelta(minutes=70))
    assert again["alternative_overdue"] == 0  # once


def test_reading_the_recipients_is_recorded_once_per_view(client, supervisor, contacts, db):
    body = post(client, supervisor).json()
    for _ in range(3):
        assert client.get(f"/disruptions/{body['id']}", headers=supervisor).status_code == 200
    reads = db.scalars(select(AuditLog).where(AuditLog.field == "disruption_recipients")).all()
    assert [(r.action, r.new_value) for r in reads] == [("read_masked_data", str(body["id"]))]


def test_reading_the_replies_is_recorded_as_a_masked_read_of_the_disruption(
    client, supervisor, contacts, rasa, db
):
    body = post(client, supervisor).json()
    for _ in range(2):  # no poll window here: every read is a row
        assert client.get(f"/disruptions/{body['id']}/replies", headers=supervisor).status_code == 200
    rows = db.scalars(select(AuditLog).where(AuditLog.field == "disruption_replies")).all()
    assert [(r.actor, r.actor_role, r.action, r.new_value, r.ticket_id, r.booking_ref) for r in rows] == [
        ("supervisor", "supervisor", "read_masked_data", str(body["id"]), None, None)
    ] * 2
