"""Small talk that carries more than itself (session 19, from stranger 7 and the widget session):
"你是机器人吗？你能干嘛" answered only the first question; "你好笨啊" got the bot line without an
apology; "酒店叫什么名字" from a verified traveller was read as "what is your name"; "那出境呢"
after the refund answer was read as goodbye; a name alone at the booking question ("陳大文",
read as off-topic) got the off-topic line although the form kept it; "5678" then
"TR20260004 能退团吗" asked for the digits again."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.scope import (
    ActionBotChallenge,
    ActionCapabilities,
    ActionGoodbye,
    ActionOutOfScope,
    values_taken,
)
from actions.utils.refund import bracket_line, schedule_line
from actions.refunds import REGISTER_ASK
from actions.verification import ActionVerified, ValidateVerifyForm, digits_said_before
from tests.actions.form_turns import DOMAIN, action, slots, user_turn


def said(dispatcher: CollectingDispatcher) -> List[str]:
    return [m.get("response") or m.get("text") or "" for m in dispatcher.messages]


async def test_a_bot_question_with_a_capabilities_question_gets_both():
    dispatcher = CollectingDispatcher()
    await ActionBotChallenge().run(dispatcher, user_turn("你是机器人吗？你能干嘛", "bot_challenge"), {})
    assert said(dispatcher)[:2] == ["utter_iamabot", "utter_capabilities"]


async def test_the_same_read_as_the_capabilities_question_gets_both():
    dispatcher = CollectingDispatcher()
    await ActionCapabilities().run(dispatcher, user_turn("你是机器人吗？你能干嘛", "ask_capabilities"), {})
    assert "机器人" in said(dispatcher)[0] and said(dispatcher)[1] == "utter_capabilities"


async def test_a_plain_bot_question_gets_the_bot_line_only():
    dispatcher = CollectingDispatcher()
    await ActionBotChallenge().run(dispatcher, user_turn("你是真人还是机器人", "bot_challenge"), {})
    assert said(dispatcher) == ["utter_iamabot"]


@pytest.mark.parametrize("text", ["你好笨啊", "你是不是傻", "什麼破機器人 答非所問"])
async def test_an_insult_gets_an_apology_and_a_person(text):
    dispatcher = CollectingDispatcher()
    await ActionBotChallenge().run(dispatcher, user_turn(text, "bot_challenge"), {})
    assert said(dispatcher)[0].startswith("抱歉")
    assert said(dispatcher)[-1] == "utter_offer_human"


async def test_a_verified_travellers_hotel_name_question_is_their_hotel():
    verified = {"verified_booking": "TR20260004", "booking_ref": "TR20260004", "form_failures": 0.0}
    dispatcher = CollectingDispatcher()
    events = await ActionBotChallenge().run(
        dispatcher, user_turn("酒店叫什么名字", "bot_challenge", slots=verified), {}
    )
    assert {"event": "followup", "name": "verify_form"} in [
        {k: e.get(k) for k in ("event", "name")} for e in events
    ]
    assert [e["value"] for e in events if e.get("name") == "itinerary_item"] == ["hotel"]
    assert dispatcher.messages == []


async def test_your_name_is_still_the_bot_line():
    verified = {"verified_booking": "TR20260004", "booking_ref": "TR20260004"}
    dispatcher = CollectingDispatcher()
    await ActionBotChallenge().run(dispatcher, user_turn("你叫什么名字", "bot_challenge", slots=verified), {})
    assert said(dispatcher) == ["utter_iamabot"]


def after_refund_line(text: str) -> Any:
    before = [
        {"event": "user", "text": "国内团出发前2天退团扣多少"},
        {
            "event": "bot",
            "text": bracket_line("domestic", 2),
            "metadata": {"utter_action": "utter_policy/refund"},
        },
    ]
    return user_turn(text, "goodbye", confidence=0.47, before=before, listen=False)


async def test_a_follow_up_read_as_goodbye_gets_its_answer():
    dispatcher = CollectingDispatcher()
    await ActionGoodbye().run(dispatcher, after_refund_line("那出境呢"), {})
    assert said(dispatcher)[0] == bracket_line("outbound", 2)
    assert "utter_goodbye" not in said(dispatcher)


async def test_the_kind_of_trip_after_the_whole_table_gets_its_schedule():
    before = [
        {"event": "user", "text": "退团扣多少钱"},
        {
            "event": "bot",
            "text": "退团（旅游者出发前解除合同）…",
            "metadata": {"utter_action": "utter_policy/refund"},
        },
    ]
    dispatcher = CollectingDispatcher()
    tracker = user_turn("那出境呢", "nlu_fallback", confidence=0.45, before=before, listen=False)
    await ActionGoodbye().run(dispatcher, tracker, {})
    assert said(dispatcher)[0] == schedule_line("outbound")
    assert "30天及以上" in said(dispatcher)[0] and "70%" in said(dispatcher)[0]


@pytest.mark.parametrize("text", ["好的 拜拜", "没有了 谢谢再见"])
async def test_a_goodbye_after_the_refund_line_is_a_goodbye(text):
    dispatcher = CollectingDispatcher()
    await ActionGoodbye().run(dispatcher, after_refund_line(text), {})
    assert said(dispatcher) == ["utter_goodbye"]


def at_booking_question(text: str, read: Dict[str, Any]) -> Any:
    return user_turn(
        text,
        "out_of_scope",
        confidence=1.0,
        before=[action("complaint_form")],
        read=read,
        slots={"requested_slot": "booking_ref", "form_failures": 0.0},
        loop="complaint_form",
    )


async def test_a_name_alone_in_a_form_is_kept_without_the_off_topic_line():
    tracker = at_booking_question("陳大文", {"complainant_name": "陈大文"})
    assert values_taken(tracker) == ["complainant_name"]
    dispatcher = CollectingDispatcher()
    assert await ActionOutOfScope().run(dispatcher, tracker, {}) == []
    assert dispatcher.messages == []


async def test_an_off_topic_question_in_a_form_still_gets_the_off_topic_line():
    tracker = at_booking_question("明天北京天气怎么样", {})
    assert values_taken(tracker) == []
    dispatcher = CollectingDispatcher()
    await ActionOutOfScope().run(dispatcher, tracker, {})
    assert said(dispatcher) == ["utter_out_of_scope"]


def after_unclaimed(first: str, between: List[str]) -> Any:
    before = [{"event": "user", "text": first}, *[action(a) for a in between]]
    return user_turn("TR20260004 能退团吗", "request_cancellation", before=before)


@pytest.mark.parametrize("first", ["5678", "尾号5678", "手机后四位：５６７８"])
def test_digits_sent_alone_just_before_are_the_verifications(first):
    assert digits_said_before(after_unclaimed(first, ["action_route_message"])) == "5678"


@pytest.mark.parametrize(
    "first, between",
    [
        ("5678", ["action_check_ticket"]),  # another flow used them
        ("我订单尾号5678有问题", ["action_route_message"]),  # not digits alone
        ("56789", ["action_route_message"]),
    ],
)
def test_other_digits_before_are_not_taken(first, between):
    assert digits_said_before(after_unclaimed(first, between)) is None


async def test_digits_sent_alone_before_verify_the_number_when_it_comes(client):
    before = [{"event": "user", "text": "5678"}, action("action_route_message")]
    tracker = user_turn(
        "TR20260004 能退团吗",
        "request_cancellation",
        before=before,
        read={"booking_ref": "TR20260004"},
        slots={"form_failures": 0.0},
        loop="verify_form",
    )
    dispatcher = CollectingDispatcher()
    events = await ValidateVerifyForm().run(dispatcher, tracker, DOMAIN)
    assert slots(events)["verified_booking"] == "TR20260004"
    assert slots(events)["phone_last4"] == "5678"


async def test_the_amount_for_a_traveller_who_will_not_go_offers_to_register(client):
    # "我不去了 TR20260004 尾号5678 能退多少": the amount (an amount question registers nothing),
    # then the offer to register the cancellation, which the traveller did say they want.
    text = "我不去了 TR20260004 尾号5678 能退多少"
    given = {"booking_ref": "TR20260004", "phone_last4": "5678"}
    tracker = user_turn(
        text, "request_cancellation", read=given, slots={"form_failures": 0.0}, loop="verify_form"
    )
    checked = slots(await ValidateVerifyForm().run(CollectingDispatcher(), tracker, DOMAIN))
    assert checked["verified_booking"] == "TR20260004"
    dispatcher = CollectingDispatcher()
    done = user_turn(
        text, "request_cancellation", parsed=True, slots={**given, **checked, "verify_purpose": "refund"}
    )
    await ActionVerified().run(dispatcher, done, {})
    assert said(dispatcher)[0].startswith("按您的订单 TR20260004")
    assert said(dispatcher)[0].endswith(REGISTER_ASK)

    plain = user_turn("TR20260004 尾号5678 退团扣多少", "policy", parsed=True, slots=done.slots)
    dispatcher = CollectingDispatcher()
    await ActionVerified().run(dispatcher, plain, {})
    assert "需要我帮您登记" not in said(dispatcher)[0]
