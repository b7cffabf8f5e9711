"""A trip cancellation is recorded (a handoff, reason cancellation_request) before departure and
during the trip, with the stage noted for the agent; a trip already over records nothing. Dates
are set against China's today, so the tests hold on any day."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.clients import ticketing
from actions.refunds import record_cancellation
from actions.utils.refund import china_today
from tests.actions.form_turns import user_turn


class SpyingClient(ticketing.TicketingClient):
    """The real API, with the handoff requests kept for the assertions."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.handoffs: List[Dict[str, Any]] = []

    async def open_handoff(self, payload):
        self.handoffs.append(payload)
        return await super().open_handoff(payload)


def spy(api_url: str) -> SpyingClient:
    client = SpyingClient(api_url, "dev-service-token", 5)
    ticketing.set_client(client)
    return client


def booking(departure: date, back: date) -> Dict[str, Any]:
    return {
        "ref": "TR20260001",
        "product": "云南大理丽江6日游",
        "tour_type": "domestic",
        "departure_date": departure.isoformat(),
        "return_date": back.isoformat(),
        "price_cny": 5800,
        "guide_name": "李娜",
        "guide_phone": "13900002222",
        "itinerary": [],
        "included": [],
        "excluded": [],
    }


def tracker() -> Tracker:
    return user_turn(
        "不想玩了，退团",
        "request_cancellation",
        history=[],
        slots={"verified_booking": "TR20260001", "booking_ref": "TR20260001"},
        sender=f"unit-{uuid.uuid4().hex[:12]}",
    )


def said(dispatcher: CollectingDispatcher) -> List[str]:
    return [m.get("text") or m.get("response") or "" for m in dispatcher.messages]


def paused(events: List[Any]) -> bool:
    return any((e.get("event") if isinstance(e, dict) else None) == "pause" for e in events)


async def test_a_cancellation_during_the_trip_is_recorded_with_the_stage_noted(api_url):
    client = spy(api_url)
    try:
        today = china_today()
        dispatcher = CollectingDispatcher()
        events = await record_cancellation(
            dispatcher, tracker(), booking(today - timedelta(days=2), today + timedelta(days=3))
        )
    finally:
        ticketing.set_client(None)
    assert paused(events), events
    [handoff] = client.handoffs
    assert handoff["reason"] == "cancellation_request"
    summary = handoff["summary"]
    assert summary["trip_stage"] == "in_trip"
    assert "行程进行中" in summary["cancellation_note"] and "第3天" in summary["cancellation_note"], summary
    text = "\n".join(said(dispatcher))
    # What happens next, in the words of a trip under way: the guide, the group, the amount.
    assert "utter_cancellation_recorded" in text and "第3天" in text and "导游" in text, text


async def test_the_last_day_of_the_trip_still_counts_as_under_way(api_url):
    client = spy(api_url)
    try:
        today = china_today()
        last_day = booking(today - timedelta(days=4), today)
        await record_cancellation(CollectingDispatcher(), tracker(), last_day)
    finally:
        ticketing.set_client(None)
    assert [h["summary"]["trip_stage"] for h in client.handoffs] == ["in_trip"]


async def test_a_cancellation_before_departure_is_noted_as_before_the_trip(api_url):
    client = spy(api_url)
    try:
        today = china_today()
        dispatcher = CollectingDispatcher()
        events = await record_cancellation(
            dispatcher, tracker(), booking(today + timedelta(days=10), today + timedelta(days=15))
        )
    finally:
        ticketing.set_client(None)
    assert paused(events)
    assert [h["summary"]["trip_stage"] for h in client.handoffs] == ["pre_trip"]
    assert not any("行程进行中" in s for s in said(dispatcher))


async def test_a_trip_already_over_records_nothing_and_says_so(api_url):
    client = spy(api_url)
    try:
        today = china_today()
        dispatcher = CollectingDispatcher()
        events = await record_cancellation(
            dispatcher, tracker(), booking(today - timedelta(days=6), today - timedelta(days=1))
        )
    finally:
        ticketing.set_client(None)
    assert events == [] and client.handoffs == []
    text = "\n".join(said(dispatcher))
    assert "结束" in text and "utter_cancellation_recorded" not in text, text


async def test_with_the_api_down_nothing_is_said_to_be_recorded(dead_api):
    today = china_today()
    dispatcher = CollectingDispatcher()
    events = await record_cancellation(
        dispatcher, tracker(), booking(today - timedelta(days=1), today + timedelta(days=4))
    )
    text = "\n".join(said(dispatcher))
    assert not paused(events)
    assert "utter_cancellation_recorded" not in text and "已为您登记" not in text, text
    assert "退团" in text  # the traveller is told how to go on
