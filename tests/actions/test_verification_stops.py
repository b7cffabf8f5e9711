"""Verification that cannot succeed ends instead of looping: a traveller without their ticket
number is told where it is and offered a person; digits wrong again after a human was offered
stop the check (offered once, before the API's lock). Stopping a request says what stopped."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.cancel import ActionCancelForm
from actions.clients import ticketing
from actions.clients.ticketing import Mismatch
from actions.tickets import ActionCheckTicket, ValidateTicketForm
from actions.verification import ActionVerified, ValidateVerifyForm
from tests.actions import form_turns
from tests.actions.form_turns import DOMAIN, slots


def turn(
    text: str,
    given: Dict[str, Any],
    held: Optional[Dict[str, Any]] = None,
    form: Optional[str] = "ticket_form",
    intent: str = "inform",
) -> Tracker:
    # Here the ticket form is the one asking unless a test says otherwise.
    return form_turns.turn(text, given, held, form, intent)


def said(dispatcher: CollectingDispatcher) -> List[str]:
    return [m.get("response") or m.get("text") or "" for m in dispatcher.messages]


# --- no ticket number -------------------------------------------------------------------

ASKED = {"requested_slot": "ticket_no"}


@pytest.mark.parametrize(
    "text, given, held, form",
    [
        # The transcript: asked for the number, the traveller has none and gives the phone.
        ("不记得号码了 电话是13900001111", {"phone_last4": "1111"}, ASKED, "ticket_form"),
        ("单号找不到了", {}, ASKED, "ticket_form"),
        ("没有投诉单号啊", {}, ASKED, "ticket_form"),
        # Said in the very message that asks for the progress (the form is starting).
        ("我忘了投诉单号，想查一下投诉进度", {}, {}, None),
    ],
)
async def test_no_ticket_number_says_where_it_is_and_offers_a_person(dead_api, text, given, held, form):
    dispatcher = CollectingDispatcher()
    events = await ValidateTicketForm().run(
        dispatcher, turn(text, given, held, form, intent="check_ticket" if not form else "inform"), DOMAIN
    )
    assert said(dispatcher) == ["utter_ticket_no_where", "utter_offer_human"], said(dispatcher)
    assert slots(events)["requested_slot"] is None  # the form ends: no "请提供投诉单号" again
    # action_check_ticket follows (the form is done): nothing verified, nothing more said.
    after = CollectingDispatcher()
    done = turn(text, {}, {**held, **given, **slots(events)}, form=None)
    reset = await ActionCheckTicket().run(after, done, DOMAIN)
    assert after.messages == [] and slots(reset)["verify_blocked"] is None


@pytest.mark.parametrize(
    "text, given, held",
    [
        ("C20261120001", {"ticket_no": "C20261120001"}, {"requested_slot": "ticket_no"}),
        # The number is held; it is the digits they forgot: the digits are asked, not the number.
        ("尾号忘了", {}, {"ticket_no": "C20261120001", "requested_slot": "phone_last4"}),
        ("手机后四位不记得了", {}, {"requested_slot": "ticket_no"}),
    ],
)
async def test_a_number_given_or_digits_forgotten_is_no_missing_number(dead_api, text, given, held):
    dispatcher = CollectingDispatcher()
    await ValidateTicketForm().run(dispatcher, turn(text, given, held), DOMAIN)
    assert "utter_ticket_no_where" not in said(dispatcher)


# --- wrong digits -----------------------------------------------------------------------


class _NoMatch:
    """The API: these digits never match."""

    async def verify_booking(self, *args: Any, **kwargs: Any) -> Dict[str, Any]:
        raise Mismatch("/bookings/verify")

    async def verify_ticket(self, *args: Any, **kwargs: Any) -> Dict[str, Any]:
        raise Mismatch("/tickets/verify")


@pytest.fixture
def no_match():
    ticketing.set_client(_NoMatch())
    yield
    ticketing.set_client(None)


FORMS = [
    (ValidateVerifyForm, "verify_form", {"booking_ref": "TR20260001"}, "utter_verify_failed_retry"),
    (ValidateTicketForm, "ticket_form", {"ticket_no": "C20261120001"}, "utter_ticket_verify_failed_retry"),
]


@pytest.mark.parametrize("form_class, form, number, retry", FORMS)
async def test_wrong_digits_offer_a_person_once_then_stop(no_match, form_class, form, number, retry):
    held = {**number, "requested_slot": "phone_last4"}
    # First miss: asked again.
    first = CollectingDispatcher()
    events = await form_class().run(first, turn("1234", {"phone_last4": "1234"}, held, form), DOMAIN)
    assert said(first) == [retry] and slots(events)["form_failures"] == 1.0
    # Second miss: asked again, and a person offered.
    second = CollectingDispatcher()
    held["form_failures"] = 1.0
    events = await form_class().run(second, turn("2345", {"phone_last4": "2345"}, held, form), DOMAIN)
    assert said(second) == [retry, "utter_offer_human"] and slots(events)["form_failures"] == 2.0
    # Third miss: not the same offer again; the check stops, a person offered with it.
    third = CollectingDispatcher()
    held["form_failures"] = 2.0
    events = await form_class().run(third, turn("3456", {"phone_last4": "3456"}, held, form), DOMAIN)
    assert said(third) == ["utter_verify_stopped"], said(third)
    assert slots(events)["requested_slot"] is None and slots(events)["verify_blocked"]
    assert slots(events)["form_failures"] == 0.0  # a later lookup starts afresh


def test_the_stop_offers_a_person_by_button_and_a_cancellation_stop_is_no_query():
    import yaml

    with open("domain.yml", encoding="utf-8") as handle:
        responses = yaml.safe_load(handle)["responses"]
    buttons = responses["utter_verify_stopped"][0]["buttons"]
    assert [b["payload"] for b in buttons] == ["/request_human"]
    stopped = responses["utter_cancellation_stopped"][0]["text"]
    assert "退团申请" in stopped and "查询" not in stopped
    assert "C" in responses["utter_ticket_no_where"][0]["text"]


async def test_the_stop_is_not_followed_by_a_failed_verification_message(no_match):
    # action_verified runs after the form: the stop said it all ("没有找到匹配的订单" is not added).
    dispatcher = CollectingDispatcher()
    held = {"booking_ref": "TR20260001", "verify_blocked": "failures", "verify_purpose": "itinerary"}
    events = await ActionVerified().run(dispatcher, turn("3456", {}, held, form=None), DOMAIN)
    assert dispatcher.messages == [] and slots(events)["verify_blocked"] is None


async def test_a_wrong_number_after_the_offer_stops_too(no_match):
    dispatcher = CollectingDispatcher()
    held = {"requested_slot": "booking_ref", "form_failures": 2.0}
    events = await ValidateVerifyForm().run(dispatcher, turn("TR2026001", {}, held, "verify_form"), DOMAIN)
    assert "utter_offer_human" not in said(dispatcher)
    assert said(dispatcher)[-1] == "utter_verify_stopped"
    assert slots(events)["requested_slot"] is None


# --- stopping says what stopped ---------------------------------------------------------


@pytest.mark.parametrize(
    "form, purpose, reply",
    [
        ("verify_form", "cancellation", "utter_cancellation_stopped"),
        ("verify_form", "refund", "utter_refund_check_stopped"),
        ("verify_form", "itinerary", "utter_request_stopped"),
        ("ticket_form", None, "utter_ticket_lookup_stopped"),
    ],
)
async def test_stopping_a_request_names_what_stopped(form, purpose, reply):
    dispatcher = CollectingDispatcher()
    text = "算了 先不退了 我再想想"
    tracker = turn(text, {}, {"verify_purpose": purpose, "booking_ref": "TR20260001"}, form, intent="cancel")
    await ActionCancelForm().run(dispatcher, tracker, DOMAIN)
    assert said(dispatcher) == [reply]
