"""Stranger test 3, verification group: numbers typed loosely, digits labelled 'phone', a refund
question beside another with the number and digits given, policy closings that asked for a number
already given, and a complaint's progress asked with a booking number instead of a ticket number."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.policy import fill_in_given, without_asking_for_given
from actions.tickets import BY_BOOKING, ActionCheckTicket, ValidateTicketForm
from actions.utils.parsing import parse_booking_ref, parse_labelled_last4, parse_phone_last4
from actions.utils.reading import read
from actions.verification import ActionStartVerification
from tests.actions.form_turns import DOMAIN, slots, turn, user_turn

BOOKING = "TR20260001"
PHONE = "13812345678"


def _tracker(
    given: Dict[str, Any], text: str, intent: str, events: Optional[List[Dict[str, Any]]] = None
) -> Tracker:
    return user_turn(text, intent, message_id="m1", history=events or [], slots=given, sender="unit-test-s3")


@pytest.mark.parametrize(
    "text",
    [
        "hi, my booking tr2026 0005, phone last 4 9876, what time is the flight?",
        "my booking TR 2026 0005",
        "last four 9876, TR-20260005",
        "尾号是9876 TR 2026 0005",
        "订单号 tr2026-0005，尾号9876",
    ],
)
def test_a_booking_number_with_spaces_or_lower_case_is_still_the_number(text):
    assert parse_booking_ref(text) == "TR20260005"
    assert read(text).booking_ref == "TR20260005"


@pytest.mark.parametrize("text", ["TR2026001 5678", "TR202600 5678", "TR20260 1234"])
def test_digits_too_few_before_the_phone_digits_make_no_number(text):
    assert parse_booking_ref(text) is None


def test_the_phone_digits_beside_a_spaced_number_are_read():
    assert read("hi, my booking tr2026 0005, phone last 4 9876").phone_last4 == "9876"
    assert parse_phone_last4("tr2026 0005") is None


@pytest.mark.parametrize(
    "text, digits",
    [
        ("I want to cancel my booking TR20260006, phone 6789", "6789"),
        ("订单TR20260006 电话6789", "6789"),
        ("手机号：6789", "6789"),
        ("mobile no. 6789", "6789"),
        ("电话 2026年", None),
        ("电话13567891234", None),
    ],
)
def test_four_digits_labelled_as_the_phone_are_its_last_four(text, digits):
    assert parse_labelled_last4(text) == digits


async def test_digits_labelled_phone_are_not_asked_for_again():
    text = "I want to cancel my booking TR20260006, phone 6789"
    tracker = _tracker({"booking_ref": "TR20260006"}, text, "request_cancellation")
    dispatcher = CollectingDispatcher()
    events = await ActionStartVerification().run(dispatcher, tracker, {})
    assert slots(events)["phone_last4"] == "6789"


async def test_refund_question_beside_another_gets_the_amount_with_number_and_digits_given(client):
    from actions.refunds import answer_refund_question

    text = f"{BOOKING} {PHONE[-4:]} 我退团扣多少？行李能带几件？"
    tracker = _tracker({"booking_ref": BOOKING, "phone_last4": PHONE[-4:]}, text, "policy")
    dispatcher = CollectingDispatcher()
    events = await answer_refund_question(dispatcher, tracker, extra=True)
    said = [m.get("response") or m.get("text") for m in dispatcher.messages]
    assert len(said) == 1 and BOOKING in said[0], said
    assert "utter_refund_offer_compute" not in said
    assert slots(events)["verified_booking"] == BOOKING


async def test_refund_question_with_wrong_digits_asks_for_the_digits_only(client):
    from actions.refunds import answer_refund_question

    text = f"{BOOKING} 0000 我退团扣多少？行李能带几件？"
    tracker = _tracker({"booking_ref": BOOKING, "phone_last4": "0000"}, text, "policy")
    dispatcher = CollectingDispatcher()
    events = await answer_refund_question(dispatcher, tracker, extra=True)
    said = [m.get("response") for m in dispatcher.messages]
    assert said == ["utter_policy/refund", "utter_verify_failed_retry"], said
    assert slots(events)["verify_purpose"] == "refund"
    assert slots(events)["phone_last4"] is None
    assert any(e.get("event") == "followup" and e.get("name") == "verify_form" for e in events)


def _policy_texts() -> Dict[str, Any]:
    with open("data/nlu/policy.yml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)["responses"]


@pytest.mark.parametrize("key", ["utter_policy/change", "utter_policy/visa"])
def test_a_policy_answer_does_not_ask_for_a_booking_number_already_given(key):
    original = _policy_texts()[key][0]["text"]
    changed = without_asking_for_given(original, "TR20251234")
    assert "TR20251234" in changed and "转人工" in changed
    assert "请提供订单号" not in changed and "告诉我目的地和订单号" not in changed
    assert "清单发给你" not in changed  # no promise of a list that never comes


def test_the_policy_answers_of_the_message_are_rendered_without_the_ask():
    responses = {"utter_policy/change": [{"text": "换人说明。\n请提供订单号，我帮你记录需求。"}]}
    dispatcher = CollectingDispatcher()
    dispatcher.utter_message(response="utter_policy/change")
    text = "我想把同行人换成我妈，可以吗？订单TR20251234"
    tracker = _tracker({"booking_ref": "TR20251234"}, text, "policy")
    fill_in_given(dispatcher, tracker, {"responses": responses}, 0)
    message = dispatcher.messages[0]
    assert message["response"] is None and "请提供订单号" not in message["text"]
    assert message["text"].startswith("换人说明。") and "TR20251234" in message["text"]
    # Without a number known the answer stays the trainers' text.
    dispatcher = CollectingDispatcher()
    dispatcher.utter_message(response="utter_policy/change")
    fill_in_given(dispatcher, _tracker({}, "能换人吗", "policy"), {"responses": responses}, 0)
    assert dispatcher.messages[0]["response"] == "utter_policy/change"


async def test_progress_asked_with_a_booking_number_does_not_ask_for_the_ticket_number():
    text = "我投诉了好几天都没人理我！订单TR20260007 电话13567891234"
    tracker = turn(
        text,
        {"booking_ref": "TR20260007", "phone": "13567891234", "phone_last4": "1234"},
        form="ticket_form",
        intent="check_ticket",
    )
    dispatcher = CollectingDispatcher()
    events = await ValidateTicketForm().run(dispatcher, tracker, DOMAIN)
    assert slots(events)["verify_blocked"] == BY_BOOKING
    assert slots(events)["requested_slot"] is None
    assert not [m for m in dispatcher.messages if m.get("response") == "utter_ask_ticket_no"]


async def test_no_ticket_number_with_a_booking_known_hands_over_by_booking():
    tracker = turn("我没有单号啊", {}, held={"booking_ref": "TR20260007"}, form="ticket_form")
    events = await ValidateTicketForm().run(CollectingDispatcher(), tracker, DOMAIN)
    assert slots(events)["verify_blocked"] == BY_BOOKING


async def test_unanswered_complaint_without_ticket_number_goes_to_a_person_with_the_booking(client):
    text = f"我投诉了好几天都没人理我！订单{BOOKING} 电话{PHONE}"
    held = {"booking_ref": BOOKING, "phone": PHONE, "phone_last4": PHONE[-4:], "verify_blocked": BY_BOOKING}
    dispatcher = CollectingDispatcher()
    events = await ActionCheckTicket().run(dispatcher, _tracker(held, text, "check_ticket"), {})
    texts = [m.get("text") or "" for m in dispatcher.messages]
    assert BOOKING in texts[0] and "人工客服" in texts[0], texts
    assert any(e.get("event") == "pause" for e in events), events


async def test_no_ticket_number_with_a_booking_offers_a_person_with_it_noted(client):
    text = "我没有单号啊"
    held = {"booking_ref": BOOKING, "verify_blocked": BY_BOOKING}
    dispatcher = CollectingDispatcher()
    events = await ActionCheckTicket().run(dispatcher, _tracker(held, text, "inform"), {})
    assert BOOKING in dispatcher.messages[0]["text"] and dispatcher.messages[0]["buttons"]
    assert not any(e.get("event") == "pause" for e in events)
