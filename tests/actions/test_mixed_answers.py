"""Findings of a stranger test: English mixed in, a place guessed from a story, a typed copy of
the offered guess, the guess after a correction, and answers given at the wrong question."""

from __future__ import annotations

from typing import Any, Dict, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.complaint import ActionAskComplaintWhenWhere
from actions.fields import NOT_GIVEN, REQUEST_TEXT_SLOT
from actions.forms.complaint_checks import check_complaint_request, check_complaint_when_where
from actions.reader import read_slots
from actions.utils.reading import read

BOOKING = "TR20260010"
PATTAYA = "昨天在芭提雅钱包被偷了 已经报过警了 想投诉一下导游一点都没提醒"
SANYA = "我们跟的三亚5日游，10月16号导游陈海带我们进了个珠宝店关了两个小时，不让出来"
LUNCH = "投诉一下 昨天中午团餐太难吃了 菜都是凉的"


def _tracker(
    text: str,
    intent: str = "inform",
    slots: Optional[Dict[str, Any]] = None,
    loop: Optional[str] = "complaint_form",
) -> Tracker:
    return Tracker(
        sender_id="mixed-test",
        slots=dict(slots or {}),
        latest_message={"text": text, "intent": {"name": intent}, "entities": [], "message_id": "m1"},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": loop} if loop else {},
        latest_action_name="action_listen",
    )


def _at(requested: str, text: str, intent: str = "inform", **slots: Any) -> Dict[str, Any]:
    return read_slots(_tracker(text, intent, {"requested_slot": requested, **slots}))


async def _asked(slots: Dict[str, Any], text: str = "", intent: str = "inform") -> Dict[str, Any]:
    """What action_ask_complaint_when_where says: the response, and the button if a guess is offered."""
    dispatcher = CollectingDispatcher()
    await ActionAskComplaintWhenWhere().run(dispatcher, _tracker(text, intent, slots), {})
    (message,) = dispatcher.messages
    return message


# 1. Phone last-4 cues in English and Chinese.


@pytest.mark.parametrize(
    "text",
    [
        "phone last 4 digits 6781",
        "Last four digits: 6781",
        "last 4 of my phone is 6781",
        "my phone ends with 6781",
        "mobile number ending in 6781",
        "tail number 6781",
        "尾号6781",
        "手机后四位是6781",
        "后四位数字 6781",
        "末四位6781",
        "最后四位为6781",
        "电话最后4位：6781",
    ],
)
def test_last4_cues_in_english_and_chinese(text):
    reading = read(f"订单TR20260010 {text}")
    assert reading.phone_last4 == "6781"
    assert "6781" not in reading.rest


def test_a_mixed_english_message_gives_the_booking_and_the_digits():
    text = "Hi, my booking is TR20260010, 想问下第一天住的hotel叫什么名字? phone last 4 digits 6781"
    slots = read_slots(_tracker(text, "query_itinerary", loop=None))
    assert slots["booking_ref"] == BOOKING and slots["phone_last4"] == "6781"
    assert slots["itinerary_item"] == "hotel"


@pytest.mark.parametrize("text", ["the tour ends in 2026年", "行程在10月结束"])
def test_a_year_after_an_english_cue_is_no_phone_digits(text):
    assert read(text).phone_last4 is None


# 2. A place guessed from a story is a place, and only offered.


def test_a_place_that_ran_on_into_what_was_stolen_is_only_offered():
    reading = read(PATTAYA)
    assert reading.when_where == "昨天，芭提雅"
    assert reading.when_where_said is None  # not taken for granted
    slots = read_slots(_tracker(PATTAYA, "complain", loop=None))
    assert slots["complaint_description"] == PATTAYA
    assert "complaint_when_where" not in slots


async def test_the_place_guess_is_offered_as_a_button():
    message = await _asked({"complaint_description": PATTAYA})
    assert message["response"] == "utter_ask_complaint_when_where_guess"
    assert [b["title"] for b in message["buttons"]] == ["是的，昨天，芭提雅"]


@pytest.mark.parametrize(
    "story, said",
    [
        ("昨天晚上在丽江的酒店里被偷了", "昨天晚上，丽江的酒店"),
        ("11月26号在大理古城被人骗了", "11月26号，大理古城"),
        ("昨天在芭提雅被偷了钱包", "昨天，芭提雅"),
    ],
)
def test_a_plausible_place_said_with_a_date_is_still_taken(story, said):
    assert read(story).when_where_said == said


# 3. A typed copy of the offered guess confirms it; the guess carries the place too.


def test_the_guess_carries_the_place_named_beside_the_date():
    assert read(SANYA).when_where == "10月16号，三亚珠宝店"


@pytest.mark.parametrize("typed", ["是的，10月16号", "是的10月16号", "对，10月16号", "嗯 10月16号三亚珠宝店"])
def test_typed_yes_with_the_guess_confirms_the_guess(typed):
    slots = _at("complaint_when_where", typed, complaint_description=SANYA)
    assert slots["complaint_when_where"] == "10月16号，三亚珠宝店"


def test_typed_yes_with_other_words_keeps_the_words_without_the_yes():
    slots = _at("complaint_when_where", "对，昨天中午在酒店餐厅", complaint_description=LUNCH)
    assert slots["complaint_when_where"] == "昨天中午在酒店餐厅"


def test_the_check_drops_the_yes_word_of_a_typed_guess():
    dispatcher = CollectingDispatcher()
    turn = _tracker("是的，10月16号", slots={"complaint_description": SANYA})
    result = check_complaint_when_where("是的，10月16号", dispatcher, turn, {})
    assert result["complaint_when_where"] == "10月16号，三亚珠宝店"


# 4. After correcting another field, the question is asked again with its guess.


async def test_the_guess_is_offered_again_after_a_name_correction():
    slots = {"complaint_description": LUNCH, "complainant_name": "李思"}
    message = await _asked(slots, "不对，名字写错了，是李思", intent="correct")
    assert [b["title"] for b in message["buttons"]] == ["是的，昨天中午"]


@pytest.mark.parametrize(
    "text, intent", [("时间不对，是前天中午", "correct"), ("不对", "correct"), ("不是", "deny")]
)
async def test_no_guess_right_after_the_time_or_the_guess_was_said_wrong(text, intent):
    message = await _asked({"complaint_description": LUNCH}, text, intent=intent)
    assert message["response"] == "utter_ask_complaint_when_where"


# 5. Answers given at the wrong question go where they belong.

ASKED = {"booking_ref": BOOKING, "complaint_description": PATTAYA}


@pytest.mark.parametrize("before", [None, NOT_GIVEN, "昨天，芭提雅"])
def test_a_time_and_place_at_the_request_question_fills_the_time_and_place(before):
    slots = _at("complaint_request", "昨天晚上 芭提雅步行街", **ASKED, complaint_when_where=before)
    assert slots == {"complaint_when_where": "昨天晚上 芭提雅步行街"}


def test_a_time_and_place_at_the_request_question_is_refused_when_one_was_given():
    text = "昨天晚上 芭提雅步行街"
    before = {**ASKED, "complaint_when_where": "昨天下午在芭提雅海滩", "requested_slot": "complaint_request"}
    slots = read_slots(_tracker(text, slots=before))
    assert "complaint_when_where" not in slots
    dispatcher = CollectingDispatcher()
    result = check_complaint_request(slots["complaint_request"], dispatcher, _tracker(text, slots=before), {})
    assert result["complaint_request"] is None  # asked again, saying what is expected
    assert "诉求" in dispatcher.messages[0]["text"]


def test_a_request_at_the_consent_question_gives_the_request():
    slots = _at("complaint_consent", "赔偿损失", **ASKED, complaint_when_where="昨天晚上 芭提雅步行街")
    assert slots == {"complaint_request": "compensation", REQUEST_TEXT_SLOT: "赔偿损失"}


def test_a_request_at_the_consent_question_replaces_a_place_taken_for_one():
    before = {"complaint_request": "other", REQUEST_TEXT_SLOT: "昨天晚上 芭提雅步行街"}
    slots = _at("complaint_consent", "赔偿损失", **ASKED, **before)
    assert slots == {"complaint_request": "compensation", REQUEST_TEXT_SLOT: "赔偿损失"}


def test_a_request_at_the_consent_question_goes_beside_the_first_request():
    before = {"complaint_request": "refund", REQUEST_TEXT_SLOT: "要求退款"}
    slots = _at("complaint_consent", "还要赔偿损失", **ASKED, **before)
    # The label stays, set again so that the form validates the request (else Rasa's form finds
    # no answer in the message and "这一步用不到这条信息" follows).
    assert slots == {"complaint_request": "refund", REQUEST_TEXT_SLOT: "要求退款；还要赔偿损失"}


@pytest.mark.parametrize("answer, consent", [("同意", True), ("不同意", False)])
def test_consent_words_still_answer_the_consent_question(answer, consent):
    assert _at("complaint_consent", answer, "affirm", **ASKED)["complaint_consent"] is consent


def test_a_change_of_mind_at_the_consent_question_replaces_the_request():
    before = {"complaint_request": "refund", REQUEST_TEXT_SLOT: "要求退款"}
    slots = _at("complaint_consent", "不要退款了，赔偿损失", **ASKED, **before)
    assert slots == {"complaint_request": "compensation", REQUEST_TEXT_SLOT: "不要退款了，赔偿损失"}


def test_typed_yes_with_filler_words_is_still_the_guess():
    slots = _at("complaint_when_where", "对，就是昨天中午", complaint_description=LUNCH)
    assert slots["complaint_when_where"] == "昨天中午"


def test_a_five_day_tour_is_no_date():
    assert read("我们跟的三亚5日游").when is None


async def test_the_consent_question_is_asked_again_as_it_was_after_a_correction():
    from actions.complaint import ActionAskComplaintConsent

    dispatcher = CollectingDispatcher()
    turn = _tracker("不对，名字写错了，是李思", "correct", {**ASKED, "requested_slot": "complaint_consent"})
    await ActionAskComplaintConsent().run(dispatcher, turn, {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_ask_complaint_consent"]


def test_consent_and_a_request_in_one_message_give_both():
    slots = _at("complaint_consent", "同意，赔偿损失", "affirm", **ASKED)
    assert slots["complaint_consent"] is True
    assert slots["complaint_request"] == "compensation" and slots[REQUEST_TEXT_SLOT] == "赔偿损失"


async def test_the_guess_is_offered_again_when_the_complaint_is_kept_after_cancel():
    turn = _tracker("不", "deny", {"complaint_description": LUNCH, "requested_slot": "complaint_when_where"})
    turn.events = [{"event": "user", "text": "不"}, {"event": "action", "name": "action_resume_complaint"}]
    dispatcher = CollectingDispatcher()
    await ActionAskComplaintWhenWhere().run(dispatcher, turn, {})
    assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == ["是的，昨天中午"]


def test_a_more_precise_time_and_place_at_the_request_question_replaces_a_time_alone():
    slots = _at("complaint_request", "昨天晚上 芭提雅步行街", **ASKED, complaint_when_where="昨天")
    assert slots == {"complaint_when_where": "昨天晚上 芭提雅步行街"}
