"""Answers that do not fit the complaint form's question, requests given out of turn, and
progress questions while a complaint is not submitted yet (or right after it was)."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.complaint import ActionSubmitComplaint, ValidateComplaintForm
from actions.fields import NOT_GIVEN, REQUEST_TEXT_SLOT
from actions.tickets import ActionCheckTicket, ValidateTicketForm
from tests.actions.test_actions import BOOKING, COMPLAINT_DOMAIN, PHONE, tracker

TICKET_DOMAIN = {"forms": {"ticket_form": {"required_slots": ["ticket_no", "phone_last4"]}}}
STORY = "航班延误了两个小时，地接没有任何人来安排"


def _turn(
    before: Dict[str, Any],
    given: Dict[str, Any],
    text: str,
    intent: str = "inform",
    loop: Optional[str] = "complaint_form",
) -> Any:
    """The tracker a validator sees: `before` set in earlier turns, `given` read from `text`."""
    events: List[Dict[str, Any]] = []
    if loop:
        events.append({"event": "active_loop", "name": loop})
    events += [{"event": "slot", "name": k, "value": v} for k, v in before.items()]
    events += [
        {"event": "action", "name": loop or "action_listen"},
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text},
    ]
    events += [{"event": "slot", "name": k, "value": v} for k, v in given.items()]
    return tracker({**before, **given}, text=text, intent=intent, events=events)


def _texts(dispatcher: CollectingDispatcher) -> str:
    return "\n".join(m.get("text") or m.get("response") or "" for m in dispatcher.messages)


ASKED_WHEN_WHERE = {"booking_ref": BOOKING, "complaint_description": STORY}
ASKED_REQUEST = {**ASKED_WHEN_WHERE, "complaint_when_where": "12月4日，昆明机场"}


@pytest.mark.parametrize("answer", ["同意", "不同意", "1234", "8899"])
def test_when_where_refuses_consent_words_and_bare_digits(answer):
    dispatcher = CollectingDispatcher()
    turn = _turn({**ASKED_WHEN_WHERE, "requested_slot": "complaint_when_where"}, {}, answer)
    result = ValidateComplaintForm().validate_complaint_when_where(answer, dispatcher, turn, {})
    assert result["complaint_when_where"] is None
    assert result["form_failures"] == 1.0
    # Polite, and says what is expected (the form asks its question again after it).
    assert "时间" in _texts(dispatcher) and "地点" in _texts(dispatcher)


@pytest.mark.parametrize("answer, intent", [("同意", "affirm"), ("不同意", "deny"), ("好的", "affirm")])
def test_consent_words_at_the_when_where_question_are_not_read_as_not_given(answer, intent):
    # A consent word is no answer to this question (no date was offered to say yes to): the
    # reader sets nothing, so the form asks it again; "未说明" never reaches the check.
    from actions.reader import read_slots

    before = {**ASKED_WHEN_WHERE, "requested_slot": "complaint_when_where"}
    turn = _turn(before, {}, answer, intent=intent)
    turn.active_loop = {"name": "complaint_form"}
    assert "complaint_when_where" not in read_slots(turn)


def test_dont_know_at_the_when_where_question_is_still_not_given():
    dispatcher = CollectingDispatcher()
    before = {**ASKED_WHEN_WHERE, "requested_slot": "complaint_when_where"}
    turn = _turn(before, {"complaint_when_where": "不记得了"}, "不记得了")
    result = ValidateComplaintForm().validate_complaint_when_where("不记得了", dispatcher, turn, {})
    assert result["complaint_when_where"] == NOT_GIVEN


@pytest.mark.parametrize("answer", ["12月6日上午，大理古城", "大理古城的客栈", "12.5 晚上", "2025-12-05"])
def test_when_where_still_takes_a_time_or_a_place(answer):
    dispatcher = CollectingDispatcher()
    turn = _turn({**ASKED_WHEN_WHERE, "requested_slot": "complaint_when_where"}, {}, answer)
    result = ValidateComplaintForm().validate_complaint_when_where(answer, dispatcher, turn, {})
    assert result["complaint_when_where"] == answer and not dispatcher.messages


@pytest.mark.parametrize("answer", ["6781", "今天", "同意"])
def test_request_refuses_digits_times_and_consent_words(answer):
    dispatcher = CollectingDispatcher()
    # The reader put the answer in the request's words too: neither is kept.
    turn = _turn(
        {**ASKED_REQUEST, "requested_slot": "complaint_request"}, {REQUEST_TEXT_SLOT: answer}, answer
    )
    result = ValidateComplaintForm().validate_complaint_request(answer, dispatcher, turn, {})
    assert result["complaint_request"] is None and result[REQUEST_TEXT_SLOT] is None
    assert "诉求" in _texts(dispatcher)


@pytest.mark.parametrize(
    "answer, code", [("给个说法", "apology"), ("希望退一晚房费", "refund"), ("让导游当面解释清楚", "other")]
)
def test_request_still_takes_the_travellers_words(answer, code):
    dispatcher = CollectingDispatcher()
    turn = _turn({**ASKED_REQUEST, "requested_slot": "complaint_request"}, {}, answer)
    result = ValidateComplaintForm().validate_complaint_request(answer, dispatcher, turn, {})
    assert result["complaint_request"] == code and result[REQUEST_TEXT_SLOT] == answer


def test_a_correction_given_for_the_request_corrects_the_story_instead():
    answer = "不对 我说错了 是三个小时"
    dispatcher = CollectingDispatcher()
    turn = _turn({**ASKED_REQUEST, "requested_slot": "complaint_request"}, {}, answer)
    result = ValidateComplaintForm().validate_complaint_request(answer, dispatcher, turn, {})
    assert result["complaint_request"] is None  # still to be asked
    assert result["complaint_description"].startswith(STORY)
    assert answer in result["complaint_description"]
    assert [m["response"] for m in dispatcher.messages] == ["utter_correction_done"]
    assert dispatcher.messages[0]["field"] == "情况描述"


def test_a_time_correction_given_for_the_place_question_takes_the_new_time():
    answer = "时间说错了，是12月5号晚上"
    dispatcher = CollectingDispatcher()
    turn = _turn({**ASKED_WHEN_WHERE, "requested_slot": "complaint_when_where"}, {}, answer)
    result = ValidateComplaintForm().validate_complaint_when_where(answer, dispatcher, turn, {})
    assert result["complaint_when_where"] == "12月5号晚上"


def test_a_request_added_to_the_story_at_another_question_is_the_request():
    # "要求退钱并道歉" added to the story (the reader no longer does it; an addition made as a
    # correction does, see below): it is the request.
    before = {**ASKED_REQUEST, "requested_slot": "complaint_consent"}
    added = f"{STORY}\n要求退钱并道歉"
    dispatcher = CollectingDispatcher()
    turn = _turn(before, {"complaint_description": added}, "要求退钱并道歉")
    result = ValidateComplaintForm().validate_complaint_description(added, dispatcher, turn, {})
    assert result["complaint_description"] == STORY
    assert result["complaint_request"] == "refund"
    assert result[REQUEST_TEXT_SLOT] == "要求退钱并道歉"


def test_a_request_given_as_the_name_is_the_request():
    before = {**ASKED_REQUEST, "complaint_consent": True, "requested_slot": "complainant_name"}
    dispatcher = CollectingDispatcher()
    turn = _turn(before, {"complainant_name": "要求退钱并道歉"}, "要求退钱并道歉")
    result = ValidateComplaintForm().validate_complainant_name("要求退钱并道歉", dispatcher, turn, {})
    assert result["complainant_name"] is None
    assert (result["complaint_request"], result[REQUEST_TEXT_SLOT]) == ("refund", "要求退钱并道歉")


async def test_a_request_added_as_a_correction_is_the_request():
    from actions.correction import ActionCorrectComplaint

    before = {**ASKED_REQUEST, "complaint_consent": True, "requested_slot": "complainant_name"}
    turn = _turn(before, {}, "描述补充一下：要求退钱并道歉", intent="correct")
    events = await ActionCorrectComplaint().run(CollectingDispatcher(), turn, COMPLAINT_DOMAIN)
    final = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert final.get("complaint_description", STORY) == STORY
    assert (final["complaint_request"], final[REQUEST_TEXT_SLOT]) == ("refund", "要求退钱并道歉")


async def test_a_request_read_at_the_consent_question_stays_out_of_the_story():
    # The reader and the form's checks together: the request goes to its field only.
    from actions.reader import read_slots

    before = {**ASKED_REQUEST, "requested_slot": "complaint_consent", "form_failures": 0.0}
    asked = _turn(before, {}, "要求退钱并道歉")
    asked.active_loop = {"name": "complaint_form"}
    read = read_slots(asked)
    assert "complaint_description" not in read
    turn = _turn(before, read, "要求退钱并道歉")
    events = await ValidateComplaintForm().run(CollectingDispatcher(), turn, COMPLAINT_DOMAIN)
    final = {**before, **read, **{e["name"]: e["value"] for e in events if e.get("event") == "slot"}}
    assert final["complaint_description"] == STORY
    assert final[REQUEST_TEXT_SLOT] == "要求退钱并道歉"


async def test_the_whole_form_turn_keeps_the_request_out_of_the_story():
    before = {**ASKED_REQUEST, "requested_slot": "complaint_consent", "form_failures": 0.0}
    added = f"{STORY}\n要求退钱并道歉"
    turn = _turn(before, {"complaint_description": added}, "要求退钱并道歉")
    events = await ValidateComplaintForm().run(CollectingDispatcher(), turn, COMPLAINT_DOMAIN)
    final = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert final["complaint_description"] == STORY
    assert final[REQUEST_TEXT_SLOT] == "要求退钱并道歉"


# -- progress questions ------------------------------------------------------------------------

SUMMARY = {
    **ASKED_REQUEST,
    "complaint_request": "refund",
    "complaint_consent": True,
    "complainant_name": "李娜",
    "phone": PHONE,
    "complaint_confirming": True,
}


async def test_progress_asked_at_the_summary_does_not_start_the_ticket_lookup():
    dispatcher = CollectingDispatcher()
    turn = _turn(SUMMARY, {}, "我的投诉进度怎么样了", intent="check_ticket", loop=None)
    events = await ValidateTicketForm().run(dispatcher, turn, TICKET_DOMAIN)
    assert "还没有提交" in _texts(dispatcher)
    assert ActiveLoop(None) in events and SlotSet("requested_slot", None) in events
    assert FollowupAction("action_check_ticket") in events
    # The form ended: action_check_ticket asks for the confirmation again.
    dispatcher = CollectingDispatcher()
    await ActionCheckTicket().run(dispatcher, turn, TICKET_DOMAIN)
    buttons = [b["title"] for m in dispatcher.messages for b in m.get("buttons") or []]
    assert buttons == ["确认提交", "取消"]


async def test_progress_asked_inside_the_complaint_form_goes_back_to_its_question():
    before = {**ASKED_WHEN_WHERE, "requested_slot": "complaint_when_where"}
    dispatcher = CollectingDispatcher()
    turn = _turn(before, {}, "我的投诉进度怎么样了", intent="check_ticket")
    events = await ValidateTicketForm().run(dispatcher, turn, TICKET_DOMAIN)
    assert "还没有提交" in _texts(dispatcher) and ActiveLoop(None) in events
    events = await ActionCheckTicket().run(CollectingDispatcher(), turn, TICKET_DOMAIN)
    assert ActiveLoop("complaint_form") in events


async def test_progress_right_after_submitting_uses_the_new_ticket(client):
    dispatcher = CollectingDispatcher()
    submitted = await ActionSubmitComplaint().run(
        dispatcher, tracker({**SUMMARY, "complaint_description": "导游中途加收费用，不交就不让上车"}), {}
    )
    number = re.search(r"C\d{11,}", dispatcher.messages[0]["text"]).group(0)
    slots = {e["name"]: e["value"] for e in submitted if e.get("event") == "slot"}
    events = (
        [{"event": "action", "name": "action_submit_complaint"}]
        + [{"event": "slot", "name": k, "value": v} for k, v in slots.items()]
        + [
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": "那什么时候能处理好 进度呢"},
        ]
    )
    after = {**SUMMARY, **slots}
    turn = tracker(after, text="那什么时候能处理好 进度呢", intent="check_ticket", events=events)
    form = ValidateTicketForm()
    assert (
        await form.required_slots(["ticket_no", "phone_last4"], CollectingDispatcher(), turn, TICKET_DOMAIN)
        == []
    )
    events = await form.run(CollectingDispatcher(), turn, TICKET_DOMAIN)
    assert FollowupAction("action_check_ticket") in events
    dispatcher = CollectingDispatcher()
    await ActionCheckTicket().run(dispatcher, turn, TICKET_DOMAIN)
    assert number in _texts(dispatcher)
    assert "单号" not in _texts(dispatcher).replace(f"投诉单 {number}", "")  # not asked for it


async def test_progress_with_no_ticket_and_no_complaint_still_asks_for_the_number():
    dispatcher = CollectingDispatcher()
    turn = _turn({}, {}, "我的投诉进度怎么样了", intent="check_ticket", loop=None)
    form = ValidateTicketForm()
    assert await form.required_slots(["ticket_no", "phone_last4"], dispatcher, turn, TICKET_DOMAIN) == [
        "ticket_no",
        "phone_last4",
    ]
    events = await form.run(dispatcher, turn, TICKET_DOMAIN)
    assert ActiveLoop(None) not in events and "还没有提交" not in _texts(dispatcher)


@pytest.mark.parametrize(
    "answer", ["12月8日在广州", "12月7日大理", "12月5日昆明酒店", "12月10日广州白云机场"]
)
def test_a_time_and_place_given_for_the_story_is_no_story(answer):
    # Stranger 7: taken as the story, the real one told next became the request and was lost.
    before = {"booking_ref": BOOKING, "requested_slot": "complaint_description"}
    dispatcher = CollectingDispatcher()
    turn = _turn(before, {"complaint_description": answer}, answer)
    result = ValidateComplaintForm().validate_complaint_description(answer, dispatcher, turn, {})
    assert result["complaint_description"] is None  # what happened is asked again
    assert result["complaint_when_where"] == answer
    assert not result.get("form_failures")


def test_a_story_that_names_its_time_and_place_is_the_story():
    answer = "12月8日在广州机场，领队把我们的护照弄丢了"
    before = {"booking_ref": BOOKING, "requested_slot": "complaint_description"}
    dispatcher = CollectingDispatcher()
    turn = _turn(before, {"complaint_description": answer}, answer)
    result = ValidateComplaintForm().validate_complaint_description(answer, dispatcher, turn, {})
    assert result["complaint_description"] == answer
