"""Every message is read for everything it carries, whatever the form asked."""

from __future__ import annotations

from typing import Any, Dict, Optional

import pytest
from rasa_sdk import Tracker

from actions.reader import read_slots
from actions.utils.reading import is_question, read

BOOKING = "TR20260001"


def tracker(
    text: str, intent: str = "inform", slots: Optional[Dict[str, Any]] = None, loop: Optional[str] = None
) -> Tracker:
    return Tracker(
        sender_id="reader-test",
        slots=dict(slots or {}),
        latest_message={"text": text, "intent": {"name": intent}, "entities": [], "message_id": "m1"},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": loop} if loop else {},
        latest_action_name="action_listen",
    )


def in_complaint(text: str, requested: str, intent: str = "inform", **slots: Any) -> Dict[str, Any]:
    return read_slots(tracker(text, intent, {"requested_slot": requested, **slots}, loop="complaint_form"))


def test_story_and_booking_in_one_answer_both_land_where_they_belong():
    slots = in_complaint("导游态度很差，一直骂人，订单号TR20260001", "booking_ref", intent="complain")
    assert slots["booking_ref"] == BOOKING
    assert slots["complaint_description"] == "导游态度很差，一直骂人"


def test_date_and_place_while_the_booking_is_asked_are_the_time_and_place():
    slots = in_complaint("11月26日 鼓浪屿", "booking_ref")
    assert slots == {"complaint_when_where": "11月26日 鼓浪屿"}


def test_a_whole_complaint_in_the_first_message():
    text = (
        "我叫王芳，电话13812345678，订单TR20260001，11月26号晚上在丽江古城的酒店里，"
        "导游强迫我们购物两个小时，要求退还购物耽误的半天费用并道歉"
    )
    slots = read_slots(tracker(text, "complain"))
    assert slots["booking_ref"] == BOOKING
    assert slots["phone"] == "13812345678"
    assert slots["complainant_name"] == "王芳"
    assert "导游强迫我们购物两个小时" in slots["complaint_description"]
    assert "13812345678" not in slots["complaint_description"]
    # Their words are kept beside the label.
    assert slots["complaint_request_text"] == "要求退还购物耽误的半天费用并道歉"
    assert slots["complaint_request"] == "refund"


def test_the_request_answer_keeps_the_travellers_words():
    slots = in_complaint("退还购物耽误的半天费用并道歉", "complaint_request")
    assert slots["complaint_request_text"] == "退还购物耽误的半天费用并道歉"
    assert slots["complaint_request"] == "refund"


@pytest.mark.parametrize(
    "story", ["导游晚上带我们去酒店吃饭，菜很难吃还很贵", "想换个房间但前台一直不理我们"]
)
def test_no_time_place_or_request_guessed_from_single_words(story):
    slots = in_complaint(story, "complaint_description", intent="complain")
    assert slots["complaint_description"] == story
    assert "complaint_when_where" not in slots
    assert "complaint_request" not in slots


def test_a_question_inside_a_free_text_field_is_not_taken_as_the_answer():
    assert in_complaint("行李限重多少公斤？", "complaint_when_where", intent="policy") == {}
    assert in_complaint("红烧肉怎么做", "complaint_description", intent="out_of_scope") == {}


def test_an_answer_that_looks_off_topic_still_answers_the_time_and_place():
    assert in_complaint("12月3号 玉龙雪山", "complaint_when_where", intent="out_of_scope") == {
        "complaint_when_where": "12月3号 玉龙雪山"
    }


def test_yes_while_dropping_is_pending_fills_nothing():
    assert in_complaint("是的", "complaint_consent", intent="affirm", cancel_pending=True) == {}
    assert in_complaint("同意", "complaint_consent", intent="affirm") == {"complaint_consent": True}


def test_digits_belong_to_the_booking_they_were_given_for():
    slots = read_slots(
        tracker(
            "TR20260004",
            slots={"booking_ref": BOOKING, "phone_last4": "5678", "requested_slot": "phone_last4"},
            loop="verify_form",
        )
    )
    assert slots == {"booking_ref": "TR20260004", "phone_last4": None}


def test_booking_and_digits_in_one_message():
    assert read_slots(tracker("查行程 TR20260001 尾号5678", "query_itinerary")) == {
        "booking_ref": BOOKING,
        "phone_last4": "5678",
    }


def test_ticket_and_digits_in_one_message():
    slots = read_slots(tracker("投诉C20261120001进度，手机尾号4321", "check_ticket"))
    assert slots == {"ticket_no": "C20261120001", "phone_last4": "4321"}


def test_bare_digits_count_only_when_they_were_asked_for():
    assert read_slots(tracker("5678", loop="verify_form", slots={"requested_slot": "phone_last4"})) == {
        "phone_last4": "5678"
    }
    assert read_slots(tracker("5678")) == {}


@pytest.mark.parametrize(
    "text, item",
    [
        ("回程航班呢", "return_flight"),
        ("那去程的飞机几点", "outbound_flight"),
        ("集合时间和地点呢", "meeting"),
        ("第8天住哪", "hotel"),
    ],
)
def test_itinerary_follow_ups_name_the_item(text, item):
    slots = read_slots(tracker(text, "query_itinerary", {"verified_booking": BOOKING}))
    assert slots["itinerary_item"] == item


def test_values_already_held_are_not_set_again():
    assert read_slots(tracker("TR20260001", slots={"booking_ref": BOOKING})) == {}


def test_reading_is_pure_and_finds_names_only_with_a_marker():
    assert read("我是来投诉的").name is None
    assert read("我是王芳").name == "王芳"
    assert read("導遊態度很差，訂單ＴＲ20260001").booking_ref == BOOKING


def test_a_name_written_right_before_the_phone():
    slots = read_slots(
        tracker(
            "好，同意。唐亮 13912345678",
            "affirm",
            {"requested_slot": "complaint_consent"},
            loop="complaint_form",
        )
    )
    assert slots["complainant_name"] == "唐亮" and slots["phone"] == "13912345678"
    assert slots["complaint_consent"] is True


def test_a_yes_is_not_a_name():
    assert in_complaint("确认", "complainant_name", intent="affirm") == {}


def test_digits_given_before_the_booking_are_kept_for_it():
    slots = read_slots(
        tracker(
            "TR20260004", slots={"phone_last4": "5678", "requested_slot": "booking_ref"}, loop="verify_form"
        )
    )
    assert slots == {"booking_ref": "TR20260004"}


def test_a_time_and_place_given_before_anything_else_is_kept_for_the_complaint():
    slots = read_slots(tracker("11月19号晚上，张家界京武铂尔曼酒店"))
    assert slots == {"complaint_when_where": "11月19号晚上，张家界京武铂尔曼酒店"}


def test_booking_and_date_while_the_booking_is_asked():
    slots = in_complaint(
        "訂單TR20260011，11月20號在鳳凰古城附近",
        "booking_ref",
        complaint_description="导游带我们连进三家玉石店",
    )
    assert slots["booking_ref"] == "TR20260011"
    assert slots["complaint_when_where"].startswith("11月20")


def test_a_story_read_as_inform_starts_a_complaint_with_everything_it_said():
    from actions.router import ActionRouteMessage
    from rasa_sdk.executor import CollectingDispatcher

    text = (
        "TR20260003 我叫王芳 13698765432，10月16号在三亚南山，"
        "导游自己跑去吃饭，让我们在停车场干等了两个小时，要求道歉"
    )
    t = tracker(text, "inform", {"booking_ref": "TR20260003"})
    dispatcher = CollectingDispatcher()
    import asyncio

    events = asyncio.run(ActionRouteMessage().run(dispatcher, t, {}))
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert dispatcher.messages[0]["response"] == "utter_complaint_start"
    assert events[-1] == {"event": "followup", "name": "complaint_form", "timestamp": None}
    assert slots["complainant_name"] == "王芳" and slots["phone"] == "13698765432"
    assert "导游自己跑去吃饭" in slots["complaint_description"]
    assert slots["complaint_request"] == "apology"


def test_a_value_no_question_of_the_asking_form_needs_is_not_answered_with_what_for():
    from actions.router import ActionRouteMessage
    from rasa_sdk.executor import CollectingDispatcher

    t = tracker("尾号5678", "inform", {"requested_slot": "complaint_when_where"}, loop="complaint_form")
    dispatcher = CollectingDispatcher()
    import asyncio

    assert asyncio.run(ActionRouteMessage().run(dispatcher, t, {})) == []
    assert [m["response"] for m in dispatcher.messages] == ["utter_not_needed_here"]
    # without a form, the traveller is asked what the values are for
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionRouteMessage().run(dispatcher, tracker("尾号5678", "inform"), {}))
    assert [m["response"] for m in dispatcher.messages] == ["utter_ask_what_for"]


def test_values_alone_are_not_a_story():
    from actions.router import tells_a_story

    assert not tells_a_story("TR20260001 尾号5678")
    assert not tells_a_story("我叫王芳 13698765432")
    assert not tells_a_story("行李限重多少公斤？")


def test_a_button_payload_is_not_the_travellers_words():
    slots = in_complaint(
        "/affirm", "complaint_consent", intent="affirm", complaint_description="导游在车上一直骂人"
    )
    assert slots == {"complaint_consent": True}


@pytest.mark.parametrize("intent", ["nlu_fallback", "correct", "deny", "inform"])
def test_a_change_of_mind_changes_the_request_and_is_no_answer_to_consent(intent):
    slots = in_complaint(
        "我改主意了，不要退差价了，要求赔偿",
        "complaint_consent",
        intent=intent,
        complaint_request="refund",
        complaint_description="阳台房变成了窗户房",
    )
    assert slots["complaint_request"] == "compensation"
    assert "赔偿" in slots["complaint_request_text"]
    assert "complaint_consent" not in slots


def test_no_change_of_mind_without_a_request_already_given():
    slots = in_complaint("不要骂人了，太过分", "complaint_description", intent="inform")
    assert "complaint_request" not in slots


def test_a_story_with_a_changed_thing_is_not_a_change_of_mind():
    # At the story question the whole message is the story, request included.
    slots = in_complaint(
        "我们的酒店被换成了三星级的，条件很差，要求赔偿差价",
        "complaint_description",
        intent="complain",
        complaint_request="refund",
    )
    assert "三星级" in slots["complaint_description"]


@pytest.mark.parametrize("text, day", [("D3住哪", 3), ("行程D3的酒店", 3), ("第5天去哪", 5), ("DD3", None)])
def test_the_day_of_the_trip_in_any_form(text, day):
    from actions.reader import day_in

    assert day_in(text) == day


@pytest.mark.parametrize(
    "text", ["第5天的酒店是哪家", "回程坐的是哪趟航班", "导游是哪位", "住哪间酒店", "我们的导游是谁"]
)
def test_which_questions_are_questions(text):
    # "哪家" once read as a story: "第5天的酒店是哪家" after an itinerary opened a complaint.
    assert is_question(text)


@pytest.mark.parametrize(
    "text, number, digits",
    [
        ("TR20260001 5678", "TR20260001", "5678"),
        ("TR20260001，5678 明天几点集合", "TR20260001", "5678"),
        ("行李能带多重？还有我们第二天几点集合 TR20260004 5678", "TR20260004", "5678"),
        ("C20261120001 4321 投诉进度怎么样", "C20261120001", "4321"),
        # A year, an amount, a time or a decimal after the number are not phone digits.
        ("TR20260001 2026年12月5日在大理", "TR20260001", None),
        ("TR20260001 1200元的自费项目", "TR20260001", None),
        ("TR20260001 1930:00集合", "TR20260001", None),
        ("TR20260001 5678.5", "TR20260001", None),
    ],
)
def test_four_digits_right_after_the_number_are_its_phone_digits(text, number, digits):
    from actions.utils.reading import read

    reading = read(text)
    assert (reading.booking_ref or reading.ticket_no) == number
    assert reading.phone_last4 == digits
    if digits:
        assert digits not in reading.rest


# --- yes/no and requests inside the complaint form ---------------------------------------------

STORY = "航班延误了两个小时，地接没有任何人来安排"


@pytest.mark.parametrize(
    "answer, intent", [("同意", "affirm"), ("好的", "affirm"), ("可以", "inform"), ("不同意", "deny")]
)
def test_a_yes_or_no_to_the_time_and_place_question_fills_nothing(answer, intent):
    # No time or place was offered to say yes to: the field stays empty and the form asks again
    # ("未说明" is for "不记得", not for a consent word).
    slots = in_complaint(answer, "complaint_when_where", intent=intent, complaint_description=STORY)
    assert "complaint_when_where" not in slots


def test_a_yes_to_the_offered_time_and_place_takes_it():
    story = "昨天晚上在丽江的酒店里空调坏了"
    slots = in_complaint("好的", "complaint_when_where", intent="affirm", complaint_description=story)
    assert slots["complaint_when_where"] == "昨天晚上，丽江的酒店"


@pytest.mark.parametrize("text", ["要求退钱并道歉", "希望退还半天费用"])
def test_a_request_at_another_question_goes_to_the_request_only(text):
    slots = in_complaint(text, "complaint_consent", complaint_description=STORY)
    assert "complaint_description" not in slots
    assert slots["complaint_request_text"] == text and slots["complaint_request"] == "refund"


def test_a_request_alone_before_the_story_is_no_story():
    slots = in_complaint("要求退钱并道歉", "booking_ref", intent="complain")
    assert "complaint_description" not in slots
    assert slots["complaint_request_text"] == "要求退钱并道歉"


def test_a_second_request_is_added_to_the_first_not_to_the_story():
    slots = in_complaint(
        "希望退还半天费用",
        "complaint_consent",
        complaint_description=STORY,
        complaint_request="apology",
        complaint_request_text="要求道歉",
    )
    assert "complaint_description" not in slots
    assert slots["complaint_request_text"] == "要求道歉；希望退还半天费用"
    assert slots.get("complaint_request", "apology") == "apology"  # unchanged: not set again


def test_more_of_the_story_with_a_request_adds_only_the_story():
    text = "导游后来还一直骂人，希望退还半天费用"
    slots = in_complaint(text, "complaint_consent", complaint_description=STORY)
    assert slots["complaint_description"] == f"{STORY}\n导游后来还一直骂人"
    assert slots["complaint_request_text"] == "希望退还半天费用"


SHOPPING = "导游带我们进了三个购物店，每个店待了两个小时"


@pytest.mark.parametrize(
    "text", ["算了，这个团我也不想去了，直接退团吧", "不想去了，帮我退团", "取消这个行程吧"]
)
def test_a_trip_cancellation_alone_is_no_story(text):
    # Read as request_cancellation at the story question: it interrupts (the rules start the
    # cancellation with the complaint kept), nothing goes into the story.
    assert in_complaint(text, "complaint_description", intent="request_cancellation") == {}


def test_a_story_read_as_a_cancellation_is_still_the_story():
    text = "导游一路强迫我们购物，不买就甩脸色，我要退团"
    slots = in_complaint(text, "complaint_description", intent="request_cancellation")
    assert slots["complaint_description"] == text


@pytest.mark.parametrize(
    "text, intent", [("不，继续吧", "inform"), ("继续", "nlu_fallback"), ("别取消", "inform")]
)
@pytest.mark.parametrize("pending", ["complaint_when_where", "complaint_description", "complaint_request"])
def test_the_answer_to_give_it_up_is_no_answer_to_the_question_before(text, intent, pending):
    held = {"requested_slot": pending, "cancel_pending": True}
    if pending != "complaint_description":
        held["complaint_description"] = SHOPPING
    assert read_slots(tracker(text, intent, held)) == {}


def test_a_value_at_give_it_up_goes_where_it_belongs():
    held = {
        "requested_slot": "complaint_when_where",
        "cancel_pending": True,
        "complaint_description": SHOPPING,
    }
    assert read_slots(tracker("退款", "nlu_fallback", held)) == {
        "complaint_request": "refund",
        "complaint_request_text": "退款",
    }
    slots = read_slots(tracker("不了，还是继续投诉，要求赔偿", "inform", held))
    assert slots == {"complaint_request": "compensation", "complaint_request_text": "要求赔偿"}
    slots = read_slots(tracker("10月15日中午，蜈支洲岛的餐厅", "inform", held))
    assert slots == {"complaint_when_where": "10月15日中午，蜈支洲岛的餐厅"}


@pytest.mark.parametrize("text", ["我真的没有订单号", "订单号找不到了", "我没有订单号，是朋友帮我报的名"])
def test_no_booking_number_at_the_number_question_is_no_story(text):
    assert in_complaint(text, "booking_ref", complaint_description=SHOPPING) == {}
    assert "complaint_description" not in in_complaint(text, "booking_ref")


def test_a_story_beside_no_booking_number_keeps_only_the_story():
    text = "我没有订单号，导游还在车上骂我们，说不买东西就别下车"
    slots = in_complaint(text, "booking_ref", intent="complain")
    assert slots["complaint_description"] == "导游还在车上骂我们，说不买东西就别下车"
