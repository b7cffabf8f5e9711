"""Where the rules of stranger test 4's fixes are called from (the rules themselves are tested in
test_s4c_policy_follow_up.py and test_s4c_just_asking.py):

- the complaint's start answers a follow-up read as a complaint ("电子的行不行" after the invoice
  answer) and the complaint form does not open after it;
- not understood inside a cancellation's verification, "其实我就是想问问 还没决定" turns it into the
  amount (nothing registered) instead of "没太明白";
- an explicit wish to complain the NLU could not place ("我要投诉，我手机号…，我叫陈静", once read
  as a correction, then as not understood) starts the complaint.
"""

from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.complaint import ActionPrefillComplaint
from actions.handoff import ActionFallback
from actions.refunds import AMOUNT_ONLY
from actions.router import route, wants_to_complain
from tests.actions.test_s4c_just_asking import purposes, verifying
from tests.actions.test_s4c_policy_follow_up import INVOICE, responses, tracker


@pytest.mark.parametrize("text", ["电子的行不行", "纸质的可以吗"])
async def test_a_follow_up_read_as_a_complaint_is_answered_and_opens_no_form(text):
    dispatcher = CollectingDispatcher()
    events = await ActionPrefillComplaint().run(dispatcher, tracker(text, "complain", 0.95, INVOICE), {})
    assert responses(dispatcher) == ["utter_policy/invoice"]
    assert "utter_complaint_start" not in responses(dispatcher)
    assert {"event": "followup", "name": "action_listen"} in [
        {k: e.get(k) for k in ("event", "name")} for e in events
    ]


async def test_a_real_complaint_still_starts_the_form():
    dispatcher = CollectingDispatcher()
    t = tracker("导游态度太差了，一直骂人", "complain", 0.95, INVOICE)
    events = await ActionPrefillComplaint().run(dispatcher, t, {})
    assert "utter_complaint_start" in responses(dispatcher)
    assert not [e for e in events if e.get("event") == "followup"]


@pytest.mark.parametrize("text", ["其实我就是想问问 还没决定", "我先问问 还没想好"])
async def test_not_understood_in_a_cancellation_verification_keeps_to_the_amount(text):
    dispatcher = CollectingDispatcher()
    events = await ActionFallback().run(dispatcher, verifying(text, "nlu_fallback"), {})
    assert [m.get("text") for m in dispatcher.messages] == [AMOUNT_ONLY]
    assert purposes(events) == ["refund"]


async def test_not_understood_otherwise_in_the_verification_is_still_not_understood():
    dispatcher = CollectingDispatcher()
    await ActionFallback().run(dispatcher, verifying("嗯嗯嗯", "nlu_fallback"), {})
    assert responses(dispatcher) == ["utter_default"]


@pytest.mark.parametrize(
    "text, wants",
    [
        ("我要投诉，我手机号18612349876，我叫陈静", True),
        ("我想投诉一下你们的导游", True),
        ("投诉你们 态度太差", True),
        ("我不想投诉，就问问", False),
        ("不用投诉了，已经解决了", False),
        ("投诉流程是怎样的", False),
    ],
)
def test_a_wish_to_complain_in_words(text, wants):
    assert wants_to_complain(text) is wants


def test_the_router_starts_the_complaint_the_nlu_could_not_place():
    dispatcher = CollectingDispatcher()
    events = route(dispatcher, tracker("我要投诉，我手机号18612349876，我叫陈静", "nlu_fallback", 0.45))
    assert "utter_complaint_start" in responses(dispatcher) or any(
        e.get("event") == "followup" and "complaint" in (e.get("name") or "") for e in events or []
    )


@pytest.mark.parametrize(
    "text, complaint",
    [
        ("东京那间酒店叫啥名", False),  # "東京嗰間酒店叫咩名" after the NLU's normaliser
        ("明天几点集合啊", False),
        ("第三天住哪里？", False),
        ("酒店太差了吧？", True),
        ("导游怎么这么凶啊？", True),
    ],
)
async def test_a_verified_travellers_trip_question_read_as_a_complaint_is_answered(text, complaint):
    dispatcher = CollectingDispatcher()
    t = tracker(text, "complain", 0.95)
    t.slots["verified_booking"] = "TR20260004"
    events = await ActionPrefillComplaint().run(dispatcher, t, {})
    opened = "utter_complaint_start" in responses(dispatcher)
    assert opened is complaint
    if not complaint:
        assert {"event": "followup", "name": "verify_form"} in [
            {k: e.get(k) for k in ("event", "name")} for e in events
        ]
