"""The complaint form's flow (stranger 4: s4b5-10, s4b4-22).

1. A story told earlier in the conversation, and answered then with a policy, is the complaint's
   description when the complaint starts later ("行李丢了…航空公司说找不到" got the baggage rules,
   "10月14日 三亚凤凰机场" started the complaint): it is not asked for again.
2. A request said without "要求/希望" at the description question is the request
   ("赔偿行李里的东西，大概5000块"), not the story; a bare name there or at the request question
   is the name, kept for later (as an early phone number is).
3. A yes, a no or words the NLU could not place, given where they answer nothing ("OK" at the
   request's buttons, "不同意" before consent was asked), make the form ask its question again:
   the validation sets something, so Rasa does not refuse the form and fall back to the generic
   "没太明白…想查行程、问政策还是投诉".
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.complaint import ValidateComplaintForm
from actions.fields import REQUEST_TEXT_SLOT
from actions.reader import read_slots
from tests.actions.form_turns import COMPLAINT_DOMAIN as DOMAIN
from tests.actions.form_turns import action, slot_events, turn, user_turn


def _user(text: str, intent: str = "inform", clauses: Optional[List[Dict[str, Any]]] = None) -> Dict:
    parse = {"intent": {"name": intent}, "clauses": clauses or []}
    return {"event": "user", "text": text, "parse_data": parse}


def _validation(
    past: List[Dict[str, Any]],
    text: str,
    candidates: Dict[str, Any],
    held: Dict[str, Any],
    intent: str = "inform",
    requested: Optional[str] = None,
    active: bool = True,
    between: Optional[List[str]] = None,
) -> Tracker:
    """The tracker Rasa sends to validate_complaint_form for the latest message: the
    conversation, the message, the actions after it, then the form and the slot candidates."""
    after = [
        action("action_read_message"),
        *[action(name) for name in between or []],
        *slot_events({"requested_slot": requested}),
        action("complaint_form"),
        *slot_events(candidates),
    ]
    return user_turn(
        text,
        intent,
        before=past,
        parsed=True,
        after=after,
        slots={"form_failures": 0.0, **held, **candidates, "requested_slot": requested},
        loop="complaint_form" if active else None,
        latest_action="complaint_form",
    )


def _slots(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def _answered_by_policy(text: str, clauses: Optional[List[Dict[str, Any]]] = None) -> List[Dict]:
    return [
        {"event": "action", "name": "action_listen"},
        _user(text, "policy", clauses),
        {"event": "action", "name": "action_read_message"},
        {"event": "action", "name": "action_answer_policy"},
        {"event": "bot", "text": "（政策回答）"},
    ]


# 1. The story told before the complaint started.


@pytest.mark.parametrize(
    "told, story, started_by",
    [
        (
            "行李丢了！！飞到三亚行李箱就没出来 航空公司说找不到 TR20260003",
            "行李丢了！！飞到三亚行李箱就没出来 航空公司说找不到",
            "10月14日 三亚凤凰机场",
        ),
        (
            "酒店房间里有蟑螂，跟前台说了也没人管",
            "酒店房间里有蟑螂，跟前台说了也没人管",
            "我要投诉",
        ),
        (
            "航班延误了五个小时，地接一直没人来接我们，在机场干等",
            "航班延误了五个小时，地接一直没人来接我们，在机场干等",
            "投诉一下",
        ),
    ],
)
async def test_a_story_answered_with_a_policy_is_the_description_when_the_complaint_starts(
    told, story, started_by
):
    turn = _validation(
        _answered_by_policy(told),
        started_by,
        {"booking_ref": "TR20260003"},
        {},
        intent="complain",
        active=False,
    )
    events = await ValidateComplaintForm().run(CollectingDispatcher(), turn, DOMAIN)
    assert _slots(events)["complaint_description"] == story


async def test_the_question_clause_of_that_message_is_no_part_of_the_story():
    told = "导游强迫我们进了三个购物店，不买不让走，这种情况能退钱吗"
    clause = [{"text": "这种情况能退钱吗", "intent": "policy"}]
    turn = _validation(_answered_by_policy(told, clause), "我要投诉", {}, {}, "complain", active=False)
    events = await ValidateComplaintForm().run(CollectingDispatcher(), turn, DOMAIN)
    assert _slots(events)["complaint_description"] == "导游强迫我们进了三个购物店，不买不让走"


OWN_STORY = "导游迟到两个小时"


@pytest.mark.parametrize(
    "past, held",
    [
        # A policy question tells nothing of what happened.
        (_answered_by_policy("退团的话怎么扣费？"), {}),
        # A story that belongs to a complaint already submitted.
        (
            _answered_by_policy("酒店房间里有蟑螂，跟前台说了也没人管")
            + [{"event": "action", "name": "action_submit_complaint"}],
            {},
        ),
        # The complaint has its own story: nothing is added to it.
        (_answered_by_policy("酒店房间里有蟑螂，跟前台说了也没人管"), {"complaint_description": OWN_STORY}),
    ],
)
async def test_no_story_is_taken_from_elsewhere(past, held):
    turn = _validation(past, "我要投诉", {}, held, "complain", active=False)
    events = await ValidateComplaintForm().run(CollectingDispatcher(), turn, DOMAIN)
    assert _slots(events).get("complaint_description", held.get("complaint_description")) == held.get(
        "complaint_description"
    )


# 2. What is given at the description or request question that belongs elsewhere.


def _whole_turn(text: str, requested: str, held: Dict[str, Any], intent: str = "inform") -> Tracker:
    """The reader's reading of `text` at `requested`, then the form's validation of it."""
    asked = turn(text, {}, {**held, "requested_slot": requested}, "complaint_form", intent, parsed=True)
    read = read_slots(asked)
    read.pop("read_message_id", None)
    return _validation([{"event": "action", "name": "complaint_form"}], text, read, held, intent, requested)


@pytest.mark.parametrize(
    "text, label",
    [
        ("赔偿行李里的东西，大概5000块", "compensation"),
        ("补偿我们两晚的房费", "compensation"),
        ("赔偿损失3000元", "compensation"),
        ("道歉并且退还自费项目的钱", "refund"),  # the first label that fits (request_code)
    ],
)
async def test_a_request_at_the_description_question_is_the_request(text, label):
    turn = _whole_turn(text, "complaint_description", {"booking_ref": "TR20260003"})
    events = await ValidateComplaintForm().run(CollectingDispatcher(), turn, DOMAIN)
    slots = _slots(events)
    assert slots.get("complaint_description") is None  # the story is still asked for
    assert slots["complaint_request"] == label and slots[REQUEST_TEXT_SLOT] == text


@pytest.mark.parametrize(
    "text", ["退款的事一直拖着没人管，客服也不回", "赔偿的事导游说了不算，让我们自己找航空公司"]
)
async def test_a_story_about_a_refund_is_still_the_story(text):
    turn = _whole_turn(text, "complaint_description", {"booking_ref": "TR20260003"})
    events = await ValidateComplaintForm().run(CollectingDispatcher(), turn, DOMAIN)
    assert _slots(events)["complaint_description"] == text


STORY = "行李丢了，飞到三亚行李箱就没出来，航空公司说找不到"
AT_REQUEST = {
    "booking_ref": "TR20260003",
    "complaint_description": STORY,
    "complaint_when_where": "10月14日 三亚凤凰机场",
}


@pytest.mark.parametrize(
    "requested, held",
    [("complaint_request", AT_REQUEST), ("complaint_description", {"booking_ref": "TR20260003"})],
)
@pytest.mark.parametrize("name", ["王芳", "李娜", "张伟"])
async def test_a_bare_name_given_early_is_kept_as_the_name(name, requested, held):
    dispatcher = CollectingDispatcher()
    turn = _whole_turn(name, requested, held)
    events = await ValidateComplaintForm().run(dispatcher, turn, DOMAIN)
    slots = _slots(events)
    assert slots["complainant_name"] == name
    assert slots.get(requested) is None  # asked again
    assert slots.get(REQUEST_TEXT_SLOT) in (None, held.get(REQUEST_TEXT_SLOT))
    assert {"response": "utter_noted"}.items() <= dispatcher.messages[0].items()


# 3. A yes, a no or words not understood that answer nothing: the question is asked again.

LEAK = "你们泄露了我的个人信息，报完团天天有人打电话推销"
AT_WHEN_WHERE = {"booking_ref": "TR20260019", "complaint_description": LEAK}


@pytest.mark.parametrize(
    "text, intent, requested, held",
    [
        ("OK", "affirm", "complaint_request", AT_REQUEST),
        ("ok", "affirm", "complaint_request", AT_REQUEST),
        ("好", "affirm", "complaint_request", AT_REQUEST),
        ("行", "affirm", "complaint_request", AT_REQUEST),
        ("不同意", "deny", "complaint_when_where", AT_WHEN_WHERE),
        ("我不同意", "deny", "complaint_request", AT_REQUEST),
        ("好的", "affirm", "complaint_description", {"booking_ref": "TR20260003"}),
        (
            "嗯嗯",
            "nlu_fallback",
            "complainant_name",
            {**AT_REQUEST, "complaint_request": "compensation", "complaint_consent": True},
        ),
    ],
)
async def test_an_answer_to_no_question_has_the_question_asked_again(text, intent, requested, held):
    dispatcher = CollectingDispatcher()
    turn = _whole_turn(text, requested, held, intent)
    events = await ValidateComplaintForm().run(dispatcher, turn, DOMAIN)
    slots = _slots(events)
    # Something set: Rasa's form does not refuse the message, it asks `requested` again.
    assert any(name != "requested_slot" for name in slots), events
    assert slots.get(requested) is None and slots["form_failures"] == 1.0
    assert all(m.get("response") != "utter_default" for m in dispatcher.messages)


async def test_the_second_answer_to_no_question_offers_a_human():
    dispatcher = CollectingDispatcher()
    turn = _whole_turn("OK", "complaint_request", {**AT_REQUEST, "form_failures": 1.0}, "affirm")
    events = await ValidateComplaintForm().run(dispatcher, turn, DOMAIN)
    assert _slots(events)["form_failures"] == 2.0
    assert [m.get("response") for m in dispatcher.messages] == ["utter_offer_human"]


@pytest.mark.parametrize(
    "intent, between",
    [
        ("policy", []),  # a question: its rule answers it, then the form comes back
        ("out_of_scope", []),
        ("deny", ["action_resume_complaint"]),  # "不" to "确定放弃吗？": the form is resumed
    ],
)
async def test_messages_other_actions_take_are_left_to_them(intent, between):
    turn = _validation([], "不", {}, AT_REQUEST, intent, "complaint_request", between=between)
    events = await ValidateComplaintForm().run(CollectingDispatcher(), turn, DOMAIN)
    assert "form_failures" not in _slots(events)
