"""Stranger test 4: the phone's last four digits wherever the traveller puts them. Given alone
while the booking number is asked (s4b2-03), before the number in one message (s4b3-03,
s4b6-02), after a cue such as "末四碼" (s4b3-04) or after the word "手机" (s4b5-19, s4b6-01)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.reader import read_slots
from actions.utils.reading import read
from actions.verification import ValidateVerifyForm
from tests.actions.form_turns import DOMAIN, slots, turn, user_turn


def reader_turn(
    text: str,
    held: Optional[Dict[str, Any]] = None,
    loop: Optional[str] = "verify_form",
    intent: str = "inform",
    events: Optional[List[Dict[str, Any]]] = None,
    sender: str = "s4-digits",
) -> Tracker:
    """The message the reader reads (its id the text), after `events`."""
    return user_turn(
        text,
        intent,
        message_id=text,
        before=events or [],
        listen=False,
        slots={"form_failures": 0.0, **(held or {})},
        loop=loop,
        sender=sender,
    )


def _form_turn(text: str, given: Dict[str, Any], held: Dict[str, Any]) -> Tracker:
    """The form's turn after the reader set `given` (as trailing slot events)."""
    return turn(text, given, held, message_id=text, sender="s4-digits")


# 1. Bare digits while the booking number is asked (s4b2-03).


@pytest.mark.parametrize("text, digits", [("8899", "8899"), ("8899。", "8899"), ("八八九九", "8899")])
def test_bare_digits_at_the_number_question_are_the_phone_digits(text, digits):
    held = {"requested_slot": "booking_ref"}
    assert read_slots(reader_turn(text, held)) == {"phone_last4": digits}
    assert read_slots(reader_turn(text, {"requested_slot": "ticket_no"}, loop="ticket_form")) == {
        "phone_last4": digits
    }


@pytest.mark.parametrize("text", ["8899", "2026年", "1234元"])
def test_digits_at_the_complaint_number_question_are_no_phone_digits(text):
    # The complaint form asks no phone digits: four digits there are nothing of the kind.
    assert "phone_last4" not in read_slots(
        reader_turn(text, {"requested_slot": "booking_ref"}, "complaint_form")
    )


def test_digits_given_first_are_kept_when_a_new_number_comes():
    # A booking number was held from before; "8899" came after it, then a different number.
    events = [
        {"event": "user", "text": "TR20260001"},
        {"event": "slot", "name": "booking_ref", "value": "TR20260001"},
        {"event": "user", "text": "8899"},
        {"event": "slot", "name": "phone_last4", "value": "8899"},
    ]
    held = {"booking_ref": "TR20260001", "phone_last4": "8899", "requested_slot": "booking_ref"}
    assert read_slots(reader_turn("TR20260012", held, events=events)) == {"booking_ref": "TR20260012"}
    # Digits given with the old number belong to it: dropped for the new one.
    together = [
        {"event": "user", "text": "TR20260001 5678"},
        {"event": "slot", "name": "booking_ref", "value": "TR20260001"},
        {"event": "slot", "name": "phone_last4", "value": "5678"},
    ]
    held = {"booking_ref": "TR20260001", "phone_last4": "5678", "requested_slot": "phone_last4"}
    assert read_slots(reader_turn("TR20260012", held, events=together))["phone_last4"] is None


async def test_digits_given_before_the_number_verify_it_when_it_comes(client):
    held = {"requested_slot": "booking_ref"}
    given = read_slots(reader_turn("8899", held))
    dispatcher = CollectingDispatcher()
    events = await ValidateVerifyForm().run(dispatcher, _form_turn("8899", given, held), DOMAIN)
    assert slots(events).get("phone_last4") == "8899"
    assert "verified_booking" not in slots(events)
    said = [m.get("response") for m in dispatcher.messages]
    assert "utter_not_needed_here" not in said and "utter_invalid_booking_ref" not in said, said

    held = {**held, "phone_last4": "8899"}
    given = read_slots(reader_turn("TR20260012", held))
    assert given == {"booking_ref": "TR20260012"}
    dispatcher = CollectingDispatcher()
    events = await ValidateVerifyForm().run(dispatcher, _form_turn("TR20260012", given, held), DOMAIN)
    assert slots(events)["verified_booking"] == "TR20260012"


# 2. Digits before the number in one message (s4b3-03, s4b6-02).


@pytest.mark.parametrize(
    "text, number, digits",
    [
        ("5678 TR20260001", "TR20260001", "5678"),
        ("8901 TR20260013 第一天酒店", "TR20260013", "8901"),
        ("5678，TR20260001", "TR20260001", "5678"),
        ("今天住哪 6781 tr20260010", "TR20260010", "6781"),
        ("1234 C20261120001", None, "1234"),
    ],
)
def test_digits_right_before_the_number_are_the_phone_digits(text, number, digits):
    reading = read(text)
    assert reading.phone_last4 == digits
    assert reading.booking_ref == number
    assert digits not in reading.rest


@pytest.mark.parametrize("text", ["房间1203 TR20260001", "MU5876 TR20260001", "12.2026 TR20260001"])
def test_a_room_or_flight_number_before_the_number_is_no_phone_digits(text):
    assert read(text).phone_last4 is None


async def test_digits_before_the_number_verify_it_in_one_turn(client):
    held = {"requested_slot": "booking_ref"}
    given = read_slots(reader_turn("5678 TR20260001", held))
    assert given == {"booking_ref": "TR20260001", "phone_last4": "5678"}
    dispatcher = CollectingDispatcher()
    events = await ValidateVerifyForm().run(dispatcher, _form_turn("5678 TR20260001", given, held), DOMAIN)
    assert slots(events)["verified_booking"] == "TR20260001"


# 3. Cues for the last four digits (s4b3-04).


@pytest.mark.parametrize(
    "text",
    [
        "領隊電話多少？訂單TR20260004，手機末四碼5678",
        "订单TR20260004 手机末四码5678",
        "后四码5678 TR20260004",
        "尾四位5678，TR20260004",
        "TR20260004 末4码 5678",
        "手机号尾4位是5678 订单TR20260004",
    ],
)
def test_last_four_cues(text):
    reading = read(text)
    assert reading.phone_last4 == "5678" and reading.booking_ref == "TR20260004"
    assert "5678" not in reading.rest


# 4. Four digits named as the phone beside a number (s4b5-19, s4b6-01).


@pytest.mark.parametrize(
    "text, rest",
    [
        ("马尔代夫那个 我想退 先算算扣多少 TR20260014 手机5678", "马尔代夫那个 我想退 先算算扣多少"),
        ("TR20260004 手机5678", ""),
        ("TR20260004 手机 5678", ""),
        ("TR20260004，手机号5678", ""),
        ("订单TR20260004 电话：5678 导游是谁", "导游是谁"),
    ],
)
def test_digits_labelled_as_the_phone_are_its_last_four(text, rest):
    reading = read(text)
    assert reading.phone_last4 == "5678"
    assert reading.rest == rest


@pytest.mark.parametrize("text", ["TR20260004 手机2026年买的", "电话13567891234", "手机5678元"])
def test_a_labelled_year_amount_or_whole_number_is_not_read_as_four_digits(text):
    assert read(text).phone_last4 in (None, "1234")
    assert read(text).phone_last4 != "5678" and read(text).phone_last4 != "2026"


def test_the_labelled_digits_fill_the_slot_at_the_number_question():
    given = read_slots(reader_turn("TR20260004 手机5678", {"requested_slot": "booking_ref"}))
    assert given == {"booking_ref": "TR20260004", "phone_last4": "5678"}


# 5. Questions asked while the verification waits for the digits (s4b3-03): each is answered.


@pytest.mark.parametrize(
    "asked, expected_items, expected_days",
    [
        (["后天呢", "最后一天的航班几点起飞"], "hotel,hotel,flight", "今天,后天,最后一天"),
        (["导游电话多少"], "hotel,guide", "今天"),
        (["那明天呢？"], "hotel,hotel", "今天,明天"),
    ],
)
def test_questions_asked_while_the_digits_are_awaited_are_all_kept(asked, expected_items, expected_days):
    held = {
        "requested_slot": "phone_last4",
        "booking_ref": "TR20260001",
        "itinerary_item": "hotel",
        "day_number": "今天",
    }
    for text in asked:
        held.update(read_slots(reader_turn(text, held, intent="query_itinerary")))
    assert (held["itinerary_item"], held["day_number"]) == (expected_items, expected_days)


async def test_every_question_asked_while_waiting_is_answered_after_the_digits(client):
    from actions.verification import ActionVerified

    held = {"requested_slot": "phone_last4", "booking_ref": "TR20260001"}
    held.update({"itinerary_item": "hotel", "day_number": "今天"})
    for text in ("后天呢", "最后一天的航班几点起飞"):
        held.update(read_slots(reader_turn(text, held, intent="query_itinerary")))
    given = read_slots(reader_turn("5678", held))
    checked = await ValidateVerifyForm().validate_phone_last4(
        given["phone_last4"], CollectingDispatcher(), _form_turn("5678", given, held), DOMAIN
    )
    assert checked.get("verified_booking") == "TR20260001", checked
    dispatcher = CollectingDispatcher()
    await ActionVerified().run(dispatcher, reader_turn("5678", {**held, **given, **checked}), {})
    said = "\n".join(m.get("text") or "" for m in dispatcher.messages)
    # Two stay answers (today and the day after tomorrow; that one may be the return day, no hotel).
    assert said.count("住宿安排") >= 2 and "MU5876" in said, said
