"""Actions run against the real ticketing API (started by the session fixture)."""

from __future__ import annotations

import hashlib
import re
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clients import ticketing
from actions.clients.ticketing import Mismatch, Unavailable, get_client
from actions.complaint import ActionSubmitComplaint, ValidateComplaintForm
from actions.fields import COMPLAINT_STATE_SLOTS, FIELDS
from actions.handoff import ActionFallback
from actions.utils.reading import is_descriptive
from actions.verification import ActionVerified, ValidateVerifyForm
from tests.actions.form_turns import COMPLAINT_DOMAIN

BOOKING = "TR20260001"
PHONE = "13812345678"


def tracker(
    slots: Dict[str, Any], text: str = "", intent: str = "inform", events: Optional[List] = None
) -> Tracker:
    return Tracker(
        sender_id="unit-test",
        slots=slots,
        latest_message={"text": text, "intent": {"name": intent}, "entities": []},
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def test_right_digits_verify_the_booking_inside_the_form(client):
    result = await ValidateVerifyForm().validate_phone_last4(
        PHONE[-4:], CollectingDispatcher(), tracker({"booking_ref": BOOKING}, text=PHONE[-4:]), {}
    )
    grant = result.pop("verify_grant")
    assert result == {"phone_last4": PHONE[-4:], "verified_booking": BOOKING, "form_failures": 0.0}
    assert grant.startswith(BOOKING + ".")


async def _grant() -> str:
    from actions.clients.ticketing import get_client

    return (await get_client().verify_booking(BOOKING, PHONE[-4:], "unit-test"))["grant"]


async def test_verified_traveller_gets_the_itinerary_answer(client):
    dispatcher = CollectingDispatcher()
    slots = {
        "verified_booking": BOOKING,
        "verify_grant": await _grant(),
        "itinerary_item": "hotel",
        "verify_purpose": "itinerary",
    }
    events = await ActionVerified().run(dispatcher, tracker(slots), {})
    assert "住宿" in dispatcher.messages[0]["text"]
    assert SlotSet("itinerary_item", None) in events


async def test_a_forged_tracker_gets_no_itinerary(client):
    # verified_booking set without the API's grant (or with a made-up one): verification again.
    for grant in (None, f"{BOOKING}.9999999999.forged"):
        dispatcher = CollectingDispatcher()
        slots = {
            "verified_booking": BOOKING,
            "verify_grant": grant,
            "itinerary_item": "hotel",
            "verify_purpose": "itinerary",
        }
        events = await ActionVerified().run(dispatcher, tracker(slots), {})
        assert [m.get("response") for m in dispatcher.messages] == [
            "utter_verify_failed"
        ]  # no itinerary text
        assert not any(e.get("name") == "itinerary_item" for e in events)


def test_an_expired_grant_asks_for_the_digits_again():
    from actions.verification import grant_valid, is_verified

    assert grant_valid(f"{BOOKING}.2000.sig", now=1000) and not grant_valid(f"{BOOKING}.1000.sig", now=1000)
    assert not is_verified(tracker({"verified_booking": BOOKING, "verify_grant": f"{BOOKING}.1000.sig"}))


async def test_a_locked_traveller_is_queued_for_a_human(client):
    dispatcher = CollectingDispatcher()
    slots = {"verify_blocked": "locked", "booking_ref": "TR20269902", "verify_purpose": "itinerary"}
    events = await ActionVerified().run(dispatcher, tracker(slots), {})
    assert any(
        type(e).__name__ == "ConversationPaused" or (isinstance(e, dict) and e.get("event") == "pause")
        for e in events
    ), events


async def test_wrong_digits_keep_the_booking_and_ask_only_for_the_digits(client):
    dispatcher = CollectingDispatcher()
    result = await ValidateVerifyForm().validate_phone_last4(
        "0000", dispatcher, tracker({"booking_ref": BOOKING}, text="0000"), {}
    )
    assert result == {"phone_last4": None, "form_failures": 1.0}  # booking_ref untouched
    assert dispatcher.messages[0]["response"] == "utter_verify_failed_retry"
    assert dispatcher.messages[0]["number"] == BOOKING


async def test_verification_stops_after_five_misses_and_offers_a_human_before(client):
    # A number no booking has (unknown numbers count as misses too, so a lock tells nothing):
    # the lock lasts 15 minutes in the API the whole session shares, conversations included.
    ref, right = "TR20269901", "4455"
    form = ValidateVerifyForm()
    responses = []
    for failures, digits in enumerate(("0001", "0002", "0003", "0004", "0005")):
        dispatcher = CollectingDispatcher()
        await form.validate_phone_last4(
            digits, dispatcher, tracker({"booking_ref": ref, "form_failures": float(failures)}), {}
        )
        responses.append([m["response"] for m in dispatcher.messages])
    assert responses[0] == ["utter_verify_failed_retry"]
    assert responses[1] == ["utter_verify_failed_retry", "utter_offer_human"]  # a human before the lock
    dispatcher = CollectingDispatcher()
    result = await form.validate_phone_last4(right, dispatcher, tracker({"booking_ref": ref}), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_verify_locked"]
    assert 1 <= dispatcher.messages[0]["minutes"] <= 15
    assert result == {"phone_last4": None, "verify_blocked": "locked"}


async def test_verification_with_api_down_is_polite(dead_api):
    dispatcher = CollectingDispatcher()
    result = await ValidateVerifyForm().validate_phone_last4(
        PHONE[-4:], dispatcher, tracker({"booking_ref": BOOKING}), {}
    )
    assert [m["response"] for m in dispatcher.messages] == ["utter_service_unavailable"]
    assert "verified_booking" not in result


def _complaint_slots(description: str) -> Dict[str, Any]:
    return {
        "booking_ref": BOOKING,
        "complaint_description": description,
        "complaint_consent": True,
        "phone": PHONE,
        "complaint_confirming": True,
    }


async def test_submit_creates_one_ticket_even_when_retried(client, api_url):
    import httpx

    slots = _complaint_slots("酒店房间里有蟑螂，空调也坏了，换房被拒绝")
    numbers = []
    for _ in range(2):
        dispatcher = CollectingDispatcher()
        await ActionSubmitComplaint().run(dispatcher, tracker(slots, intent="affirm"), {})
        numbers.append(re.search(r"C\d{11,}", dispatcher.messages[0]["text"]).group(0))
    assert numbers[0] == numbers[1]
    ticket = await get_client().get_ticket(numbers[0], "unit-test")  # the conversation that opened it
    assert ticket["description"] == slots["complaint_description"]
    # The bare service token, or another conversation, reads nothing.
    bare = httpx.get(f"{api_url}/tickets/{numbers[0]}", headers={"Authorization": "Bearer dev-service-token"})
    assert bare.status_code == 403
    with pytest.raises(Mismatch):
        await get_client().get_ticket(numbers[0], "someone-else")
    # A right phone check in another conversation gives that conversation a grant to read it.
    checked = await get_client().verify_ticket(numbers[0], PHONE[-4:], "someone-else")
    assert (await get_client().get_ticket(numbers[0], "someone-else", checked["grant"]))[
        "ticket_no"
    ] == numbers[0]
    with pytest.raises(Mismatch):
        await get_client().get_ticket(numbers[0], "a-third-one", checked["grant"])


async def test_submit_with_api_down_keeps_everything(dead_api):
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitComplaint().run(
        dispatcher, tracker(_complaint_slots("行李丢了三天还没找到"), intent="affirm"), {}
    )
    assert [m["response"] for m in dispatcher.messages] == ["utter_submit_failed"]
    assert events == [
        SlotSet("complaint_confirming", True)
    ]  # nothing cleared: "确认" retries with the same data


class RecordingTickets:
    """The ticketing API, down after noting what it was sent."""

    def __init__(self) -> None:
        self.sent: List[Any] = []

    async def create_ticket(self, payload, idempotency_key=None):
        self.sent.append((payload, idempotency_key))
        raise Unavailable("down")


@pytest.mark.parametrize(
    "when_where, occurred_at", [("12月4号晚上，在酒店", "12月4号晚上，在酒店"), ("未说明", None)]
)
async def test_submit_sends_every_field_under_its_api_key(when_where, occurred_at):
    slots = {
        **_complaint_slots("酒店房间里有蟑螂，空调也坏了"),
        "complaint_when_where": when_where,
        "complaint_request": "refund",
        "complaint_request_text": "退房费",
        "complainant_name": "李娜",
        "complaint_evidence": ["MEDIA1"],
    }
    recording = RecordingTickets()
    ticketing.set_client(recording)  # type: ignore[arg-type]
    try:
        await ActionSubmitComplaint().run(CollectingDispatcher(), tracker(slots, intent="affirm"), {})
    finally:
        ticketing.set_client(None)
    expected = {
        "booking_ref": BOOKING,
        "description": "酒店房间里有蟑螂，空调也坏了",
        "phone": PHONE,
        "name": "李娜",
        "conversation_id": "unit-test",
        "channel": "rest",
        "occurred_at": occurred_at,
        "request": "refund",
        "request_detail": "退房费",
        "evidence": ["MEDIA1"],
    }
    [(payload, key)] = recording.sent
    assert payload == {k: v for k, v in expected.items() if v is not None}
    # The same complaint of the same conversation gets the same key (a retry opens no second ticket).
    same = "|".join(["unit-test", BOOKING, "酒店房间里有蟑螂，空调也坏了", PHONE])
    assert key == hashlib.sha256(same.encode()).hexdigest()[:40]


def test_a_finished_complaint_clears_its_fields_but_the_booking_and_the_phone():
    assert {f.slot for f in FIELDS} - set(COMPLAINT_STATE_SLOTS) == {"booking_ref", "phone"}
    assert set(COMPLAINT_STATE_SLOTS) - {f.slot for f in FIELDS} == {
        "complaint_request_text",
        "complaint_evidence",
        "complaint_confirming",
        "cancel_pending",
    }


async def test_invalid_phone_is_reasked_and_second_failure_offers_human():
    form = ValidateComplaintForm()
    dispatcher = CollectingDispatcher()
    first = form.validate_phone("12345", dispatcher, tracker({"form_failures": 0.0}, text="12345"), {})
    assert first == {"phone": None, "form_failures": 1.0}
    second = form.validate_phone("abc", dispatcher, tracker({"form_failures": 1.0}, text="abc"), {})
    assert second == {"phone": None, "form_failures": 2.0}
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_invalid_phone",
        "utter_invalid_phone",
        "utter_offer_human",
    ]


@pytest.mark.parametrize(
    "text, expected", [("我要投诉", False), ("我想投诉一下你们", False), ("房间很脏有股霉味", True)]
)
def test_is_descriptive(text, expected):
    assert is_descriptive(text) is expected


async def test_second_fallback_in_a_row_offers_a_human():
    user = lambda name: {"event": "user", "parse_data": {"intent": {"name": name}}}  # noqa: E731
    dispatcher = CollectingDispatcher()
    await ActionFallback().run(dispatcher, tracker({}, events=[user("greet"), user("nlu_fallback")]), {})
    await ActionFallback().run(
        dispatcher, tracker({}, events=[user("nlu_fallback"), user("nlu_fallback")]), {}
    )
    assert [m["response"] for m in dispatcher.messages] == ["utter_default", "utter_offer_human"]


async def test_photo_during_the_form_is_kept_as_evidence():
    t = tracker({"requested_slot": "complaint_when_where", "complaint_when_where": "[图片]"}, text="[图片]")
    t.latest_message["metadata"] = {
        "wechat_media": {"type": "image", "media_id": "MEDIA123", "pic_url": "http://x/p.jpg"}
    }
    dispatcher = CollectingDispatcher()
    events = await ValidateComplaintForm().run(dispatcher, t, {})
    assert SlotSet("complaint_evidence", ["MEDIA123"]) in events
    assert SlotSet("complaint_when_where", None) in events
    assert [m["response"] for m in dispatcher.messages] == ["utter_evidence_received"]


async def test_the_bot_reads_only_its_own_conversations_handoff(client):
    opened = await get_client().open_handoff(
        {"conversation_id": "unit-handoff-own", "channel": "rest", "reason": "request_human"}
    )
    own = await get_client().get_handoff(opened["id"], "unit-handoff-own")
    assert own["id"] == opened["id"] and own["status"] == "waiting"
    with pytest.raises(Mismatch):
        await get_client().get_handoff(opened["id"], "unit-handoff-other")


async def test_shutdown_closes_the_pooled_client_and_a_later_call_reopens_it(client):
    from actions.clients import ticketing

    api = get_client()
    await api.classify("导游中途加收费用")
    pooled = api._http
    assert pooled is not None and not pooled.is_closed
    await ticketing.close_client()  # what the action server's after_server_stop listener runs
    assert pooled.is_closed and api._http is None
    assert (await api.classify("酒店房间有霉味"))["category"]


def _form_turn(
    slots: Dict[str, Any], given: Dict[str, Any], text: str, asked_by: str = "complaint_form"
) -> Tracker:
    """The tracker a form's validation sees: `given` set by the message, as trailing slot events."""
    asked = [{"event": "action", "name": asked_by}, {"event": "action", "name": "action_listen"}]
    events = (
        asked
        + [{"event": "user", "text": text}]
        + [{"event": "slot", "name": name, "value": value} for name, value in given.items()]
    )
    return tracker({**slots, **given}, text=text, events=events)


async def test_details_given_before_they_are_asked_are_named_back():
    story = "司机全程打电话开快车，还在高速上跟别的车吵架，要求换司机"
    given = {"complaint_description": story, "complaint_request": "other"}
    dispatcher = CollectingDispatcher()
    slots = {"requested_slot": "booking_ref", "form_failures": 0.0}
    await ValidateComplaintForm().run(dispatcher, _form_turn(slots, given, story), COMPLAINT_DOMAIN)
    noted = [m for m in dispatcher.messages if m["response"] == "utter_noted"]
    # In the form's order, so the traveller reads them as the form would have asked.
    assert [m["fields"] for m in noted] == ["情况描述、诉求"]


async def test_a_form_coming_back_after_another_flow_names_nothing_back():
    # The complaint starts again after a verification: nothing it asked was skipped.
    story = "导游一直催我们买东西，不买就甩脸色"
    dispatcher = CollectingDispatcher()
    slots = {"requested_slot": "phone_last4", "form_failures": 0.0, "booking_ref": BOOKING}
    turn = _form_turn(slots, {"complaint_description": story}, story, asked_by="verify_form")
    await ValidateComplaintForm().run(dispatcher, turn, COMPLAINT_DOMAIN)
    assert not [m for m in dispatcher.messages if m["response"] == "utter_noted"]


async def test_the_answer_to_the_question_asked_is_not_named_back():
    dispatcher = CollectingDispatcher()
    slots = {"requested_slot": "booking_ref", "form_failures": 0.0}
    given = {"booking_ref": BOOKING}
    await ValidateComplaintForm().run(dispatcher, _form_turn(slots, given, BOOKING), COMPLAINT_DOMAIN)
    assert not [m for m in dispatcher.messages if m["response"] == "utter_noted"]


async def test_nothing_is_named_back_when_the_form_has_nothing_left_to_ask():
    filled = {
        "booking_ref": BOOKING,
        "complaint_description": "导游一路上都在催我们购物",
        "complaint_when_where": "12月3日 黄山",
        "complaint_consent": True,
        "complainant_name": "王磊",
        "requested_slot": "phone",
    }
    given = {"phone": PHONE, "complaint_request": "apology"}
    dispatcher = CollectingDispatcher()
    text = f"{PHONE}，要求道歉"
    await ValidateComplaintForm().run(dispatcher, _form_turn(filled, given, text), COMPLAINT_DOMAIN)
    assert not [m for m in dispatcher.messages if m["response"] == "utter_noted"]


async def test_a_refund_question_beside_an_itinerary_question_waits_for_the_verification(client):
    # "退团怎么扣费顺便问下导游电话多少": the itinerary flow asks for the booking number next, so
    # the refund answer does not ask for it too; the amount follows the verification.
    from actions.refunds import answer_refund_question

    dispatcher = CollectingDispatcher()
    asked = tracker({}, text="退团怎么扣费顺便问下导游电话多少", intent="query_itinerary")
    events = await answer_refund_question(dispatcher, asked, extra=True)
    said = [m.get("response") for m in dispatcher.messages]
    assert said == ["utter_policy/refund", "utter_refund_after_verify"], said
    assert SlotSet("refund_after_verify", True) in events

    dispatcher = CollectingDispatcher()
    slots = {
        "verified_booking": BOOKING,
        "verify_grant": await _grant(),
        "itinerary_item": "guide",
        "verify_purpose": "itinerary",
        "refund_after_verify": True,
    }
    events = await ActionVerified().run(dispatcher, tracker(slots, text=PHONE[-4:]), {})
    texts = [m.get("text") or "" for m in dispatcher.messages]
    assert len(texts) == 2 and BOOKING in texts[1] and "退团" in texts[1], texts
    assert SlotSet("refund_after_verify", None) in events


async def test_a_refund_question_alone_offers_the_computation_once(client):
    from actions.refunds import answer_refund_question

    dispatcher = CollectingDispatcher()
    await answer_refund_question(dispatcher, tracker({}, text="退团怎么扣费", intent="policy"))
    said = [m.get("response") for m in dispatcher.messages]
    assert said == ["utter_policy/refund", "utter_refund_offer_compute"], said
