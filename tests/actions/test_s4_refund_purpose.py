"""What a verification is for, when the traveller asks how much (stranger 4: s4b3-09, s4b3-10).

s4b3-09: after the general refund answer offered to compute ("如需计算…请告诉我订单号和手机尾号
后四位"), the number given next was verified for the day-1 itinerary. The verification that
answers the offer ends with that booking's amount.
s4b3-10: "中途不想玩了退多少" (read as a cancellation request) both said "回复“我要退团”，我帮您
登记" and registered it. A question of how much gets the amount and the question whether to
register; only a clear request registers, and then without that question.
Real components and the real API (client fixture); dates against China's today.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.clients import ticketing
from actions.clients.ticketing import get_client
from actions.refunds import IN_TRIP_ASK, record_cancellation, refund_text, verification_purpose
from actions.router import route
from actions.utils.refund import china_today, in_trip_deduction
from actions.verification import ActionStartVerification, ActionVerified, ValidateVerifyForm
from tests.actions.form_turns import user_turn
from tests.actions.test_cancel_midtrip import booking as trip
from tests.actions.test_cancel_midtrip import spy

OFFER_TURN = [
    {"event": "action", "name": "action_listen"},
    {"event": "user", "text": "退款能退多少", "parse_data": {"intent": {"name": "policy"}}},
    {"event": "bot", "text": "退团按国家示范合同…", "metadata": {"utter_action": "utter_policy/refund"}},
    {
        "event": "bot",
        "text": "如需计算您订单的具体扣款金额，请告诉我订单号和手机尾号后四位。",
        "metadata": {"utter_action": "utter_refund_offer_compute"},
    },
]
OTHER_TURN = [
    {"event": "action", "name": "action_listen"},
    {"event": "user", "text": "行李能带几件", "parse_data": {"intent": {"name": "policy"}}},
    {"event": "bot", "text": "行李规定…", "metadata": {"utter_action": "utter_policy/baggage"}},
]


def tracker(
    text: str,
    intent: str = "inform",
    before: Optional[List[Dict[str, Any]]] = None,
    slots: Optional[Dict[str, Any]] = None,
    sender: Optional[str] = None,
) -> Tracker:
    """The traveller's message after the turns `before`, with the slots the reader set from it."""
    return user_turn(
        text,
        intent,
        before=before or [],
        slots={"form_failures": 0.0, **(slots or {})},
        sender=sender or f"unit-{uuid.uuid4().hex[:12]}",
    )


def slot_values(events: List[Any]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if isinstance(e, dict) and e.get("event") == "slot"}


def follows(events: List[Any]) -> List[str]:
    return [e["name"] for e in events if isinstance(e, dict) and e.get("event") == "followup"]


def said(dispatcher: CollectingDispatcher) -> str:
    return "\n".join(m.get("text") or m.get("response") or "" for m in dispatcher.messages)


# --- s4b3-09: the number given after the offer to compute -------------------------------------

ANSWERS_TO_THE_OFFER = [
    ("TR20260010", {"booking_ref": "TR20260010"}),
    ("订单号TR20260010", {"booking_ref": "TR20260010"}),
    ("tr20260010", {"booking_ref": "TR20260010"}),
    ("TR20260010 6781", {"booking_ref": "TR20260010", "phone_last4": "6781"}),
    ("我的订单是TR20260010，手机尾号6781", {"booking_ref": "TR20260010", "phone_last4": "6781"}),
    ("手机尾号6781", {"phone_last4": "6781"}),
]


@pytest.mark.parametrize("text,given", ANSWERS_TO_THE_OFFER)
def test_the_number_given_after_the_offer_is_verified_for_the_amount(text, given):
    events = route(CollectingDispatcher(), tracker(text, before=OFFER_TURN, slots=given))
    assert slot_values(events).get("verify_purpose") == "refund", events
    assert follows(events) == ["verify_form"]


@pytest.mark.parametrize("text,given", ANSWERS_TO_THE_OFFER[:4])
def test_without_the_offer_a_bare_number_still_asks_the_itinerary(text, given):
    for before in ([], OTHER_TURN, OFFER_TURN + OTHER_TURN):
        events = route(CollectingDispatcher(), tracker(text, before=before, slots=given)) or []
        assert slot_values(events).get("verify_purpose") in (None, "itinerary"), (before, events)


@pytest.mark.parametrize("text", ["TR20260010 第二天住哪", "TR20260010 导游电话多少", "TR20260010 几点集合"])
def test_after_the_offer_a_question_of_its_own_is_answered_instead(text):
    asked = tracker(text, before=OFFER_TURN, slots={"booking_ref": "TR20260010"})
    events = route(CollectingDispatcher(), asked)
    assert slot_values(events).get("verify_purpose") == "itinerary", events


async def test_the_verification_after_the_offer_ends_with_that_bookings_amount(client):
    # "TR20260010" (routed), "6781" (the form checks it), then what the verification was for.
    first = tracker("TR20260010", before=OFFER_TURN, slots={"booking_ref": "TR20260010"})
    purpose = slot_values(route(CollectingDispatcher(), first))["verify_purpose"]
    digits = tracker("6781", slots={"booking_ref": "TR20260010"}, sender=first.sender_id)
    checked = await ValidateVerifyForm().validate_phone_last4("6781", CollectingDispatcher(), digits, {})
    assert checked.get("verified_booking") == "TR20260010", checked
    dispatcher = CollectingDispatcher()
    slots = {"booking_ref": "TR20260010", "verify_purpose": purpose, **checked}
    await ActionVerified().run(dispatcher, tracker("6781", slots=slots, sender=first.sender_id), {})
    booking = await get_client().get_booking("TR20260010", checked["verify_grant"], first.sender_id)
    text = said(dispatcher)
    assert text == refund_text(booking), text
    assert "第1天" not in text and "集合" not in text  # not the itinerary


def test_the_days_before_departure_are_counted_in_china():
    # 2026-12-06 17:00 UTC is already 12-07 in Shanghai: 19 days before 12-26, outbound 5%.
    booking = {
        "ref": "TR20260010",
        "tour_type": "outbound",
        "departure_date": "2026-12-26",
        "return_date": "2026-12-31",
        "price_cny": 19740,
    }
    today = china_today(datetime(2026, 12, 6, 17, 0, tzinfo=timezone.utc))
    text = refund_text(booking, today)
    assert "距出发还有 19 天" in text and "5%" in text and "987 元" in text and "18753 元" in text, text


# --- s4b3-10: how much during the trip, and a clear request to leave --------------------------

AMOUNT_QUESTIONS = [
    "我的团已经在玩了，中途不想玩了退多少 TR20260001 5678",
    "玩到一半不想玩了能退多少钱",
    "我想退 先算算扣多少",
    "已经在大理了，现在不想玩了退回多少",
    "中途退出的话要扣多少钱",
    "不想玩了，退的话能退吗",
]
CLEAR_REQUESTS = [
    "我要退团",
    "中途不想玩了，帮我退团",
    "不想玩了，退团",
    "我要提前离团，扣多少都行",
    "帮我取消订单 TR20260001 5678",
    # a decision, then "can I?": asks to cancel (the suite's cancel-trip-xinjiang-step-by-step)
    "新疆那个团我不打算去了，能退吗",
    "家里有事去不了了，可以退吗",
]


@pytest.mark.parametrize("text", AMOUNT_QUESTIONS)
def test_a_cancellation_read_that_only_asks_how_much_is_verified_for_the_amount(text):
    assert verification_purpose(tracker(text, intent="request_cancellation")) == "refund"


@pytest.mark.parametrize("text", CLEAR_REQUESTS)
def test_a_clear_request_is_verified_to_register_it(text):
    assert verification_purpose(tracker(text, intent="request_cancellation")) == "cancellation"


@pytest.mark.parametrize("text", AMOUNT_QUESTIONS[:2])
async def test_the_verification_started_by_an_amount_question_is_for_the_amount(text):
    dispatcher = CollectingDispatcher()
    events = await ActionStartVerification().run(dispatcher, tracker(text, intent="request_cancellation"), {})
    assert slot_values(events).get("verify_purpose") == "refund", events
    assert "utter_cancellation_start" not in said(dispatcher)  # "我来帮您办理退团申请" is not asked for


def in_trip(price: int = 8560, tour_type: str = "domestic", day: int = 3, days: int = 6) -> Dict[str, Any]:
    """A booking under way: today is its `day` of `days`."""
    departure = china_today() - timedelta(days=day - 1)
    under_way = trip(departure, departure + timedelta(days=days - 1))
    return {**under_way, "tour_type": tour_type, "price_cny": price}


def test_the_in_trip_formula_of_clause_15_2():
    # 8560 x 60% = 5136, + (8560 - 5136) / 6 x 3 = 1712: 6848 deducted, 1712 back.
    d = in_trip_deduction("domestic", 8560, 6, 3)
    assert (d.first_day_percent, d.amount, d.refund) == (60, 6848, 1712)
    # Outbound starts from 70 %; the last day leaves nothing; never more than the price.
    assert in_trip_deduction("outbound", 10000, 5, 1).amount == 7600
    assert in_trip_deduction("domestic", 5000, 4, 4).refund == 0
    assert in_trip_deduction("domestic", 5000, 4, 9).refund == 0


@pytest.mark.parametrize("tour_type,day,days", [("domestic", 3, 6), ("outbound", 2, 7), ("domestic", 1, 4)])
def test_how_much_during_the_trip_gets_the_estimate_and_the_question(tour_type, day, days):
    booking = in_trip(tour_type=tour_type, day=day, days=days)
    expected = in_trip_deduction(tour_type, booking["price_cny"], days, day)
    text = refund_text(booking)
    assert "第2款" in text and f"约扣 {expected.amount} 元" in text
    assert f"预计可退 {expected.refund} 元" in text
    assert text.endswith(IN_TRIP_ASK) and "吗？" in IN_TRIP_ASK and "我要退团" in IN_TRIP_ASK, text


async def test_how_much_during_the_trip_registers_nothing(client):
    # s4b3-10's verification, once it is for the amount: the answer and the question, no request.
    grant = (await get_client().verify_booking("TR20260001", "5678", "unit-test"))["grant"]
    dispatcher = CollectingDispatcher()
    slots = {"verified_booking": "TR20260001", "verify_grant": grant, "verify_purpose": "refund"}
    asked = tracker("中途不想玩了退多少", slots=slots, sender="unit-test")
    events = await ActionVerified().run(dispatcher, asked, {})
    text = said(dispatcher)
    assert "第2款" in text or "距出发" in text or "结束" in text, text  # the amount rule was answered
    assert not any(isinstance(e, dict) and e.get("event") == "pause" for e in events), events
    assert "utter_cancellation_recorded" not in text and "已为您登记" not in text, text


@pytest.mark.parametrize("text", CLEAR_REQUESTS[:3])
async def test_a_clear_request_during_the_trip_registers_without_asking_to_register(api_url, text):
    spying = spy(api_url)
    try:
        dispatcher = CollectingDispatcher()
        booking = in_trip()
        await record_cancellation(dispatcher, tracker(text, intent="request_cancellation"), booking)
    finally:
        ticketing.set_client(None)
    text_said = said(dispatcher)
    assert [h["reason"] for h in spying.handoffs] == ["cancellation_request"]
    assert "utter_cancellation_recorded" in text_said
    expected = in_trip_deduction("domestic", 8560, 6, 3)
    assert f"预计可退 {expected.refund} 元" in text_said  # the estimate, for the traveller too
    # Registered: no "回复“我要退团”，我帮您登记" before "已为您登记".
    assert "回复“我要退团”" not in text_said and "需要我帮您登记" not in text_said, text_said


def test_before_departure_the_amount_is_unchanged():
    today = china_today()
    booking = in_trip()
    booking["departure_date"] = (today + timedelta(days=10)).isoformat()
    booking["return_date"] = (today + timedelta(days=15)).isoformat()
    assert refund_text(booking) == refund_text(booking, asking=False)
    assert "提前离团" not in refund_text(booking)


def test_a_dated_today_is_used_as_given():
    booking = in_trip()
    start = date.fromisoformat(booking["departure_date"])
    assert "今天是第1天" in refund_text(booking, today=start)
