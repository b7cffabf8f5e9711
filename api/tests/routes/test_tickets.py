from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import chinese_calendar
import pytest
from sqlalchemy import func, select

from app.models import AuditLog, IdempotencyKey, Ticket
from app.services.deadlines import CHINA_TZ, DEADLINE_LABELS
from app.services.taxonomy import CATEGORY_DEPARTMENT, CATEGORY_LABELS, Category
from tests.conftest import login
from tests.factories import create_ticket, ticket_payload

TICKET_NO = re.compile(r"^C\d{8}\d{3,}$")


def test_create_returns_the_full_ticket(client, service, clock):
    clock.set(datetime(2026, 11, 23, 18, 30, tzinfo=UTC))  # 2026-11-24 02:30 in China
    ticket = create_ticket(client, service)
    assert TICKET_NO.match(ticket["ticket_no"])
    assert ticket["ticket_no"].startswith("C20261124")  # China's date, not UTC's
    assert ticket["status"] == "received"
    assert ticket["owner"]["username"] in {"agent1", "agent2"}
    assert ticket["stage"] == "pre_trip"  # TR20260001 departs 2026-12-05
    assert ticket["is_repeat"] is False
    assert ticket["category"] in {c.value for c in Category}
    assert ticket["department"] == CATEGORY_DEPARTMENT[Category(ticket["category"])].code
    assert 0.0 <= ticket["confidence"] <= 1.0
    names = [d["name"] for d in ticket["deadlines"]]
    # In time order: received Tuesday 02:30, so the 24-hour first response comes before the end of
    # Wednesday's working day; the general resolution target is the "resolved" step.
    assert names == ["first_response", "investigated", "plan_made", "resolved", "resolution", "followed_up"]
    assert all(d["state"] == "due" for d in ticket["deadlines"])
    # The labels travellers read (the bot shows them as sent): GET /labels' table.
    assert [d["label"] for d in ticket["deadlines"]] == [DEADLINE_LABELS[n] for n in names]
    assert ticket["deadlines"][0]["label"] == "首次响应"
    assert ticket["category_label"] == CATEGORY_LABELS[Category(ticket["category"])]
    assert ticket["progress"]["responsible_person"] == ticket["owner"]["display_name"]
    assert ticket["evidence"] == ["https://example.com/photo1.jpg"]
    assert ticket["phone"] == "13812345678" and ticket["masked"] is False


def test_the_classifier_routes_the_complaint_unless_overridden(client, service):
    routed = create_ticket(
        client, service, description="我们在泰国被导游带去珠宝店强制购物，不买不让走，关了两个小时"
    )
    assert routed["category"] == "shopping"
    assert routed["department"] == "quality"
    overridden = create_ticket(client, service, category="billing", severity="major")
    assert (overridden["category"], overridden["severity"], overridden["department"]) == (
        "billing",
        "major",
        "finance",
    )
    assert overridden["authority_level"] == 1
    assert overridden["confidence"] is None


def test_urgent_complaint_gets_level_1_and_short_deadlines(client, service, clock):
    ticket = create_ticket(client, service, category="safety", severity="urgent", booking_ref="TR20260002")
    assert ticket["authority_level"] == 1 and ticket["colour"] == "red"
    due = {d["name"]: datetime.fromisoformat(d["due_at"]) for d in ticket["deadlines"]}
    received = datetime.fromisoformat(ticket["received_at"])
    assert due["resolution"] - received == timedelta(hours=24)
    assert due["first_response"] - received <= timedelta(minutes=15)


def test_a_major_ticket_lists_its_deadlines_in_order_within_48_hours(client, service, supervisor, clock):
    clock.set(datetime(2026, 12, 7, 12, 26, tzinfo=CHINA_TZ))  # a Monday, Beijing time
    ticket = create_ticket(client, service, category="shopping", severity="major")
    read = client.get(f"/tickets/{ticket['ticket_no']}", headers=supervisor).json()
    for listed in (ticket["deadlines"], read["deadlines"]):
        names = [d["name"] for d in listed]
        assert names == [
            "first_response",
            "investigated",
            "plan_made",
            "resolved",
            "resolution",
            "followed_up",
        ]
        due = {d["name"]: datetime.fromisoformat(d["due_at"]).astimezone(CHINA_TZ) for d in listed}
        assert due["resolution"] == datetime(2026, 12, 9, 12, 26, tzinfo=CHINA_TZ)
        assert due["plan_made"] <= due["resolution"] and due["resolved"] <= due["resolution"]
        assert [d["due_at"] for d in listed] == sorted(d["due_at"] for d in listed)


@pytest.fixture
def los_angeles(monkeypatch):
    """The API process in another time zone: nothing it decides may follow the server's clock zone."""
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    time.tzset()
    assert time.localtime(0).tm_gmtoff == -8 * 3600
    yield
    monkeypatch.undo()
    time.tzset()


def test_dates_are_chinas_whatever_the_servers_time_zone(client, service, clock, los_angeles):
    # 2026-12-01 23:30 UTC is Tuesday 15:30 in Los Angeles and Wednesday 07:30 in Beijing.
    clock.set(datetime(2026, 12, 1, 23, 30, tzinfo=UTC))
    ticket = create_ticket(client, service, category="accommodation", severity="general")
    assert ticket["ticket_no"].startswith("C20261202")
    due = {d["name"]: datetime.fromisoformat(d["due_at"]) for d in ticket["deadlines"]}
    # One working day after China's Wednesday: the end of Thursday in Beijing (10:00 UTC).
    assert due["investigated"] == datetime(2026, 12, 3, 18, 0, tzinfo=CHINA_TZ)
    assert due["first_response"] == clock.now + timedelta(hours=24)
    # "Overdue" turns at 18:00 Beijing time.
    no = ticket["ticket_no"]
    bot = {**service, "X-Sender-Id": ticket["conversation_id"]}  # the conversation that opened it
    clock.set(datetime(2026, 12, 3, 17, 59, tzinfo=CHINA_TZ))
    states = {d["name"]: d["state"] for d in client.get(f"/tickets/{no}", headers=bot).json()["deadlines"]}
    assert states["investigated"] == "due"
    clock.set(datetime(2026, 12, 3, 18, 1, tzinfo=CHINA_TZ))
    states = {d["name"]: d["state"] for d in client.get(f"/tickets/{no}", headers=bot).json()["deadlines"]}
    assert states["investigated"] == "breached"
    # The stage follows China's date: Saturday 07:30 in Beijing is TR20260001's departure day,
    # still Friday in Los Angeles and in UTC.
    clock.set(datetime(2026, 12, 4, 23, 30, tzinfo=UTC))
    assert create_ticket(client, service, booking_ref="TR20260001")["stage"] == "in_trip"
    # A report window without a zone is China's day: Wednesday 00:00 Beijing counts the first ticket.
    supervisor = login(client, "supervisor")  # a token issued at the clock's time
    stats = client.get(
        "/stats", params={"since": "2026-12-02T00:00:00", "until": "2026-12-03T00:00:00"}, headers=supervisor
    )
    assert stats.status_code == 200, stats.text
    assert stats.json()["total"] == 1
    utc_window = {"since": "2026-12-02T00:00:00Z", "until": "2026-12-03T00:00:00Z"}
    assert client.get("/stats", params=utc_window, headers=supervisor).json()["total"] == 0


@pytest.mark.parametrize(
    ("received", "severity", "category", "stage"),
    [
        (datetime(2026, 3, 2, 20, 0, tzinfo=CHINA_TZ), "general", "transport", None),  # Monday evening
        (datetime(2026, 3, 6, 3, 17, tzinfo=CHINA_TZ), "general", "transport", "in_trip"),  # Friday night
        (datetime(2026, 3, 7, 12, 0, tzinfo=CHINA_TZ), "urgent", "safety", None),  # Saturday
        (datetime(2026, 3, 3, 17, 0, tzinfo=CHINA_TZ), "major", "itinerary", "in_trip"),
    ],
)
def test_deadlines_come_in_time_order_and_working_days_end_at_18_00(
    client, service, clock, received, severity, category, stage
):
    clock.set(received)
    ticket = create_ticket(
        client, service, severity=severity, category=category, stage=stage, booking_ref=None
    )
    for deadlines in (
        ticket["deadlines"],
        client.get(
            f"/tickets/{ticket['ticket_no']}", headers={**service, "X-Sender-Id": ticket["conversation_id"]}
        ).json()["deadlines"],
    ):
        due = [datetime.fromisoformat(d["due_at"]) for d in deadlines]
        assert due == sorted(due), [d["name"] for d in deadlines]
        resolution = next(datetime.fromisoformat(d["due_at"]) for d in deadlines if d["name"] == "resolution")
        for d in deadlines:
            local = datetime.fromisoformat(d["due_at"]).astimezone(CHINA_TZ)
            if d["name"] in ("investigated", "plan_made", "resolved", "followed_up"):
                # Or, for urgent and major, the clock-hour resolution target when that comes first.
                assert (local.hour, local.minute) == (18, 0) or local == resolution, d
    by_name = {d["name"]: datetime.fromisoformat(d["due_at"]) for d in ticket["deadlines"]}
    if "alternative_plan" in by_name:
        assert by_name["alternative_plan"] == received + timedelta(hours=1)
    if severity == "general":
        assert by_name["first_response"] == received + timedelta(hours=24)
    else:
        assert by_name["resolution"] == received + timedelta(hours=24 if severity == "urgent" else 48)
    # The progress view for the traveller lists them in the same order.
    progress = client.post(
        f"/tickets/{ticket['ticket_no']}/verify",
        json={"phone_last4": "5678", "sender_id": "s-test"},
        headers=service,
    ).json()
    assert progress["deadlines"] == ticket["deadlines"]  # names, labels, times and states
    assert progress["category_label"] == ticket["category_label"]


@pytest.mark.parametrize(
    ("today", "stage"),
    [
        ((2026, 12, 4), "pre_trip"),
        ((2026, 12, 5), "in_trip"),
        ((2026, 12, 10), "in_trip"),
        ((2026, 12, 11), "post_trip"),
    ],
)
def test_stage_is_derived_from_the_booking_dates(client, service, clock, today, stage):
    clock.set(datetime(*today, 12, 0, tzinfo=CHINA_TZ))
    assert create_ticket(client, service)["stage"] == stage


def test_in_trip_transport_complaint_needs_an_alternative_plan(client, service, clock):
    clock.set(datetime(2026, 12, 6, 9, 0, tzinfo=CHINA_TZ))
    ticket = create_ticket(client, service, category="transport", severity="general")
    alternative = [d for d in ticket["deadlines"] if d["name"] == "alternative_plan"]
    assert len(alternative) == 1
    assert datetime.fromisoformat(alternative[0]["due_at"]) == clock.now + timedelta(hours=1)


def test_calendar_fallback_is_flagged(client, service, clock):
    # Relative to what the installed calendar has published: no year bomb when it publishes more.
    last_published = max(chinese_calendar.holidays).year
    clock.set(datetime(last_published + 1, 3, 3, 10, 0, tzinfo=CHINA_TZ))
    assert create_ticket(client, service)["calendar_fallback"] is True
    clock.set(datetime(last_published, 3, 3, 10, 0, tzinfo=CHINA_TZ))
    assert create_ticket(client, service)["calendar_fallback"] is False


def test_second_ticket_on_a_booking_is_a_repeat(client, service):
    assert create_ticket(client, service)["is_repeat"] is False
    assert create_ticket(client, service, description="上次投诉没人理，房间还是有蟑螂")["is_repeat"] is True
    assert create_ticket(client, service, booking_ref="TR20260003", phone="13698765432")["is_repeat"] is False


def test_ticket_without_booking_has_no_stage(client, service):
    ticket = create_ticket(client, service, booking_ref=None)
    assert ticket["booking_ref"] is None and ticket["stage"] is None


def test_owners_are_balanced_between_agents(client, service):
    owners = [create_ticket(client, service)["owner"]["username"] for _ in range(4)]
    assert sorted(owners) == ["agent1", "agent1", "agent2", "agent2"]


def test_ticket_numbers_count_up_within_a_day(client, service, clock):
    clock.set(datetime(2026, 5, 6, 10, 0, tzinfo=CHINA_TZ))
    numbers = [create_ticket(client, service)["ticket_no"] for _ in range(3)]
    assert numbers == ["C20260506001", "C20260506002", "C20260506003"]
    clock.set(datetime(2026, 5, 7, 0, 1, tzinfo=CHINA_TZ))
    assert create_ticket(client, service)["ticket_no"] == "C20260507001"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"phone": "12812345678"}, "phone"),
        ({"phone": "1381234567"}, "phone"),
        ({"phone": None}, "phone"),
        ({"description": ""}, "description"),
        ({"description": "   "}, "description"),
        ({"description": "好" * 4001}, "description"),
        ({"description": None}, "description"),
        ({"booking_ref": "TR123"}, "booking_ref"),
        ({"booking_ref": "TR99999999"}, "booking_ref"),
        ({"stage": "during"}, "stage"),
        ({"request": "money"}, "request"),
        ({"request_detail": "退" * 501}, "request_detail"),
        ({"request_detail": "  "}, "request_detail"),
        ({"category": "weather"}, "category"),
        ({"severity": "critical"}, "severity"),
        ({"channel": "Bad Channel!"}, "channel"),
        ({"evidence": "not-a-list"}, "evidence"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_validation_errors_name_the_field(client, service, overrides, field):
    body = ticket_payload(**overrides)
    if overrides.get("phone", 0) is None:
        body.pop("phone", None)
    response = client.post("/tickets", json=body, headers=service)
    assert response.status_code == 422, response.text
    assert any(error["loc"][-1] == field or field in error["loc"] for error in response.json()["detail"])


def test_get_ticket_404_and_422(client, service, supervisor):
    assert client.get("/tickets/C20260101999", headers=supervisor).status_code == 404
    # The service learns nothing about tickets outside its conversation, existing or not.
    assert (
        client.get("/tickets/C20260101999", headers={**service, "X-Sender-Id": "s-test"}).status_code == 403
    )
    response = client.get("/tickets/X2026", headers=service)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "ticket_no"]
    assert (
        client.post(
            "/tickets/C2026010199/verify",
            json={"phone_last4": "5678", "sender_id": "s-test"},
            headers=service,
        ).status_code
        == 422
    )


# --- idempotency ---------------------------------------------------------------------------


def test_retry_with_the_same_key_returns_the_same_ticket(client, service, db):
    first = client.post(
        "/tickets", json=ticket_payload(conversation_id="c1"), headers={**service, "Idempotency-Key": "k-1"}
    )
    again = client.post(
        "/tickets", json=ticket_payload(conversation_id="c1"), headers={**service, "Idempotency-Key": "k-1"}
    )
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert db.scalar(select(func.count(Ticket.id))) == 1
    assert db.scalar(select(func.count(IdempotencyKey.key))) == 1


def test_same_key_with_a_different_body_is_a_conflict(client, service, db):
    create_ticket(client, service, idempotency_key="k-2", conversation_id="c2")
    response = client.post(
        "/tickets",
        json=ticket_payload(conversation_id="c2", description="另一件事"),
        headers={**service, "Idempotency-Key": "k-2"},
    )
    assert response.status_code == 409
    assert db.scalar(select(func.count(Ticket.id))) == 1


def test_different_keys_create_different_tickets(client, service):
    a = create_ticket(client, service, idempotency_key="k-a", conversation_id="c")
    b = create_ticket(client, service, idempotency_key="k-b", conversation_id="c")
    assert a["ticket_no"] != b["ticket_no"]


def test_the_travellers_own_words_for_their_request_are_kept(client, service, agent1, agent2, supervisor):
    words = "把两晚的房费退给我，再给个书面道歉；不行就打我电话13812345678"
    ticket = create_ticket(client, service, request="refund", request_detail=f"  {words}  ")
    assert (ticket["request"], ticket["request_detail"]) == ("refund", words)
    owner, other = (agent1, agent2) if ticket["owner"]["username"] == "agent1" else (agent2, agent1)
    no = ticket["ticket_no"]
    bot = {**service, "X-Sender-Id": ticket["conversation_id"]}
    for headers in (bot, owner, supervisor):
        assert client.get(f"/tickets/{no}", headers=headers).json()["request_detail"] == words
    # A masked view masks it as it masks the description (the personal data in the free text).
    seen_by_other = client.get(f"/tickets/{no}", headers=other).json()
    assert seen_by_other["masked"] and seen_by_other["request_detail"] == words.replace(
        "13812345678", "138****5678"
    )
    # The agents' list summary carries it too, with mobile numbers masked like every list field.
    listed = {i["ticket_no"]: i for i in client.get("/tickets", headers=supervisor).json()["items"]}[no]
    assert listed["request"] == "refund"
    assert listed["request_detail"] == words.replace("13812345678", "138****5678")
    # Exactly 500 characters is accepted.
    assert create_ticket(client, service, request_detail="赔" * 500)["request_detail"] == "赔" * 500


def test_request_detail_is_optional(client, service, supervisor):
    ticket = create_ticket(client, service, request_detail=None)
    assert ticket["request_detail"] is None
    assert client.get(f"/tickets/{ticket['ticket_no']}", headers=supervisor).json()["request_detail"] is None
    listed = client.get("/tickets", headers=supervisor).json()["items"]
    assert [i["request_detail"] for i in listed if i["ticket_no"] == ticket["ticket_no"]] == [None]


# --- masking and audit ----------------------------------------------------------------------


def test_agents_see_phones_masked_except_on_their_own_tickets(client, service, agent1, agent2, db):
    ticket = create_ticket(client, service)
    owner, other = (agent1, agent2) if ticket["owner"]["username"] == "agent1" else (agent2, agent1)
    seen_by_other = client.get(f"/tickets/{ticket['ticket_no']}", headers=other).json()
    assert (
        seen_by_other["phone"] == "138****5678" and seen_by_other["name"] == "张*" and seen_by_other["masked"]
    )
    seen_by_owner = client.get(f"/tickets/{ticket['ticket_no']}", headers=owner).json()
    assert seen_by_owner["phone"] == "13812345678" and seen_by_owner["masked"] is False
    reads = db.scalars(select(AuditLog).where(AuditLog.action == "read_personal_data")).all()
    assert [r.actor for r in reads] == [ticket["owner"]["username"]]


def test_supervisor_reads_unmasked_and_is_audited(client, service, supervisor, db):
    ticket = create_ticket(client, service)
    assert client.get(f"/tickets/{ticket['ticket_no']}", headers=supervisor).json()["phone"] == "13812345678"
    assert (
        db.scalar(
            select(func.count(AuditLog.id)).where(
                AuditLog.action == "read_personal_data", AuditLog.actor == "supervisor"
            )
        )
        == 1
    )


def test_lists_are_always_masked(client, service, supervisor):
    create_ticket(client, service)
    items = client.get("/tickets", headers=supervisor).json()["items"]
    assert items and all(re.fullmatch(r"1\d{2}\*{4}\d{4}", i["phone"]) for i in items)


def test_service_verify_gives_progress_only_on_a_phone_match(client, service):
    ticket = create_ticket(client, service)
    wrong = client.post(
        f"/tickets/{ticket['ticket_no']}/verify",
        json={"phone_last4": "0000", "sender_id": "s-test"},
        headers=service,
    )
    assert wrong.status_code == 403 and wrong.json()["detail"]["field"] == "phone_last4"
    right = client.post(
        f"/tickets/{ticket['ticket_no']}/verify",
        json={"phone_last4": "5678", "sender_id": "s-test"},
        headers=service,
    )
    assert right.status_code == 200
    body = right.json()
    assert body["status"] == "received" and body["progress"]["responsible_person"]
    assert "phone" not in body and "name" not in body and "13812345678" not in right.text


def test_no_personal_data_in_logs(client, service, caplog):
    import logging

    from app.main import install_log_filter

    install_log_filter()
    with caplog.at_level(logging.INFO):
        create_ticket(client, service, phone="13912345678", name="欧阳娜娜")
        logging.getLogger("app").info("callback number 13912345678")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "13912345678" not in text and "欧阳娜娜" not in text
    assert "139****5678" in text
