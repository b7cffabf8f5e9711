"""Sixth stranger: follow-up questions after an itinerary or refund answer.
I08 '几点到北京' after the itinerary (out_of_scope): the flight's landing. I09 '哦今天已经过了 那后天呢':
the meeting of that day. I18 '要提前多久到' after the meeting point (refund picked at 0.26): the
meeting and the margin, never the booking's deduction. I10 '我的行程单发我一份': every day. I19
'行程里有没有自由活动时间': the days with free time. P09 '钱退到哪里' after the deduction: how the money
comes back. P26 '那出境呢' after the domestic line: the outbound line for the same days."""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.itinerary import answer_itinerary, own_business
from actions.policy import ActionAnswerPolicy
from actions.questions import answer_follow_up
from actions.refunds import REFUND_WAY, answer_refund_question
from actions.utils.refund import bracket_line
from tests.actions.form_turns import slots, user_turn
from tests.services import ROOT

BOOKINGS = {
    b["ref"]: b for b in json.loads((ROOT / "api" / "fixtures" / "bookings.json").read_text())["bookings"]
}
ONGOING, JAPAN, HUANGSHAN = BOOKINGS["TR20260001"], BOOKINGS["TR20260004"], BOOKINGS["TR20251234"]
TODAY = date(2026, 12, 7)  # TR20260001 (12-05 to 12-10) is on its day 3


def texts(dispatcher: CollectingDispatcher) -> List[str]:
    return [m.get("text") or m.get("response") or "" for m in dispatcher.messages]


def after_itinerary(
    text: str, intent: str = "out_of_scope", asked: Optional[Dict[str, Any]] = None, **kw: Any
) -> Tracker:
    """The message after an itinerary answer to a question that asked `asked` (slots set then,
    cleared by the answer)."""
    before = [
        {"event": "user", "text": "之前的问题"},
        *[{"event": "slot", "name": n, "value": v} for n, v in (asked or {}).items()],
        {"event": "bot", "text": "订单 …"},
        {"event": "slot", "name": "itinerary_item", "value": None},
    ]
    return user_turn(text, intent, before=before, **kw)


def verified(ref: str, **more: Any) -> Dict[str, Any]:
    return {"verified_booking": ref, "booking_ref": ref, **more}


def answered(tracker: Tracker, booking: Dict[str, Any]) -> str:
    dispatcher = CollectingDispatcher()
    answer_itinerary(dispatcher, tracker, booking, today=TODAY)
    return "\n".join(texts(dispatcher))


# --- I08: when the flight lands ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["几点到北京", "什么时候能落地", "几点能到", "到达时间是几点", "到了北京几点"]
)
def test_when_it_lands_after_the_itinerary_is_the_outbound_flight(text):
    events = own_business(after_itinerary(text, confidence=0.67, slots=verified("TR20260012")))
    assert slots(events or [])["itinerary_item"] in ("outbound_flight", "flight")


def test_when_one_is_back_home_is_the_return_flight():
    events = own_business(after_itinerary("几点回到广州", slots=verified("TR20260012")))
    assert slots(events or [])["itinerary_item"] == "return_flight"


def test_the_landing_is_answered_with_the_flight():
    said = answered(after_itinerary("几点到北京", "query_itinerary"), BOOKINGS["TR20260012"])
    flight = BOOKINGS["TR20260012"]["itinerary"][0]["flights"][0]
    assert flight["number"] in said and flight["arrival"] in said
    assert "集合" not in said  # the flight, not day 1's overview


# --- I09: the day at the end of a comment ------------------------------------------------------


@pytest.mark.parametrize("text, day", [("哦今天已经过了 那后天呢", "后天"), ("今天的过了，明天呢？", "明天")])
def test_a_day_after_a_comment_asks_the_same_item_for_that_day(text, day):
    tracker = after_itinerary(
        text, confidence=0.48, asked={"itinerary_item": "meeting", "day_number": "今天"},
        slots=verified("TR20260001"),
    )  # fmt: skip
    events = own_business(tracker)
    assert slots(events or [])["day_number"] == day
    tracker.slots.update(slots(events or []))
    said = answered(tracker, ONGOING)
    number = 5 if day == "后天" else 4
    meeting = next(d for d in ONGOING["itinerary"] if d["day"] == number)["meeting"]
    assert meeting["time"] in said and meeting["place"] in said


# --- I18: how early to be there -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["要提前多久到", "需要提前到吗", "要早点到吗", "提前几个小时到比较好", "几点到比较好", "要早到吗"]
)
async def test_how_early_after_the_meeting_point_is_never_the_refund(text):
    tracker = after_itinerary(
        text, "policy", key="policy/refund", key_confidence=0.26, confidence=1.0,
        asked={"itinerary_item": "meeting"}, slots=verified("TR20260013"),
    )  # fmt: skip
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerPolicy().run(dispatcher, tracker, {})
    said = "\n".join(texts(dispatcher))
    assert "扣除" not in said and "可退" not in said
    assert slots(events)["itinerary_item"] == "meeting"
    assert any(e.get("name") == "verify_form" for e in events if e.get("event") == "followup")


def test_how_early_is_answered_with_the_meeting_and_the_margin():
    booking = BOOKINGS["TR20260013"]
    tracker = after_itinerary("要提前多久到", "query_itinerary", read={"itinerary_item": "meeting"})
    said = answered(tracker, booking)
    meeting = booking["itinerary"][0]["meeting"]
    assert meeting["time"] in said and meeting["place"] in said
    assert "提前" in said and "分钟" in said


async def test_a_refund_question_with_early_in_it_still_gets_the_amount_path():
    # "我要提前退团扣多少" names the refund: not the meeting.
    tracker = after_itinerary(
        "我要提前退团扣多少", "policy", key="policy/refund", key_confidence=0.9, confidence=1.0
    )
    dispatcher = CollectingDispatcher()
    events = await answer_refund_question(dispatcher, tracker)
    assert "itinerary_item" not in slots(events)


# --- I10, I19: the whole trip, the free time ----------------------------------------------------


WHOLE = [
    "我的行程单发我一份",
    "把完整行程给我看看",
    "每天的行程安排是什么",
    "每天都去哪些地方",
    "我的行程发我看看",
]


@pytest.mark.parametrize("text", WHOLE)
def test_the_itinerary_sheet_is_every_day(text):
    said = answered(after_itinerary(text, "query_itinerary"), HUANGSHAN)
    assert all(d["title"] in said for d in HUANGSHAN["itinerary"])


@pytest.mark.parametrize("text", WHOLE + ["有自由活动时间吗"])
def test_the_whole_trip_asked_off_topic_by_a_verified_traveller_is_theirs(text):
    events = own_business(after_itinerary(text, confidence=0.7, slots=verified("TR20251234")))
    assert any(e.get("name") == "verify_form" for e in events or [] if e.get("event") == "followup")
    assert own_business(after_itinerary(text, confidence=0.7)) is None  # not verified: not ours to read


@pytest.mark.parametrize("text", ["行程里有没有自由活动时间", "哪天可以自由活动", "有自由时间吗"])
def test_free_time_is_the_days_whose_programme_has_it(text):
    said = answered(after_itinerary(text, "query_itinerary"), JAPAN)
    free = [d for d in JAPAN["itinerary"] if "自由" in d["title"]]
    assert free and all(d["title"] in said for d in free)
    assert not any(d["title"] in said for d in JAPAN["itinerary"] if "自由" not in d["title"])


# --- P09: where the money goes -------------------------------------------------------------------


def after_deduction(text: str, intent: str = "policy", **kw: Any) -> Tracker:
    before = [
        {"event": "user", "text": "5678"},
        {"event": "bot", "text": "按您的订单 TR20260004（团队出境旅游，团费 19760 元）…"},
    ]
    return user_turn(text, intent, before=before, slots=verified("TR20260004"), **kw)


@pytest.mark.parametrize("text", ["钱退到哪里", "多久到账", "退款什么时候能到账", "能退回微信吗"])
@pytest.mark.parametrize("sure", [1.0, 0.49])
async def test_where_the_money_goes_is_not_the_amount_again(text, sure):
    dispatcher = CollectingDispatcher()
    tracker = after_deduction(text, key="policy/refund", key_confidence=sure, confidence=1.0)
    events = await answer_refund_question(dispatcher, tracker)
    said = texts(dispatcher)
    assert said == [REFUND_WAY] and "原路退回" in said[0]
    assert events == []  # not the flight's landing ("多久到" of "多久到账")


async def test_the_fee_asked_beside_the_way_back_gets_the_whole_answer():
    dispatcher = CollectingDispatcher()
    tracker = user_turn("退团怎么收费，多久到账", "policy", key="policy/refund", confidence=1.0)
    await answer_refund_question(dispatcher, tracker)
    assert texts(dispatcher)[0] == "utter_policy/refund"


# --- P26: the other kind of trip for the same days -------------------------------------------


def after_line(first: str, line: str, text: str, intent: str = "nlu_fallback") -> Tracker:
    before = [
        {"event": "user", "text": first},
        {"event": "bot", "text": line, "metadata": {"utter_action": "utter_policy/refund"}},
    ]
    return user_turn(text, intent, confidence=0.45, before=before, listen=False)


@pytest.mark.parametrize("text", ["那出境呢", "出境团呢？", "去日本的呢"])
def test_the_other_kind_of_trip_gets_its_line_for_the_same_days(text):
    line = bracket_line("domestic", 2)
    dispatcher = CollectingDispatcher()
    assert answer_follow_up(dispatcher, after_line("国内团出发前2天退团扣多少", line, text)) == []
    assert texts(dispatcher)[0] == bracket_line("outbound", 2)


async def test_the_line_is_recorded_as_the_refund_answer():
    # What makes "那出境呢" a follow-up: the bot event of the line carries the refund topic.
    dispatcher = CollectingDispatcher()
    tracker = user_turn("国内团出发前2天退团扣多少", "policy", key="policy/refund", confidence=1.0)
    await answer_refund_question(dispatcher, tracker)
    assert dispatcher.messages[0]["text"] == bracket_line("domestic", 2)
    assert dispatcher.messages[0]["utter_action"] == "utter_policy/refund"


async def test_an_unsure_refund_pick_without_refund_words_is_never_computed():
    # Verified, nothing of the trip asked: the general answer, not the booking's deduction (and
    # no offer to compute it: the booking is known).
    tracker = user_turn(
        "那个怎么弄", "policy", key="policy/refund", key_confidence=0.3, confidence=1.0,
        slots=verified("TR20260013"),
    )  # fmt: skip
    dispatcher = CollectingDispatcher()
    events = await answer_refund_question(dispatcher, tracker)
    assert texts(dispatcher) == ["utter_policy/refund"]
    assert not any(e.get("event") == "followup" for e in events)
