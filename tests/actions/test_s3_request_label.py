"""What the traveller asks for is kept in their words with the normalised label beside it:
"我其实只想要个道歉" is an apology, and the summary shows it."""

from __future__ import annotations

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.complaint import request_display
from actions.correction import ActionCorrectComplaint
from actions.fields import REQUEST_TEXT_SLOT
from tests.actions.form_turns import user_turn


@pytest.mark.parametrize(
    "code, words, shown",
    [
        ("apology", "我其实只想要个道歉", "我其实只想要个道歉（道歉）"),
        ("refund", "把多收的钱退给我们", "把多收的钱退给我们（退款）"),
        ("compensation", "要求赔偿", "要求赔偿"),
        ("refund", "我要退款", "我要退款"),
        ("apology", "道歉", "道歉"),
        ("other", "给个说法", "给个说法"),
    ],
)
def test_the_label_is_shown_beside_words_that_do_not_say_it_alone(code, words, shown):
    assert request_display({"complaint_request": code, REQUEST_TEXT_SLOT: words}) == shown


async def test_a_change_of_mind_at_the_consent_question_gets_the_apology_label():
    text = "不对，我其实只想要个道歉"
    slots = {
        "booking_ref": "TR20260017",
        "complaint_description": "雪乡的农家院没有暖气，冻了一晚上",
        "complaint_when_where": "12月21日晚上 雪乡农家院",
        "complaint_request": "compensation",
        REQUEST_TEXT_SLOT: "要求赔偿",
        "requested_slot": "complaint_consent",
    }
    tracker = user_turn(text, "correct", slots=slots, loop="complaint_form")
    events = await ActionCorrectComplaint().run(CollectingDispatcher(), tracker, {})
    assert SlotSet("complaint_request", "apology") in events
    assert SlotSet(REQUEST_TEXT_SLOT, "我其实只想要个道歉") in events
