"""A booking or ticket number one digit short or long is named precisely, and whatever else the
message gave (the phone digits) is kept."""

from __future__ import annotations

from typing import List

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.tickets import ValidateTicketForm
from actions.verification import ValidateVerifyForm, number_slip
from tests.actions.form_turns import DOMAIN, slots, turn


def texts(dispatcher: CollectingDispatcher) -> List[str]:
    return [m.get("text") or m.get("response") or "" for m in dispatcher.messages]


@pytest.mark.parametrize(
    "text, typed, how",
    [
        ("TR2026001", "TR2026001", "少了一位"),
        ("订单号是tr202600012", "TR202600012", "多了一位"),
        ("ＴＲ２０２６００１", "TR2026001", "少了一位"),  # full width
        ("TR-2026-01", "TR-2026-01", "少了两位"),
    ],
)
def test_a_booking_number_off_by_digits_is_named(text, typed, how):
    slip = number_slip("booking", text)
    assert slip and "订单号应为TR加8位数字" in slip and typed in slip and how in slip, slip


@pytest.mark.parametrize("text", ["TR20260001", "tr 2026-0001 尾号5678", "尾号5678", "C919 飞机", "我的订单"])
def test_a_right_or_absent_booking_number_is_no_slip(text):
    assert number_slip("booking", text) is None


def test_a_ticket_number_short_of_its_sequence_is_named():
    slip = number_slip("ticket", "投诉单C2026112001进度")
    assert slip and "C2026112001" in slip and "少了一位" in slip and "投诉单号" in slip, slip
    assert number_slip("ticket", "C20261120001") is None
    assert number_slip("ticket", "C20261120001234") is None  # a long sequence is a real number


async def test_the_form_names_the_missing_digit_instead_of_a_generic_reask(dead_api):
    dispatcher = CollectingDispatcher()
    events = await ValidateVerifyForm().run(
        dispatcher, turn("TR2026001", {}, {"requested_slot": "booking_ref"}), DOMAIN
    )
    said = texts(dispatcher)
    assert any("TR2026001" in s and "少了一位" in s for s in said), said
    assert slots(events).get("booking_ref", "unset") is None
    assert slots(events)["form_failures"] == 1.0


async def test_the_digits_given_beside_a_wrong_number_are_kept_and_said_so(dead_api):
    # First message of the verification: "查行程 TR202600011 尾号5678".
    text = "查行程 TR202600011 尾号5678"
    dispatcher = CollectingDispatcher()
    events = await ValidateVerifyForm().run(
        dispatcher, turn(text, {"phone_last4": "5678"}, form=None, intent="query_itinerary"), DOMAIN
    )
    said = texts(dispatcher)
    hint = next(s for s in said if "多了一位" in s)
    assert "手机尾号已记下" in hint, said
    assert slots(events).get("phone_last4", "5678") == "5678"  # kept, not checked (no number yet)
    assert "utter_service_unavailable" not in said


async def test_a_mistyped_new_number_replaces_the_one_held_and_its_digits_wait(dead_api):
    # TR20260001 was given before; now "是TR2026002，尾号1234": the digits are not checked
    # against the old number (the API is down here: checking would say so).
    dispatcher = CollectingDispatcher()
    held = {"booking_ref": "TR20260001", "requested_slot": "phone_last4"}
    events = await ValidateVerifyForm().run(
        dispatcher, turn("是TR2026002，尾号1234", {"phone_last4": "1234"}, held), DOMAIN
    )
    said = texts(dispatcher)
    assert "utter_service_unavailable" not in said and any("少了一位" in s for s in said), said
    assert slots(events)["booking_ref"] is None
    assert slots(events).get("phone_last4", "1234") == "1234"


async def test_the_ticket_form_names_a_short_ticket_number(dead_api):
    dispatcher = CollectingDispatcher()
    events = await ValidateTicketForm().run(
        dispatcher,
        turn("C2026112001 尾号1234", {"phone_last4": "1234"}, {"requested_slot": "ticket_no"}, "ticket_form"),
        DOMAIN,
    )
    said = texts(dispatcher)
    assert any("C2026112001" in s and "少了一位" in s for s in said), said
    assert slots(events).get("ticket_no", "unset") is None


async def test_a_right_number_gets_no_hint(dead_api):
    dispatcher = CollectingDispatcher()
    await ValidateVerifyForm().run(
        dispatcher,
        turn("TR20260001", {"booking_ref": "TR20260001"}, {"requested_slot": "booking_ref"}),
        DOMAIN,
    )
    assert not any("少了" in s or "多了" in s for s in texts(dispatcher))


async def test_a_verified_traveller_is_not_asked_again_over_a_stray_number(dead_api):
    # Verified for TR20260001 in this conversation: the form has nothing to ask, so no re-ask.
    from time import time

    held = {"verified_booking": "TR20260001", "verify_grant": f"TR20260001.{int(time()) + 600}.sig"}
    dispatcher = CollectingDispatcher()
    events = await ValidateVerifyForm().run(
        dispatcher, turn("我要退团 TR2026001", {}, held, intent="request_cancellation"), DOMAIN
    )
    assert not any("少了" in s for s in texts(dispatcher))
    assert "booking_ref" not in slots(events) and "verified_booking" not in slots(events)
