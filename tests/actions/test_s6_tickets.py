"""Ticket lookups of stranger test 6 (T01, T06, T07, T08, I15 turn 2), against the real API.

- A question right after the progress ("什么时候能处理完", "谁负责我的投诉") asked the phone digits
  again: the ticket was verified a moment ago, so it is answered from it (T01, T06).
- "C20261207007 我的投诉进度 3344 另外你们到底删没删我的信息": the lone four digits were not
  taken, and the personal-information question was never answered (T08).
- A full phone number sent after "no ticket number? a person can look it up" got "what do you
  want?": it is handed over with that number (T07).
- "我没有订单号 忘了" (read as check_ticket) while a booking number was asked got the ticket
  number's explanation: where the booking number is, and a person (I15).
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import tickets
from actions.complaint import ActionSubmitComplaint
from actions.handoff import ActionRequestHuman
from actions.tickets import ActionCheckTicket, ValidateTicketForm
from tests.actions.form_turns import DOMAIN, action, slots, user_turn

BOOKING = "TR20260001"
PHONE = "13812345678"
DIGITS = PHONE[-4:]


async def _new_ticket() -> str:
    held = {
        "booking_ref": BOOKING,
        "complaint_description": f"酒店房间有异味，换房被拒绝（{uuid.uuid4().hex[:6]}）",
        "complaint_consent": True,
        "phone": PHONE,
        "complaint_confirming": True,
    }
    tracker = user_turn("确认", "affirm", history=[], slots=held, sender="s6-ticket-opener")
    dispatcher = CollectingDispatcher()
    await ActionSubmitComplaint().run(dispatcher, tracker, {})
    return re.search(r"C\d{11,}", dispatcher.messages[0]["text"]).group(0)


def _verified(number: str) -> List[Dict[str, Any]]:
    """A lookup of `number` verified earlier in the conversation, its progress shown."""
    return [
        action("action_listen"),
        {"event": "user", "text": "我之前投诉的怎么样了"},
        action("ticket_form"),
        {"event": "active_loop", "name": "ticket_form"},
        action("action_listen"),
        {"event": "user", "text": number},
        {"event": "slot", "name": "ticket_no", "value": number},
        action("ticket_form"),
        action("action_listen"),
        {"event": "user", "text": DIGITS},
        {"event": "slot", "name": "phone_last4", "value": DIGITS},
        action("ticket_form"),
        {"event": "slot", "name": "phone_last4", "value": DIGITS},
        {"event": "slot", "name": "verified_ticket", "value": number},
        {"event": "slot", "name": "form_failures", "value": 0.0},
        {"event": "active_loop", "name": None},
        action("action_check_ticket"),
        {"event": "bot", "text": f"投诉单 {number} 当前状态：已受理。\n负责人：张敏"},
        {"event": "slot", "name": "phone_last4", "value": None},
    ]


def _follow_up(number: str, text: str, intent: str = "check_ticket", **kw: Any) -> Tracker:
    held = {"ticket_no": number, "verified_ticket": number, "form_failures": 0.0, **kw.pop("held", {})}
    return user_turn(
        text,
        intent,
        before=_verified(number),
        slots=held,
        sender=f"s6-ticket-{uuid.uuid4().hex[:8]}",
        **kw,
    )


def _asked(dispatcher: CollectingDispatcher) -> List[str]:
    return [m.get("response") or m.get("text") or "" for m in dispatcher.messages]


FOLLOW_UPS = ["什么时候能处理完", "谁负责我的投诉", "现在处理到哪一步了", "还要多久才有结果？"]


@pytest.mark.parametrize("text", FOLLOW_UPS)
async def test_a_follow_up_on_the_verified_ticket_asks_nothing_again(text):
    number = "C20261207001"
    tracker = _follow_up(number, text, loop="ticket_form")
    dispatcher = CollectingDispatcher()
    form = ValidateTicketForm()
    events = await form.run(dispatcher, tracker, DOMAIN)
    assert slots(events).get("phone_last4") == DIGITS, events
    assert await form.required_slots(["ticket_no", "phone_last4"], dispatcher, tracker, DOMAIN) == []
    assert not any("ask" in said for said in _asked(dispatcher)), dispatcher.messages


async def test_another_ticket_number_is_verified_with_its_own_digits():
    number, other = "C20261207001", "C20261207002"
    tracker = _follow_up(number, f"那{other}呢", held={"ticket_no": other}, loop="ticket_form")
    assert tickets.follows_up_verified(tracker) is None
    form = ValidateTicketForm()
    needed = await form.required_slots(["ticket_no", "phone_last4"], CollectingDispatcher(), tracker, DOMAIN)
    assert "phone_last4" in needed


@pytest.mark.parametrize(
    "text, wanted, not_wanted",
    [
        ("什么时候能处理完", "预计完成时间", "已采取的措施"),
        ("大概还要等几天", "预计完成时间", "已采取的措施"),
        ("谁负责我的投诉", "负责人", "已采取的措施"),
        ("现在处理到哪一步了", "已采取的措施", None),  # the whole progress
    ],
)
async def test_the_follow_up_gets_the_line_it_asks_for(client, text, wanted, not_wanted):
    number = await _new_ticket()
    tracker = _follow_up(number, text, held={"phone_last4": DIGITS})
    dispatcher = CollectingDispatcher()
    await ActionCheckTicket().run(dispatcher, tracker, {})
    said = "\n".join(_asked(dispatcher))
    assert number in said and wanted in said, said
    assert not_wanted is None or not_wanted not in said, said


@pytest.mark.parametrize("text", ["负责人是谁", "那预计什么时候完成", "谁在跟进我这个投诉"])
async def test_a_follow_up_read_as_a_request_for_a_person_is_answered(client, text):
    number = await _new_ticket()
    dispatcher = CollectingDispatcher()
    events = await ActionRequestHuman().run(dispatcher, _follow_up(number, text, "request_human"), {})
    assert not any(e.get("event") == "pause" for e in events), events
    said = "\n".join(_asked(dispatcher))
    assert number in said and ("负责人" in said or "预计完成时间" in said), said


@pytest.mark.parametrize("text", ["负责人电话多少", "谁负责 我要找人工"])
async def test_a_person_or_their_phone_is_still_handed_over(client, text):
    number = await _new_ticket()
    dispatcher = CollectingDispatcher()
    events = await ActionRequestHuman().run(dispatcher, _follow_up(number, text, "request_human"), {})
    assert any(e.get("event") == "pause" for e in events), dispatcher.messages


OPENERS = [
    "{n} 我的投诉进度 {d} 另外你们到底删没删我的信息",
    "投诉单{n}，{d}，查下进度",
    "查进度 {n} {d}",
    "我的投诉{n}怎么样了 {d}",
]


def _opening(text: str, number: str) -> Tracker:
    return user_turn(
        text,
        "check_ticket",
        before=[action("action_listen"), {"event": "user", "text": "你好"}, {"event": "bot", "text": "您好"}],
        read={"ticket_no": number},
        slots={"form_failures": 0.0},
        loop="ticket_form",
        sender=f"s6-ticket-{uuid.uuid4().hex[:8]}",
    )


@pytest.mark.parametrize("opener", OPENERS)
async def test_lone_digits_beside_the_ticket_number_are_the_phones(client, opener):
    number = await _new_ticket()
    tracker = _opening(opener.format(n=number, d=DIGITS), number)
    dispatcher = CollectingDispatcher()
    events = await ValidateTicketForm().run(dispatcher, tracker, DOMAIN)
    got = slots(events)
    assert got.get("verified_ticket") == number and got.get("phone_last4") == DIGITS, (
        events,
        dispatcher.messages,
    )


@pytest.mark.parametrize(
    "text",
    ["C20261207001 2026年的投诉", "C20261207001 花了3000元", "C20261207001", "C20261207001 1234 5678"],
)
def test_no_lone_four_digits_no_phone_digits(text):
    assert tickets.bare_digits_beside_number(text) is None


def _lookup_done(opening: str, number: str) -> Tracker:
    events: List[Dict[str, Any]] = [
        action("action_listen"),
        {"event": "user", "text": opening},
        action("ticket_form"),
        {"event": "active_loop", "name": "ticket_form"},
        {"event": "slot", "name": "ticket_no", "value": number},
        {"event": "slot", "name": "phone_last4", "value": DIGITS},
        {"event": "slot", "name": "verified_ticket", "value": number},
    ]
    return user_turn(
        opening,
        "check_ticket",
        history=events + [{"event": "active_loop", "name": None}, action("action_check_ticket")],
        slots={"ticket_no": number, "verified_ticket": number, "phone_last4": DIGITS},
        sender=f"s6-ticket-{uuid.uuid4().hex[:8]}",
    )


@pytest.mark.parametrize(
    "ask", ["另外你们到底删没删我的信息", "我的个人信息会不会泄露", "顺便问下 能删除我的资料吗"]
)
async def test_the_personal_information_question_is_answered_after_the_progress(client, ask):
    number = await _new_ticket()
    dispatcher = CollectingDispatcher()
    await ActionCheckTicket().run(
        dispatcher, _lookup_done(f"{number} 我的投诉进度 {DIGITS} {ask}", number), {}
    )
    said = _asked(dispatcher)
    assert number in said[0] and said[1] == tickets.PRIVACY_NOTE, said


async def test_no_personal_information_note_when_not_asked(client):
    number = await _new_ticket()
    dispatcher = CollectingDispatcher()
    await ActionCheckTicket().run(dispatcher, _lookup_done(f"{number} 我的投诉进度 {DIGITS}", number), {})
    assert tickets.PRIVACY_NOTE not in _asked(dispatcher)


def _no_number_answered(text: str, reply: Optional[Dict[str, Any]]) -> Tracker:
    before: List[Dict[str, Any]] = [
        action("action_listen"),
        {"event": "user", "text": "投诉单号忘了 能查吗"},
        action("ticket_form"),
        *([reply] if reply else [{"event": "bot", "text": "您好，请问有什么可以帮您？"}]),
        {
            "event": "bot",
            "text": "看来我没能帮上忙，需要为您转接人工客服吗？",
            "metadata": {"utter_action": "utter_offer_human"},
        },
    ]
    return user_turn(text, "inform", before=before, sender=f"s6-ticket-{uuid.uuid4().hex[:8]}")


TICKET_WHERE = {"event": "bot", "text": "投诉单号是…", "metadata": {"utter_action": "utter_ticket_no_where"}}
BOOKING_WHERE = {"event": "bot", "text": tickets.BOOKING_NO_WHERE}


@pytest.mark.parametrize("text", ["我手机13698765432", "13698765432", "手机号是13698765432 你帮我查一下"])
@pytest.mark.parametrize("reply", [TICKET_WHERE, BOOKING_WHERE])
async def test_a_phone_number_after_no_number_hands_over_with_it(client, text, reply):
    dispatcher = CollectingDispatcher()
    events = await tickets.hand_over_by_phone(dispatcher, _no_number_answered(text, reply))
    assert events is not None and any(e.get("event") == "pause" for e in events), dispatcher.messages
    assert "136****5432" in dispatcher.messages[0]["text"], dispatcher.messages
    assert slots(events).get("phone") == "13698765432"


async def test_a_phone_number_out_of_the_blue_is_not_handed_over(client):
    dispatcher = CollectingDispatcher()
    assert await tickets.hand_over_by_phone(dispatcher, _no_number_answered("13698765432", None)) is None
    assert not dispatcher.messages


def _booking_asked(text: str) -> Tracker:
    before = [
        action("action_listen"),
        {"event": "user", "text": "查一下行程 我是张伟"},
        action("action_start_verification"),
        action("verify_form"),
        {"event": "active_loop", "name": "verify_form"},
        {"event": "bot", "text": "请提供您的订单号（以 TR 开头加 8 位数字，例如 TR20260001）。"},
    ]
    return user_turn(
        text,
        "check_ticket",
        before=before,
        after=[action("ticket_form"), {"event": "active_loop", "name": "ticket_form"}],
        slots={"form_failures": 0.0, "verify_purpose": "itinerary"},
        loop="ticket_form",
    )


@pytest.mark.parametrize("text", ["我没有订单号 忘了", "订单号忘了", "不记得订单号了", "订单号找不到了"])
async def test_no_booking_number_is_told_where_the_booking_number_is(text):
    dispatcher = CollectingDispatcher()
    events = await ValidateTicketForm().run(dispatcher, _booking_asked(text), DOMAIN)
    said = "\n".join(_asked(dispatcher))
    assert "TR" in said and "人工客服" in said and "投诉单号" not in said, said
    assert slots(events).get("verify_blocked"), events


async def test_no_ticket_number_still_gets_the_ticket_numbers_explanation():
    dispatcher = CollectingDispatcher()
    await ValidateTicketForm().run(dispatcher, _booking_asked("投诉单号忘了"), DOMAIN)
    assert "utter_ticket_no_where" in _asked(dispatcher)


@pytest.mark.parametrize("text", ["订单号找不到了", "不记得订单号了", "我忘了订单号", "没有订单号怎么办"])
async def test_no_booking_number_not_understood_in_the_verification_is_told_where_it_is(text):
    from actions.handoff import ActionFallback

    tracker = user_turn(
        text,
        "nlu_fallback",
        before=[action("verify_form")],
        slots={"requested_slot": "booking_ref", "verify_purpose": "itinerary", "form_failures": 0.0},
        loop="verify_form",
    )
    dispatcher = CollectingDispatcher()
    events = await ActionFallback().run(dispatcher, tracker, {})
    assert [m.get("text") for m in dispatcher.messages] == [tickets.BOOKING_NO_WHERE], dispatcher.messages
    assert any(e.get("event") == "active_loop" and e.get("name") is None for e in events), events


@pytest.mark.parametrize(
    "text, loop, expected",
    [
        ("3344 我刚才说了", "ticket_form", "3344"),
        ("我不是说了吗 5678", "ticket_form", "5678"),
        ("5678 上面说过了", "verify_form", "5678"),
        ("5678 算了不查了", "ticket_form", None),
        ("取消", "ticket_form", None),
    ],
)
def test_digits_read_as_cancel_are_the_digits(text, loop, expected):
    tracker = user_turn(text, "cancel", slots={"requested_slot": "phone_last4"}, loop=loop)
    assert tickets.digits_not_a_cancel(tracker) == expected


@pytest.mark.parametrize("reply", ["{d} 我刚才说了", "我不是说了吗 {d}", "{d} 上面发过了"])
async def test_digits_read_as_cancel_are_checked_and_the_lookup_goes_on(client, reply):
    number = await _new_ticket()
    tracker = user_turn(
        reply.format(d=DIGITS),
        "cancel",
        before=[action("ticket_form")],
        slots={"ticket_no": number, "requested_slot": "phone_last4", "form_failures": 0.0},
        loop="ticket_form",
        sender=f"s6-ticket-{uuid.uuid4().hex[:8]}",
    )
    dispatcher = CollectingDispatcher()
    events = await tickets.digits_instead_of_cancel(dispatcher, tracker, DOMAIN)
    assert events is not None and slots(events).get("verified_ticket") == number, events
    assert events[-1].get("event") == "followup" and events[-1].get("name") == "ticket_form", events


@pytest.mark.parametrize("intent", ["deny", "cancel", "out_of_scope"])
@pytest.mark.parametrize("text", ["我没有订单号", "是朋友帮我报的名 我没有订单号", "订单号找不到了"])
def test_no_booking_number_read_otherwise_is_told_where_it_is(text, intent):
    tracker = user_turn(
        text,
        intent,
        before=[action("verify_form")],
        slots={"requested_slot": "booking_ref"},
        loop="verify_form",
    )
    dispatcher = CollectingDispatcher()
    events = tickets.no_booking_number_in_verification(dispatcher, tracker)
    assert events is not None and [m.get("text") for m in dispatcher.messages] == [tickets.BOOKING_NO_WHERE]


@pytest.mark.parametrize("text", ["TR20260001", "不查了", "投诉单号忘了"])
def test_other_answers_to_the_booking_question_are_left_alone(text):
    tracker = user_turn(text, "deny", slots={"requested_slot": "booking_ref"}, loop="verify_form")
    assert tickets.no_booking_number_in_verification(CollectingDispatcher(), tracker) is None


# The hooks, through the actions Rasa runs (cancel, route, out of scope).


async def test_digits_read_as_cancel_go_through_the_cancel_action(client):
    from actions.cancel import ActionCancelForm

    number = await _new_ticket()
    tracker = user_turn(
        f"{DIGITS} 我刚才说了",
        "cancel",
        before=[action("ticket_form")],
        slots={"ticket_no": number, "requested_slot": "phone_last4", "form_failures": 0.0},
        loop="ticket_form",
        sender=f"s6-ticket-{uuid.uuid4().hex[:8]}",
    )
    dispatcher = CollectingDispatcher()
    events = await ActionCancelForm().run(dispatcher, tracker, DOMAIN)
    assert slots(events).get("verified_ticket") == number, events
    assert not any("先不查了" in (m.get("text") or "") for m in dispatcher.messages)


async def test_a_phone_number_after_no_number_goes_through_the_router(client):
    from actions.router import ActionRouteMessage

    dispatcher = CollectingDispatcher()
    events = await ActionRouteMessage().run(dispatcher, _no_number_answered("13698765432", TICKET_WHERE), {})
    assert any(e.get("event") == "pause" for e in events), events


@pytest.mark.parametrize("text", ["是朋友帮我报的名 我没有订单号", "我没有订单号"])
async def test_no_booking_number_read_as_off_topic_goes_through_the_scope_action(text):
    from actions.scope import ActionOutOfScope

    tracker = user_turn(
        text,
        "out_of_scope",
        before=[action("verify_form")],
        slots={"requested_slot": "booking_ref", "verify_purpose": "itinerary", "form_failures": 0.0},
        loop="verify_form",
    )
    dispatcher = CollectingDispatcher()
    await ActionOutOfScope().run(dispatcher, tracker, {})
    assert tickets.BOOKING_NO_WHERE in [m.get("text") for m in dispatcher.messages], dispatcher.messages
